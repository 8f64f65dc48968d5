"""What the demo measures: accuracies from its score files, per class group, and whether each
finding the synthetic data were built to show holds in this run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.evaluate.fusion import fuse
from models.evaluate.metrics import accuracy
from models.evaluate.score_file import Scores, class_names


def group_classes(synthetic: Path, dataset: str) -> dict[str, set]:
    meta = json.loads((synthetic / dataset / "synthetic.json").read_text())
    return {group: {c for pair in pairs for c in pair} for group, pairs in meta["groups"].items()}


def group_accuracy(scores: Scores, classes: set) -> float:
    """Accuracy on the test videos whose true class is in `classes`."""
    names = class_names(scores)
    keep = np.array([names[label] in classes for label in scores.labels])
    return accuracy(scores.scores[keep], scores.labels[keep])


def measure(scores: dict, synthetic: Path) -> dict:
    """results.json's figures from the score files, each read once (`scores`: key -> Scores)."""
    fused = fuse(scores["spatial"], scores["temporal"], scores["spatial.train"],
                 scores["temporal.train"])
    results = {key: accuracy(s.scores, s.labels) for key, s in scores.items()
               if not key.endswith(".train")}
    results["fusion.average"], results["fusion.svm"] = fused["average"], fused["svm"]
    for group, classes in group_classes(synthetic, "ucf101").items():
        for stream in ("spatial", "temporal"):
            results[f"{stream}.{group}"] = group_accuracy(scores[stream], classes)
    results["test_videos"] = {"ucf101": fused["videos"],
                              "hmdb51": len(scores["multitask.temporal"].labels)}
    results["findings"] = findings(results)
    return results


def findings(r: dict) -> list[dict]:
    """What the synthetic data were built to show, each with whether this run shows it."""
    best_single = max(r["spatial"], r["temporal"])
    claims = [
        ("the temporal stream beats the spatial stream on motion-only classes",
         r["temporal.motion_only"], r["spatial.motion_only"]),
        ("the spatial stream beats the temporal stream on appearance-only classes",
         r["spatial.appearance_only"], r["temporal.appearance_only"]),
        ("fusion by averaging beats each stream alone", r["fusion.average"], best_single),
        ("fusion by SVM beats each stream alone", r["fusion.svm"], best_single),
        ("mean flow subtraction helps under camera motion", r["temporal"],
         r["temporal_no_mean_subtraction"]),
        ("L = 10 stacked flows beat L = 1", r["temporal"], r["temporal_L1"]),
    ]
    return [dict(claim=claim, holds=bool(ours > other), value=ours, compared_with=other)
            for claim, ours, other in claims]


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"
