"""Testing benchmark: videos/s and crops/s of the paper's 25 x 10 protocol with the full
CNN-M-2048 temporal net on the CPU, and the share of the machine's sgemm rate it reaches.
Writes runs/bench/test.json and docs/benchmarks.md's testing table.

    python tools/bench/bench_test.py [--videos 2]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import caffe
from data_prep.store import FlowReader
from models.nets.cnn_m_2048 import cnn_m_2048, output_blob
from models.evaluate.protocol import video_inputs, video_score
from tools.bench.benchlib import (TEMPORAL, forward_flops, measured_table, publish, sgemm_gflops,
                                  store_for_input)
from tools import flags


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=flags.count, default=2)
    parser.add_argument("--batch", type=flags.count, default=50)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_test_"))
    try:
        store = store_for_input(work)
        deploy = work / "deploy.prototxt"
        deploy.write_text(str(cnn_m_2048(TEMPORAL.config, "deploy")))
        caffe.set_mode_cpu()
        net = caffe.Net(str(deploy), caffe.TEST)
        reader = FlowReader(store, "brox")
        videos = [v for v in reader.store.videos()][: args.videos]
        start, crops = time.perf_counter(), 0
        for video in videos:
            inputs = video_inputs(reader, video, reader.count(video), TEMPORAL.config, 224)
            video_score(net, inputs, output_blob(TEMPORAL.config, "ucf101"), args.batch)
            crops += len(inputs)
        seconds = time.perf_counter() - start
        gflops = sgemm_gflops()
        net.blobs["data"].reshape(1, 20, 224, 224)
        net.forward()
        per_crop = forward_flops(net) / 1e9
    finally:
        shutil.rmtree(work)
    results = {"test.videos_per_s": len(videos) / seconds, "test.crops_per_s": crops / seconds,
               "test.forward_gflop_per_crop": per_crop, "machine.sgemm_gflops": gflops,
               "test.percent_of_sgemm_peak": 100 * per_crop * crops / seconds / gflops}
    table = measured_table("bench-test", [
        f"| `test.videos_per_s` (temporal CNN-M-2048, 25 frames x 10 crops, CPU) | "
        f"{results['test.videos_per_s']:.3f} | UCF-101 split 1's 3,783 test videos take "
        f"{3783 / results['test.videos_per_s'] / 3600:.0f} h |",
        f"| `test.crops_per_s` | {results['test.crops_per_s']:.1f} | |",
        f"| `test.percent_of_sgemm_peak` | {results['test.percent_of_sgemm_peak']:.0f}% | of "
        f"{gflops:.0f} GFLOP/s |"])
    publish("test", results, table, f"{results['test.videos_per_s']:.3f} videos/s, "
            f"{results['test.crops_per_s']:.1f} crops/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
