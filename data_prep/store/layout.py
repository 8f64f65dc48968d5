"""A store folder's layout: its files' names, its records' keys, and where a dataset's store
goes when none is given. Named here and nowhere else (the package's docstring draws it)."""
from __future__ import annotations

from pathlib import Path

FRAMES = "frames.lmdb"
META = "meta"  # {video}/meta: its counts and settings, written last: the video is whole
DATASET = "dataset"  # the lmdb key naming the dataset whose videos a store holds
SETTINGS = "settings"
INDEX = "index.h5"
REAL_STORES = Path("data")  # data/{dataset}/: a real dataset's store
SYNTHETIC_STORES = Path("data/synthetic/stores")  # the embedded synthetic datasets' stores


def frames_path(folder) -> Path:
    """A store folder's frame LMDB."""
    return Path(folder) / FRAMES


def flow_path(folder, method: str) -> Path:
    """A store folder's LMDB of `method`'s flow."""
    return Path(folder) / f"flow-{method}.lmdb"


def stored_methods(folder) -> list[str]:
    """The flow methods that have a store in `folder`."""
    return sorted(p.name[len("flow-"):-len(".lmdb")] for p in Path(folder).glob("flow-*.lmdb"))


def default_store(dataset: str, root=None) -> Path:
    """Where a store goes when none is given: for extraction from `root`, data/{dataset}, or
    for a synthetic dataset a folder beside it (never the same folder as the real one's); for
    training (no root), the real store if there is one, else the synthetic one."""
    from data_prep.datasets.synthetic import MARKER
    if root is not None:
        synthetic = (Path(root) / MARKER).is_file()
        return Path(root).parent / "stores" / dataset if synthetic else REAL_STORES / dataset
    real = REAL_STORES / dataset
    return real if (real / INDEX).exists() else SYNTHETIC_STORES / dataset


def frame_key(video: str, i: int) -> str:
    return f"{video}/img/{i:05d}"


def flow_keys(video: str, i: int, backward: bool = False) -> tuple[str, str]:
    prefix = "b" if backward else ""
    return f"{video}/{prefix}x/{i:05d}", f"{video}/{prefix}y/{i:05d}"


def frame_meta(frame_count: int, height: int, width: int, source: str, sha256: str,
               jpeg_quality: int, short_side: int | None) -> dict:
    """A video's `meta` record in frames.lmdb."""
    return dict(frame_count=frame_count, height=height, width=width, source=source,
                sha256=sha256, jpeg_quality=jpeg_quality, short_side=short_side)


def flow_meta(frame_count: int, method: str, parameters: dict, bound, jpeg_quality: int,
              sha256: str, ranges: list, backward_ranges: list | None = None) -> dict:
    """A video's `meta` record in flow-{method}.lmdb: each field's [lo, hi] of d^x and d^y as
    stored (`ranges`; `backward_ranges` only where backward flow is)."""
    meta = dict(frame_count=frame_count, flow_count=frame_count - 1, method=method,
                parameters=parameters, bound=bound, jpeg_quality=jpeg_quality, sha256=sha256,
                ranges=ranges)
    if backward_ranges is not None:
        meta["backward_ranges"] = backward_ranges
    return meta
