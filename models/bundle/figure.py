"""A classified video as a figure: a strip of its sampled frames, their flow in colour, and a bar
chart of the top classes' spatial, temporal and fused scores."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import numpy as np  # noqa: E402

from data_prep.flow.middlebury import flow_to_colour  # noqa: E402
from models.bundle.classify import Classified  # noqa: E402

BAR_COLOURS = {"spatial": "tab:blue", "temporal": "tab:orange", "fused": "black"}


def classified_figure(result: Classified, classes: list[str], fusion: str, path: Path,
                      top: int = 5) -> Path:
    strip = result.strip
    rows = 2 if any(flow is not None for _, _, flow in strip) else 1
    height, width = strip[0][1].shape[:2]
    side = 1.8  # inches a frame is wide
    fig = plt.figure(figsize=(side * len(strip) + 4.2, side * height / width * rows + 1.0))
    grid = fig.add_gridspec(rows, len(strip) + 1, width_ratios=[side] * len(strip) + [4.2])
    for column, (t, frame, flow) in enumerate(strip):
        ax = fig.add_subplot(grid[0, column])
        ax.imshow(frame[..., ::-1])
        ax.set_title(f"frame {t}", fontsize=8)
        ax.axis("off")
        if rows == 2:
            ax = fig.add_subplot(grid[1, column])
            ax.imshow(flow_to_colour(flow)[..., ::-1])
            ax.axis("off")
    bars = fig.add_subplot(grid[:, len(strip)])
    picked = result.top(top)[::-1]  # the best at the top
    kinds = (["fused"] if fusion == "average" else []) + \
        [k for k in ("temporal", "spatial") if k in result.scores]
    bar = 0.8 / len(kinds)
    for i, kind in enumerate(kinds):  # the first kind on top of each class's group
        values = [float(result.scores[kind][c]) for c in picked]
        bars.barh(np.arange(len(picked)) + ((len(kinds) - 1) / 2 - i) * bar, values, bar,
                  color=BAR_COLOURS[kind], label=kind)
    bars.set_yticks(np.arange(len(picked)), [classes[c] for c in picked], fontsize=8)
    bars.set_xlim(0, 1)
    bars.set_xlabel("softmax score" + (" (the SVM ranks the classes)" if fusion == "svm" else ""),
                    fontsize=8)
    bars.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{result.video.name}: {classes[result.top(1)[0]]} (25 frames x 10 crops; "
                 "frames sampled from the 25, their flow below: hue direction, saturation "
                 "speed)", fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
