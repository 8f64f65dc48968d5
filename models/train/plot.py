"""training.png: a run's training loss and held-out accuracy against iterations, from its
metrics.jsonl."""
from __future__ import annotations

import logging
from pathlib import Path

from models.train.run_record import RunError, read_metrics

log = logging.getLogger("train")


def drawn(folder: Path) -> None:
    """training.png however the run ended; a plot that fails is a warning, never the error a
    run ends with (a full disk, a damaged metrics.jsonl)."""
    try:
        plot(folder)
    except (RunError, OSError, ValueError) as error:
        log.warning("training.png not drawn: %s", error)


def plot(folder: Path) -> Path | None:
    """training.png: training loss and held-out accuracy against iterations."""
    rows = read_metrics(folder)
    if rows is None:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, loss_ax = plt.subplots(figsize=(8, 4.5))
    steps = [r for r in rows if "loss" in r]
    loss_ax.plot([r["iter"] for r in steps], [r["loss"] for r in steps], color="tab:blue")
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel("training loss", color="tab:blue")
    accuracy_ax = loss_ax.twinx()
    for name in sorted({k for r in rows for k in r if k.startswith("accuracy")}):
        points = [r for r in rows if name in r]
        accuracy_ax.plot([r["iter"] for r in points], [r[name] for r in points], marker="o",
                         label=f"held-out {name}")
    accuracy_ax.set_ylabel("held-out accuracy")
    accuracy_ax.set_ylim(0, 1)
    if accuracy_ax.lines:
        accuracy_ax.legend(loc="center right")
    loss_ax.set_title(folder.name)
    fig.tight_layout()
    fig.savefig(folder / "training.png", dpi=100)
    plt.close(fig)
    return folder / "training.png"
