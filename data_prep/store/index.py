"""index.h5: every stored video's class, label, splits and counts, written from the stores'
meta records and the dataset's split files (whole or not at all), and read back."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from data_prep.store.errors import StoreError
from data_prep.store.layout import INDEX, flow_path, frames_path
from data_prep.store.lmdb_store import Store
from data_prep.store.settings import inferred_settings


def index_classes(index) -> list[str]:
    """The class names an open index.h5 lists, in label order."""
    return [c.decode() if isinstance(c, bytes) else str(c) for c in index.attrs["classes"]]


def write_index(folder: Path, dataset, methods: list[str]) -> Path:
    """index.h5 from the stores' meta records and the dataset's splits; written to a temporary
    file and renamed, so a killed run never leaves a broken index."""
    folder = Path(folder)
    with Store(frames_path(folder)) as frames:
        stored = frames.videos()
        frame_meta = [frames.meta(v) for v in stored]
    path, partial = folder / INDEX, folder / f"{INDEX}.partial"
    strings = h5py.string_dtype()
    with h5py.File(partial, "w") as f:
        f.attrs["dataset"] = dataset.name
        f.attrs["classes"] = np.array(dataset.classes, dtype=object)
        videos = f.create_group("videos")
        videos["id"] = np.array(stored, dtype=object).astype(strings)
        videos["class_name"] = np.array([dataset.videos[v].class_name for v in stored],
                                        dtype=object).astype(strings)
        videos["label"] = np.array([dataset.videos[v].label for v in stored], np.int64)
        videos["frame_count"] = np.array([m["frame_count"] for m in frame_meta], np.int64)
        videos["height"] = np.array([m["height"] for m in frame_meta], np.int64)
        videos["width"] = np.array([m["width"] for m in frame_meta], np.int64)
        videos["source"] = np.array([m["source"] for m in frame_meta], dtype=object).astype(strings)
        videos["sha256"] = np.array([m["sha256"] for m in frame_meta], dtype=object).astype(strings)
        for k, split in dataset.splits.items():
            # HMDB-51's own coding: 1 train, 2 test, 0 not in this split.
            code = {**{v: 1 for v in split["train"]}, **{v: 2 for v in split["test"]}}
            videos[f"split{k}"] = np.array([code.get(v, 0) for v in stored], np.int8)
        for k, lists in dataset.listed.items():
            for subset, ids in lists.items():
                f[f"listed/split{k}/{subset}"] = np.array(ids, dtype=object).astype(strings)
        for method in methods:
            write_flow_index(f.create_group(f"flow/{method}"), flow_path(folder, method), stored)
    os.replace(partial, path)
    return path


def write_flow_index(group, store_path: Path, stored: list[str]) -> None:
    with Store(store_path) as store:
        metas = [store.meta(v) if store.has(v) else None for v in stored]
        settings = store.settings() or inferred_settings(store)
    done = [m for m in metas if m is not None]
    group["stored"] = np.array([m is not None for m in metas])
    group["backward"] = np.array([m is not None and "backward_ranges" in m for m in metas])
    group["flow_count"] = np.array([m["flow_count"] if m else 0 for m in metas], np.int64)
    group["offset"] = np.concatenate([[0], np.cumsum(group["flow_count"][:])[:-1]]).astype(np.int64)
    group["ranges"] = np.array([r for m in done for r in m["ranges"]], np.float32).reshape(-1, 2, 2)
    if any("backward_ranges" in m for m in done):
        # NaN where a video has no backward flow (group["backward"] says which).
        group["backward_ranges"] = np.array(
            [r for m in done for r in m.get("backward_ranges", [[[np.nan] * 2] * 2] *
                                            m["flow_count"])], np.float32).reshape(-1, 2, 2)
    if settings:
        group.attrs["settings"] = json.dumps(settings, sort_keys=True)
        group.attrs["parameters"] = json.dumps(settings["parameters"], sort_keys=True)
        group.attrs["bound"] = settings["bound"] if settings["bound"] is not None else np.nan
        group.attrs["jpeg_quality"] = settings["jpeg_quality"]
    group.attrs["alignment"] = ("forward flow i goes from frame i to frame i+1 (i = 0 .. N-2); "
                                "backward flow i from frame i+1 to frame i; ranges[offset + i] "
                                "= [[min d^x, max d^x], [min d^y, max d^y]] of flow i")


@dataclass(frozen=True)
class IndexedVideos:
    """What index.h5 says of a store's videos, for one flow method (or the frames alone)."""

    store: Path
    classes: list
    ids: list
    labels: np.ndarray
    splits: dict  # k -> int8 [N]: 1 train, 2 test, 0 unused
    counts: np.ndarray  # inputs a video offers: its flows, or its frames - 1 for the frames
    stored: np.ndarray  # bool: the video's flow is stored (always, for the frames)
    backward: np.ndarray  # bool: the video also has backward flow
    short_sides: np.ndarray  # the frames' (and flow fields') smaller side, in pixels
    # (split, subset) -> the ids its split file lists, stored or not (an index made before
    # they were recorded: empty)
    listed: dict = field(default_factory=dict)

    def member(self, split, subset: str) -> np.ndarray:
        """Which videos are in `subset` of `split` ("all": every video)."""
        if split == "all":
            return np.ones(len(self.ids), bool)
        return self.splits[int(split)] == {"train": 1, "test": 2}[subset]


def read_index(folder: Path, method: str | None = None) -> IndexedVideos:
    """The index of a store folder; with `method`, that flow method's counts."""
    path = Path(folder) / INDEX
    if not path.is_file():
        raise StoreError(f"{path} does not exist; run `make frames` / `make flow` for this "
                         "dataset first (or pass --store DATASET=FOLDER).")
    with h5py.File(path, "r") as index:
        ids = [v.decode() for v in index["videos/id"][:]]
        splits = {int(k[len("split"):]): index[f"videos/{k}"][:] for k in index["videos"]
                  if k.startswith("split")}
        if method is None:
            counts = index["videos/frame_count"][:] - 1
            stored, backward = np.ones(len(ids), bool), np.zeros(len(ids), bool)
        else:
            group = f"flow/{method}"
            if group not in index:
                raise StoreError(f"{folder} has no {method} flow; run `make flow "
                                 f"METHOD={method}` for this dataset first.")
            counts, stored = index[f"{group}/flow_count"][:], index[f"{group}/stored"][:]
            backward = index[f"{group}/backward"][:] if "backward" in index[group] else \
                np.full(len(ids), "backward_ranges" in index[group])
        short_sides = np.minimum(index["videos/height"][:], index["videos/width"][:])
        listed = {(int(k[len("split"):]), subset): [v.decode() for v in listed_ids[:]]
                  for k, group in index.get("listed", {}).items()
                  for subset, listed_ids in group.items()}
        return IndexedVideos(Path(folder), index_classes(index), ids, index["videos/label"][:],
                             splits, counts, stored, backward, short_sides, listed)
