"""A store holds one dataset's videos and says whose (the cases seen: one wrong --dataset had added
80 foreign videos to a store and broken every later extraction; a run trained and tested on
another dataset's store). Extraction into another dataset's store, training or testing a
dataset on another's store, are refused before any work; --redo removes any id a store holds."""
import subprocess
import sys
from pathlib import Path

import pytest

from data_prep.store import Store, StoreError, require_dataset
from data_prep.datasets.synthetic import SyntheticConfig, make_synthetic

ROOT = Path(__file__).resolve().parents[2]


def run(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True)


def extract(dataset: str, root: Path, out: Path, *extra) -> subprocess.CompletedProcess:
    return run("tools/extract.py", "--dataset", dataset, "--root", str(root), "--out", str(out),
               "--short-side", "64", "--quiet", *extra)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic(root, SyntheticConfig(ucf_clips_per_group=1, hmdb_clips_per_class=3))
    return root


@pytest.fixture(scope="module")
def hmdb_store(synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("stores") / "hmdb51"
    done = extract("hmdb51", synthetic / "hmdb51", out, "--method", "farneback")
    assert done.returncode == 0, done.stderr
    return out


def test_extraction_into_another_datasets_store_is_refused_and_loses_nothing(synthetic,
                                                                            hmdb_store):
    with Store(hmdb_store / "frames.lmdb", readonly=True) as store:
        before = store.videos()
    assert len(before) == 24
    wrong = extract("ucf101", synthetic / "ucf101", hmdb_store)
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines()[-1] == (
        f"extract: {hmdb_store} holds hmdb51's videos, this run extracts ucf101's: one store "
        "holds one dataset; give --out another folder (e.g. data/ucf101).")
    with Store(hmdb_store / "frames.lmdb", readonly=True) as store:
        assert store.videos() == before and store.dataset() == "hmdb51"
    # A refused run asking for another flow method leaves no empty store of it behind (a
    # training with that method had then been told the store holds no train video).
    wrong = extract("ucf101", synthetic / "ucf101", hmdb_store, "--method", "tvl1")
    assert wrong.returncode == 2
    assert sorted(p.name for p in hmdb_store.glob("*.lmdb")) == ["flow-farneback.lmdb",
                                                                 "frames.lmdb"]
    again = extract("hmdb51", synthetic / "hmdb51", hmdb_store, "--method", "farneback")
    assert again.returncode == 0 and "0 stored, 24 already there" in again.stderr


def test_redo_removes_an_id_the_dataset_does_not_list(synthetic, tmp_path):
    out = tmp_path / "ucf101"
    assert extract("ucf101", synthetic / "ucf101", out).returncode == 0
    with Store(out / "frames.lmdb") as store:
        store.put_video("Stray/v_Stray_g01_c01.avi", {}, dict(frame_count=0))
    redone = extract("ucf101", synthetic / "ucf101", out, "--redo", "Stray/v_Stray_g01_c01.avi")
    assert redone.returncode == 0, redone.stderr
    with Store(out / "frames.lmdb", readonly=True) as store:
        assert not store.has("Stray/v_Stray_g01_c01.avi") and len(store.videos()) == 80


def test_training_a_dataset_on_another_datasets_store_is_refused(hmdb_store, tmp_path):
    trained = run("tools/train_net.py", "--stream", "temporal", "--dataset", "ucf101",
                  "--method", "farneback", "--store", f"ucf101={hmdb_store}", "--runs",
                  str(tmp_path / "runs"), "--iters", "2", "--width", "0.125", "--input-size",
                  "48", "--batch-size", "4", "--workers", "0")
    assert trained.returncode == 2
    assert trained.stderr.strip().splitlines()[-1] == (
        f"train_net: {hmdb_store} is hmdb51's store (its index.h5 says so), not ucf101's: give "
        "--store ucf101=FOLDER of ucf101's own store.")
    assert not list((tmp_path / "runs").rglob("*.caffemodel"))


def test_a_store_is_checked_against_the_dataset_it_is_given_as(hmdb_store, tmp_path):
    require_dataset(hmdb_store, "hmdb51")
    require_dataset(tmp_path, "ucf101")  # no index yet: nothing to contradict
    with pytest.raises(StoreError, match="is hmdb51's store"):
        require_dataset(hmdb_store, "ucf101")


def test_a_crop_larger_than_the_stored_frames_is_refused_before_any_work(hmdb_store, tmp_path):
    trained = run("tools/train_net.py", "--stream", "temporal", "--dataset", "hmdb51",
                  "--method", "farneback", "--store", f"hmdb51={hmdb_store}", "--runs",
                  str(tmp_path / "runs"), "--iters", "2", "--width", "0.125", "--batch-size",
                  "4", "--workers", "0")
    assert trained.returncode == 2
    last = trained.stderr.strip().splitlines()[-1]
    assert last.startswith(f"train_net: 16 of the 16 train videos in {hmdb_store} are smaller "
                           "than the net's 224-pixel crops (e.g. ")
    assert last.endswith("64 pixels on its short side): extract at --short-side 224 or more, "
                         "or give --input-size 64 or less.")
    assert "Traceback" not in trained.stderr
