"""Scoring a trained run as the paper tests (25 frames x 10 crops a video, models/evaluate/
protocol.py) into its score file (models/evaluate/score_file.py): `score_run(ScoreRequest)`.

Everything is checked before any work (the run, its weights' shapes, the store serving every
video, the score file's owner, free space); an interrupted test resumes from its .partial.jsonl.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

import caffe
from data_prep.store import (CorruptRecord, FlowReader, FrameReader, StoreError, require_dataset,
                             require_space)
from models.evaluate.metrics import accuracy
from models.evaluate.protocol import own_classes, video_inputs, video_score
from models.nets.cnn_m_2048 import output_blob
from models.evaluate.score_file import PartialScores, ScoreError, ScoreIdentity, read_identity, \
    score_path, scoring, write_scores
from models.input.batches import InputError, check_store_serves
from models.nets.choice import NetChoice
from models.nets.cnn_m_2048 import cnn_m_2048
from models.nets.weights import WeightsError, read_weights, trained_net
from models.train.request import run_folder
from models.train.run_record import RunError, read_record, run_weights, trained_mean


class TestError(Exception):
    pass


class Unreadable(Exception):
    """Some videos could not be read: the others' scores are kept for the next run."""


@dataclass(frozen=True)
class ScoreRequest(NetChoice):
    """A scoring as tools/score_net.py's flags ask for it: a run's folder (default: the one the
    net choice names), the videos (the split's test or training ones) and the weights."""

    run: Path | None = None
    subset: str = "test"  # train: the training videos' scores, for the fusion SVM
    weights: Path | None = None  # default: the run's last snapshot
    gpu: int | None = None  # default: the CPU
    batch: int = 50  # inputs per forward pass
    out: Path = Path("runs/scores")  # the score files' folder
    allow_missing: bool = False  # score the videos the store holds when some cannot be
    quiet: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.subset not in ("test", "train"):
            raise ValueError(f"subset {self.subset!r} is not test or train.")
        if self.batch < 1 or (self.gpu is not None and self.gpu < 0):
            raise ValueError(f"batch {self.batch} must be > 0 and gpu {self.gpu} >= 0.")


def prepare(args: ScoreRequest):
    """Everything checked before any work: (record, weights, identity, path, videos, classes)."""
    run = args.run or run_folder(args)
    record = read_record(run)
    if record.split == "all":
        raise TestError(f"{run} was trained on every {record.dataset} video (--split all): it "
                        "has no test set. It is for pre-training: give its snapshot to another "
                        "run as --weights (Table 2).")
    require_dataset(record.store, record.dataset)
    trained_mean(record)  # the mean image it was trained with, if any, is there and unchanged
    weights = run_weights(run, args.weights, "--weights")
    identity = ScoreIdentity(record.net, record.dataset, record.split, args.subset,
                             record.stream, read_weights(weights)[1])
    path = score_path(args.out, identity)
    if path.exists():
        other = read_identity(path)
        if other != identity:
            raise TestError(f"{path} holds the scores of weights {other.weights_sha1[:10]}, not "
                            f"of {weights} ({identity.weights_sha1[:10]}); delete it to score "
                            "these weights, or give another --out.")
    index, served = check_store_serves(record.store, record.method, record.split, args.subset,
                                       record.net_config, every_video=True)
    served = set(served)
    videos = [(v, int(label), int(count))
              for v, label, count in zip(index.ids, index.labels, index.counts) if v in served]
    listed = index.listed.get((record.split, args.subset))
    unscored = [v for v in listed or [] if v not in served]
    if unscored and not args.allow_missing:
        raise TestError(f"{len(unscored)} of split {record.split}'s {len(listed)} {args.subset} "
                        f"videos cannot be scored from {record.store} (not on disk, or not "
                        f"extracted): extract them, or pass --allow-missing to score the "
                        f"{len(listed) - len(unscored)} it holds (the score file says so). They "
                        "are:\n" + "\n".join(unscored))
    require_space(path.parent, "score folder")
    split_videos = len(listed) if listed else None
    return record, weights, identity, path, videos, index.classes, split_videos


def score_videos(net, record, partial: PartialScores, videos, batch: int, quiet: bool):
    """Scores the videos the partial file lacks; returns the corrupt ones (skipped)."""
    config, dataset = record.net_config, record.dataset
    reader = FlowReader(record.store, record.method) if config.stream == "temporal" else \
        FrameReader(record.store)
    output = output_blob(config, dataset)
    mean = trained_mean(record)
    corrupt = []
    todo = [v for v in videos if v[0] not in partial.done]
    for video, _, count in tqdm(todo, unit="video", desc=partial.identity.name, disable=quiet):
        try:
            inputs = video_inputs(reader, video, count, config, config.input_size, mean)
        except CorruptRecord as error:
            print(f"score_net: {error}", file=sys.stderr)
            corrupt.append(video)
            continue
        partial.add(video, video_score(net, inputs, output, batch))
    return corrupt


def score_run(args: ScoreRequest) -> Path:
    """Scores the run asked for into its score file (or finds it scored already); its path.
    Raises `Unreadable` when some videos could not be read (the rest kept for the next run),
    and the refusals (`REFUSALS`) before any work."""
    record, weights, identity, path, videos, classes, split_videos = prepare(args)
    with scoring(path):
        return score_locked(args, record, weights, identity, path, videos, classes,
                            split_videos)


def score_locked(args, record, weights, identity, path, videos, classes, split_videos) -> Path:
    if path.exists():
        print(f"score_net: {path} already holds these weights' scores; nothing to do.")
        return path
    deploy = record.folder / "deploy.prototxt"
    deploy.write_text(str(cnn_m_2048(record.net_config, "deploy")))
    if args.gpu is not None:
        caffe.set_device(args.gpu)
        caffe.set_mode_gpu()
    else:
        caffe.set_mode_cpu()
    net = trained_net(deploy, weights)
    partial = PartialScores(path.with_name(path.stem + ".partial.jsonl"), identity)
    corrupt = score_videos(net, record, partial, videos, args.batch, args.quiet)
    if corrupt:
        raise Unreadable(f"{len(corrupt)} video(s) could not be read; the {len(partial.done)} "
                         f"scored are kept in {partial.path}: redo those videos' stores, then "
                         "run again.")
    # Table 2's borrowed classes: the test is over the dataset's own classes.
    scores = own_classes(np.stack([partial.done[v] for v, _, _ in videos]), len(classes))
    labels = np.array([label for _, label, _ in videos])
    write_scores(path, scores, labels, [v for v, _, _ in videos], identity, classes, weights,
                 split_videos)
    partial.path.unlink()
    fewer = f" (of the split's {split_videos})" if split_videos and split_videos > len(videos) \
        else ""
    print(f"score_net: {identity.net}, {len(videos)}{fewer} {args.subset} videos of "
          f"{identity.dataset} split {identity.split}, accuracy "
          f"{100 * accuracy(scores, labels):.1f}% (25 frames x 10 crops) -> {path}")
    return path


# What score_run raises when it refuses before any work (tools/score_net.py: exit 2).
REFUSALS = (TestError, RunError, ScoreError, StoreError, InputError, WeightsError)
