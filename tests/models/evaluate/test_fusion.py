"""Late fusion on score files written here with known answers; refusals of mismatched files."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.evaluate.fusion import fuse
from models.nets.paper_nets import fused_nets
from models.evaluate.score_file import ScoreError, ScoreIdentity, named_path, read_scores, write_scores

ROOT = Path(__file__).resolve().parents[3]


def softmax(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def write(path, scores, labels, ids, stream, subset="test", split=1, net=None, sha1="0" * 40):
    identity = ScoreIdentity(net or f"ucf101_{stream}_net", "ucf101", split, subset, stream, sha1)
    return write_scores(path, scores, labels, ids, identity, ["a", "b", "c"])


def test_averaging_corrects_each_streams_unconfident_mistakes(tmp_path):
    labels = np.array([0, 1, 2, 0])
    ids = [f"v{i}" for i in range(4)]
    # Spatial is confidently right on v0, v1 and unsure-wrong on v2, v3; temporal the reverse.
    spatial = np.array([[.9, .05, .05], [.05, .9, .05], [.4, .35, .25], [.3, .4, .3]])
    temporal = np.array([[.3, .4, .3], [.4, .35, .25], [.05, .05, .9], [.9, .05, .05]])
    result = fuse(read_scores(write(tmp_path / "s.h5", spatial, labels, ids, "spatial")),
                  read_scores(write(tmp_path / "t.h5", temporal, labels, ids, "temporal")))
    assert (result["spatial"], result["temporal"], result["average"]) == (0.5, 0.5, 1.0)
    assert result["mean_class_accuracy"]["average"] == 1.0


def swapped_temporal_problem(n, seed):
    """3 classes; the temporal stream systematically answers 1 for class 0 and 0 for class 1
    (a consistent confusion an SVM can learn and averaging cannot undo); spatial is weak."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    confused = np.array([1, 0, 2])[labels]
    temporal = softmax(4 * np.eye(3)[confused] + rng.normal(0, 0.5, (n, 3)))
    spatial = softmax(0.8 * np.eye(3)[labels] + rng.normal(0, 0.5, (n, 3)))
    return spatial, temporal, labels


def test_the_svm_learns_what_averaging_cannot_and_files_in_another_order_agree(tmp_path):
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
    cli = subprocess.run([sys.executable, "tools/fuse_scores.py", "--svm",
                          "--spatial", str(files["spatial_test"]),
                          "--temporal", str(files["temporal_test"]),
                          "--spatial-train", str(files["spatial_train"]),
                          "--temporal-train", str(files["temporal_train"]), "--json", str(out)],
                         cwd=ROOT, capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    written = json.loads(out.read_text())
    assert {k: written[k] for k in ("spatial", "temporal", "average", "svm")} == \
        {k: result[k] for k in ("spatial", "temporal", "average", "svm")}


@pytest.mark.parametrize("problem, message", [
    ("videos", "hold different videos"),
    ("labels", "give v1 different labels"),
    ("classes", "has 3 classes but"),
    ("nan", "holds non-finite scores"),
])
def test_mismatched_files_are_refused_in_one_sentence(tmp_path, problem, message):
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
    cli = subprocess.run([sys.executable, "tools/fuse_scores.py", "--spatial", str(a),
                          "--temporal", str(b)], cwd=ROOT, capture_output=True, text=True)
    assert cli.returncode == 2
    assert cli.stderr.count("\n") == 1 and cli.stderr.startswith("fuse_scores: ")
    assert "Traceback" not in cli.stderr


def test_the_printout_has_accuracy_and_mean_class_accuracy_per_split_and_their_mean(tmp_path):
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


def role_files(tmp_path):
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
def test_files_that_do_not_play_their_role_are_refused(tmp_path, case, message):
    files = role_files(tmp_path)
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
    cli = subprocess.run([sys.executable, "tools/fuse_scores.py", "--svm", "--spatial",
                          str(files["spatial test"]), "--temporal", str(files["temporal test"]),
                          "--spatial-train", str(files["spatial train"]), "--temporal-train",
                          str(files["temporal train"])], cwd=ROOT, capture_output=True, text=True)
    assert cli.returncode == 2 and message in cli.stderr and cli.stderr.count("\n") == 1


def test_fusion_names_the_nets_it_fused(tmp_path):
    files = role_files(tmp_path)
    result = fuse(read_scores(files["spatial test"]), read_scores(files["temporal test"]))
    assert result["nets"] == {"spatial": "ucf101_spatial_net", "temporal": "ucf101_temporal_net"}
    assert result["average"] == 1.0
