"""Score files: named from their identity, carrying it, and partial files tied to it."""
import h5py
import numpy as np
import pytest

from models.evaluate.score_file import (PartialScores, ScoreError, ScoreIdentity, named_path,
                                         read_identity, read_scores, score_path, write_scores)

IDENTITY = ScoreIdentity("ucf101_temporal_flow-L1-meansub_scratch_drop0.9", "ucf101", 2, "test",
                         "temporal", "a" * 40)


def test_a_score_file_is_named_from_and_carries_its_identity(tmp_path):
    path = score_path(tmp_path, IDENTITY)
    assert path == tmp_path / "ucf101" / (
        "ucf101_temporal_flow-L1-meansub_scratch_drop0.9_split2_test.h5")
    assert path == named_path(tmp_path, "ucf101", IDENTITY.net, 2, "test")
    write_scores(path, np.eye(2), [0, 1], ["a", "b"], IDENTITY, ["x", "y"], "w.caffemodel")
    scores = read_scores(path)
    assert scores.identity == IDENTITY
    assert scores.class_names == ["x", "y"] and scores.video_ids == ["a", "b"]
    assert not list(tmp_path.rglob("*.writing"))  # written aside and renamed
    with h5py.File(path) as f:
        assert f.attrs["weights"] == "w.caffemodel" and f.attrs["weights_sha1"] == "a" * 40


def test_a_file_without_its_identity_is_refused(tmp_path):
    with h5py.File(tmp_path / "old.h5", "w") as f:
        f["scores"], f["labels"], f["video_ids"] = np.eye(2), [0, 1], [b"a", b"b"]
        f.attrs["stream"] = "temporal"
    with pytest.raises(ScoreError, match="old.h5 does not say its net, dataset, split, subset, "
                                         "weights_sha1: it was not written by tools/score_net.py"):
        read_scores(tmp_path / "old.h5")


def test_partial_scores_survive_a_line_cut_short(tmp_path):
    partial = PartialScores(tmp_path / "p.jsonl", IDENTITY)
    partial.add("a", np.float32([0.25, 0.75]))
    with open(tmp_path / "p.jsonl", "a") as f:
        f.write('{"video": "b", "scor')  # killed mid-write
    again = PartialScores(tmp_path / "p.jsonl", IDENTITY)
    assert list(again.done) == ["a"]
    np.testing.assert_array_equal(again.done["a"], [0.25, 0.75])


@pytest.mark.parametrize("other", [
    ScoreIdentity(IDENTITY.net, "ucf101", 2, "test", "temporal", "b" * 40),  # other weights
    ScoreIdentity("ucf101_temporal_flow-L10-meansub_scratch_drop0.9", "ucf101", 2, "test",
                  "temporal", "a" * 40),  # another net
])
def test_a_partial_file_of_another_net_or_weights_is_refused(tmp_path, other):
    PartialScores(tmp_path / "p.jsonl", IDENTITY).add("a", np.float32([0.25, 0.75]))
    with pytest.raises(ScoreError) as refused:
        PartialScores(tmp_path / "p.jsonl", other)
    assert str(refused.value) == (
        f"{tmp_path / 'p.jsonl'} holds the partial scores of {IDENTITY.net} (weights aaaaaaaaaa, "
        f"test), not of {other.net} (weights {other.weights_sha1[:10]}, test); delete it and run "
        "again.")


def test_a_partial_file_whose_first_line_a_kill_cut_short_is_begun_again(tmp_path):
    (tmp_path / "p.jsonl").write_text('{"identity": {"dataset": "ucf1')
    partial = PartialScores(tmp_path / "p.jsonl", IDENTITY)
    assert partial.done == {}
    partial.add("a", np.float32([0.25, 0.75]))
    again = PartialScores(tmp_path / "p.jsonl", IDENTITY)
    assert list(again.done) == ["a"]


def test_a_truncated_score_file_is_one_sentence(tmp_path):
    path = write_scores(tmp_path / "s.h5", np.eye(2), [0, 1], ["a", "b"], IDENTITY, ["x", "y"])
    path.write_bytes(path.read_bytes()[:1000])
    for read in (read_scores, read_identity):
        with pytest.raises(ScoreError) as refused:
            read(path)
        assert str(refused.value).startswith(f"{path} is not a whole HDF5 file (")
        assert str(refused.value).endswith("); it is damaged (a copy cut short?): delete it and "
                                           "score the run again with tools/score_net.py.")
