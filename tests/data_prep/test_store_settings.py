"""A store keeps the settings it was made with: conflicting runs are refused, backward flow is
added to exactly the videos that lack it, named videos are redone, full or unwritable folders
and corrupt records are named."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_prep.extract import ExtractConfig, extract
from data_prep.store import (CorruptRecord, FlowReader, FrameReader, Store, StoreError,
                             flow_keys, read_index, require_space)

ROOT = Path(__file__).resolve().parents[2]


def config(root, out, **changes):
    fields = dict(dataset="ucf101", root=root, out=out, method="farneback", short_side=48,
                  progress=False)
    return ExtractConfig(**{**fields, **changes})


def cli(root, out, *flags):
    return subprocess.run([sys.executable, "tools/extract.py", "--dataset", "ucf101", "--root",
                           str(root), "--out", str(out), "--short-side", "48", "--quiet", *flags],
                          cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("flag, key, recorded, asked", [
    (["--bound", "20"], "bound", "null", "20.0"),
    (["--short-side", "64"], "short_side", "48", "64"),
])
def test_a_run_with_other_settings_is_refused_and_the_store_kept(tiny_ucf101, tmp_path, flag,
                                                                  key, recorded, asked):
    out = tmp_path / "store"
    extract(config(tiny_ucf101, out))
    before = dict(Store(out / "flow-farneback.lmdb", readonly=True).items())
    args = ["--method", "farneback", *flag]
    if flag[0] == "--short-side":
        args = flag  # the frames store refuses first
        result = subprocess.run([sys.executable, "tools/extract.py", "--dataset", "ucf101",
                                 "--root", str(tiny_ucf101), "--out", str(out), "--quiet",
                                 *args], cwd=ROOT, capture_output=True, text=True)
        store = out / "frames.lmdb"
    else:
        result = cli(tiny_ucf101, out, *args)
        store = out / "flow-farneback.lmdb"
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"extract: {store} was made with {key} = {recorded}, this run asks for {asked}: one store "
        "holds one setting; give the store's own setting, another --out for the new one, or "
        "delete the store to redo it.")
    assert dict(Store(out / "flow-farneback.lmdb", readonly=True).items()) == before


def test_backward_flow_asked_later_is_added_to_exactly_the_videos_that_lack_it(tiny_ucf101,
                                                                                tmp_path):
    out, whole = tmp_path / "store", tmp_path / "whole"
    extract(config(tiny_ucf101, out))
    assert not read_index(out, "farneback").backward.any()
    summary = extract(config(tiny_ucf101, out, backward=True))
    assert (summary.stored, summary.already) == (6, 0)  # every video got its backward flow
    extract(config(tiny_ucf101, whole, backward=True))
    assert read_index(out, "farneback").backward.all()
    # The same records as a store made with backward flow from the start.
    added = dict(Store(out / "flow-farneback.lmdb", readonly=True).items())
    made = dict(Store(whole / "flow-farneback.lmdb", readonly=True).items())
    assert added == made
    again = extract(config(tiny_ucf101, out, backward=True))
    assert (again.stored, again.already) == (0, 6)


def test_a_store_made_with_backward_flow_keeps_it_for_videos_added_later(tiny_ucf101, tmp_path):
    out = tmp_path / "store"
    video = "Beta/v_Beta_g03_c01.avi"
    extract(config(tiny_ucf101, out, backward=True))
    with Store(out / "flow-farneback.lmdb") as store:
        store.delete_video(video)  # as if that video came later
    summary = extract(config(tiny_ucf101, out))  # this time without --backward
    assert summary.stored == 1
    index = read_index(out, "farneback")
    assert index.backward.all()
    assert FlowReader(out, "farneback").flow(video, 0, backward=True).shape == (48, 64, 2)


def test_named_videos_are_redone(tiny_ucf101, tmp_path):
    out = tmp_path / "store"
    video = "Alpha/v_Alpha_g02_c01.avi"
    extract(config(tiny_ucf101, out))
    before = dict(Store(out / "flow-farneback.lmdb", readonly=True).items())
    key_x, _ = flow_keys(video, 2)
    with Store(out / "flow-farneback.lmdb") as store:
        meta = store.meta(video)
        store.put_video(video, {key_x: b"not a jpeg"}, meta)
    with pytest.raises(CorruptRecord) as corrupt:
        FlowReader(out, "farneback").flow(video, 2)
    assert str(corrupt.value) == (
        f"{out / 'flow-farneback.lmdb'}: record {key_x} of video {video} does not decode "
        f"(corrupt); redo that video with `tools/extract.py ... --redo {video}`.")
    result = cli(tiny_ucf101, out, "--method", "farneback", "--redo", video)
    assert result.returncode == 0, result.stderr
    assert "deleted Alpha/v_Alpha_g02_c01.avi from" in result.stderr
    assert dict(Store(out / "flow-farneback.lmdb", readonly=True).items()) == before
    unknown = cli(tiny_ucf101, out, "--method", "farneback", "--redo", "Alpha/nope.avi")
    assert unknown.returncode == 2 and "--redo Alpha/nope.avi: not a video of ucf101" in \
        unknown.stderr


def test_a_corrupt_frame_names_its_store_video_and_key(tiny_ucf101, tmp_path):
    out = tmp_path / "store"
    extract(config(tiny_ucf101, out, method=None))
    video = "Beta/v_Beta_g01_c01.avi"
    with Store(out / "frames.lmdb") as store:
        store.put_video(video, {f"{video}/img/00003": b"\xff\xd8 cut"}, store.meta(video))
    with pytest.raises(CorruptRecord, match=f"frames.lmdb: record {video}/img/00003 of video "):
        FrameReader(out).frame(video, 3)


def test_an_unwritable_output_folder_is_one_sentence(tiny_ucf101, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    result = cli(tiny_ucf101, blocked / "store")
    assert result.returncode == 2
    assert result.stderr.startswith(f"extract: cannot create store folder {blocked / 'store'} (")
    assert result.stderr.strip().endswith("choose a folder you can write to.")
    assert "Traceback" not in result.stderr


def test_a_nearly_full_disk_is_refused_before_any_work(tmp_path):
    free = __import__("shutil").disk_usage(tmp_path).free
    with pytest.raises(StoreError) as refused:
        require_space(tmp_path, "store folder", need=free * 2)
    assert str(refused.value) == (
        f"the disk holding store folder {tmp_path} has {free >> 20} MB free (at least "
        f"{(free * 2) >> 20} MB needed); free space or choose another folder.")


def test_settings_are_recorded_in_the_store_and_the_index(tiny_ucf101, tmp_path):
    out = tmp_path / "store"
    extract(config(tiny_ucf101, out, bound=20.0))
    settings = Store(out / "flow-farneback.lmdb", readonly=True).settings()
    assert {k: settings[k] for k in ("method", "bound", "short_side", "backward",
                                     "jpeg_quality")} == dict(
        method="farneback", bound=20.0, short_side=48, backward=False, jpeg_quality=87)
    assert settings["parameters"]["levels"] == 5
    assert Store(out / "frames.lmdb", readonly=True).settings() == dict(short_side=48,
                                                                       jpeg_quality=95)
    assert np.isclose(read_index(out, "farneback").counts, 5).all()


def test_a_store_folder_lmdb_has_not_filled_yet_is_a_store_error(tmp_path):
    # What a reader meets while another process has only begun creating the store: the folder,
    # then an empty data file.
    folder = tmp_path / "flow-brox.lmdb"
    folder.mkdir()
    with pytest.raises(StoreError, match=r"flow-brox\.lmdb cannot be opened yet .*wait for"):
        Store(folder, readonly=True)
    (folder / "data.mdb").touch()
    (folder / "lock.mdb").touch()
    with pytest.raises(StoreError, match=r"flow-brox\.lmdb cannot be opened yet"):
        Store(folder, readonly=True)


def test_one_rule_places_a_store_for_extraction_and_finds_it_for_training(tmp_path,
                                                                           monkeypatch):
    from data_prep.store import default_store
    from data_prep.datasets.synthetic import MARKER
    monkeypatch.chdir(tmp_path)
    real, synthetic = tmp_path / "ucf101", tmp_path / "data" / "synthetic" / "ucf101"
    synthetic.mkdir(parents=True)
    (synthetic / MARKER).write_text("{}")
    # extraction: the real data's store in data/, a synthetic dataset's beside it
    assert default_store("ucf101", real) == Path("data/ucf101")
    assert default_store("ucf101", synthetic) == synthetic.parent / "stores" / "ucf101"
    # training: the synthetic one until the real one has an index
    assert default_store("ucf101") == Path("data/synthetic/stores/ucf101")
    Path("data/ucf101").mkdir(parents=True)
    (Path("data/ucf101") / "index.h5").write_bytes(b"")
    assert default_store("ucf101") == Path("data/ucf101")
