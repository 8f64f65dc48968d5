"""Shared test set-up: quiet Caffe's glog before pycaffe is first imported; small helpers."""
import os

import pytest

# glog reads this when libcaffe loads; 2 keeps errors and fatal messages only.
os.environ.setdefault("GLOG_minloglevel", "2")


@pytest.fixture
def write_proto(tmp_path):
    """Writes a NetParameter or SolverParameter as prototxt under tmp_path; returns the path."""
    def write(proto, name="net.prototxt"):
        path = tmp_path / name
        path.write_text(str(proto))
        return str(path)
    return write
