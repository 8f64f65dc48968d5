"""Every benchmark in one run: flow (bench_flow.py), training input and Caffe (bench_train.py),
testing (bench_test.py), classifying a clip (bench_classify.py). Writes runs/bench/latest.json
and the README's summary table, each figure beside its target or anchor.

    python tools/bench/bench.py [--skip flow,train,test,classify]   # a skipped one's last kept
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from tools.bench.benchlib import (BENCH_DIR, PAPER_BROX_PAIRS_PER_S, PAPER_VOLUMES_PER_S,
                                  TARGET_TEMPORAL_SAMPLES_PER_S, TARGETS, ROOT, machine,
                                  update_readme)

BENCHES = ("flow", "train", "test", "classify")


def row(name: str, value: str, anchor: str) -> str:
    return f"| `{name}` | {value} | {anchor} |"


def mark(ok: bool) -> str:
    return "meets" if ok else "misses"


def summary(r: dict) -> str:
    m, f, t, s, c = r["machine"], r["flow"]["flow"], r["train"], r["test"], r["classify"]
    brox, storage = f["brox"], f["storage"]
    rows = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores ({m['system']}), by "
        f"`make bench` in {r['seconds'] / 60:.0f} min.", "",
        "| figure | measured | target / anchor |", "|---|---|---|",
        row("flow.brox.pairs_per_s", f"{brox['pairs_per_s']:.1f}",
            f"{mark(brox['pairs_per_s'] >= TARGETS['brox_pairs_per_s'])} >= "
            f"{TARGETS['brox_pairs_per_s']} on one core; the paper's GPU "
            f"{PAPER_BROX_PAIRS_PER_S:.1f}"),
        row("flow.brox.grove3_epe", f"{brox['grove3_epe']:.3f} px",
            f"{mark(brox['grove3_epe'] <= TARGETS['grove3_epe'])} <= "
            f"{TARGETS['grove3_epe']:.2f} px; TV-L1 (the peers' flow) "
            f"{f['tvl1']['grove3_epe']:.3f} px"),
        row("flow.storage.ratio_vs_float32", f"{storage['ratio_vs_float32']:.1f}x",
            f"{mark(storage['ratio_vs_float32'] >= TARGETS['storage_ratio'])} >= "
            f"{TARGETS['storage_ratio']}x (the paper: 1.5 TB -> 27 GB)"),
        row("flow.storage.quantization_epe", f"{storage['quantization_epe']:.3f} px",
            f"{mark(storage['quantization_epe'] <= TARGETS['quantization_epe'])} <= "
            f"{TARGETS['quantization_epe']} px"),
        row("flow.pipeline_overhead", f"{100 * f['pipeline_overhead']:.1f}%",
            f"{mark(f['pipeline_overhead'] <= TARGETS['pipeline_overhead'])} <= "
            f"{100 * TARGETS['pipeline_overhead']:.0f}% over the flow alone"),
        row("flow.jobs2_speedup", f"{f['jobs2_speedup']:.2f}x",
            f"{mark(f['jobs2_speedup'] >= TARGETS['jobs2_speedup'])} >= "
            f"{TARGETS['jobs2_speedup']}x; 2x is the machine's limit"),
        row("input.temporal.samples_per_s", f"{t['input.temporal.samples_per_s']:.0f}",
            f"{mark(t['input.temporal.samples_per_s'] >= TARGET_TEMPORAL_SAMPLES_PER_S)} >= "
            f"{TARGET_TEMPORAL_SAMPLES_PER_S} ({t['input.workers']} workers); the paper's 4 GPUs "
            f"consumed about {PAPER_VOLUMES_PER_S:.0f}"),
        row("input.spatial.samples_per_s", f"{t['input.spatial.samples_per_s']:.0f}", ""),
        row("caffe.temporal.train_img_per_s", f"{t['caffe.temporal.train_img_per_s']:.1f}",
            "full CNN-M-2048, batch 32, CPU; the paper's 4 GPUs about 240"),
        row("caffe.temporal.percent_of_sgemm_peak",
            f"{t['caffe.temporal.percent_of_sgemm_peak']:.0f}%",
            f"of the machine's {t['machine.sgemm_gflops']:.0f} GFLOP/s (numpy sgemm)"),
        row("test.videos_per_s", f"{s['test.videos_per_s']:.3f}",
            f"25 frames x 10 crops, temporal net, CPU: UCF-101 split 1's 3,783 test videos take "
            f"{3783 / s['test.videos_per_s'] / 3600:.0f} h"),
        row("classify.seconds_per_10s_clip", f"{c['classify.seconds_per_10s_clip']:.0f} s",
            "both streams, 25 x 10 crops each, Brox flow included, CPU"),
    ]
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", default="", help="comma-separated: flow, train, test, classify")
    args = parser.parse_args(argv)
    skip = {s for s in args.skip.split(",") if s}
    if skip - set(BENCHES):
        parser.error(f"--skip takes {', '.join(BENCHES)}")
    start = time.perf_counter()
    for name in BENCHES:
        if name in skip:
            continue
        print(f"bench: {name} (tools/bench/bench_{name}.py)", flush=True)
        code = subprocess.call([sys.executable, str(ROOT / "tools" / "bench" / f"bench_{name}.py")],
                               cwd=ROOT)
        if code != 0:
            print(f"bench: tools/bench/bench_{name}.py failed (exit {code})", file=sys.stderr)
            return code
    results = {"machine": machine(), "seconds": time.perf_counter() - start}
    for name in BENCHES:
        path = BENCH_DIR / f"{name}.json"
        if not path.exists():
            print(f"bench: {path} is missing; run without --skip {name}", file=sys.stderr)
            return 1
        results[name] = json.loads(path.read_text())
    latest = BENCH_DIR / "latest.json"
    latest.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    updated = update_readme("all", summary(results))
    print(f"bench: wrote {latest}" + (" and the README's summary table" if updated else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
