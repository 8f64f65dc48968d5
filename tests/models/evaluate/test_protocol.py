"""The paper's test protocol: 25 frames x 10 crops, flips negating d^x, resumable score files."""
import json
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from data_prep.store import FlowReader
from models.nets.cnn_m_2048 import Head, NetConfig
from models.evaluate.score_file import PartialScores, ScoreIdentity, read_identity
from models.evaluate.protocol import sampled_frames, ten_crops, video_inputs
from models.nets.weights import read_weights

ROOT = Path(__file__).resolve().parents[3]


def test_25_frames_equally_spaced_over_frames_whose_volume_exists():
    expected = [round(t) for t in np.linspace(0, 110, 25)]
    assert sampled_frames(120, "flow", 10, "temporal") == expected
    assert sampled_frames(120, "bidirectional", 10, "temporal")[0] == 5
    assert sampled_frames(120, "bidirectional", 10, "temporal")[-1] == 115
    assert sampled_frames(30, "flow", 1, "spatial") == [round(t) for t in np.linspace(0, 30, 25)]


def test_ten_crops_are_the_corners_and_centre_each_also_flipped():
    crops = ten_crops(256, 341, 224)
    assert len(crops) == 10
    assert crops[:5] == [(0, 0, False), (0, 117, False), (32, 0, False), (32, 117, False),
                         (16, 58, False)]
    assert [c[:2] for c in crops[5:]] == [c[:2] for c in crops[:5]]
    assert all(c[2] for c in crops[5:])


def test_flipped_crops_of_a_translation_negate_dx_only(flow_store):
    config = NetConfig(stream="temporal", heads=(Head("ucf101", 3),), new_length=10,
                       mean_subtraction=False)
    inputs = video_inputs(FlowReader(flow_store, "brox"), "C0/v0_0.avi", 13, config, 32)
    assert inputs.shape == (250, 20, 32, 32)
    per_frame = inputs.reshape(25, 10, 20, 32, 32)
    np.testing.assert_allclose(per_frame[:, :5, 0::2], 2.0, atol=1e-6)
    np.testing.assert_allclose(per_frame[:, 5:, 0::2], -2.0, atol=1e-6)
    np.testing.assert_allclose(per_frame[:, :, 1::2], -1.0, atol=1e-6)


NET = "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"


def train_tiny(store, runs, *extra):
    train = subprocess.run([sys.executable, "tools/train_net.py", "--stream", "temporal",
                            "--store", f"ucf101={store}", "--runs", str(runs),
                            "--iters", "4", "--width", "0.125", "--input-size", "48",
                            "--batch-size", "4", "--workers", "0", "--test-interval", "100",
                            "--snapshot-every", "4", *extra], cwd=ROOT, capture_output=True,
                           text=True)
    assert train.returncode == 0, train.stderr[-1500:]
    return runs / "ucf101" / f"{NET}_split1"


@pytest.mark.slow
def test_a_trained_run_gives_a_score_file_and_a_second_run_resumes(store_writer, tmp_path):
    videos = {f"C{c}/v{c}_{i}.avi": (c, 14, "train") for c in range(3) for i in range(4)}
    flow_store = store_writer(tmp_path / "stores" / "ucf101", "ucf101", videos, size=(56, 64))
    run = train_tiny(flow_store, tmp_path / "runs")
    weights = run / "snapshots" / f"{NET}_iter_4.caffemodel"
    identity = ScoreIdentity(NET, "ucf101", 1, "train", "temporal", read_weights(weights)[1])
    out = tmp_path / "scores"
    path = out / "ucf101" / f"{NET}_split1_train.h5"
    # One video is already done (from an interrupted run): it must not be computed again.
    done = np.float32([1.0, 0.0, 0.0])  # the head has the store's 3 classes
    PartialScores(path.with_name(f"{NET}_split1_train.partial.jsonl"), identity).add(
        "C0/v0_0.avi", done)
    test = subprocess.run([sys.executable, "tools/score_net.py", "--run", str(run), "--subset",
                           "train", "--out", str(out), "--quiet"], cwd=ROOT, capture_output=True,
                          text=True)
    assert test.returncode == 0, test.stderr[-1500:]
    assert read_identity(path) == identity
    with h5py.File(path) as f:
        ids = [v.decode() for v in f["video_ids"][:]]
        scores = f["scores"][:]
        assert scores.shape == (len(ids), 3) and len(ids) >= 9
        np.testing.assert_allclose(scores.sum(1), 1, rtol=1e-5)
        np.testing.assert_array_equal(scores[ids.index("C0/v0_0.avi")], done)
        assert f.attrs["subset"] == "train" and f.attrs["stream"] == "temporal"
        assert list(f["labels"][:]) == [int(v[1]) for v in ids]
    assert not path.with_name(f"{NET}_split1_train.partial.jsonl").exists()
    again = subprocess.run([sys.executable, "tools/score_net.py", "--run", str(run), "--subset",
                            "train", "--out", str(out), "--quiet"], cwd=ROOT, capture_output=True,
                           text=True)
    assert again.returncode == 0
    assert again.stdout.strip() == (f"score_net: {path} already holds these weights' scores; "
                                    "nothing to do.")


def test_the_net_flags_name_the_run_train_net_made(tmp_path):
    result = subprocess.run([sys.executable, "tools/score_net.py", "--stream", "multitask",
                             "--dataset", "hmdb51", "--split", "2", "--runs", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    expected = tmp_path / "hmdb51" / "multitask_temporal_flow-L10-meansub_scratch_drop0.9_split2"
    assert result.stderr.strip() == (f"score_net: {expected} has no config.json; give a folder "
                                     "that tools/train_net.py made.")


@pytest.mark.slow
def test_table2s_borrowed_classes_train_one_head_and_test_on_the_own_classes(store_writer,
                                                                             tmp_path):
    hmdb = store_writer(tmp_path / "stores" / "hmdb51", "hmdb51",
                        {f"h{c}/h{c}_{i}.avi": (c, 14, "train" if i < 3 else "test")
                         for c in range(2) for i in range(4)}, size=(56, 64))
    ucf = store_writer(tmp_path / "stores" / "ucf101", "ucf101",
                       {f"U{c}/u{c}_{i}.avi": (c, 14, "train") for c in range(3) for i in range(2)},
                       size=(56, 64))
    (tmp_path / "borrowed.txt").write_text("# two of UCF-101's classes\nU2\nu0\n")
    base = [sys.executable, "tools/train_net.py", "--dataset", "hmdb51", "--net",
            "hmdb51_temporal_flow-L10-meansub_plus-ucf101-78_scratch_drop0.9",
            "--store", f"hmdb51={hmdb}", "--store", f"ucf101={ucf}", "--runs", str(tmp_path),
            "--iters", "2", "--width", "0.125", "--input-size", "48", "--batch-size", "4",
            "--workers", "0", "--test-interval", "100"]
    refused = subprocess.run(base, cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "train_net: hmdb51_temporal_flow-L10-meansub_plus-ucf101-78_scratch_drop0.9 adds 78 "
        "ucf101 classes to hmdb51 (Table 2), which the paper chose by hand and does not list: "
        "give yours with --borrowed-classes FILE (one ucf101 class name a line).")
    train = subprocess.run(base + ["--borrowed-classes", str(tmp_path / "borrowed.txt")],
                           cwd=ROOT, capture_output=True, text=True)
    assert train.returncode == 0, train.stderr[-1500:]
    run = tmp_path / "hmdb51" / ("hmdb51_temporal_flow-L10-meansub_plus-ucf101-2_scratch_drop0.9"
                                 "_split1")
    params = json.loads(re.search(r"param_str: \"(.*)\"\n", (run / "trainval.prototxt")
                                  .read_text()).group(1).encode().decode("unicode_escape"))
    assert params["borrowed_class_names"] == {"ucf101": ["U2", "u0"]}
    assert params["splits"] == {"hmdb51": 1, "ucf101": "all"}
    assert "num_output: 4" in (run / "trainval.prototxt").read_text()  # 2 own + 2 borrowed
    test = subprocess.run([sys.executable, "tools/score_net.py", "--run", str(run), "--out",
                           str(tmp_path / "scores"), "--quiet"], cwd=ROOT, capture_output=True,
                          text=True)
    assert test.returncode == 0, test.stderr[-1500:]
    with h5py.File(tmp_path / "scores" / "hmdb51" / f"{run.name}_test.h5") as f:
        assert f["scores"].shape == (2, 2)  # the own classes, renormalised
        np.testing.assert_allclose(f["scores"][:].sum(1), 1, rtol=1e-5)
