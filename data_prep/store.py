"""The frame and flow stores: JPEGs in LMDB, one transaction per video, and an HDF5 index.

Layout of a dataset's output folder (`data/{dataset}/` by default):

    frames.lmdb          {video}/img/{i:05d}     JPEG of frame i (BGR), i = 0 .. N-1
                         {video}/meta            JSON: frame count, size, source file, sha256
    flow-{method}.lmdb   {video}/x/{i:05d}       JPEG of d^x of forward flow i (frame i -> i+1)
                         {video}/y/{i:05d}       JPEG of d^y of forward flow i, i = 0 .. N-2
                         {video}/bx/{i:05d}      backward flow i (frame i+1 -> i), if computed
                         {video}/by/{i:05d}
                         {video}/meta            JSON: counts, per-field ranges, method, params
    index.h5             every stored video: class, label, splits, counts, ranges, method
    failures.tsv         videos that could not be stored, with the reason

A video's records and its `meta` are written in one LMDB transaction, so a video is either
wholly in a store or not at all; `meta` is written last in it and marks the video done.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import lmdb
import numpy as np

from data_prep.codec import decode_flow, decode_jpeg

INITIAL_MAP_SIZE = 1 << 30  # grown by doubling whenever a video does not fit
META = "meta"


class StoreError(Exception):
    """A store that cannot be written or read; the message says what to do."""


def frame_key(video: str, i: int) -> str:
    return f"{video}/img/{i:05d}"


def flow_keys(video: str, i: int, backward: bool = False) -> tuple[str, str]:
    prefix = "b" if backward else ""
    return f"{video}/{prefix}x/{i:05d}", f"{video}/{prefix}y/{i:05d}"


# LMDB allows one environment per file and process: readers in one process (a train net and
# its test net, say) share it. {(pid, path): [environment, users]}
_READERS = {}


class Store:
    """One LMDB environment; writes whole videos, grows its map as needed."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path, self.readonly = Path(path), readonly
        if readonly and not self.path.exists():
            raise StoreError(f"store {self.path} does not exist; run `make frames` / "
                             "`make flow` for this dataset first.")
        self._key = (os.getpid(), os.path.realpath(self.path))
        if readonly and self._key in _READERS:
            self.env = _READERS[self._key][0]
            _READERS[self._key][1] += 1
            return
        self.env = lmdb.open(str(self.path), map_size=INITIAL_MAP_SIZE, subdir=True,
                             readonly=readonly, lock=True, readahead=False,
                             meminit=False, max_readers=512)
        if readonly:
            _READERS[self._key] = [self.env, 1]

    def close(self):
        if self.env is None:
            return
        shared = _READERS.get(self._key) if self.readonly else None
        if shared is not None:
            shared[1] -= 1
            if shared[1] == 0:
                del _READERS[self._key]
                self.env.close()
        else:
            self.env.close()
        self.env = None

    def __del__(self):
        if getattr(self, "env", None) is not None:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def has(self, video: str) -> bool:
        with self.env.begin() as txn:
            return txn.get(f"{video}/{META}".encode()) is not None

    def meta(self, video: str) -> dict:
        with self.env.begin() as txn:
            data = txn.get(f"{video}/{META}".encode())
        if data is None:
            raise StoreError(f"{video} is not in {self.path}; extract it first.")
        return json.loads(data)

    def get(self, key: str) -> bytes:
        with self.env.begin() as txn:
            data = txn.get(key.encode())
        if data is None:
            raise StoreError(f"{self.path} has no record {key}; the store is incomplete, "
                             "re-run the extraction.")
        return data

    def videos(self) -> list[str]:
        """Ids of the videos wholly stored, sorted."""
        suffix = f"/{META}".encode()
        with self.env.begin() as txn:
            return sorted(k[:-len(suffix)].decode() for k in txn.cursor().iternext(values=False)
                          if k.endswith(suffix))

    def items(self):
        with self.env.begin() as txn:
            yield from ((k.decode(), bytes(v)) for k, v in txn.cursor())

    def records(self, video: str) -> dict[str, bytes]:
        """A stored video's records, its meta excepted."""
        prefix, found = f"{video}/".encode(), {}
        with self.env.begin() as txn:
            cursor = txn.cursor()
            if cursor.set_range(prefix):
                for key, value in cursor:
                    if not key.startswith(prefix):
                        break
                    found[key.decode()] = bytes(value)
        found.pop(f"{video}/{META}", None)
        return found

    def put_video(self, video: str, records: dict[str, bytes], meta: dict) -> None:
        """All of a video's records and its meta, atomically."""
        items = sorted(records.items()) + [(f"{video}/{META}", json.dumps(meta, sort_keys=True)
                                            .encode())]
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    for key, value in items:
                        txn.put(key.encode() if isinstance(key, str) else key, value)
                return
            except lmdb.MapFullError:
                self.env.set_mapsize(self.env.info()["map_size"] * 2)
            except lmdb.Error as error:
                if "No space left" in str(error) or getattr(error, "errno", None) == 28:
                    raise StoreError(f"the disk holding {self.path} is full; free space and run "
                                     "again: every video stored so far is kept.") from None
                raise


class FrameReader:
    """Frames of stored videos as BGR uint8 arrays."""

    def __init__(self, folder: Path):
        self.store = Store(Path(folder) / "frames.lmdb", readonly=True)

    def count(self, video: str) -> int:
        return self.store.meta(video)["frame_count"]

    def frame(self, video: str, i: int) -> np.ndarray:
        return decode_jpeg(self.store.get(frame_key(video, i)))


class FlowReader:
    """Flow fields of stored videos as float32 H x W x 2 arrays in pixels."""

    def __init__(self, folder: Path, method: str):
        self.store = Store(Path(folder) / f"flow-{method}.lmdb", readonly=True)
        self._meta = {}

    def meta(self, video: str) -> dict:
        if video not in self._meta:
            self._meta[video] = self.store.meta(video)
        return self._meta[video]

    def count(self, video: str) -> int:
        return self.meta(video)["flow_count"]

    def flow(self, video: str, i: int, backward: bool = False) -> np.ndarray:
        """Forward flow i goes from frame i to frame i+1; backward flow i from i+1 to i."""
        ranges = self.meta(video)["backward_ranges" if backward else "ranges"][i]
        key_x, key_y = flow_keys(video, i, backward)
        return decode_flow(self.store.get(key_x), self.store.get(key_y), ranges)

    def quantised(self, video: str, i: int, backward: bool = False):
        """(d^x as stored, d^y as stored, ranges): the two uint8 images and the [lo, hi] of
        each, for callers that dequantise only what they crop."""
        ranges = self.meta(video)["backward_ranges" if backward else "ranges"][i]
        key_x, key_y = flow_keys(video, i, backward)
        return (decode_jpeg(self.store.get(key_x), colour=False),
                decode_jpeg(self.store.get(key_y), colour=False), ranges)


def index_classes(index) -> list[str]:
    """The class names an open index.h5 lists, in label order."""
    return [c.decode() if isinstance(c, bytes) else str(c) for c in index.attrs["classes"]]


def write_index(folder: Path, dataset, methods: list[str]) -> Path:
    """index.h5 from the stores' meta records and the dataset's splits; written to a temporary
    file and renamed, so a killed run never leaves a broken index."""
    folder = Path(folder)
    with Store(folder / "frames.lmdb") as frames:
        stored = frames.videos()
        frame_meta = [frames.meta(v) for v in stored]
    path, partial = folder / "index.h5", folder / "index.h5.partial"
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
        for method in methods:
            write_flow_index(f.create_group(f"flow/{method}"), folder / f"flow-{method}.lmdb",
                             stored)
    os.replace(partial, path)
    return path


def write_flow_index(group, store_path: Path, stored: list[str]) -> None:
    with Store(store_path) as store:
        metas = [store.meta(v) if store.has(v) else None for v in stored]
    done = [m for m in metas if m is not None]
    group["stored"] = np.array([m is not None for m in metas])
    group["flow_count"] = np.array([m["flow_count"] if m else 0 for m in metas], np.int64)
    group["offset"] = np.concatenate([[0], np.cumsum(group["flow_count"][:])[:-1]]).astype(np.int64)
    group["ranges"] = np.array([r for m in done for r in m["ranges"]], np.float32).reshape(-1, 2, 2)
    if done and "backward_ranges" in done[0]:
        group["backward_ranges"] = np.array([r for m in done for r in m["backward_ranges"]],
                                            np.float32).reshape(-1, 2, 2)
    if done:
        group.attrs["parameters"] = json.dumps(done[0]["parameters"], sort_keys=True)
        group.attrs["bound"] = done[0]["bound"] if done[0]["bound"] is not None else np.nan
        group.attrs["jpeg_quality"] = done[0]["jpeg_quality"]
    group.attrs["alignment"] = ("forward flow i goes from frame i to frame i+1 (i = 0 .. N-2); "
                                "backward flow i from frame i+1 to frame i; ranges[offset + i] "
                                "= [[min d^x, max d^x], [min d^y, max d^y]] of flow i")
