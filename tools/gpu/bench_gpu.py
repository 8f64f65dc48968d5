"""GPU benchmark (tools/gpu/gpu_check.sh): training images/s of the paper's temporal and spatial nets
at batch 256, by Caffe alone (DummyData) and with the project's data layer feeding it from a
store; the data layer's own rate; 25 x 10 test videos/s of the temporal net, with the time
split between cutting the inputs and the net. Each figure names the stage that bounds it.

    python tools/gpu/bench_gpu.py --store STORE [--gpu 0] [--out runs/bench/gpu.json]

`--gpu -1` runs the same on the CPU (the rehearsal, at a small --width and --input-size).
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import caffe
from data_prep.store import FlowReader
from models.evaluate.protocol import video_inputs, video_score
from models.nets.cnn_m_2048 import cnn_m_2048, output_blob
from tools.bench.benchlib import SPATIAL, TEMPORAL, input_rate, machine
from tools import flags


def set_mode(gpu: int) -> None:
    if gpu < 0:
        caffe.set_mode_cpu()
    else:
        caffe.set_device(gpu)
        caffe.set_mode_gpu()


def train_rate(proto, iters: int, work: Path) -> float:
    """Images/s of forward + backward; reading a gradient back waits for the GPU to finish."""
    path = work / "net.prototxt"
    path.write_text(str(proto))
    net = caffe.Net(str(path), caffe.TRAIN)
    batch = net.blobs["data"].data.shape[0]
    net.forward()
    net.backward()
    net.params["conv1"][0].diff  # noqa: B018 (synchronises)
    start = time.perf_counter()
    for _ in range(iters):
        net.forward()
        net.backward()
    net.params["conv1"][0].diff  # noqa: B018
    return batch * iters / (time.perf_counter() - start)


def fed_proto(config, store: Path, workers: int):
    """The train/val net with the project's data layer reading `store`."""
    proto = cnn_m_2048(config)
    layer = proto.layer[0]
    params = json.loads(layer.python_param.param_str)
    params.update(stores={"ucf101": str(store)}, splits={"ucf101": 1}, method="brox",
                  workers=workers)
    layer.python_param.param_str = json.dumps(params)
    return proto


def test_rates(config, store: Path, videos: int, batch: int, work: Path) -> dict:
    """25 x 10 test of the first `videos` videos: videos/s, and seconds cutting vs in the net."""
    deploy = work / "deploy.prototxt"
    deploy.write_text(str(cnn_m_2048(config, "deploy")))
    net = caffe.Net(str(deploy), caffe.TEST)
    reader = FlowReader(store, "brox")
    names = list(reader.store.videos())[:videos]
    video_score(net, video_inputs(reader, names[0], reader.count(names[0]), config,
                                  config.input_size), output_blob(config, "ucf101"), batch)  # warm-up
    cutting = netting = 0.0
    for name in names:
        start = time.perf_counter()
        inputs = video_inputs(reader, name, reader.count(name), config, config.input_size)
        cutting += time.perf_counter() - start
        start = time.perf_counter()
        video_score(net, inputs, output_blob(config, "ucf101"), batch)
        netting += time.perf_counter() - start
    reader.store.close()
    return {"test.temporal.videos_per_s": len(names) / (cutting + netting),
            "test.temporal.inputs_s_per_video": cutting / len(names),
            "test.temporal.net_s_per_video": netting / len(names),
            "test.temporal.videos": len(names), "test.temporal.batch": batch}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a UCF-101 store with brox flow")
    parser.add_argument("--gpu", type=int, default=0, help="-1: the CPU")
    parser.add_argument("--batch", type=flags.count, default=256)
    parser.add_argument("--width", type=flags.width, default=1.0)
    parser.add_argument("--input-size", type=flags.count, default=224)
    parser.add_argument("--iters", type=flags.count, default=5, help="batches timed")
    parser.add_argument("--workers", type=flags.count, default=8, help="data worker processes")
    parser.add_argument("--videos", type=flags.count, default=6, help="test videos timed")
    parser.add_argument("--test-batch", type=flags.count, default=250)
    parser.add_argument("--out", type=flags.output_file, default=Path("runs/bench/gpu.json"))
    args = parser.parse_args(argv)
    set_mode(args.gpu)
    results = {"device": "CPU" if args.gpu < 0 else f"GPU {args.gpu}", "batch": args.batch,
               "width": args.width, "input_size": args.input_size, "workers": args.workers}
    work = Path(tempfile.mkdtemp(prefix="bench_gpu_"))
    try:
        for stream, net in (("temporal", TEMPORAL), ("spatial", SPATIAL)):
            config = replace(net.config, batch_size=args.batch, width=args.width,
                             input_size=args.input_size)
            rate = train_rate(cnn_m_2048(config, source="dummy"), args.iters, work)
            results[f"caffe.{stream}.train_img_per_s"] = rate
            print(f"bench_gpu: caffe.{stream}: {rate:.0f} img/s training (DummyData)", flush=True)
        config = replace(TEMPORAL.config, batch_size=args.batch, width=args.width,
                         input_size=args.input_size)
        results["input.temporal.samples_per_s"] = input_rate(
            args.store, "temporal", args.iters, args.workers, trials=1, config=config)
        fed = train_rate(fed_proto(config, args.store, args.workers), args.iters, work)
        results["fed.temporal.train_img_per_s"] = fed
        print(f"bench_gpu: input {results['input.temporal.samples_per_s']:.0f} samples/s; "
              f"fed training {fed:.0f} img/s", flush=True)
        results.update(test_rates(config, args.store, args.videos, args.test_batch, work))
        print(f"bench_gpu: test {results['test.temporal.videos_per_s']:.2f} videos/s", flush=True)
    finally:
        shutil.rmtree(work)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), **results}, indent=2, sort_keys=True)
                        + "\n")
    print(f"bench_gpu: wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
