"""The paper's tables and figures from whatever runs exist (Sect. 6, Tables 1-4, Figs. 4-6).

Each net that tools/test_net.py has tested has a score file saying which net it is, on which
dataset, split and subset (models/score_file.py); this module puts them beside the paper's
numbers, fuses the streams for Tables 3-4, and draws the confusion matrix, the per-class recall
and the first-layer filters of a temporal net.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.fusion import accuracy, fuse_files
from models.paper import fused_nets
from models.score_file import ScoreError, named_path, read_identity, read_scores

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
    """One net tested on one dataset's split: its score files (models/score_file.py)."""

    net: str
    dataset: str  # the dataset whose videos were scored
    split: int
    test: Path
    train: Path | None  # the training videos' scores, for the SVM

    @property
    def name(self) -> str:
        """Its figures' name under the report's folder: {dataset}/{net}_split{k}."""
        return f"{self.dataset}/{self.net}_split{self.split}"


def find_runs(scores_dir: Path) -> list[Run]:
    """Every net with test scores under `scores_dir`, by what the score files say they are."""
    found = []
    for path in sorted(Path(scores_dir).glob("*/*_test.h5")):
        i = read_identity(path)
        train = named_path(scores_dir, i.dataset, i.net, i.split, "train")
        found.append(Run(i.net, i.dataset, i.split, path, train if train.exists() else None))
    return found


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


def cell(value: float | None) -> str:
    return "no run" if value is None else f"{100 * value:.1f}%"


def tables(runs: list[Run], split: int = 1) -> str:
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
                ours = None if run is None else accuracy_of(run)
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


def accuracy_of(run: Run) -> float:
    scores = read_scores(run.test)
    return accuracy(scores.scores, scores.labels)


def confusion(scores: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """Row-normalised confusion matrix: row = true class, column = predicted."""
    matrix = np.zeros((classes, classes))
    np.add.at(matrix, (labels, scores.argmax(1)), 1)
    return matrix / np.maximum(matrix.sum(1, keepdims=True), 1)


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


def class_names(scores) -> list[str]:
    names = list(scores.class_names)
    return names if len(names) == scores.scores.shape[1] else \
        [str(i) for i in range(scores.scores.shape[1])]


def draw_figures(run: Run, matrix: np.ndarray, names: list[str], out: Path) -> list[Path]:
    """Confusion matrix (Fig. 5) and per-class recall (Fig. 6) of one run's test scores."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(matrix, cmap="viridis", vmin=0, vmax=1)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"confusion matrix: {run.net}, split {run.split}")
    fig.colorbar(image)
    fig.tight_layout()
    paths = [out / f"{run.name}_confusion.png"]
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(max(6, 0.25 * len(names)), 4))
    ax.bar(range(len(names)), np.diag(matrix))
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.set_ylabel("recall")
    ax.set_ylim(0, 1)
    ax.set_title(f"per-class recall: {run.net}, split {run.split}")
    fig.tight_layout()
    paths.append(out / f"{run.name}_recall.png")
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)
    return paths


def draw_filters(weights: np.ndarray, path: Path) -> Path:
    """Fig. 4: conv1 filters of a temporal net, one column a filter, one row an input channel
    (d^x and d^y of each of the L flows)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    filters, channels = weights.shape[:2]
    shown = min(filters, 96)
    fig, axes = plt.subplots(channels, shown, figsize=(shown * 0.3, channels * 0.3),
                             squeeze=False)
    bound = np.abs(weights).max() or 1
    for f in range(shown):
        for c in range(channels):
            axes[c, f].imshow(weights[f, c], cmap="gray", vmin=-bound, vmax=bound)
            axes[c, f].axis("off")
    fig.savefig(path, dpi=60)
    plt.close(fig)
    return path
