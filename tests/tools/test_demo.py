"""tools/demo.py: a tiny demo end to end (every stage with the real tools, real Caffe nets),
its resumption, and the findings it reports."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # end to end: `make test-fast` leaves it out


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
