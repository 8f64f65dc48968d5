"""What used to crash or silently misuse an artifact now stops before any work with one sentence
(exit 2), or, for a corrupt record met during training, skips that sample and says so."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from data_prep.store import Store, flow_keys

ROOT = Path(__file__).resolve().parents[2]
L10 = "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"
TINY = ["--iters", "2", "--width", "0.125", "--input-size", "48", "--batch-size", "4",
        "--workers", "0", "--test-interval", "100", "--snapshot-every", "2"]


def videos(frames=14, classes=3, per_class=4):
    return {f"C{c}/v{c}_{i}.avi": (c, frames, "train" if i else "test")
            for c in range(classes) for i in range(per_class)}


def train_net(store, runs, *flags):
    return subprocess.run([sys.executable, "tools/train_net.py", "--store", f"ucf101={store}",
                           "--runs", str(runs), *TINY, *flags], cwd=ROOT, capture_output=True,
                          text=True)


def run_score_net(*flags):
    return subprocess.run([sys.executable, "tools/score_net.py", "--quiet", *flags], cwd=ROOT,
                          capture_output=True, text=True)


def refused(result, tool: str) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith(f"{tool}: ") and "\n" not in message, message
    return message


@pytest.fixture
def store(store_writer, tmp_path):
    return store_writer(tmp_path / "stores" / "ucf101", "ucf101", videos(), size=(56, 64))


@pytest.mark.slow
def test_a_folder_holding_a_run_is_refused_unless_resumed_or_started_over(store, tmp_path):
    runs = tmp_path / "runs"
    assert train_net(store, runs, "--net", L10).returncode == 0
    folder = runs / "ucf101" / f"{L10}_split1"
    first = (folder / "config.json").read_text()
    message = refused(train_net(store, runs, "--net", L10), "train_net")
    assert message == (f"train_net: {folder} already holds a run (snapshot {L10}_iter_2."
                       "solverstate): --resume continues it, --fresh deletes its snapshots and "
                       "starts over.")
    assert (folder / "config.json").read_text() == first  # nothing touched
    other = refused(train_net(store, runs, "--net", L10, "--resume", "--width", "0.25",
                              "--iters", "4"), "train_net")
    assert other == (f"train_net: {folder} was trained with width = 0.125, this run asks for "
                     "0.25: --resume continues a run with its own settings; give the same, or "
                     "--fresh to start over.")
    fresh = train_net(store, runs, "--net", L10, "--fresh", "--iters", "4",
                      "--snapshot-every", "4")
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert sorted(p.name for p in (folder / "snapshots").iterdir()) == [
        f"{L10}_iter_4.caffemodel", f"{L10}_iter_4.complete", f"{L10}_iter_4.solverstate"]
    assert max(json.loads(line)["iter"] for line in
               (folder / "metrics.jsonl").read_text().splitlines()) == 4


def test_a_bidirectional_net_on_a_store_without_backward_flow_is_refused(store_writer, tmp_path):
    store = store_writer(tmp_path / "ucf101", "ucf101", videos(), size=(56, 64), backward=None)
    message = refused(train_net(store, tmp_path / "runs", "--stacking", "bidirectional"),
                      "train_net")
    assert message == (f"train_net: {store} has no backward brox flow for 9 of the 9 videos (e.g. "
                       "C0/v0_1.avi) and the bi-directional net needs it: run `make flow ... "
                       "METHOD=brox BACKWARD=1`, which adds it to exactly those videos.")


def test_videos_too_short_for_l_are_refused(store_writer, tmp_path):
    store = store_writer(tmp_path / "ucf101", "ucf101", videos(frames=8), size=(56, 64))
    message = refused(train_net(store, tmp_path / "runs"), "train_net")
    assert message == (f"train_net: 9 of the 9 train videos in {store} are too short for L = 10 "
                       "(flow stacking), e.g. C0/v0_1.avi; choose a smaller L, or a store of "
                       "longer videos.")


def test_an_unknown_dataset_in_store_is_refused(store, tmp_path):
    message = refused(train_net(store, tmp_path / "runs", "--store", f"ucf={store}"),
                      "train_net")
    assert message == f"train_net: --store ucf={store}: give DATASET=FOLDER with DATASET one " \
                      "of ucf101, hmdb51."


def test_a_corrupt_record_skips_its_sample_and_is_counted_in_the_log(store_writer, tmp_path):
    # Class 3 has one training video, every forward flow of it corrupt: its samples are redrawn.
    store = store_writer(tmp_path / "ucf101", "ucf101",
                         {**videos(), "C3/v3_1.avi": (3, 14, "train")}, size=(56, 64))
    with Store(store / "flow-brox.lmdb") as flows:
        meta = flows.meta("C3/v3_1.avi")
        flows.put_video("C3/v3_1.avi", {flow_keys("C3/v3_1.avi", i)[0]: b"corrupt"
                                        for i in range(13)}, meta)
    result = train_net(store, tmp_path / "runs", "--iters", "6", "--batch-size", "8")
    assert result.returncode == 0, result.stderr[-2000:]
    log = (tmp_path / "runs" / "ucf101" / f"{L10}_split1" / "train.log").read_text()
    skipped = [line for line in log.splitlines() if "skipped sample" in line]
    assert skipped, log[-2000:]
    assert f"({len(skipped)} skipped so far)" in skipped[-1]
    assert "record C3/v3_1.avi/x/" in skipped[0] and "of video C3/v3_1.avi does not decode" in \
        skipped[0]


@pytest.mark.slow
def test_weights_of_another_shape_are_refused_before_caffe_sees_them(store, tmp_path):
    runs = tmp_path / "runs"
    l5 = "ucf101_temporal_flow-L5-meansub_scratch_drop0.9"
    assert train_net(store, runs, "--net", L10).returncode == 0
    assert train_net(store, runs, "--net", l5).returncode == 0
    weights = runs / "ucf101" / f"{l5}_split1" / "snapshots" / f"{l5}_iter_2.caffemodel"
    message = refused(run_score_net("--run", str(runs / "ucf101" / f"{L10}_split1"), "--weights",
                               str(weights), "--out", str(tmp_path / "scores")), "score_net")
    assert message.startswith(f"score_net: weights file {weights}: layer conv1 has blobs of shape "
                              "[(12, 10, 7, 7), (12,)] there but [(12, 20, 7, 7), (12,)] in the "
                              "net;")
    assert not (tmp_path / "scores" / "ucf101").exists() or not list(
        (tmp_path / "scores" / "ucf101").iterdir())


@pytest.mark.slow
def test_scores_of_other_weights_are_never_overwritten(store, tmp_path):
    runs, scores = tmp_path / "runs", tmp_path / "scores"
    assert train_net(store, runs, "--net", L10).returncode == 0
    run = runs / "ucf101" / f"{L10}_split1"
    assert run_score_net("--run", str(run), "--out", str(scores)).returncode == 0
    path = scores / "ucf101" / f"{L10}_split1_test.h5"
    before = path.read_bytes()
    assert train_net(store, runs, "--net", L10, "--resume", "--iters", "4").returncode == 0
    message = refused(run_score_net("--run", str(run), "--out", str(scores)), "score_net")
    assert message.startswith(f"score_net: {path} holds the scores of weights ")
    assert message.endswith("; delete it to score these weights, or give another --out.")
    assert path.read_bytes() == before


@pytest.mark.slow
def test_a_disk_that_fills_during_training_stops_it_in_a_sentence_and_resume_goes_on(
        store, small_disk):
    runs = small_disk(72) / "runs"  # a run asks for 64 MB free; each snapshot takes about 9
    flags = ("--net", L10, "--width", "0.25", "--iters", "24", "--snapshot-every", "2",
             "--display", "1")
    stopped = train_net(store, runs, *flags)
    assert stopped.returncode == 1, stopped.stderr[-2000:]
    assert "Traceback" not in stopped.stderr
    folder = runs / "ucf101" / f"{L10}_split1"
    last = max((folder / "snapshots").glob("*.complete"), key=lambda p: p.stat().st_mtime)
    message = stopped.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"train_net: the disk holding {re.escape(str(folder))} has \d+ MB free and a snapshot "
        rf"needs \d+ MB; free space, then run again with --resume \(the last snapshot: "
        rf"{re.escape(str(last.with_suffix('.solverstate')))}\)\.", message), message
    reached = int(last.stem.rsplit("_", 1)[1])
    assert 2 <= reached < 24
    # The steps after the last snapshot are logged; a resumed run cuts them (and redoes them).
    assert max(json.loads(line)["iter"] for line in
               (folder / "metrics.jsonl").read_text().splitlines()) == reached + 2
    small_disk(200)  # space freed
    resumed = train_net(store, runs, *flags, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{L10}_iter_{reached}.solverstate at iteration {reached}" in resumed.stderr
    assert (folder / "snapshots" / f"{L10}_iter_24.complete").exists()


@pytest.mark.slow
def test_resuming_under_another_schedule_says_so_and_fewer_iterations_are_refused(store,
                                                                                  tmp_path):
    runs = tmp_path / "runs"
    assert train_net(store, runs, "--net", L10).returncode == 0
    longer = train_net(store, runs, "--net", L10, "--resume", "--iters", "4", "--base-lr",
                       "0.005")
    assert longer.returncode == 0, longer.stderr[-2000:]
    said = [line.split(" ", 2)[2] for line in longer.stderr.splitlines() if "resumed with" in line]
    assert said == ["resumed with iters = 4 where the run began with 2: the schedule from the "
                    "snapshot on is the new one's",
                    "resumed with base_lr = 0.005 where the run began with the paper's: the "
                    "schedule from the snapshot on is the new one's"]
    folder = runs / "ucf101" / f"{L10}_split1"
    message = refused(train_net(store, runs, "--net", L10, "--resume", "--iters", "3"),
                      "train_net")
    assert message == (f"train_net: --iters 3: the run is at iteration 4 already "
                       f"({L10}_iter_4.solverstate); give more, or --fresh to start over.")
    assert (folder / "snapshots" / f"{L10}_iter_4.complete").exists()


@pytest.mark.slow
def test_a_net_trained_on_every_video_has_no_test_set_and_pre_trains_another(store, store_writer,
                                                                            tmp_path):
    runs = tmp_path / "runs"
    trained = train_net(store, runs, "--net", L10, "--split", "all")
    assert trained.returncode == 0, trained.stderr[-2000:]
    run = runs / "ucf101" / f"{L10}_splitall"
    record = json.loads((run / "config.json").read_text())
    assert (record["split"], record["splits"], record["dataset"]) == ("all", {"ucf101": "all"},
                                                                      "ucf101")
    message = refused(run_score_net("--run", str(run), "--out", str(tmp_path / "scores")),
                      "score_net")
    assert message == (f"score_net: {run} was trained on every ucf101 video (--split all): it has "
                       "no test set. It is for pre-training: give its snapshot to another run as "
                       "--weights (Table 2).")
    # Its snapshot starts another net, as Table 2's fine-tuned net starts from UCF-101's.
    weights = run / "snapshots" / f"{L10}_iter_2.caffemodel"
    tuned = "hmdb51_temporal_flow-L10-meansub_finetune_drop0.9"
    hmdb51 = store_writer(tmp_path / "stores" / "hmdb51", "hmdb51", videos(), size=(56, 64))
    started = train_net(store, runs, "--net", tuned, "--weights", str(weights), "--dataset",
                        "hmdb51", "--store", f"hmdb51={hmdb51}")
    assert started.returncode == 0, started.stderr[-2000:]
    assert json.loads((runs / "hmdb51" / f"{tuned}_split1" / "config.json").read_text())[
        "weights"] == str(weights)
    multitask = refused(train_net(store, runs, "--stream", "multitask", "--split", "all"),
                        "train_net")
    assert multitask == ("train_net: --split all trains one dataset on every video; the "
                         "multi-task net trains on a split of --dataset and all of the other "
                         "(Sect. 6): give --split 1, 2 or 3.")
    four = train_net(store, runs, "--net", L10, "--split", "4")
    assert four.returncode == 2 and "--split: '4' is not a split: give 1, 2 or 3 or all" in \
        four.stderr
    test_split = run_score_net("--run", str(run), "--split", "all")
    assert test_split.returncode == 2
    assert "--split: 'all' is not a split: give 1, 2 or 3" in test_split.stderr
