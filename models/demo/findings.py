"""What the demo measures: accuracies from its score files, per class group, and whether each
finding the synthetic data were built to show holds in this run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from data_prep.datasets.synthetic import MARKER
from models.evaluate.fusion import Fused, aligned, fused_scores
from models.evaluate.metrics import accuracy, paired_difference
from models.evaluate.score_file import Scores, class_names


def group_classes(synthetic: Path, dataset: str) -> dict[str, set]:
    meta = json.loads((synthetic / dataset / MARKER).read_text())
    return {group: {c for pair in pairs for c in pair} for group, pairs in meta["groups"].items()}


def group_accuracy(scores: Scores, classes: set) -> float:
    """Accuracy on the test videos whose true class is in `classes`."""
    names = class_names(scores)
    keep = np.array([names[label] in classes for label in scores.labels])
    return accuracy(scores.scores[keep], scores.labels[keep])


def measure(scores: dict, synthetic: Path) -> dict:
    """results.json's figures from the score files, each read once (`scores`: key -> Scores)."""
    fused = fused_scores(scores["spatial"], scores["temporal"], scores["spatial.train"],
                         scores["temporal.train"])
    results = {key: accuracy(s.scores, s.labels) for key, s in scores.items()
               if not key.endswith(".train")}
    for method in ("average", "svm"):
        results[f"fusion.{method}"] = accuracy(fused.scores[method], fused.labels)
    groups = group_classes(synthetic, "ucf101")
    for group, classes in groups.items():
        for stream in ("spatial", "temporal"):
            results[f"{stream}.{group}"] = group_accuracy(scores[stream], classes)
    results["test_videos"] = {"ucf101": len(fused.labels),
                              "hmdb51": len(scores["multitask.temporal"].labels)}
    results["findings"] = findings(comparisons(scores, fused, groups))
    return results


def comparisons(scores: dict, fused: Fused, groups: dict[str, set]) -> list[tuple]:
    """Each finding as (claim, our scores, the other's scores, labels), rows aligned on the
    same test videos: a class group's claims on that group's videos only."""
    names = class_names(scores["spatial"])
    in_group = {group: np.array([names[label] in classes for label in fused.labels])
                for group, classes in groups.items()}
    s, t, labels = fused.scores["spatial"], fused.scores["temporal"], fused.labels
    best = "spatial" if accuracy(s, labels) > accuracy(t, labels) else "temporal"
    motion, appearance = in_group["motion_only"], in_group["appearance_only"]
    without_mean, L1 = (aligned(scores["temporal"], scores[key])
                        for key in ("temporal_no_mean_subtraction", "temporal_L1"))
    return [
        ("the temporal stream beats the spatial stream on motion-only classes",
         t[motion], s[motion], labels[motion]),
        ("the spatial stream beats the temporal stream on appearance-only classes",
         s[appearance], t[appearance], labels[appearance]),
        ("fusion by averaging beats each stream alone", fused.scores["average"],
         fused.scores[best], labels),
        ("fusion by SVM beats each stream alone", fused.scores["svm"], fused.scores[best],
         labels),
        ("mean flow subtraction helps under camera motion", *without_mean[:3]),
        ("L = 10 stacked flows beat L = 1", *L1[:3]),
    ]


def verdict(difference: float, low: float) -> str:
    """A finding holds when its whole 95% interval is a gain, holds within noise when only its
    measured difference is."""
    return "holds" if low > 0 else "holds within noise" if difference > 0 else "does not hold"


def findings(compared: list[tuple]) -> list[dict]:
    """What the synthetic data were built to show, each with its verdict in this run: our
    accuracy, the other's, their paired difference and its 95% bootstrap interval."""
    result = []
    for claim, ours, other, labels in compared:
        difference, low, high = paired_difference(ours, other, labels)
        result.append(dict(claim=claim, verdict=verdict(difference, low),
                           value=accuracy(ours, labels), compared_with=accuracy(other, labels),
                           difference=difference, interval=[low, high], videos=len(labels)))
    return result


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def finding_line(f: dict) -> str:
    """One finding in words: `claim: verdict (ours vs other, +d points, 95% interval [a, b],
    N videos)`."""
    low, high = (100 * x for x in f["interval"])
    return (f"{f['claim']}: {f['verdict']} ({percent(f['value'])} vs "
            f"{percent(f['compared_with'])}, {100 * f['difference']:+.1f} points, 95% interval "
            f"[{low:+.1f}, {high:+.1f}], {f['videos']} videos)")
