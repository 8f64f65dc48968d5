"""Late fusion's SVM and tools/fuse_scores.py on score files written here with known answers;
refusals of mismatched files, by the library and by the tool in one sentence."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.evaluate.fusion import fuse
from models.nets.paper_nets import fused_nets
from models.evaluate.score_file import ScoreError, named_path, read_scores
from tools import fuse_scores

ROOT = Path(__file__).resolve().parents[2]


def fuse_cli(capsys, *argv):
    """tools/fuse_scores.py's main in this process (its exit code, stdout, stderr): the program
    itself is run as one in the printout's test below."""
    code = fuse_scores.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def softmax(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def swapped_temporal_problem(n, seed):
    """3 classes; the temporal stream systematically answers 1 for class 0 and 0 for class 1
    (a consistent confusion an SVM can learn and averaging cannot undo); spatial is weak."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    confused = np.array([1, 0, 2])[labels]
    temporal = softmax(4 * np.eye(3)[confused] + rng.normal(0, 0.5, (n, 3)))
    spatial = softmax(0.8 * np.eye(3)[labels] + rng.normal(0, 0.5, (n, 3)))
    return spatial, temporal, labels


def test_the_svm_learns_what_averaging_cannot_and_files_in_another_order_agree(
        tmp_path, capsys, score_writer):
    write = score_writer
    files = {}
    for subset, n, seed in (("train", 300, 0), ("test", 150, 1)):
        spatial, temporal, labels = swapped_temporal_problem(n, seed)
        ids = [f"{subset}{i:03d}" for i in range(n)]
        files[f"spatial_{subset}"] = write(tmp_path / f"s_{subset}.h5", spatial, labels, ids,
                                           "spatial", subset)
        reverse = slice(None, None, -1)  # the temporal files list their videos backwards
        files[f"temporal_{subset}"] = write(tmp_path / f"t_{subset}.h5", temporal[reverse],
                                            labels[reverse], ids[::-1], "temporal", subset)
    result = fuse(*(read_scores(files[k]) for k in ("spatial_test", "temporal_test",
                                                      "spatial_train", "temporal_train")))
    assert result["temporal"] < 0.5  # classes 0 and 1 are always swapped
    assert result["svm"] > result["average"] + 0.2
    assert result["svm"] > 0.9 and result["svm_C"] in (0.01, 0.1, 1.0, 10.0, 100.0)
    out = tmp_path / "fused.json"
    code, _, err = fuse_cli(capsys, "--svm", "--spatial", files["spatial_test"],
                            "--temporal", files["temporal_test"],
                            "--spatial-train", files["spatial_train"],
                            "--temporal-train", files["temporal_train"], "--json", out)
    assert code == 0, err
    written = json.loads(out.read_text())
    assert {k: written[k] for k in ("spatial", "temporal", "average", "svm")} == \
        {k: result[k] for k in ("spatial", "temporal", "average", "svm")}


@pytest.mark.parametrize("problem, message", [
    ("videos", "hold different videos"),
    ("labels", "give v1 different labels"),
    ("classes", "has 3 classes but"),
    ("nan", "holds non-finite scores"),
])
def test_mismatched_files_are_refused_in_one_sentence(tmp_path, capsys, score_writer, problem,
                                                      message):
    write = score_writer
    labels, ids = np.array([0, 1, 2]), ["v0", "v1", "v2"]
    scores = np.eye(3) * 0.8 + 0.1
    other = dict(scores=scores.copy(), labels=labels.copy(), ids=list(ids))
    if problem == "videos":
        other["ids"] = ["v0", "v1", "v9"]
    elif problem == "labels":
        other["labels"] = np.array([0, 2, 2])
    elif problem == "classes":
        other["scores"] = np.hstack([scores, np.zeros((3, 1))])
    else:
        other["scores"][1, 1] = np.nan
    a = write(tmp_path / "a.h5", scores, labels, ids, "spatial")
    b = write(tmp_path / "b.h5", other["scores"], other["labels"], other["ids"], "temporal")
    with pytest.raises(ScoreError, match=message):
        fuse(read_scores(a), read_scores(b))
    code, _, err = fuse_cli(capsys, "--spatial", a, "--temporal", b)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("fuse_scores: ") and message in err


def test_the_printout_has_accuracy_and_mean_class_accuracy_per_split_and_their_mean(
        tmp_path, score_writer):
    write = score_writer
    scores_dir = tmp_path / "scores"
    labels = np.array([0, 0, 0, 1, 2, 2])
    ids = [f"v{i}" for i in range(6)]
    for k, wrong in ((1, 1), (2, 3)):  # split 1: one class-0 video wrong; split 2: all of them
        predicted = labels.copy()
        predicted[:wrong] = 1
        for stream, net in zip(("spatial", "temporal"), fused_nets("ucf101")):
            write(named_path(scores_dir, "ucf101", net, k, "test"), np.eye(3)[predicted], labels,
                  ids, stream, split=k, net=net)
    result = subprocess.run([sys.executable, "tools/fuse_scores.py", "--dataset", "ucf101",
                             "--splits", "1", "2", "--scores", str(scores_dir)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    fused, *lines = result.stdout.splitlines()
    assert fused == ("fused spatial ucf101_spatial_lastlayer_drop0.5 + temporal "
                     "multitask_temporal_flow-L10-meansub_scratch_drop0.9")
    assert lines[0] == "accuracy" and lines[5] == "mean class accuracy"
    assert lines[2].split() == ["1", "83.3%", "83.3%", "83.3%"]
    assert lines[3].split() == ["2", "50.0%", "50.0%", "50.0%"]
    assert lines[4].split() == ["mean", "66.7%", "66.7%", "66.7%"]
    assert lines[7].split() == ["1", "88.9%", "88.9%", "88.9%"]  # (2/3 + 1 + 1) / 3
    assert lines[-1].split() == ["mean", "77.8%", "77.8%", "77.8%"]  # (88.9 + 66.7) / 2


def role_files(tmp_path, write):
    """Spatial and temporal scores of the test and training videos, each with its identity."""
    labels, ids = np.array([0, 1, 2]), ["v0", "v1", "v2"]
    scores = np.eye(3) * 0.8 + 0.1
    return {f"{stream} {subset}": write(tmp_path / f"{stream}_{subset}.h5", scores, labels, ids,
                                        stream, subset)
            for stream in ("spatial", "temporal") for subset in ("test", "train")}


@pytest.mark.parametrize("case, message", [
    ("test scores as SVM training scores",
     "holds test videos' scores but is given as the spatial train scores; training the SVM on "
     "test scores would leak the test set into fusion"),
    ("the same file twice", "holds spatial scores (ucf101_spatial_net) but is given as the "
                            "temporal test scores"),
    ("two temporal files", "holds temporal scores (ucf101_temporal_net) but is given as the "
                           "spatial test scores"),
    ("different splits", "is ucf101 split 1 but"),
    ("an SVM trained on another net", "were made by different nets or weights"),
])
def test_files_that_do_not_play_their_role_are_refused(tmp_path, capsys, score_writer, case,
                                                       message):
    write = score_writer
    files = role_files(tmp_path, write)
    if case == "test scores as SVM training scores":
        files["spatial train"] = files["spatial test"]
        files["temporal train"] = files["temporal test"]
    elif case == "the same file twice":
        files["temporal test"] = files["spatial test"]
    elif case == "two temporal files":
        scores = read_scores(files["temporal test"])
        files["spatial test"] = write(tmp_path / "t_copy.h5", scores.scores, scores.labels,
                                      scores.video_ids, "temporal")
    elif case == "different splits":
        scores = read_scores(files["temporal test"])
        files["temporal test"] = write(tmp_path / "t2.h5", scores.scores, scores.labels,
                                       scores.video_ids, "temporal", split=2)
    else:
        scores = read_scores(files["spatial train"])
        files["spatial train"] = write(tmp_path / "other.h5", scores.scores, scores.labels,
                                       scores.video_ids, "spatial", "train", sha1="1" * 40)
    order = ("spatial test", "temporal test", "spatial train", "temporal train")
    with pytest.raises(ScoreError) as refused:
        fuse(*(read_scores(files[role]) for role in order))
    assert message in str(refused.value)
    code, _, err = fuse_cli(capsys, "--svm", "--spatial", files["spatial test"],
                            "--temporal", files["temporal test"],
                            "--spatial-train", files["spatial train"],
                            "--temporal-train", files["temporal train"])
    assert code == 2 and message in err and err.count("\n") == 1

