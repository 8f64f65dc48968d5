"""Tests a trained net as the paper does (25 frames x 10 crops a video) and writes its score file.

    python tools/test_net.py --run runs/ucf101_temporal_flow-L10-meansub_scratch_drop0.9_split1 \
        [--subset test|train] [--weights X.caffemodel] [--gpu 0] [--out runs/scores]

The score file is {out}/{dataset}_{stream}_split{k}_{subset}.h5 (README: score files); an
interrupted run resumes from {out}/....partial.jsonl.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import fields, replace
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

import caffe
from data_prep.store import FlowReader, FrameReader, StoreError, index_classes
from models.cnn_m_2048 import Head, NetConfig, cnn_m_2048
from models.fusion import write_scores
from models.testing import PartialScores, video_inputs, video_score
from models.training import latest_snapshot
from tools.net_args import add_net_arguments, run_folder


class TestError(Exception):
    pass


def run_net_config(run: Path) -> tuple[dict, NetConfig]:
    path = run / "config.json"
    if not path.is_file():
        raise TestError(f"{run} has no config.json; give a folder that tools/train_net.py made.")
    record = json.loads(path.read_text())
    raw = record["net_config"]
    raw["heads"] = tuple(Head(**h) for h in raw["heads"])
    config = NetConfig(**{f.name: raw[f.name] for f in fields(NetConfig) if f.name in raw})
    return record, replace(config, width=record["width"],
                           input_size=record["input_size"] or config.input_size)


def evaluated_dataset(record: dict) -> str:
    """The dataset whose split is tested (multi-task: the one not taken whole)."""
    return next(d for d, split in record["splits"].items() if split != "all")


def videos_of(store: Path, split: int, subset: str, method: str, stream: str):
    code = {"train": 1, "test": 2}[subset]
    with h5py.File(Path(store) / "index.h5", "r") as index:
        ids = [v.decode() for v in index["videos/id"][:]]
        member = index[f"videos/split{split}"][:] == code
        labels = index["videos/label"][:]
        counts = index[f"flow/{method}/flow_count"][:] if stream == "temporal" else \
            index["videos/frame_count"][:] - 1
        classes = index_classes(index)
    return [(i, int(l), int(c)) for i, l, c, m in zip(ids, labels, counts, member) if m], classes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a training run's folder (default: the one "
                        "the net flags below name, runs/{net}_split{k})")
    add_net_arguments(parser)
    parser.add_argument("--subset", choices=("test", "train"), default="test",
                        help="train: the training videos' scores, for the fusion SVM")
    parser.add_argument("--weights", type=Path, help="default: the run's last snapshot")
    parser.add_argument("--gpu", type=int, help="GPU id (default: the CPU)")
    parser.add_argument("--batch", type=int, default=50, help="inputs per forward pass")
    parser.add_argument("--out", type=Path, default=Path("runs/scores"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        args.run = args.run or run_folder(args)
        record, config = run_net_config(args.run)
        weights = args.weights or (latest_snapshot(args.run) or Path("none")).with_suffix(
            ".caffemodel")
        if not weights.is_file():
            raise TestError(f"no weights: {weights} does not exist; train the run first or "
                            "pass --weights.")
        dataset = evaluated_dataset(record)
        stream = config.stream
        store, split = Path(record["stores"][dataset]), int(record["splits"][dataset])
        videos, classes = videos_of(store, split, args.subset, record["method"], stream)
        reader = FlowReader(store, record["method"]) if stream == "temporal" else \
            FrameReader(store)
    except (TestError, StoreError, KeyError, OSError, ValueError) as error:
        print(f"test_net: {error}", file=sys.stderr)
        return 1
    deploy = args.run / "deploy.prototxt"
    deploy.write_text(str(cnn_m_2048(config, "deploy")))
    if args.gpu is not None:
        caffe.set_device(args.gpu)
        caffe.set_mode_gpu()
    else:
        caffe.set_mode_cpu()
    net = caffe.Net(str(deploy), str(weights), caffe.TEST)
    output = "prob" if len(config.heads) == 1 else f"prob_{dataset}"
    name = f"{dataset}_{stream}_split{split}_{args.subset}"
    args.out.mkdir(parents=True, exist_ok=True)
    partial = PartialScores(args.out / f"{name}.partial.jsonl")
    classes_out = net.blobs[output].data.shape[1]
    stale = [v for v, s in partial.done.items() if len(s) != classes_out]
    if stale:
        print(f"test_net: {partial.path} holds scores of {len(partial.done[stale[0]])} classes "
              f"from another net (this one has {classes_out}); delete it and run again.",
              file=sys.stderr)
        return 1
    todo = [v for v in videos if v[0] not in partial.done]
    for video, _, count in tqdm(todo, unit="video", desc=name, disable=args.quiet):
        inputs = video_inputs(reader, video, count, config, config.input_size)
        partial.add(video, video_score(net, inputs, output, args.batch))
    scores = np.stack([partial.done[v] for v, _, _ in videos])
    if scores.shape[1] > len(classes):
        # Table 2's borrowed classes: the test is over the dataset's own classes, renormalised.
        own = scores[:, :len(classes)]
        scores = own / own.sum(1, keepdims=True)
    labels = np.array([label for _, label, _ in videos])
    path = write_scores(args.out / f"{name}.h5", scores, labels, [v for v, _, _ in videos],
                        dataset=dataset, stream=stream, split=split, subset=args.subset,
                        class_names=np.array(classes, dtype=object).astype(h5py.string_dtype()),
                        net=record["net"], weights=str(weights))
    partial.path.unlink()
    # The run keeps its own copy, named by subset: the report maps runs to the paper's tables.
    shutil.copyfile(path, args.run / f"scores_{args.subset}.h5")
    accuracy = float(np.mean(scores.argmax(1) == labels))
    print(f"test_net: {len(videos)} {args.subset} videos, accuracy {100 * accuracy:.1f}% "
          f"(25 frames x 10 crops) -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
