"""Run folders: named from net, dataset and split; only whole snapshots count."""
from pathlib import Path

from models.train.run_record import latest_snapshot, mark_complete, run_folder


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
