"""A training run's folder and its record: named, written and read here and nowhere else.

    {runs}/{dataset}/{net}_split{k}/    dataset: the one whose split the run trains and is
                                        tested on (a multi-task net has one run per dataset)
        config.json                     this record (every setting, stores, splits, weights sha1)
        trainval.prototxt, solver.prototxt, deploy.prototxt, train.log, metrics.jsonl,
        training.png, snapshots/{net}_iter_N.caffemodel|.solverstate|.complete
        train.lock                      held by the process training into the folder

A folder belongs to one run: training into one that holds another run's snapshots is refused
unless it is resumed (the same settings) or started over, and a second process training into it
while one does is refused at once.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from data_prep.lock import held
from models.input.mean_image import MeanError, read_known_mean
from models.nets.cnn_m_2048 import NetConfig, net_config_from

RECORD = "config.json"
METRICS = "metrics.jsonl"  # a JSON object a line: iter, loss, lr, held-out accuracy
COMPLETE = ".complete"  # beside {net}_iter_N.solverstate once Caffe has written both files
# What makes a run this run: a resumed run must be given the same, or its snapshots would be
# restored into another net or fed other data.
IDENTITY = ("net", "dataset", "split", "stores", "splits", "method", "width", "init",
            "input_size", "batch_size", "seed", "borrowed_class_names", "holdout", "mean_sha1")
# A setting a record written before it existed holds as this (what every run then used).
BEFORE_RECORDED = {"holdout": 0.1, "mean_sha1": None}
# What a resumed run may change, with a word: the schedule from the snapshot on.
SCHEDULE = ("iters", "base_lr")


class RunError(Exception):
    """A run folder that cannot be used as asked; the message says what to do."""


def run_folder(runs, net: str, dataset: str, split: int) -> Path:
    return Path(runs) / dataset / f"{net}_split{split}"


SNAPSHOT_NAME = re.compile(r"_iter_(\d+)\.(solverstate|caffemodel)$")  # Caffe's own naming


def snapshot_file(folder: Path, net: str, iteration: int, suffix: str = ".caffemodel") -> Path:
    """A snapshot's file in a run folder, as Caffe names it ({net}_iter_{N}{suffix})."""
    return Path(folder) / "snapshots" / f"{net}_iter_{iteration}{suffix}"


def snapshot_iteration(snapshot: Path) -> int:
    """The iteration in a Caffe snapshot's name ({prefix}_iter_{N}.solverstate)."""
    return int(SNAPSHOT_NAME.search(snapshot.name)[1])


def latest_snapshot(folder: Path) -> Path | None:
    """The last whole snapshot's .solverstate: a process killed while Caffe wrote one leaves a
    truncated file, which Caffe would abort on restoring; only marked ones count."""
    states = [s for s in (Path(folder) / "snapshots").glob("*_iter_*.solverstate")
              if s.with_suffix(COMPLETE).exists()]
    return max(states, key=snapshot_iteration) if states else None


def run_weights(folder: Path, weights: Path | None, flag: str) -> Path:
    """`weights` if given, else the run's last whole snapshot's caffemodel; `flag` is the
    tool's flag that gives weights, named in the refusal."""
    if weights is not None:
        if not Path(weights).is_file():
            raise RunError(f"{flag} {weights}: no such file; give the path of a .caffemodel.")
        return Path(weights)
    snapshot = latest_snapshot(folder)
    if snapshot is None:
        raise RunError(f"{folder} holds no snapshot yet (none complete in its snapshots/): train "
                       f"it first (tools/train_net.py), or give the weights with {flag}.")
    return snapshot.with_suffix(".caffemodel")


def read_metrics(folder: Path) -> list[dict] | None:
    """The rows the training loop logged to the folder's metrics.jsonl; None if there is none.
    A torn last line (a process killed while writing it) is left out; a damaged line before it
    is refused, naming the file."""
    path = Path(folder) / METRICS
    if not path.exists():
        return None
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    rows = []
    for number, line in enumerate(lines, 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise RunError(f"{path} line {number} is not a JSON row ({line[:60]!r}); delete "
                           "the line (or the file, losing the run's curve) and run again.")
    return rows


def cut_metrics(folder: Path, iteration: int) -> None:
    """metrics.jsonl cut back to the rows of iterations <= `iteration` (the snapshot a run
    resumes from; 0 on a start), written whole then renamed."""
    rows = read_metrics(folder)
    if rows is None:
        return
    path = Path(folder) / METRICS
    _write_whole(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows
                               if r["iter"] <= iteration))


def _write_whole(path: Path, text: str) -> None:
    """`text` into `path` through a .writing file renamed over it: a kill leaves the old file
    or the new one, never a torn one."""
    partial = path.with_name(path.name + ".writing")
    partial.write_text(text)
    partial.replace(path)


def mark_complete(folder: Path, net: str, iteration: int, loop: dict | None = None) -> Path:
    """Marks the snapshot Caffe has just written (both files closed) as whole. The marker holds
    the loop's own state that Caffe's snapshot lacks (`loop`, JSON; see loop_state), written
    whole then renamed, so that a marker is either absent or readable."""
    state = snapshot_file(folder, net, iteration, ".solverstate")
    _write_whole(state.with_suffix(COMPLETE), json.dumps(loop or {}, sort_keys=True) + "\n")
    return state


def loop_state(snapshot: Path) -> dict:
    """The loop's state kept beside a whole snapshot by mark_complete ({} for an empty marker,
    as runs made before it held any state have)."""
    marker = Path(snapshot).with_suffix(COMPLETE)
    text = marker.read_text()
    try:
        state = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        state = None
    if not isinstance(state, dict):
        raise RunError(f"{marker} is not the JSON object this project writes beside a snapshot; "
                       "empty it (the loop's state then starts afresh) and run again.")
    start = state.get("plateau_from")
    if start is not None and (type(start) is not int
                              or not 1 <= start <= snapshot_iteration(Path(snapshot))):
        raise RunError(f"{marker}: plateau_from {start!r} is not an iteration of this snapshot "
                       "(1 to its own); empty the file (the loop's state then starts afresh) "
                       "and run again.")
    return state


@dataclass(frozen=True)
class RunRecord:
    folder: Path
    net: str
    dataset: str
    split: int | str  # 1, 2, 3, or "all" (every video: no test set)
    net_config: NetConfig  # as trained: the run's width and crop size included
    stores: dict
    splits: dict
    method: str
    mean: Path | None = None  # the mean image the spatial net was trained with (else the pixel)
    mean_sha1: str | None = None

    @property
    def stream(self) -> str:
        return self.net_config.stream

    @property
    def store(self) -> Path:
        return Path(self.stores[self.dataset])


def write_record(folder: Path, record: dict, resumed: bool) -> Path:
    """config.json for a new run; a resumed run's settings go beside it, time-stamped."""
    name = RECORD if not resumed else f"config.resume{record['resumed_at']}.json"
    path = Path(folder) / name
    path.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_record(folder: Path) -> RunRecord:
    path = Path(folder) / RECORD
    if not path.is_file():
        raise RunError(f"{folder} has no {RECORD}; give a folder that tools/train_net.py made.")
    raw = json.loads(path.read_text())
    config = net_config_from(raw["net_config"])
    config = replace(config, width=raw["width"], input_size=raw["input_size"] or config.input_size,
                     init=raw.get("init", config.init))
    split = raw["split"] if raw["split"] == "all" else int(raw["split"])
    mean = Path(raw["mean"]) if raw.get("mean") else None
    return RunRecord(Path(folder), raw["net"], raw["dataset"], split, config,
                     raw["stores"], raw["splits"], raw["method"], mean, raw.get("mean_sha1"))


def trained_mean(record: RunRecord):
    """The mean image the run's spatial net was trained with, cut to its crops (H x W x 3); None
    when it was trained with the mean pixel."""
    if record.mean is None:
        return None
    try:
        return read_known_mean(record.mean, record.mean_sha1, record.net_config.input_size,
                               f"the run {record.folder}")
    except MeanError as error:
        raise RunError(str(error)) from None


def run_of_weights(weights) -> dict | None:
    """The run a caffemodel is a snapshot of (its net, dataset and split), when it lies in a run
    folder's snapshots/; None otherwise (ImageNet's, say). A run that starts from it records
    it: Table 2's fine-tuned net must start from a net trained on all of UCF-101 (Sect. 6)."""
    path = Path(weights).resolve()
    record = path.parent.parent / RECORD
    if path.parent.name != "snapshots" or not record.is_file():
        return None
    raw = json.loads(record.read_text())
    return {k: raw.get(k) for k in ("net", "dataset", "split")}


def pre_trained_on(folder: Path) -> dict | None:
    """The run whose snapshot the run in `folder` started from (run_of_weights, as recorded);
    None when it started from no run's snapshot, or has no record."""
    path = Path(folder) / RECORD
    return json.loads(path.read_text()).get("weights_run") if path.is_file() else None


def training(folder: Path):
    """Held for the whole of a training into `folder` (and its refusal worded for it)."""
    return held(Path(folder) / "train.lock", f"the run folder {folder}", RunError)


def claim_folder(folder: Path, resume: bool, fresh: bool, identity: dict) -> list[str]:
    """Makes sure `folder` is this run's: refuses another run's snapshots, clears them on
    `fresh`, and refuses to resume under other settings; returns a sentence for each schedule
    setting a resumed run changes."""
    folder = Path(folder)
    held = latest_snapshot(folder)
    if fresh:
        for name in ("snapshots", METRICS, "training.png"):
            target = folder / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        for old in folder.glob("config*.json"):
            old.unlink()
        return []
    if held is not None and not resume:
        raise RunError(f"{folder} already holds a run (snapshot {held.name}): --resume continues "
                       "it, --fresh deletes its snapshots and starts over.")
    if resume and (folder / RECORD).is_file():
        recorded = json.loads((folder / RECORD).read_text())
        recorded = {**BEFORE_RECORDED, **recorded}
        changed = [k for k in IDENTITY if _plain(recorded.get(k)) != _plain(identity.get(k))]
        if changed:
            k = changed[0]
            raise RunError(f"{folder} was trained with {k} = {recorded.get(k)!r}, this run asks "
                           f"for {identity.get(k)!r}: --resume continues a run with its own "
                           "settings; give the same, or --fresh to start over.")
        def said(value):
            return "the paper's" if value is None else value
        return [f"resumed with {k} = {said(identity.get(k))} where the run began with "
                f"{said(recorded.get(k))}: the schedule from the snapshot on is the new one's"
                for k in SCHEDULE if _plain(recorded.get(k)) != _plain(identity.get(k))]
    return []


def _plain(value):
    """A setting as JSON would hold it, so a record read back compares equal to the live one."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))
