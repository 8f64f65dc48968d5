"""Score files: one net's video-level scores on one subset of one split, named, written and read
here and nowhere else.

    {scores}/{dataset}/{net}_split{k}_{subset}.h5        (scores: runs/scores by default)

    scores      float32 [N, C]   mean softmax over a video's 25 frames x 10 crops
    labels      int64   [N]
    video_ids   UTF-8   [N]      the video's path as the split files write it
    attributes  net, dataset, split, subset ("train" / "test"), stream, weights, weights_sha1,
                class_names

While tools/score_net.py runs, {name}.partial.jsonl holds the videos done so far: its first line
is the identity above, so a partial file of another net or other weights is never resumed.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np

from data_prep.lock import held


class ScoreError(ValueError):
    """Score files that cannot be used as asked; the message names them and says why."""


@dataclass(frozen=True)
class ScoreIdentity:
    """Everything that makes a score file what it is."""

    net: str
    dataset: str  # the dataset whose videos are scored
    split: int
    subset: str
    stream: str  # spatial or temporal (a multi-task net is a temporal one)
    weights_sha1: str

    @property
    def name(self) -> str:
        return f"{self.net}_split{self.split}_{self.subset}"


def score_path(scores_dir, identity: ScoreIdentity) -> Path:
    return named_path(scores_dir, identity.dataset, identity.net, identity.split, identity.subset)


def named_path(scores_dir, dataset: str, net: str, split: int, subset: str) -> Path:
    return Path(scores_dir) / dataset / f"{net}_split{split}_{subset}.h5"


@dataclass(frozen=True)
class Scores:
    path: str
    scores: np.ndarray
    labels: np.ndarray
    video_ids: list[str]
    identity: ScoreIdentity
    class_names: list[str]
    split_videos: int | None = None  # the split's subset's videos; None: not recorded


def class_names(scores: Scores) -> list[str]:
    """The file's class names, or the class numbers where it has none."""
    names = list(scores.class_names)
    return names if len(names) == scores.scores.shape[1] else \
        [str(i) for i in range(scores.scores.shape[1])]


def scoring(path: Path):
    """Held by the process testing into the score file `path`, from its first video to its
    rename: a second one is refused at once."""
    path = Path(path)
    return held(path.with_name(path.name + ".lock"), f"the score file {path}", ScoreError)


def write_scores(path, scores, labels, video_ids, identity: ScoreIdentity, class_names,
                 weights: str = "", split_videos: int | None = None) -> Path:
    """Written to a temporary file and renamed: a score file is whole or absent.
    split_videos: how many videos the split's subset lists (a file may hold fewer, tested with
    --allow-missing); None where the store does not know."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".writing")
    with h5py.File(partial, "w") as f:
        f["scores"] = np.asarray(scores, np.float32)
        f["labels"] = np.asarray(labels, np.int64)
        f["video_ids"] = np.array(video_ids, dtype=object).astype(h5py.string_dtype())
        for key, value in asdict(identity).items():
            f.attrs[key] = value
        f.attrs["weights"] = str(weights)
        if split_videos is not None:
            f.attrs["split_videos"] = int(split_videos)
        f.attrs["class_names"] = np.array(list(class_names), dtype=object).astype(
            h5py.string_dtype())
    partial.replace(path)
    return path


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def identity_of(path, attrs) -> ScoreIdentity:
    missing = [k for k in ScoreIdentity.__dataclass_fields__ if k not in attrs]
    if missing:
        raise ScoreError(f"{path} does not say its {', '.join(missing)}: it was not written by "
                         "tools/score_net.py; test the run again to make it.")
    return ScoreIdentity(_text(attrs["net"]), _text(attrs["dataset"]), int(attrs["split"]),
                         _text(attrs["subset"]), _text(attrs["stream"]),
                         _text(attrs["weights_sha1"]))


def opened(path: Path) -> h5py.File:
    """The score file open for reading; one that is missing, truncated or not HDF5 is refused."""
    if not path.is_file():
        raise ScoreError(f"score file {path} does not exist; run tools/score_net.py first.")
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise ScoreError(f"{path} is not a whole HDF5 file ({error}); it is damaged (a copy cut "
                         "short?): delete it and score the run again with tools/score_net.py."
                         ) from None


def read_scores(path) -> Scores:
    path = Path(path)
    try:
        with opened(path) as f:
            scores = Scores(str(path), f["scores"][:], f["labels"][:],
                            [_text(v) for v in f["video_ids"][:]], identity_of(path, f.attrs),
                            [_text(c) for c in f.attrs.get("class_names", [])],
                            int(f.attrs["split_videos"]) if "split_videos" in f.attrs else None)
    except (OSError, KeyError) as error:
        raise ScoreError(f"{path} is not a score file ({error}); it needs scores, labels and "
                         "video_ids.") from None
    n = len(scores.video_ids)
    if scores.scores.ndim != 2 or scores.scores.shape[0] != n or scores.labels.shape != (n,):
        raise ScoreError(f"{path}: scores {scores.scores.shape}, labels {scores.labels.shape} and "
                         f"{n} video ids do not agree.")
    if not np.all(np.isfinite(scores.scores)):
        raise ScoreError(f"{path} holds non-finite scores; the net that made it diverged.")
    if len(set(scores.video_ids)) != n:
        raise ScoreError(f"{path} lists a video twice.")
    return scores


def read_identity(path) -> ScoreIdentity:
    with opened(Path(path)) as f:
        return identity_of(path, f.attrs)


class PartialScores:
    """Scores of the videos done so far, one JSON line each after the identity's line: an
    interrupted test of the same net and weights resumes; another's is refused."""

    def __init__(self, path: Path, identity: ScoreIdentity):
        self.path, self.identity, self.done = Path(path), identity, {}
        lines = self.path.read_text().splitlines() if self.path.exists() else []
        # No file, or one whose first line a kill cut short (no score was stored yet): begin it.
        if len(lines) <= 1 and _json(lines[0] if lines else "") is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"identity": asdict(identity)}, sort_keys=True) + "\n")
            return
        header = (_json(lines[0]) or {}).get("identity")
        if header != asdict(identity):
            known = isinstance(header, dict) and {"net", "weights_sha1", "subset"} <= set(header)
            other = (f"{header['net']} (weights {header['weights_sha1'][:10]}, {header['subset']})"
                     if known else "an unknown net")
            raise ScoreError(f"{self.path} holds the partial scores of {other}, not of "
                             f"{identity.net} (weights {identity.weights_sha1[:10]}, "
                             f"{identity.subset}); delete it and run again.")
        for line in lines[1:]:
            row = _json(line)
            if row is not None:  # else a line cut short by a kill
                self.done[row["video"]] = np.float32(row["scores"])

    def add(self, video: str, scores: np.ndarray) -> None:
        self.done[video] = scores
        with open(self.path, "a") as f:
            f.write(json.dumps({"video": video, "scores": scores.tolist()}) + "\n")


def _json(line: str) -> dict | None:
    """A line's JSON object, or None for a line that is not one (cut short, say)."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
