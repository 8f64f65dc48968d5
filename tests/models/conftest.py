"""Stores for the models' tests: a known-flow one and one made through the real extraction."""
import pytest


@pytest.fixture
def flow_store(tmp_path, store_writer):
    """ucf101-like store: 3 classes x 4 training videos of 14 frames (13 flows), known flow."""
    videos = {f"C{c}/v{c}_{i}.avi": (c, 14, "train") for c in range(3) for i in range(4)}
    return store_writer(tmp_path / "ucf101", "ucf101", videos)


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory):
    """The synthetic UCF-101-like dataset, small (10 classes x 8 clips of 12 frames), with
    Farneback flow at 64 px: real videos through the real extraction, in seconds."""
    from data_prep.extract import ExtractConfig, extract
    from data_prep.datasets.synthetic import SyntheticConfig, make_synthetic
    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic(root, SyntheticConfig(seed=0, ucf_clips_per_group=1, hmdb_clips_per_class=3,
                                         frames=12))
    store = root / "stores" / "ucf101"
    summary = extract(ExtractConfig("ucf101", root / "ucf101", store, "farneback",
                                    short_side=64, progress=False))
    assert summary.exit_code == 0
    return store
