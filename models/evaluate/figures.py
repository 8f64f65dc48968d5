"""The figures of the report and the demo: the confusion matrix (Fig. 5), per-class recall
(Fig. 6), a temporal net's first-layer filters (Fig. 4), frames with their flow, loss curves."""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first

from data_prep.flow.middlebury import flow_to_colour  # noqa: E402
from data_prep.store import FlowReader, FrameReader, read_index  # noqa: E402
from models.train.run_record import read_metrics  # noqa: E402


def draw_figures(run, matrix: np.ndarray, names: list[str], out: Path) -> list[Path]:
    """Confusion matrix (Fig. 5) and per-class recall (Fig. 6) of one run's test scores (`run`:
    a models.evaluate.tables.Run, whose `name` places the files under `out`)."""
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


def flow_figure(store: Path, method: str, split: int, path: Path) -> Path:
    """A frame and its stored flow (Middlebury colours) for one test video of each class."""
    frames, flows = FrameReader(store), FlowReader(store, method)
    index = read_index(store)
    names, test = index.classes, index.member(split, "test")
    picks = {}
    for video, label, is_test in zip(index.ids, index.labels, test):
        if is_test:
            picks.setdefault(int(label), video)
    fig, axes = plt.subplots(2, len(picks), figsize=(1.6 * len(picks), 3.2), squeeze=False)
    for column, (label, video) in enumerate(sorted(picks.items())):
        t = flows.count(video) // 2
        axes[0, column].imshow(frames.frame(video, t)[..., ::-1])
        axes[1, column].imshow(flow_to_colour(flows.flow(video, t))[..., ::-1])
        axes[0, column].set_title(names[label], fontsize=7)
        for row in (0, 1):
            axes[row, column].axis("off")
    fig.suptitle(f"a test frame of each class (top) and its {method} flow (bottom; hue: direction, "
                 "saturation: speed)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def loss_figure(folders: dict, path: Path) -> Path:
    """The training loss of each run folder (its metrics.jsonl), one curve per key."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for key, folder in folders.items():
        steps = [r for r in read_metrics(folder) if "loss" in r]
        ax.plot([r["iter"] for r in steps], [r["loss"] for r in steps], label=key)
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.set_title("training loss of the demo's nets")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
