"""Run folders: named from net, dataset and split; only whole snapshots count."""
import json
import logging
from pathlib import Path

import pytest

from models.train.plot import drawn
from models.train.run_record import RECORD, RunError, claim_folder, latest_snapshot, \
    loop_state, mark_complete, read_metrics, run_folder


def test_a_run_folder_is_named_from_the_net_the_dataset_and_the_split():
    net = "multitask_temporal_flow-L10-meansub_scratch_drop0.9"
    assert run_folder("runs", net, "hmdb51", 2) == Path("runs/hmdb51") / f"{net}_split2"
    assert run_folder("runs", net, "ucf101", 2) != run_folder("runs", net, "hmdb51", 2)


def test_a_snapshot_cut_short_by_a_kill_is_never_resumed_from(tmp_path):
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    for iteration in (10, 20):
        for suffix in (".caffemodel", ".solverstate"):
            (snapshots / f"net_iter_{iteration}{suffix}").write_bytes(b"state")
        if iteration == 10:  # iteration 20 was being written when the process was killed
            mark_complete(tmp_path, "net", iteration)
    assert latest_snapshot(tmp_path) == snapshots / "net_iter_10.solverstate"
    mark_complete(tmp_path, "net", 20)
    assert latest_snapshot(tmp_path) == snapshots / "net_iter_20.solverstate"


def test_a_snapshot_s_marker_keeps_the_loop_s_state_and_an_older_empty_one_reads_as_none(
        tmp_path):
    (tmp_path / "snapshots").mkdir()
    state = mark_complete(tmp_path, "net", 10, {"plateau_from": 3})
    assert loop_state(state) == {"plateau_from": 3}
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["net_iter_10.complete"]
    marker = state.with_suffix(".complete")
    marker.write_text("")  # as a run made before the marker held any state
    assert loop_state(state) == {}
    marker.write_text('{"plateau_fr')
    with pytest.raises(RunError) as refused:
        loop_state(state)
    assert str(refused.value) == (
        f"{marker} is not the JSON object this project writes beside a snapshot; empty it (the "
        "loop's state then starts afresh) and run again.")
    for start in (0, 11, "3", 2.0):  # the marker of iteration 10: a start within 1 to 10
        marker.write_text(json.dumps({"plateau_from": start}))
        with pytest.raises(RunError) as refused:
            loop_state(state)
        assert str(refused.value) == (
            f"{marker}: plateau_from {start!r} is not an iteration of this snapshot (1 to its "
            "own); empty the file (the loop's state then starts afresh) and run again.")
    marker.write_text('{"plateau_from": 10}')
    assert loop_state(state) == {"plateau_from": 10}


def test_a_damaged_metrics_file_is_named_and_its_plot_never_hides_how_a_run_ended(tmp_path,
                                                                                  caplog):
    rows = ['{"iter": 20, "loss": 2.3, "lr": 0.01}', '{"iter": 40, "lo', '{"iter": 60}']
    (tmp_path / "metrics.jsonl").write_text("\n".join(rows) + "\n")
    with pytest.raises(RunError) as refused:
        read_metrics(tmp_path)
    assert str(refused.value) == (
        f"{tmp_path / 'metrics.jsonl'} line 2 is not a JSON row ('{{\"iter\": 40, \"lo'); delete "
        "the line (or the file, losing the run's curve) and run again.")
    # Drawn in a `finally`: a plot that fails is a warning, never the error the run ends with.
    with caplog.at_level(logging.WARNING, logger="train"):
        drawn(tmp_path)
    assert caplog.messages == [f"training.png not drawn: {refused.value}"]
    assert not (tmp_path / "training.png").exists()


def test_a_run_resumed_with_another_holdout_is_refused_and_an_older_record_holds_0_1(tmp_path):
    record = {"net": "n", "dataset": "ucf101", "split": 1, "holdout": 0}
    (tmp_path / RECORD).write_text(json.dumps(record))
    assert claim_folder(tmp_path, True, False, record) == []
    with pytest.raises(RunError, match=r"was trained with holdout = 0, this run asks for 0\.1: "
                                       "--resume continues a run with its own settings"):
        claim_folder(tmp_path, True, False, {**record, "holdout": 0.1})
    # A record written before the hold-out was a setting: every run then held out a tenth.
    (tmp_path / RECORD).write_text(json.dumps({k: v for k, v in record.items()
                                               if k != "holdout"}))
    assert claim_folder(tmp_path, True, False, {**record, "holdout": 0.1}) == []
    with pytest.raises(RunError, match=r"was trained with holdout = 0\.1, this run asks for 0:"):
        claim_folder(tmp_path, True, False, record)
