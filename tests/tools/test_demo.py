"""tools/demo.py: a tiny demo end to end (every stage with the real tools, real Caffe nets),
its resumption, and the findings it reports."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.score_file import ScoreIdentity, read_scores, write_scores
from tools.demo import findings, group_accuracy

ROOT = Path(__file__).resolve().parents[2]
KEYS = ["spatial", "temporal", "fusion.average", "fusion.svm", "multitask.temporal",
        "temporal_no_mean_subtraction", "temporal_L1", "spatial.motion_only",
        "temporal.motion_only", "spatial.appearance_only", "temporal.appearance_only"]


def run_demo(out: Path):
    return subprocess.run([sys.executable, "tools/demo.py", "--tiny", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout


def test_the_tiny_demo_writes_every_result_and_the_report(tiny_demo):
    out, stdout = tiny_demo
    results = json.loads((out / "results.json").read_text())
    for key in KEYS:
        assert 0.0 <= results[key] <= 1.0, key
    assert results["seconds"] > 0
    # 4 groups, 1 clip each, group 1 tested: one test video per class; HMDB: 2 of 5 per class.
    assert results["test_videos"] == {"ucf101": 10, "hmdb51": 16}
    assert [f["claim"] for f in results["findings"]][-1] == "L = 10 stacked flows beat L = 1"
    report = (out / "report.md").read_text()
    figures = [line[line.index("(") + 1:-1] for line in report.splitlines()
               if line.startswith("![")]
    assert len(figures) == 6 and all((out / f).stat().st_size > 1000 for f in figures)
    assert f"| `temporal_L1` | {100 * results['temporal_L1']:.1f}% |" in report
    assert stdout.strip().splitlines()[-1].startswith("demo: done in ")
    # Five nets, each trained by tools/train_net.py into its own run folder, each scored into
    # its own score files (the two fused ones also on their training videos).
    assert len(list((out / "runs").glob("*/*/config.json"))) == 5
    assert len(list((out / "scores").glob("*/*_split1_test.h5"))) == 5
    assert len(list((out / "scores").glob("*/*_split1_train.h5"))) == 2


def test_a_second_run_resumes_from_what_is_there(tiny_demo):
    out, _ = tiny_demo
    before = json.loads((out / "results.json").read_text())
    result = run_demo(out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("trained already") == 5
    assert "] train_" not in result.stdout and "] test_" not in result.stdout  # no tool ran
    after = json.loads((out / "results.json").read_text())
    assert {k: after[k] for k in KEYS} == {k: before[k] for k in KEYS}


def test_a_folder_made_with_other_settings_is_refused(tiny_demo):
    out, _ = tiny_demo
    result = subprocess.run([sys.executable, "tools/demo.py", "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"demo: {out} holds a demo made with other settings "
                                     f"({out / 'demo_config.json'}); give another --out, or "
                                     "--fresh to start this one over.")


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
