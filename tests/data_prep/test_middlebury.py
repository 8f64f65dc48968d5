"""Middlebury's .flo format (through OpenCV) and colour coding (data_prep/flow/middlebury.py)."""
import numpy as np
import pytest

from data_prep.flow.middlebury import flow_to_colour, read_flo, write_flo


def test_flo_round_trip_and_refusals(tmp_path, grove3):
    truth = grove3[2]
    write_flo(tmp_path / "g.flo", truth)
    np.testing.assert_array_equal(read_flo(tmp_path / "g.flo"), truth)
    (tmp_path / "bad.flo").write_bytes(b"not a flow file at all")
    with pytest.raises(ValueError, match="bad.flo is not a Middlebury .flo file"):
        read_flo(tmp_path / "bad.flo")
    (tmp_path / "short.flo").write_bytes((tmp_path / "g.flo").read_bytes()[:1000])
    with pytest.raises(ValueError, match="short.flo is truncated"):
        read_flo(tmp_path / "short.flo")


def test_colour_coding_follows_the_middlebury_wheel():
    flow = np.zeros((3, 3, 2), np.float32)
    flow[0, 0] = (1, 0)    # right: red in Middlebury's coding
    flow[0, 1] = (0, -1)   # up
    flow[0, 2] = (-1, 0)   # left: cyan
    image = flow_to_colour(flow, max_magnitude=1)
    assert image.dtype == np.uint8 and image.shape == (3, 3, 3)
    assert tuple(image[1, 1]) == (255, 255, 255)  # no motion: white
    b, g, r = image[0, 0].astype(int)
    assert r == 255 and g < 60 and b < 60
    b, g, r = image[0, 2].astype(int)
    assert r < 30 and g > 200 and b > 200
