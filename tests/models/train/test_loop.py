"""Training with pycaffe: a small net learns the synthetic classes, runs resume exactly, bad
starts are refused in one sentence, multi-GPU arithmetic."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataclasses import replace

from caffe.proto import caffe_pb2
from data_prep.store import read_index
from google.protobuf import text_format
from models.input.batches import parse_params, read_videos
from models.nets.paper_nets import PaperNet, paper_nets
from models.train.loop import train
from models.train.run_config import RunConfig, learning_rate, write_run
from models.train.run_record import read_metrics

ROOT = Path(__file__).resolve().parents[3]
TEMPORAL = next(n for n in paper_nets()
                if n.name == "ucf101_temporal_flow-L5-meansub_scratch_drop0.9")
# A net at 1/4 width learns the synthetic classes in a few hundred iterations with dropout 0.5;
# with the paper's 0.9 it needs far more.
LEARNER = PaperNet("ucf101", replace(TEMPORAL.config, dropout=0.5), "a test")


def small_run(store, runs, **changes):
    fields = dict(net=TEMPORAL, split=1, stores={"ucf101": store}, splits={"ucf101": 1},
                  runs=runs, method="farneback", iters=300, width=0.25, input_size=48,
                  batch_size=32, workers=0, display=25, test_interval=100, test_iter=20,
                  snapshot_every=100)
    fields.update(changes)
    return RunConfig(**fields)


def metrics(folder):
    return read_metrics(folder)


@pytest.mark.slow
def test_a_small_temporal_net_learns_the_synthetic_classes_well_above_chance(synthetic_store,
                                                                             tmp_path):
    # He fillers, as the demo's nets: at this size the prototxts' Gaussians stay at chance.
    config = small_run(synthetic_store, tmp_path, net=LEARNER, init="he")
    assert train(config) == 300
    rows = metrics(config.folder)
    losses = [r["loss"] for r in rows if "loss" in r]
    accuracy = [r["accuracy"] for r in rows if "accuracy" in r]
    assert losses[-1] < losses[0]
    assert accuracy[-1] > 0.25  # 10 classes: chance is 0.1
    assert (config.folder / "training.png").stat().st_size > 10_000
    assert not [r for r in rows if "plateau" in r]  # it learns: no warning
    snapshots = sorted(p.name for p in (config.folder / "snapshots").iterdir())
    assert snapshots[-1].endswith("_iter_300.solverstate")


@pytest.mark.slow
def test_a_run_that_stays_at_chance_says_so_once_in_its_log_and_metrics(synthetic_store,
                                                                          tmp_path, caplog):
    # At lr 1e-9 nothing is learnt: lsuv starts the loss within 1% of ln 101 (the paper's head)
    # and it stays there.
    # 60 iterations: the warning comes after 20 in a row (a tenth, but at least 20), once.
    config = small_run(synthetic_store, tmp_path, iters=60, base_lr=1e-9, test_interval=60,
                       test_iter=2, snapshot_every=60, display=10)
    assert config.init == "lsuv"
    with caplog.at_level("WARNING", logger="train"):
        assert train(config) == 60
    plateaus = [r for r in metrics(config.folder) if "plateau" in r]
    assert plateaus == [{"iter": 20, "plateau": 1}]
    said = [r.getMessage() for r in caplog.records if "plateau" in r.getMessage()]
    assert said == ["plateau: the loss has stayed within 2% of chance (4.615) from iteration 1 "
                    "to 20, 20 of the run's 60: the net is not learning (docs/recipe.md, "
                    "\"A plateau\", says what to check)"]


@pytest.mark.slow
def test_a_streak_at_chance_goes_on_across_a_resume(synthetic_store, tmp_path, caplog):
    # The run above, stopped at iteration 10 and resumed: one warning, at the same iteration
    # and naming the same start, as when it ran whole.
    settings = dict(base_lr=1e-9, test_interval=10, test_iter=2, snapshot_every=10, display=10)
    assert train(small_run(synthetic_store, tmp_path, iters=10, **settings)) == 10
    config = small_run(synthetic_store, tmp_path, iters=60, resume=True, **settings)
    with caplog.at_level("WARNING", logger="train"):
        assert train(config) == 60
    assert [r for r in metrics(config.folder) if "plateau" in r] == [{"iter": 20, "plateau": 1}]
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("plateau")]
    assert len(said) == 1 and "from iteration 1 to 20" in said[0]


@pytest.mark.slow
def test_holdout_0_trains_on_every_training_video_of_the_split_and_validates_on_none(
        synthetic_store, tmp_path):
    held = small_run(synthetic_store, tmp_path / "held", iters=4, snapshot_every=4)
    whole = small_run(synthetic_store, tmp_path / "whole", iters=4, snapshot_every=4, holdout=0,
                      test_interval=None, test_iter=None)
    counts, validated = {}, {}
    for config in (held, whole):
        assert train(config) == 4
        net = text_format.Parse((config.folder / "trainval.prototxt").read_text(),
                                caffe_pb2.NetParameter())
        params = parse_params(net.layer[0].python_param.param_str, "temporal")
        counts[config.holdout] = len(read_videos(params, "ucf101", phase_train=True))
        validated[config.holdout] = len(read_videos(params, "ucf101", phase_train=False))
        record = json.loads((config.folder / "config.json").read_text())
        assert record["holdout"] == config.holdout
    index = read_index(synthetic_store)
    every = int((index.member(1, "train") & index.stored).sum())
    assert validated[0.1] > 0 and validated[0] == 0
    assert counts == {0.1: every - validated[0.1], 0: every}
    solver = (whole.folder / "solver.prototxt").read_text()
    assert "test_iter" not in solver and "test_iter: 20" in (held.folder /
                                                             "solver.prototxt").read_text()
    assert not [r for r in metrics(whole.folder) if "accuracy" in r]
    assert [r["iter"] for r in metrics(held.folder) if "accuracy" in r] == [4]
    with pytest.raises(ValueError, match="holdout 0 holds no video out to validate on: give no "
                                         "test_iter or test_interval with it."):
        small_run(synthetic_store, tmp_path, holdout=0)
    with pytest.raises(ValueError, match=r"holdout must be in \[0, 1\), not 1.0."):
        small_run(synthetic_store, tmp_path, holdout=1.0)


def command(store, runs, *extra):
    return [sys.executable, "tools/train_net.py", "--net", TEMPORAL.name, "--store",
            f"ucf101={store}", "--method", "farneback", "--runs", str(runs), "--iters", "60",
            "--width", "0.125", "--input-size", "48", "--batch-size", "16", "--workers", "1",
            "--display", "5", "--snapshot-every", "10", "--test-interval", "10", "--test-iter",
            "2", *extra]


@pytest.mark.slow
def test_killed_and_resumed_reaches_the_uninterrupted_iteration_and_learning_rate(
        synthetic_store, tmp_path):
    whole = tmp_path / "whole"
    assert subprocess.run(command(synthetic_store, whole), cwd=ROOT,
                          capture_output=True).returncode == 0
    killed = tmp_path / "killed"
    process = subprocess.Popen(command(synthetic_store, killed), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    folder = killed / "ucf101" / f"{TEMPORAL.name}_split1"
    deadline = time.time() + 120
    while time.time() < deadline and not list(folder.glob("snapshots/*_iter_20.complete")):
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    reached = max(r["iter"] for r in metrics(folder))
    assert 20 <= reached < 60
    # A torn last line, as a kill in the middle of a write leaves.
    with open(folder / "metrics.jsonl", "a") as f:
        f.write('{"iter": 2')
    result = subprocess.run(command(synthetic_store, killed, "--resume"), cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resumed from" in result.stderr
    # The killed process's rows after its snapshot are cut: every row once, in order, the
    # same rows as the uninterrupted run's, validations (the same held-out batches) included.
    uninterrupted, resumed = metrics(whole / "ucf101" / folder.name), metrics(folder)
    assert [(r["iter"], sorted(r)) for r in resumed] == \
        [(r["iter"], sorted(r)) for r in uninterrupted]
    assert max(r["iter"] for r in resumed) == 60
    assert [r["lr"] for r in resumed if "lr" in r] == [r["lr"] for r in uninterrupted if "lr" in r]
    assert resumed == uninterrupted
    # The synthetic UCF-101-like store has 10 classes: the head follows the store, not 101.
    assert "num_output: 10\n" in (folder / "trainval.prototxt").read_text()
    assert "num_output: 101" not in (folder / "trainval.prototxt").read_text()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGUSR1])
def test_a_stop_signal_snapshots_then_ends_in_one_sentence_and_resume_continues(
        stop, synthetic_store, tmp_path):
    process = subprocess.Popen(command(synthetic_store, tmp_path, "--snapshot-every", "1000"),
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    folder = tmp_path / "ucf101" / f"{TEMPORAL.name}_split1"
    deadline = time.time() + 120
    while time.time() < deadline and not (folder / "metrics.jsonl").exists():
        time.sleep(0.1)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    said = [line for line in stderr.splitlines() if line.startswith("train_net: ")]
    assert len(said) == 1 and "Traceback" not in stderr
    snapshot = max(folder.glob("snapshots/*.solverstate"), key=lambda p: p.stat().st_mtime)
    reached = int(snapshot.stem.rpartition("_iter_")[2])
    assert said[0] == (f"train_net: {stop.name} at iteration {reached}: stopped with a whole "
                       f"snapshot, {snapshot}; the same command with --resume (make: RESUME=1) "
                       "continues from it.")
    assert 0 < reached < 60
    resumed = subprocess.run(command(synthetic_store, tmp_path, "--snapshot-every", "1000",
                                     "--resume"), cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"at iteration {reached}" in resumed.stderr
    assert max(r["iter"] for r in metrics(folder)) == 60


def test_a_cpu_only_caffe_asked_for_gpus_says_how_to_build_the_cuda_one(synthetic_store,
                                                                         tmp_path):
    result = subprocess.run(command(synthetic_store, tmp_path, "--gpus", "0,1"), cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == ("train_net: this Caffe was built CPU-only; build the CUDA "
                                     "one with `make caffe CUDA=1`, or train on the CPU (no "
                                     "--gpus).")


def test_missing_store_and_weights_are_reported_before_anything_starts(tmp_path):
    result = subprocess.run(command(tmp_path / "nowhere", tmp_path), cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "no store for ucf101 at" in result.stderr and "make flow DATASET=ucf101" in result.stderr
    result = subprocess.run([sys.executable, "tools/train_net.py", "--stream", "spatial",
                             "--setting", "lastlayer", "--runs", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "the 'lastlayer' setting starts from ImageNet weights: pass --weights" in result.stderr


def test_an_exploding_loss_stops_the_run_and_names_the_last_good_snapshot(synthetic_store,
                                                                          tmp_path):
    result = subprocess.run(command(synthetic_store, tmp_path, "--base-lr", "1e4"), cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert re.match(r"train_net: the loss became \S+ at iteration \d+; stopped without saving "
                    r"that state\. The last good snapshot is ", last), last
    assert "lower the learning rate" in last


def test_with_n_gpus_each_process_runs_256_over_n(synthetic_store, tmp_path):
    for gpus, per_gpu in ((["0"], 256), (["0", "1", "2", "3"], 64)):
        config = small_run(synthetic_store, tmp_path, gpus=gpus, batch_size=None, width=1.0,
                           input_size=None)
        write_run(config)
        net = (config.folder / "trainval.prototxt").read_text()
        param_str = net.split("param_str: ")[1].split("\n")[0]
        assert json.loads(json.loads(param_str))["batch_size"] == per_gpu
        assert "solver_mode: GPU" in (config.folder / "solver.prototxt").read_text()


def test_the_learning_rate_follows_the_papers_steps():
    from models.nets.solvers import sgd_solver
    solver = sgd_solver("net", "scratch", "x")
    assert [learning_rate(solver, i) for i in (0, 49_999, 50_000, 69_999, 70_000, 79_999)] == \
        pytest.approx([1e-2, 1e-2, 1e-3, 1e-3, 1e-4, 1e-4])
