"""The synthetic datasets: official layouts, deterministic, class groups as designed."""
import hashlib
import json

import numpy as np

from data_prep.datasets import read_dataset
from data_prep.synthetic import (HMDB_CLASSES, MOTIONS, UCF_CLASSES, SyntheticConfig,
                                 make_synthetic, trajectory)
from data_prep.video import read_frames

SMALL = SyntheticConfig(seed=3, ucf_clips_per_group=1, hmdb_clips_per_class=4, frames=5)


def digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_both_datasets_read_back_through_the_official_readers(tmp_path):
    assert make_synthetic(tmp_path, SMALL) == {"ucf101": 80, "hmdb51": 32}
    ucf = read_dataset("ucf101", tmp_path / "ucf101")
    assert ucf.classes == [c.name for c in UCF_CLASSES]
    for k in (1, 2, 3):  # 2 of 8 groups tested per split, as UCF-101 tests 7 of 25
        assert len(ucf.splits[k]["test"]) == 20 and len(ucf.splits[k]["train"]) == 60
    hmdb = read_dataset("hmdb51", tmp_path / "hmdb51")
    assert hmdb.classes == sorted(c.name for c in HMDB_CLASSES)
    assert len(hmdb.splits[1]["test"]) == 8 and len(hmdb.splits[1]["train"]) == 24
    frames = read_frames(ucf.videos["SlideLeft/v_SlideLeft_g01_c01.avi"].path, 120)
    assert len(frames) == 5 and frames[0].shape == (120, 160, 3)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    make_synthetic(tmp_path / "a", SMALL)
    make_synthetic(tmp_path / "b", SMALL)
    make_synthetic(tmp_path / "c", SyntheticConfig(4, 1, 4, 5))
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    a, c = digest(tmp_path / "a"), digest(tmp_path / "c")
    assert a["ucf101/UCF-101/SlideLeft/v_SlideLeft_g01_c01.avi"] != \
        c["ucf101/UCF-101/SlideLeft/v_SlideLeft_g01_c01.avi"]


def test_metadata_names_the_motion_only_and_appearance_only_pairs(tmp_path):
    make_synthetic(tmp_path, SMALL)
    ucf = json.loads((tmp_path / "ucf101/synthetic.json").read_text())
    assert ucf["groups"]["motion_only"] == [["SlideLeft", "SlideRight"],
                                            ["SpinClockwise", "SpinAnticlockwise"],
                                            ["BounceVertical", "SwingHorizontal"]]
    assert ucf["groups"]["appearance_only"] == [["RedBoxRise", "BlueDiscRise"],
                                                ["GreenOrbit", "PurpleOrbit"]]
    hmdb = json.loads((tmp_path / "hmdb51/synthetic.json").read_text())
    assert ["zoom_in", "zoom_out"] in hmdb["groups"]["motion_only"]
    assert hmdb["groups"]["appearance_only"] == [["teal_wave", "brown_wave"]]
    shared = {(c.appearance, c.motion) for c in UCF_CLASSES} & \
        {(c.appearance, c.motion) for c in HMDB_CLASSES}
    assert len(shared) == 4  # classes both datasets have, as UCF-101 and HMDB-51 share some


def test_paired_motions_are_mirror_images():
    rng = lambda: np.random.default_rng(0)  # noqa: E731 - same draws for both
    left, _, _ = trajectory(MOTIONS["left"], 10, rng())
    right, _, _ = trajectory(MOTIONS["right"], 10, rng())
    np.testing.assert_allclose(left, -right)
    _, clockwise, _ = trajectory(MOTIONS["clockwise"], 10, rng())
    _, anticlockwise, _ = trajectory(MOTIONS["anticlockwise"], 10, rng())
    np.testing.assert_allclose(clockwise, -anticlockwise)
    assert clockwise[-1] != 0
