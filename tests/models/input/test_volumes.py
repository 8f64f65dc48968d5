"""Temporal input volumes (Sect. 3.1) and spatial crops on fields with known values."""
import numpy as np
import pytest

from models.input.volumes import (IMAGENET_MEAN_BGR, colour_jitter, flip_flow, flow_volume,
                            random_crop, rgb_input)

H, W, S = 40, 50, 16


def constant(dx, dy):
    field = np.empty((H, W, 2), np.float32)
    field[..., 0], field[..., 1] = dx, dy
    return field


def ramp(scale):
    """d^x = scale * x, d^y = 0: the value tells where the field was sampled."""
    field = np.zeros((H, W, 2), np.float32)
    field[..., 0] = scale * np.arange(W, dtype=np.float32)
    return field


@pytest.mark.parametrize("stacking", ["flow", "trajectory"])
def test_a_pure_translation_gives_its_displacement_in_every_channel(stacking):
    volume = flow_volume([constant(2.0, -1.0)] * 10, stacking, 5, 7, S, False, False)
    assert volume.shape == (20, S, S) and volume.dtype == np.float32
    np.testing.assert_array_equal(volume[0::2], 2.0)
    np.testing.assert_array_equal(volume[1::2], -1.0)


def test_bidirectional_stacks_forward_then_backward_fields():
    fields = [constant(2.0, -1.0)] * 5 + [constant(-2.0, 1.0)] * 5
    volume = flow_volume(fields, "bidirectional", 0, 0, S, False, False)
    np.testing.assert_array_equal(volume[0:10:2], 2.0)
    np.testing.assert_array_equal(volume[10:20:2], -2.0)
    np.testing.assert_array_equal(volume[11:20:2], 1.0)


@pytest.mark.parametrize("stacking", ["flow", "trajectory", "bidirectional"])
def test_mean_subtraction_zeroes_a_pure_translation(stacking):
    volume = flow_volume([constant(3.5, 1.25)] * 4, stacking, 2, 3, S, True, False)
    np.testing.assert_allclose(volume, 0, atol=1e-6)


def test_flipping_mirrors_the_crop_and_negates_every_dx():
    fields = [ramp(0.1), constant(2.0, -1.0)]
    volume = flow_volume(fields, "flow", 0, 10, S, False, False)
    flipped = flow_volume(fields, "flow", 0, 10, S, False, True)
    np.testing.assert_array_equal(flipped[0], -volume[0][:, ::-1])
    np.testing.assert_array_equal(flipped[2], -2.0)
    np.testing.assert_array_equal(flipped[3], -1.0)
    np.testing.assert_array_equal(flip_flow(flipped), volume)


def test_flow_stacking_samples_every_field_at_the_same_pixels():
    volume = flow_volume([constant(2.0, 0.0), ramp(0.01)], "flow", 0, 10, S, False, False)
    np.testing.assert_allclose(volume[2, 0], 0.01 * np.arange(10, 10 + S), rtol=1e-6)


def test_trajectory_stacking_follows_the_flow():
    # Field 1 is sampled where field 0 moved each point: 2 px to the right (eq. 2).
    volume = flow_volume([constant(2.0, 0.0), ramp(0.01), ramp(0.01)], "trajectory", 0, 10, S,
                         False, False)
    np.testing.assert_allclose(volume[2, 0], 0.01 * np.arange(12, 12 + S), rtol=1e-5)
    # Field 2 at p_3 = p_2 + d_1(p_2) = x + 2 + 0.01 (x + 2): bilinear on a linear ramp is exact.
    x2 = np.arange(12, 12 + S, dtype=np.float32)
    np.testing.assert_allclose(volume[4, 0], 0.01 * (x2 + 0.01 * x2), rtol=1e-5)


def test_spatial_input_crops_flips_subtracts_the_mean_and_jitters_alike():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    plain = rgb_input([frame], 3, 4, S, False, None)
    assert plain.shape == (3, S, S)
    np.testing.assert_allclose(plain[:, 0, 0], frame[3, 4] - IMAGENET_MEAN_BGR, rtol=1e-6)
    flipped = rgb_input([frame], 3, 4, S, True, None)
    np.testing.assert_array_equal(flipped, plain[:, :, ::-1])
    jitter = colour_jitter(rng)
    jittered = rgb_input([frame, frame], 3, 4, S, False, jitter)
    assert jittered.shape == (6, S, S)
    np.testing.assert_allclose(jittered[:3] - plain, jitter[:, None, None] * np.ones((3, S, S)),
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(jittered[3:], jittered[:3])


def test_random_crops_cover_the_whole_frame_not_just_its_centre():
    rng = np.random.default_rng(1)
    corners = np.array([random_crop(256, 341, 224, rng) for _ in range(2000)])
    assert corners[:, 0].min() == 0 and corners[:, 0].max() == 32
    assert corners[:, 1].min() == 0 and corners[:, 1].max() == 117
    with pytest.raises(ValueError, match="smaller than the 224x224 crop"):
        random_crop(200, 300, 224, rng)


@pytest.mark.parametrize("mean_subtraction", [False, True])
@pytest.mark.parametrize("flip", [False, True])
def test_stacking_fields_as_stored_equals_stacking_them_dequantised(mean_subtraction, flip):
    from data_prep.codec import dequantise, quantise
    from models.input.volumes import stacked_quantised
    rng = np.random.default_rng(3)
    fields = [np.cumsum(rng.normal(0, 0.3, (H, W, 2)), axis=1).astype(np.float32)
              for _ in range(4)]
    stored = [quantise(f) for f in fields]
    as_stored = [(q[..., 0], q[..., 1], r.tolist()) for q, r in stored]
    dequantised = [dequantise(q, r) for q, r in stored]
    fast = stacked_quantised(as_stored, 4, 9, S, mean_subtraction, flip)
    slow = flow_volume(dequantised, "flow", 4, 9, S, mean_subtraction, flip)
    np.testing.assert_allclose(fast, slow, atol=1e-4)
