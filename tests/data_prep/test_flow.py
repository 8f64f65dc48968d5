"""Optical flow: every method on a known translation, the paper's `brox` on Middlebury Grove3,
and the refusals."""
import cv2
import numpy as np
import pytest

import data_prep.flow.brox_batch as brox_batch
from data_prep.flow.brox import BroxFlow
from data_prep.flow import METHODS, flow_method
from data_prep.flow.middlebury import endpoint_error


def textured_pair(shift=(2.0, -1.0), size=(120, 160), seed=0):
    """A smooth random texture and the same texture moved by `shift` (dx, dy) pixels."""
    rng = np.random.default_rng(seed)
    noise = rng.random((size[0] + 40, size[1] + 40)).astype(np.float32)
    texture = cv2.GaussianBlur(noise, (0, 0), 2.0)
    texture = (texture - texture.min()) / (texture.max() - texture.min()) * 255
    moved = cv2.warpAffine(texture, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]),
                           texture.shape[::-1], flags=cv2.INTER_CUBIC)
    crop = (slice(20, 20 + size[0]), slice(20, 20 + size[1]))
    return texture[crop].astype(np.uint8), moved[crop].astype(np.uint8)


def test_opencv_cuda_brox_is_a_method_of_its_own_refused_without_cuda():
    # OpenCV's GPU Brox is another solver: never a stand-in for brox, refused where it cannot run.
    assert type(flow_method("brox")) is BroxFlow
    with pytest.raises(RuntimeError, match="brox-opencv-cuda needs an OpenCV built with CUDA"):
        flow_method("brox-opencv-cuda")


@pytest.mark.parametrize("method", [m for m in METHODS if m != "brox-opencv-cuda"])
def test_each_method_recovers_a_known_translation(method, monkeypatch):
    if method == "brox-gpu":  # its NumPy backend: the same code CuPy runs on a GPU
        monkeypatch.setattr(brox_batch, "array_module", lambda name: np)
    prev, nxt = textured_pair(shift=(2.0, -1.0))
    flow = flow_method(method)(prev, nxt)
    assert flow.shape == (120, 160, 2) and flow.dtype == np.float32
    inner = flow[15:-15, 15:-15]  # away from the borders, where content enters and leaves
    np.testing.assert_allclose(np.median(inner.reshape(-1, 2), axis=0), [2.0, -1.0], atol=0.1)
    truth = np.broadcast_to(np.float32([2.0, -1.0]), inner.shape)
    assert endpoint_error(inner, truth) < 0.25


def test_brox_on_middlebury_grove3_is_within_the_target(grove3):
    frame10, frame11, truth = grove3
    flow = BroxFlow()(frame10, frame11)
    assert endpoint_error(flow, truth) <= 0.80


def test_brox_backward_flow_points_the_other_way():
    prev, nxt = textured_pair(shift=(-1.5, 0.5))
    brox = flow_method("brox")
    forward, backward = brox(prev, nxt), brox(nxt, prev)
    np.testing.assert_allclose(np.median(forward[15:-15, 15:-15].reshape(-1, 2), 0), [-1.5, 0.5],
                               atol=0.1)
    np.testing.assert_allclose(np.median(backward[15:-15, 15:-15].reshape(-1, 2), 0), [1.5, -0.5],
                               atol=0.1)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown flow method 'lk'; choose one of brox, "
                                         "brox-gpu, tvl1"):
        flow_method("lk")
