"""The demo's measures (models/demo/findings.py): each finding compares the numbers it names,
and a class group's accuracy counts only its videos."""
import numpy as np

from models.demo.findings import findings, group_accuracy
from models.evaluate.score_file import ScoreIdentity, read_scores, write_scores


def test_findings_compare_the_numbers_they_name():
    r = {"spatial": 0.6, "temporal": 0.7, "fusion.average": 0.8, "fusion.svm": 0.65,
         "temporal_no_mean_subtraction": 0.72, "temporal_L1": 0.5,
         "spatial.motion_only": 0.5, "temporal.motion_only": 0.9,
         "spatial.appearance_only": 0.9, "temporal.appearance_only": 0.95}
    verdicts = {f["claim"]: (f["holds"], f["value"], f["compared_with"]) for f in findings(r)}
    assert verdicts == {
        "the temporal stream beats the spatial stream on motion-only classes": (True, 0.9, 0.5),
        "the spatial stream beats the temporal stream on appearance-only classes":
            (False, 0.9, 0.95),
        "fusion by averaging beats each stream alone": (True, 0.8, 0.7),
        "fusion by SVM beats each stream alone": (False, 0.65, 0.7),
        "mean flow subtraction helps under camera motion": (False, 0.7, 0.72),
        "L = 10 stacked flows beat L = 1": (True, 0.7, 0.5)}


def test_group_accuracy_counts_only_the_groups_videos(tmp_path):
    scores = np.float32([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    labels = np.array([0, 1, 1, 2])  # right, right, wrong, right
    identity = ScoreIdentity("net", "ucf101", 1, "test", "spatial", "0" * 40)
    path = write_scores(tmp_path / "s.h5", scores, labels, ["a", "b", "c", "d"], identity,
                        ["Up", "Down", "Spin"])
    scores = read_scores(path)
    assert group_accuracy(scores, {"Down"}) == 0.5
    assert group_accuracy(scores, {"Up", "Spin"}) == 1.0
    assert group_accuracy(scores, {"Up", "Down", "Spin"}) == 0.75
