"""Quantised JPEG flow and frames: round trips, ranges, the fixed bound."""
import numpy as np
import pytest

from data_prep.codec import (CodecError, decode_flow, decode_jpeg, dequantise, encode_flow,
                             encode_jpeg, quantise)


def smooth_flow(seed=0, shape=(64, 80)):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:shape[0], :shape[1]].astype(np.float32)
    return np.stack([3 * np.sin(x / 9 + rng.random()) - 1, 2 * np.cos(y / 7) + 0.5], axis=2)


def test_quantise_keeps_each_components_own_range_and_rounds_within_half_a_step():
    flow = smooth_flow()
    quantised, ranges = quantise(flow)
    assert quantised.dtype == np.uint8
    np.testing.assert_allclose(ranges, [[flow[..., 0].min(), flow[..., 0].max()],
                                        [flow[..., 1].min(), flow[..., 1].max()]])
    assert quantised[..., 0].min() == 0 and quantised[..., 0].max() == 255
    step = (ranges[:, 1] - ranges[:, 0]) / 255
    error = np.abs(dequantise(quantised, ranges) - flow)
    assert np.all(error <= step / 2 + 1e-5)


def test_fixed_bound_clips_and_uses_the_bound_as_range():
    flow = np.float32([[[30.0, -5.0], [0.0, 0.0]]])
    quantised, ranges = quantise(flow, bound=20)
    np.testing.assert_array_equal(ranges, [[-20, 20], [-20, 20]])
    restored = dequantise(quantised, ranges)
    np.testing.assert_allclose(restored[0, 0], [20.0, -5.0], atol=40 / 255 / 2 + 1e-5)
    np.testing.assert_allclose(restored[0, 1], [0.0, 0.0], atol=40 / 255 / 2 + 1e-5)


def test_a_constant_field_round_trips_exactly():
    flow = np.full((8, 8, 2), 1.25, np.float32)
    np.testing.assert_array_equal(decode_flow(*encode_flow(flow)), flow)


def test_jpeg_flow_round_trip_stays_close():
    flow = smooth_flow(1)
    restored = decode_flow(*encode_flow(flow))
    assert restored.shape == flow.shape and restored.dtype == np.float32
    assert np.sqrt(((restored - flow) ** 2).sum(2)).mean() < 0.03


def test_frames_round_trip_and_garbage_is_refused():
    frame = np.zeros((16, 24, 3), np.uint8)
    frame[:, :12] = (10, 200, 30)
    decoded = decode_jpeg(encode_jpeg(frame, 95))
    assert decoded.shape == (16, 24, 3)
    assert np.abs(decoded.astype(int) - frame).mean() < 2
    with pytest.raises(CodecError, match="not a JPEG"):
        decode_jpeg(b"\x00\x01garbage")
