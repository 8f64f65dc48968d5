"""The demo's report: OUT/results.json and OUT/report.md with its tables and figures."""
from __future__ import annotations

import json
from pathlib import Path

from models.demo.findings import finding_line, percent
from models.evaluate.figures import draw_figures, flow_figure, loss_figure
from models.evaluate.metrics import confusion
from models.evaluate.score_file import class_names
from models.evaluate.tables import Run


def write_report(demo, results: dict, scores: dict, folders: dict) -> None:
    """`demo`: the models.demo.pipeline.Demo that ran (its folders and config)."""
    out, c = demo.out, demo.config
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    n = results["test_videos"]
    lines = [
        "# The demo: the paper in miniature on the synthetic data", "",
        f"Split 1; {n['ucf101']} UCF-101-like and {n['hmdb51']} HMDB-51-like test videos, "
        f"each scored as the paper does (25 frames x 10 crops). Nets: CNN-M-2048 at width "
        f"{c.width} ({c.init or 'each net its own'} initialisation), {c.input_size}-pixel "
        f"crops of frames and flow "
        f"stored at a {c.short_side}-pixel short side, batch {c.batch_size}, {c.iters} "
        f"iterations from "
        f"scratch, dropout {c.spatial_dropout} (spatial) and {c.temporal_dropout} (temporal). "
        f"Took {results['seconds']:.0f} s.", "",
        "| net | accuracy |", "|---|---|"]
    for key in ("spatial", "temporal", "fusion.average", "fusion.svm",
                "temporal_no_mean_subtraction", "temporal_L1", "multitask.temporal"):
        lines.append(f"| `{key}` | {percent(results[key])} |")
    lines += ["", "| class group | spatial | temporal |", "|---|---|---|"]
    for group in ("motion_only", "appearance_only"):
        lines.append(f"| {group.replace('_', '-')} | {percent(results[f'spatial.{group}'])} | "
                     f"{percent(results[f'temporal.{group}'])} |")
    lines += ["", "## What the synthetic data were built to show", "",
              "Each finding's difference in accuracy on the same test videos, with its 95% "
              "paired-bootstrap interval (10,000 resamplings of the videos): it holds when the "
              "whole interval is a gain, holds within noise when only the difference is.", ""]
    lines += [f"- {finding_line(f)}" for f in results["findings"]]
    lines += ["", "`multitask.temporal` is the multi-task temporal net (Sect. 4) trained on "
              "HMDB-51-like split 1 plus all UCF-101-like videos, tested on HMDB-51-like split "
              "1 (the set-up of Table 2).", "", "## Figures", "",
              f"![flow]({flow_figure(demo.stores / 'ucf101', 'brox', 1, figures / 'flow.png').relative_to(out)})",
              f"![training loss]({loss_figure(folders, figures / 'loss.png').relative_to(out)})"]
    for key in ("spatial", "temporal"):
        s = scores[key]
        names = class_names(s)
        run = Run(key, "ucf101", 1, Path(s.path), None)
        for figure in draw_figures(run, confusion(s.scores, s.labels, len(names)), names,
                                   figures):
            lines.append(f"![{figure.stem}]({figure.relative_to(out)})")
    (out / "report.md").write_text("\n".join(lines) + "\n")
