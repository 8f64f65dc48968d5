"""The synthetic datasets: official layouts, deterministic, class groups as designed."""
import hashlib
import json

import numpy as np

from data_prep.datasets import read_dataset
from data_prep.datasets.synthetic import (HMDB_CLASSES, MOTIONS, UCF_CLASSES, SyntheticConfig,
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
    frames = read_frames(ucf.videos["ShiverSideways/v_ShiverSideways_g01_c01.avi"].path, 120)
    assert len(frames) == 5 and frames[0].shape == (120, 160, 3)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    make_synthetic(tmp_path / "a", SMALL)
    make_synthetic(tmp_path / "b", SMALL)
    make_synthetic(tmp_path / "c", SyntheticConfig(4, 1, 4, 5))
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    a, c = digest(tmp_path / "a"), digest(tmp_path / "c")
    clip = "ucf101/UCF-101/ShiverSideways/v_ShiverSideways_g01_c01.avi"
    assert a[clip] != c[clip]


def test_metadata_names_the_motion_only_and_appearance_only_pairs(tmp_path):
    make_synthetic(tmp_path, SMALL)
    ucf = json.loads((tmp_path / "ucf101/synthetic.json").read_text())
    assert ucf["groups"]["motion_only"] == [["ShiverSideways", "ShuffleSideways"],
                                            ["Spin", "ZoomSquare"],
                                            ["BounceVertical", "SwingHorizontal"]]
    assert ucf["groups"]["appearance_only"] == [["RedBoxRise", "BlueBoxRise"],
                                                ["GreenOrbit", "PurpleOrbit"]]
    hmdb = json.loads((tmp_path / "hmdb51/synthetic.json").read_text())
    assert hmdb["groups"]["motion_only"] == [["zoom_in", "zoom_out"]]
    assert hmdb["groups"]["appearance_only"] == [["red_box_rise", "blue_box_rise"],
                                                 ["teal_wave", "brown_wave"]]
    for meta in (ucf, hmdb):  # a class is in one kind of group at most
        kinds = [{c for pair in meta["groups"][k] for c in pair} for k in meta["groups"]]
        assert not kinds[0] & kinds[1]
    shared = {(c.appearance, c.motion) for c in UCF_CLASSES} & \
        {(c.appearance, c.motion) for c in HMDB_CLASSES}
    assert len(shared) == 3  # classes both datasets have, as UCF-101 and HMDB-51 share some


def test_the_shaking_pair_differs_only_in_when_it_turns_back():
    # One flow field of ShiverSideways and of ShuffleSideways is the same sideways step (an L = 1
    # net cannot tell them apart); a stack of them shows the turns: every frame, every second.
    rng = lambda: np.random.default_rng(7)  # noqa: E731 - same speed and phase for both
    steps = {m: np.diff(trajectory(MOTIONS[m], 13, rng())[0], axis=0)
             for m in ("shiver", "shuffle")}
    for s in steps.values():
        assert np.allclose(np.abs(s[:, 0]), np.abs(steps["shiver"][0, 0])) and not s[:, 1].any()
        assert 3.2 <= np.abs(s[0, 0]) <= 4.8
    turns = {m: np.flatnonzero(np.sign(s[1:, 0]) != np.sign(s[:-1, 0])) + 1
             for m, s in steps.items()}
    assert turns["shiver"].tolist() == list(range(1, 12))
    assert np.diff(turns["shuffle"]).tolist() == [2] * (len(turns["shuffle"]) - 1)
    assert len(turns["shuffle"]) in (5, 6)


def mirror_invariant(motion: dict) -> dict:
    """What a horizontal flip leaves of a motion: the sign of x motion and of rotation go."""
    return {key: np.abs(value).tolist() for key, value in motion.items()}


def test_no_class_is_the_mirror_image_of_another_of_its_dataset():
    # Training flips inputs horizontally (Sect. 3.1): leftwards vs rightwards or clockwise vs
    # anticlockwise would be one class to the nets, and the pair's accuracy stuck at a half.
    for classes in (UCF_CLASSES, HMDB_CLASSES):
        seen = {}
        for c in classes:
            key = json.dumps(mirror_invariant(MOTIONS[c.motion]), sort_keys=True)
            other = seen.setdefault((c.appearance, key), c.name)
            assert other == c.name, (other, c.name)
    rng = lambda: np.random.default_rng(0)  # noqa: E731 - same draws for both
    _, spin, _ = trajectory(MOTIONS["clockwise"], 10, rng())
    _, _, zoom = trajectory(MOTIONS["zoom_in"], 10, rng())
    assert spin[-1] != 0 and zoom[-1] > zoom[0]
