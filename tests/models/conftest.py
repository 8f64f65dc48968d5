"""Tiny stores with known content, written through the project's own store API."""
import numpy as np
import pytest

from data_prep.codec import encode_flow, encode_jpeg
from data_prep.datasets import Dataset, Video
from data_prep.store import Store, flow_keys, frame_key, write_index


def write_store(folder, dataset_name, videos, forward=(2.0, -1.0), backward=(-2.0, 1.0),
                size=(40, 48), method="brox"):
    """videos: {id: (label, frame_count, split1 subset)}; every flow field is the constant
    `forward` (and `backward`; None: no backward flow), every frame a grey level equal to 10 x
    its index."""
    folder.mkdir(parents=True, exist_ok=True)
    classes = sorted({vid.split("/")[0] for vid in videos})
    dataset = Dataset(dataset_name, folder, classes, {})
    splits = {k: {"train": [], "test": []} for k in (1, 2, 3)}
    with Store(folder / "frames.lmdb") as frames, Store(folder / f"flow-{method}.lmdb") as flows:
        for vid, (label, count, subset) in sorted(videos.items()):
            dataset.videos[vid] = Video(vid, folder / vid, vid.split("/")[0], label)
            for k in (1, 2, 3):
                splits[k][subset].append(vid)
            records = {frame_key(vid, i): encode_jpeg(np.full((*size, 3), 10 * i, np.uint8), 95)
                       for i in range(count)}
            frames.put_video(vid, records, dict(frame_count=count, height=size[0],
                                                width=size[1], source=vid, sha256="0" * 64))
            records, ranges = {}, {"ranges": [], "backward_ranges": []}
            if backward is None:
                del ranges["backward_ranges"]
            directions = ((False, forward),) + (((True, backward),) if backward else ())
            for i in range(count - 1):
                for back, value in directions:
                    field = np.empty((*size, 2), np.float32)
                    field[..., 0], field[..., 1] = value
                    jx, jy, r = encode_flow(field)
                    kx, ky = flow_keys(vid, i, back)
                    records[kx], records[ky] = jx, jy
                    ranges["backward_ranges" if back else "ranges"].append(r.tolist())
            flows.put_video(vid, records, dict(frame_count=count, flow_count=count - 1,
                                               method=method, parameters={}, bound=None,
                                               jpeg_quality=87, sha256="0" * 64, **ranges))
    dataset.splits = splits
    write_index(folder, dataset, [method])
    return folder


@pytest.fixture
def store_writer():
    return write_store


@pytest.fixture
def flow_store(tmp_path):
    """ucf101-like store: 3 classes x 4 training videos of 14 frames (13 flows), known flow."""
    videos = {f"C{c}/v{c}_{i}.avi": (c, 14, "train") for c in range(3) for i in range(4)}
    return write_store(tmp_path / "ucf101", "ucf101", videos)


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory):
    """The synthetic UCF-101-like dataset, small (10 classes x 8 clips of 12 frames), with
    Farneback flow at 64 px: real videos through the real extraction, in seconds."""
    from data_prep.extract import ExtractConfig, extract
    from data_prep.synthetic import SyntheticConfig, make_synthetic
    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic(root, SyntheticConfig(seed=0, ucf_clips_per_group=1, hmdb_clips_per_class=3,
                                         frames=12))
    store = root / "stores" / "ucf101"
    summary = extract(ExtractConfig("ucf101", root / "ucf101", store, "farneback",
                                    short_side=64, progress=False))
    assert summary.exit_code == 0
    return store
