"""The paper's tables and figures from whatever runs exist (Sect. 6, Tables 1-4, Figs. 4-6).

Each net that tools/score_net.py has tested has a score file saying which net it is, on which
dataset, split and subset (models/evaluate/score_file.py); this module puts them beside the paper's
numbers, fuses the streams for Tables 3-4, and draws the confusion matrix, the per-class recall
and the first-layer filters of a temporal net.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.evaluate.figures import draw_figures, draw_filters
from models.evaluate.fusion import fuse_files
from models.evaluate.metrics import accuracy, confusion
from models.evaluate.score_file import ScoreError, Scores, class_names, named_path, read_scores
from models.nets.paper_nets import fused_nets
from models.train.run_record import latest_snapshot, pre_trained_on, run_folder

MULTITASK = "multitask_temporal_flow-L10-meansub_scratch_drop0.9"
UNI = "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"
BIDIR = "ucf101_temporal_bidirectional-L10-meansub_scratch_drop0.9"

# (table, row label, dataset, paper's accuracy %, net name or a fusion (spatial, temporal, how))
PAPER_ROWS = [
    ("1a", "from scratch, dropout 0.5", "ucf101", 42.5, "ucf101_spatial_scratch_drop0.5"),
    ("1a", "from scratch, dropout 0.9", "ucf101", 52.3, "ucf101_spatial_scratch_drop0.9"),
    ("1a", "pre-trained + fine-tuning, 0.5", "ucf101", 70.8, "ucf101_spatial_finetune_drop0.5"),
    ("1a", "pre-trained + fine-tuning, 0.9", "ucf101", 72.8, "ucf101_spatial_finetune_drop0.9"),
    ("1a", "pre-trained + last layer, 0.5", "ucf101", 72.7, "ucf101_spatial_lastlayer_drop0.5"),
    ("1a", "pre-trained + last layer, 0.9", "ucf101", 59.9, "ucf101_spatial_lastlayer_drop0.9"),
    ("1b", "single-frame flow (L = 1)", "ucf101", 73.9,
     "ucf101_temporal_flow-L1-meansub_scratch_drop0.9"),
    ("1b", "flow stacking, L = 5", "ucf101", 80.4,
     "ucf101_temporal_flow-L5-meansub_scratch_drop0.9"),
    ("1b", "flow stacking, L = 10", "ucf101", 81.0, UNI),
    ("1b", "flow stacking, L = 10, no mean subtraction", "ucf101", 79.9,
     "ucf101_temporal_flow-L10-nomeansub_scratch_drop0.9"),
    ("1b", "trajectory stacking, L = 10, no mean subtraction", "ucf101", 79.6,
     "ucf101_temporal_trajectory-L10-nomeansub_scratch_drop0.9"),
    ("1b", "trajectory stacking, L = 10", "ucf101", 80.2,
     "ucf101_temporal_trajectory-L10-meansub_scratch_drop0.9"),
    ("1b", "flow stacking, L = 10, bi-directional", "ucf101", 81.2, BIDIR),
    ("1b", "\"slow fusion\", 11 RGB frames (Sect. 6)", "ucf101", 56.4,
     "ucf101_rgbstack-L11_scratch_drop0.9"),
    ("2", "HMDB-51 alone", "hmdb51", 46.6, "hmdb51_temporal_flow-L10-meansub_scratch_drop0.9"),
    ("2", "fine-tuned from UCF-101", "hmdb51", 49.0,
     "hmdb51_temporal_flow-L10-meansub_finetune_drop0.9"),
    ("2", "+ 78 UCF-101 classes", "hmdb51", 52.8,
     "hmdb51_temporal_flow-L10-meansub_plus-ucf101-78_scratch_drop0.9"),
    ("2", "multi-task", "hmdb51", 55.4, MULTITASK),
    ("3", "bi-directional, averaging", "ucf101", 85.6, ("ucf101", BIDIR, "average")),
    ("3", "uni-directional, averaging", "ucf101", 85.9, ("ucf101", UNI, "average")),
    ("3", "uni-directional multi-task, averaging", "ucf101", 86.2,
     ("ucf101", MULTITASK, "average")),
    ("3", "uni-directional multi-task, SVM", "ucf101", 87.0, ("ucf101", MULTITASK, "svm")),
]
# Table 4: mean over the three splits; (paper %) per dataset and column.
TABLE4 = {"ucf101": {"spatial": 73.0, "temporal": 83.7, "average": 86.9, "svm": 88.0},
          "hmdb51": {"spatial": 40.5, "temporal": 54.6, "average": 58.0, "svm": 59.4}}


@dataclass(frozen=True)
class Run:
    """One net tested on one dataset's split: its score files (models/evaluate/score_file.py)."""

    net: str
    dataset: str  # the dataset whose videos were scored
    split: int
    test: Path
    train: Path | None  # the training videos' scores, for the SVM
    scores: Scores | None = field(default=None, compare=False)  # the test file, read once

    @property
    def name(self) -> str:
        """Its figures' name under the report's folder: {dataset}/{net}_split{k}."""
        return f"{self.dataset}/{self.net}_split{self.split}"


def find_runs(scores_dir: Path) -> tuple[list[Run], list[str]]:
    """Every net with test scores under `scores_dir`, by what the score files say they are; and
    why each file that cannot be read (a damaged copy, say) is left out."""
    found, left_out = [], []
    for path in sorted(Path(scores_dir).glob("*/*_test.h5")):
        try:
            scores = read_scores(path)
        except ScoreError as error:
            left_out.append(str(error))
            continue
        i = scores.identity
        train = named_path(scores_dir, i.dataset, i.net, i.split, "train")
        found.append(Run(i.net, i.dataset, i.split, path, train if train.exists() else None,
                         scores))
    return found, left_out


def run_of(runs: list[Run], net: str, split: int, dataset: str) -> Run | None:
    return next((r for r in runs if r.net == net and r.split == split and r.dataset == dataset),
                None)


def fused(runs: list[Run], dataset: str, temporal_net: str, split: int) -> dict | None:
    spatial = run_of(runs, fused_nets(dataset)[0], split, dataset)
    temporal = run_of(runs, temporal_net, split, dataset)
    if spatial is None or temporal is None:
        return None
    train = (spatial.train, temporal.train) if spatial.train and temporal.train else ()
    try:
        return fuse_files(spatial.test, temporal.test, *train)
    except ScoreError as error:
        print(f"report: {dataset} split {split} not fused: {error}", file=sys.stderr)
        return None


# Table 2's fine-tuned net starts from "the full (all splits combined) UCF-101" net (Sect. 6).
PRE_TRAINED_ON_ALL = "hmdb51_temporal_flow-L10-meansub_finetune_drop0.9"


def pre_training_mark(run: Run, runs_dir: Path | None) -> str:
    """A row's mark when its net should start from a net trained on every video of a dataset
    and its run folder says it started from another (a split's, or no run's)."""
    if run.net != PRE_TRAINED_ON_ALL or runs_dir is None:
        return ""
    origin = pre_trained_on(run_folder(runs_dir, run.net, run.dataset, run.split))
    if origin is None:
        return " (pre-trained on no recorded run: the paper's was trained on all of UCF-101)"
    if origin["split"] != "all":
        return (f" (pre-trained on {origin['dataset']} split {origin['split']}, not on all of "
                "it as the paper: train it with SPLIT=all)")
    return ""


def cell(value: float | None) -> str:
    return "no run" if value is None else f"{100 * value:.1f}%"


def tables(runs: list[Run], split: int = 1, runs_dir: Path | None = None) -> str:
    lines = []
    for table in ("1a", "1b", "2", "3"):
        lines += [f"### Table {table} (split {split})", "", "| setting | paper | ours |",
                  "|---|---|---|"]
        for t, label, dataset, paper, source in PAPER_ROWS:
            if t != table:
                continue
            if isinstance(source, tuple):
                result = fused(runs, source[0], source[1], split)
                ours = None if result is None else result.get(source[2])
            else:
                run = run_of(runs, source, split, dataset)
                ours = None
                if run is not None:
                    ours = accuracy(run.scores.scores, run.scores.labels)
                    label += shortfall(run.scores) + pre_training_mark(run, runs_dir)
            lines.append(f"| {label} | {paper:.1f}% | {cell(ours)} |")
        lines.append("")
    lines += ["### Table 4 (mean over the splits that have runs)", "",
              "| dataset | stream | paper | ours | splits |", "|---|---|---|---|---|"]
    for dataset, paper in TABLE4.items():
        per_split = [r for r in (fused(runs, dataset, fused_nets(dataset)[1], k)
                                 for k in (1, 2, 3)) if r]
        for column, value in paper.items():
            values = [r[column] for r in per_split if column in r]
            ours = float(np.mean(values)) if values else None
            lines.append(f"| {dataset} | {column} | {value:.1f}% | {cell(ours)} | {len(values)} |")
    return "\n".join(lines) + "\n"


def shortfall(scores: Scores) -> str:
    """A row's mark when its score file holds fewer than its split's test videos."""
    held, listed = len(scores.video_ids), scores.split_videos
    return f" (on {held} of the split's {listed} videos)" if listed and held < listed else ""


def worst_classes(matrix: np.ndarray, names: list[str], count: int = 5) -> list[str]:
    """The classes with the lowest recall, each with what it is most confused with."""
    lines = []
    for c in np.argsort(np.diag(matrix))[:count]:
        row = matrix[c].copy()
        row[c] = -1
        other = int(row.argmax())
        lines.append(f"{names[c]}: recall {100 * matrix[c, c]:.0f}%, most often taken for "
                     f"{names[other]} ({100 * matrix[c, other]:.0f}%)")
    return lines


def conv1_filters(run, runs: Path, out: Path) -> Path | None:
    folder = run_folder(runs, run.net, run.dataset, run.split)
    snapshot, deploy = latest_snapshot(folder), folder / "deploy.prototxt"
    if snapshot is None or not deploy.exists():
        return None
    import caffe  # only here: the tables need no Caffe
    caffe.set_mode_cpu()
    net = caffe.Net(str(deploy), str(snapshot.with_suffix(".caffemodel")), caffe.TEST)
    return draw_filters(net.params["conv1"][0].data, out / f"{run.name}_conv1.png")


def write_report(scores_dir: Path, runs_dir: Path, out: Path) -> tuple[Path, int, list[str]]:
    """OUT/report.md: Tables 1-4 beside the paper, then each run's worst classes and figures
    (Figs. 4-6); (its path, the number of runs in it, why each unreadable file is left out)."""
    out.mkdir(parents=True, exist_ok=True)
    runs, left_out = find_runs(scores_dir)
    lines = ["# Two-stream ConvNets: our runs beside the paper", "",
             f"{len(runs)} tested net(s) under `{scores_dir}`.", ""]
    if left_out:
        lines += ["Score files left out, unreadable:", ""] + [f"- {e}" for e in left_out] + [""]
    lines.append(tables(runs, runs_dir=runs_dir))
    for run in runs:
        scores = run.scores
        names = class_names(scores)
        matrix = confusion(scores.scores, scores.labels, scores.scores.shape[1])
        figures = draw_figures(run, matrix, names, out)
        lines += [f"## {run.net} on {run.dataset}, split {run.split}", "",
                  f"Scores: `{run.test}`.", "", "Worst classes:", ""]
        lines += [f"- {line}" for line in worst_classes(matrix, names)]
        lines += [""] + [f"![{p.stem}]({p.relative_to(out)})" for p in figures]
        if "temporal" in run.net:
            filters = conv1_filters(run, runs_dir, out)
            if filters is not None:
                lines += [f"![first-layer filters (Fig. 4)]({filters.relative_to(out)})"]
        lines.append("")
    (out / "report.md").write_text("\n".join(lines))
    return out / "report.md", len(runs), left_out

