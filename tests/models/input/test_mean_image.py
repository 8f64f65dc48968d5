"""A mean image in Caffe's .binaryproto, as compute_image_mean writes it (legacy num, channels,
height, width) or as a newer Caffe does (shape), read and subtracted from the spatial crops."""
import numpy as np
import pytest
from caffe.proto import caffe_pb2

from data_prep.video import file_sha1
from models.input.mean_image import MeanError, read_known_mean, read_mean
from models.input.volumes import rgb_input


def a_mean(height=60, width=70, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(90, 130, (3, height, width)).astype(np.float32)


@pytest.mark.parametrize("legacy", [True, False])
def test_the_mean_image_s_centre_crop_is_read_as_h_w_bgr(tmp_path, legacy, mean_writer):
    image = a_mean()
    mean_writer(tmp_path / "mean.binaryproto", image, legacy)
    mean = read_mean(tmp_path / "mean.binaryproto", 48)
    assert mean.shape == (48, 48, 3) and mean.dtype == np.float32
    # centre of 60 x 70: rows 6..53, columns 11..58
    np.testing.assert_array_equal(mean, image[:, 6:54, 11:59].transpose(1, 2, 0))


def test_a_crop_minus_the_mean_image_at_its_own_pixels_then_flipped(tmp_path):
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (64, 80, 3), dtype=np.uint8) for _ in range(2)]
    mean = rng.uniform(90, 130, (48, 48, 3)).astype(np.float32)
    plain = rgb_input(frames, 5, 7, 48, False, None, mean)
    assert plain.shape == (6, 48, 48)
    for k, frame in enumerate(frames):
        expected = (frame[5:53, 7:55].astype(np.float32) - mean).transpose(2, 0, 1)
        np.testing.assert_allclose(plain[3 * k:3 * k + 3], expected, rtol=1e-6)
    flipped = rgb_input(frames, 5, 7, 48, True, None, mean)
    np.testing.assert_array_equal(flipped, plain[:, :, ::-1])


@pytest.mark.parametrize("case, says", [
    ("missing", "no such file"),
    ("not a blob", "not a Caffe BlobProto"),
    ("one channel", "not a mean image (3 x H x W"),
    ("too small", "smaller than the net's 48x48 crops"),
    ("truncated", "the file is truncated"),
    ("scaled", "not within 0-255"),
])
def test_a_mean_file_that_cannot_serve_the_crops_is_refused_naming_it(tmp_path, case, says,
                                                                     mean_writer):
    write_mean = mean_writer
    path = tmp_path / "mean.binaryproto"
    if case == "not a blob":
        path.write_bytes(b"\xff\xff\xff\xff not a protobuf")
    elif case == "one channel":
        write_mean(path, a_mean()[:1])
    elif case == "too small":
        write_mean(path, a_mean(40, 70))
    elif case == "scaled":
        write_mean(path, a_mean() / 255 - 0.5)
    elif case == "truncated":
        blob = caffe_pb2.BlobProto(num=1, channels=3, height=60, width=70)
        blob.data.extend([100.0] * 100)
        path.write_bytes(blob.SerializeToString())
    with pytest.raises(MeanError) as error:
        read_mean(path, 48)
    assert str(path) in str(error.value) and says in str(error.value)


def test_a_run_s_mean_file_changed_or_moved_since_it_was_trained_is_refused(tmp_path,
                                                                          mean_writer):
    path = tmp_path / "mean.binaryproto"
    write_mean = mean_writer
    write_mean(path, a_mean())
    sha1 = file_sha1(path)
    np.testing.assert_array_equal(read_known_mean(path, sha1, 48, "the run R"),
                                  read_mean(path, 48))
    write_mean(path, a_mean(seed=1))
    with pytest.raises(MeanError, match="is not the mean image the run R was trained with"):
        read_known_mean(path, sha1, 48, "the run R")
    path.unlink()
    with pytest.raises(MeanError, match="the run R was trained with, is not there"):
        read_known_mean(path, sha1, 48, "the run R")
