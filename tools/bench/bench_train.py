"""Training benchmark: the data layers' input rate and Caffe's CPU training speed on the full
CNN-M-2048, against this machine's single-precision matrix-multiply rate. Writes
runs/bench/train.json and docs/benchmarks.md's training table.

    python tools/bench/bench_train.py [--batches 6] [--caffe-iters 2]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import caffe
from models.nets.cnn_m_2048 import cnn_m_2048
from tools.bench.benchlib import (PAPER_VOLUMES_PER_S, SPATIAL, TARGET_TEMPORAL_SAMPLES_PER_S,
                                  TEMPORAL, forward_flops, input_rate, machine, sgemm_gflops,
                                  store_for_input, update_readme, write_results)
from tools import flags

def caffe_rates(net, batch: int, iters: int) -> dict:
    """img/s of forward+backward (training) and forward alone, full-size, on the CPU."""
    proto = cnn_m_2048(replace(net.config, batch_size=batch), source="dummy")
    path = Path(tempfile.mkdtemp()) / "net.prototxt"
    path.write_text(str(proto))
    caffe.set_mode_cpu()
    model = caffe.Net(str(path), caffe.TRAIN)
    model.forward()
    model.backward()
    start = time.perf_counter()
    for _ in range(iters):
        model.forward()
        model.backward()
    train = batch * iters / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(iters):
        model.forward()
    forward = batch * iters / (time.perf_counter() - start)
    shutil.rmtree(path.parent)
    return dict(train_img_per_s=train, forward_img_per_s=forward,
                forward_gflop_per_img=forward_flops(model) / 1e9)


def table(r: dict) -> str:
    m = r["machine"]
    ok = r["input.temporal.samples_per_s"] >= TARGET_TEMPORAL_SAMPLES_PER_S
    rows = [f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, by `make bench-train`.",
            "", "| figure | measured | target / anchor |", "|---|---|---|",
            f"| `input.temporal.samples_per_s` (L=10, mean subtraction, 224 crop, LMDB, "
            f"{r['input.workers']} workers) | {r['input.temporal.samples_per_s']:.0f} | "
            f"{'meets' if ok else 'misses'} >= {TARGET_TEMPORAL_SAMPLES_PER_S}; the paper's 4 "
            f"GPUs consumed about {PAPER_VOLUMES_PER_S:.0f}/s |",
            f"| `input.temporal.samples_per_s_1_worker` | "
            f"{r['input.temporal.samples_per_s_1_worker']:.0f} | one core |",
            f"| `input.spatial.samples_per_s` | {r['input.spatial.samples_per_s']:.0f} | |",
            f"| `caffe.temporal.train_img_per_s` (CNN-M-2048, batch 32, CPU) | "
            f"{r['caffe.temporal.train_img_per_s']:.1f} | |",
            f"| `caffe.spatial.train_img_per_s` | {r['caffe.spatial.train_img_per_s']:.1f} | |",
            f"| `caffe.spatial.forward_img_per_s` | {r['caffe.spatial.forward_img_per_s']:.1f} | |",
            f"| `machine.sgemm_gflops` (numpy/OpenBLAS, float32) | "
            f"{r['machine.sgemm_gflops']:.0f} | the machine's limit |",
            f"| `caffe.temporal.percent_of_sgemm_peak` | "
            f"{r['caffe.temporal.percent_of_sgemm_peak']:.0f}% | of the line above |"]
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=flags.count, default=6, help="batches of 256 timed")
    parser.add_argument("--workers", type=flags.index, default=2, help="data worker processes")
    parser.add_argument("--caffe-iters", type=flags.count, default=2)
    args = parser.parse_args(argv)
    results = {"machine.sgemm_gflops": sgemm_gflops(), "input.workers": args.workers}
    print(f"bench_train: sgemm {results['machine.sgemm_gflops']:.0f} GFLOP/s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench_train_"))
    try:
        store = store_for_input(work)
        for stream in ("temporal", "spatial"):
            rate = input_rate(store, stream, args.batches, args.workers)
            results[f"input.{stream}.samples_per_s"] = rate
            print(f"  input.{stream}: {rate:.0f} samples/s", flush=True)
        # How it scales: the same with one worker process.
        results["input.temporal.samples_per_s_1_worker"] = input_rate(store, "temporal",
                                                                      args.batches // 2, 1)
    finally:
        shutil.rmtree(work)
    for stream, net in (("temporal", TEMPORAL), ("spatial", SPATIAL)):
        rates = caffe_rates(net, 32, args.caffe_iters)
        for key, value in rates.items():
            results[f"caffe.{stream}.{key}"] = value
        print(f"  caffe.{stream}: {rates['train_img_per_s']:.1f} img/s training, "
              f"{rates['forward_img_per_s']:.1f} forward", flush=True)
    # Training does about three times a forward pass's arithmetic (forward, and the backward
    # pass's two products per layer).
    achieved = 3 * results["caffe.temporal.forward_gflop_per_img"] * \
        results["caffe.temporal.train_img_per_s"]
    results["caffe.temporal.percent_of_sgemm_peak"] = 100 * achieved / results[
        "machine.sgemm_gflops"]
    path = write_results("train", results)
    updated = update_readme("train", table({"machine": machine(), **results}))
    print(f"bench_train: wrote {path}" + (" and docs/benchmarks.md's training table" if updated else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
