"""The report renders the paper's tables and figures from a small set of runs written here."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from models.evaluate.metrics import confusion
from models.evaluate.tables import find_runs, tables, worst_classes
from models.train.run_record import run_of_weights
from models.evaluate.score_file import ScoreIdentity, named_path, write_scores

ROOT = Path(__file__).resolve().parents[3]
NAMES = ["a", "b", "c"]


def scored(scores_dir, net, scores, labels, split=1, dataset="ucf101"):
    """A net's test and training scores, as tools/score_net.py names and writes them."""
    ids = [f"v{i}" for i in range(len(labels))]
    stream = "spatial" if "_spatial_" in net else "temporal"
    for subset in ("test", "train"):
        identity = ScoreIdentity(net, dataset, split, subset, stream, "0" * 40)
        write_scores(named_path(scores_dir, dataset, net, split, subset), scores, labels, ids,
                     identity, NAMES)


def test_tables_put_our_runs_beside_the_paper_and_mark_missing_ones(tmp_path):
    labels = np.array([0, 1, 2, 0, 1, 2])
    right = np.eye(3)[labels] * 0.8 + 0.2 / 3
    half = right.copy()
    half[:3] = np.eye(3)[(labels[:3] + 1) % 3] * 0.6 + 0.4 / 3  # wrong, but unsure
    scores = tmp_path / "scores"
    scored(scores, "ucf101_spatial_lastlayer_drop0.5", half, labels)
    scored(scores, "multitask_temporal_flow-L10-meansub_scratch_drop0.9", right, labels)
    # The multi-task net tested on HMDB-51 is another row's, never this one's.
    scored(scores, "multitask_temporal_flow-L10-meansub_scratch_drop0.9", half, labels,
           dataset="hmdb51")
    out = tmp_path / "report"
    result = subprocess.run([sys.executable, "tools/report.py", "--scores", str(scores),
                             "--runs", str(tmp_path / "runs"), "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    report = (out / "report.md").read_text()
    assert "| pre-trained + last layer, 0.5 | 72.7% | 50.0% |" in report
    assert "| from scratch, dropout 0.5 | 42.5% | no run |" in report
    assert "| uni-directional multi-task, averaging | 86.2% | 100.0% |" in report
    assert "| multi-task | 55.4% | 50.0% |" in report  # Table 2: the HMDB-51 run
    assert "| ucf101 | temporal | 83.7% | 100.0% | 1 |" in report
    assert "| hmdb51 | svm | 59.4% | no run | 0 |" in report
    figures = out / "ucf101" / "ucf101_spatial_lastlayer_drop0.5_split1"
    assert Path(f"{figures}_confusion.png").stat().st_size > 5000
    assert Path(f"{figures}_recall.png").exists()
    assert (out / "hmdb51" / "multitask_temporal_flow-L10-meansub_scratch_drop0.9_split1_recall"
            ".png").exists()
    assert "](ucf101/ucf101_spatial_lastlayer_drop0.5_split1_confusion.png)" in report


def test_confusion_and_worst_classes():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 2, 1, 2, 2])
    matrix = confusion(np.eye(3)[predicted], labels, 3)
    np.testing.assert_allclose(matrix, [[1, 0, 0], [0, .5, .5], [0, 0, 1]])
    assert worst_classes(matrix, NAMES, 1) == ["b: recall 50%, most often taken for c (50%)"]


def test_a_truncated_score_file_is_left_out_of_the_report_by_name(tmp_path):
    labels = np.array([0, 1, 2, 0, 1, 2])
    right = np.eye(3)[labels] * 0.8 + 0.2 / 3
    scores = tmp_path / "scores"
    scored(scores, "ucf101_spatial_lastlayer_drop0.5", right, labels)
    scored(scores, "multitask_temporal_flow-L10-meansub_scratch_drop0.9", right, labels)
    cut = named_path(scores, "ucf101", "multitask_temporal_flow-L10-meansub_scratch_drop0.9", 1,
                     "test")
    cut.write_bytes(cut.read_bytes()[:2000])  # a copy cut short
    out = tmp_path / "report"
    result = subprocess.run([sys.executable, "tools/report.py", "--scores", str(scores),
                             "--runs", str(tmp_path / "runs"), "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    warning, = [line for line in result.stderr.splitlines() if line.startswith("report: left")]
    assert warning.startswith(f"report: left out {cut} is not a whole HDF5 file (")
    assert warning.endswith("); it is damaged (a copy cut short?): delete it and score the run "
                            "again with tools/score_net.py.")
    assert result.stdout == f"report: 1 run(s) -> {out / 'report.md'}\n"
    report = (out / "report.md").read_text()
    assert f"- {warning[len('report: left out '):]}" in report.splitlines()
    assert "| pre-trained + last layer, 0.5 | 72.7% | 100.0% |" in report
    assert "| multi-task | 55.4% | no run |" in report


def test_table_2_s_fine_tuned_row_says_when_it_was_not_pre_trained_on_all_of_ucf101(tmp_path):
    # Its run folder's config.json records the run its weights came from (run_of_weights).
    labels = np.array([0, 1, 2])
    tuned = "hmdb51_temporal_flow-L10-meansub_finetune_drop0.9"
    scores, runs = tmp_path / "scores", tmp_path / "runs"
    scored(scores, tuned, np.eye(3)[labels], labels, dataset="hmdb51")
    folder = runs / "hmdb51" / f"{tuned}_split1"
    folder.mkdir(parents=True)
    origin = Path(__file__).name  # any file outside a run folder: no run recorded
    cases = {None: " (pre-trained on no recorded run: the paper's was trained on all of UCF-101)",
             1: " (pre-trained on ucf101 split 1, not on all of it as the paper: train it with "
                "SPLIT=all)",
             "all": ""}
    for split, mark in cases.items():
        source = runs / "ucf101" / f"u_split{split}"
        (source / "snapshots").mkdir(parents=True, exist_ok=True)
        (source / "config.json").write_text(json.dumps(
            {"net": "u", "dataset": "ucf101", "split": split}))
        weights = source / "snapshots" / "u_iter_2.caffemodel" if split else origin
        (folder / "config.json").write_text(json.dumps({"weights_run": run_of_weights(weights)}))
        report = tables(find_runs(scores)[0], runs_dir=runs)
        assert f"| fine-tuned from UCF-101{mark} | 49.0% | 100.0% |" in report
