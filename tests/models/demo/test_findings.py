"""The demo's measures (models/demo/findings.py): each finding is judged by the paired
bootstrap interval of its difference, and a class group's accuracy counts only its videos."""
import numpy as np

from models.demo.findings import finding_line, findings, group_accuracy, verdict
from models.evaluate.score_file import ScoreIdentity, read_scores, write_scores


def test_each_finding_is_judged_by_its_paired_interval():
    labels = np.zeros(40, dtype=int)
    right, wrong = np.eye(2)

    def scored(n_right):  # the first n_right of the 40 videos right
        return np.vstack([np.tile(right, (n_right, 1)), np.tile(wrong, (40 - n_right, 1))])

    compared = [("wide margin", scored(36), scored(16), labels),
                ("two videos", scored(20), scored(18), labels),
                ("a tie", scored(20), scored(20), labels),
                ("a loss", scored(10), scored(30), labels)]
    judged = {f["claim"]: f for f in findings(compared)}
    assert {claim: f["verdict"] for claim, f in judged.items()} == {
        "wide margin": "holds", "two videos": "holds within noise", "a tie": "does not hold",
        "a loss": "does not hold"}
    wide = judged["wide margin"]
    assert (wide["value"], wide["compared_with"], wide["difference"], wide["videos"]) == \
        (0.9, 0.4, 0.5, 40)
    assert 0.3 < wide["interval"][0] < 0.4 and 0.6 < wide["interval"][1] < 0.7
    assert judged["two videos"]["interval"][0] == 0.0
    assert finding_line(wide) == ("wide margin: holds (90.0% vs 40.0%, +50.0 points, 95% "
                                  f"interval [{100 * wide['interval'][0]:+.1f}, "
                                  f"{100 * wide['interval'][1]:+.1f}], 40 videos)")


def test_verdicts_follow_the_interval_and_the_difference():
    assert verdict(0.1, 0.01) == "holds"
    assert verdict(0.1, 0.0) == "holds within noise"
    assert verdict(0.0, -0.05) == "does not hold"
    assert verdict(-0.1, -0.2) == "does not hold"


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
