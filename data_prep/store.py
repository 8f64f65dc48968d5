"""The frame and flow stores: JPEGs in LMDB, one transaction per video, and an HDF5 index.

Layout of a dataset's output folder (`data/{dataset}/` by default):

    frames.lmdb          {video}/img/{i:05d}     JPEG of frame i (BGR), i = 0 .. N-1
                         {video}/meta            JSON: frame count, size, source file, sha256
    flow-{method}.lmdb   {video}/x/{i:05d}       JPEG of d^x of forward flow i (frame i -> i+1)
                         {video}/y/{i:05d}       JPEG of d^y of forward flow i, i = 0 .. N-2
                         {video}/bx/{i:05d}      backward flow i (frame i+1 -> i), if computed
                         {video}/by/{i:05d}
                         {video}/meta            JSON: counts, per-field ranges, method, params
    both                 settings                JSON: the extraction settings the store was made
                                                 with (frames: short side, JPEG quality; flow:
                                                 also method, parameters, bound, backward)
    index.h5             every stored video: class, label, splits, counts, ranges, method
    failures.tsv         videos that could not be stored, with the reason

A video's records and its `meta` are written in one LMDB transaction, so a video is either
wholly in a store or not at all; `meta` is written last in it and marks the video done. A store
holds one set of settings: a run asking for other ones is refused (`agree_settings`), one asking
for more of a kind the store can add (backward flow) adds it to the videos that lack it.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import lmdb
import numpy as np

from data_prep.codec import CodecError, decode_jpeg, dequantise
from data_prep.lock import held

INITIAL_MAP_SIZE = 1 << 30  # grown by doubling whenever a video does not fit
META = "meta"
FRAMES = "frames.lmdb"


def frames_path(folder) -> Path:
    """A store folder's frame LMDB (the layout above is named here and nowhere else)."""
    return Path(folder) / FRAMES


def flow_path(folder, method: str) -> Path:
    """A store folder's LMDB of `method`'s flow."""
    return Path(folder) / f"flow-{method}.lmdb"


def stored_methods(folder) -> list[str]:
    """The flow methods that have a store in `folder`."""
    return sorted(p.name[len("flow-"):-len(".lmdb")] for p in Path(folder).glob("flow-*.lmdb"))
DATASET = "dataset"  # the lmdb key naming the dataset whose videos a store holds
SETTINGS = "settings"
INDEX = "index.h5"
REAL_STORES = Path("data")  # data/{dataset}/: a real dataset's store
SYNTHETIC_STORES = Path("data/synthetic/stores")  # the embedded synthetic datasets' stores


def default_store(dataset: str, root=None) -> Path:
    """Where a store goes when none is given: for extraction from `root`, data/{dataset}, or
    for a synthetic dataset a folder beside it (never the same folder as the real one's); for
    training (no root), the real store if there is one, else the synthetic one."""
    from data_prep.synthetic import MARKER
    if root is not None:
        synthetic = (Path(root) / MARKER).is_file()
        return Path(root).parent / "stores" / dataset if synthetic else REAL_STORES / dataset
    real = REAL_STORES / dataset
    return real if (real / INDEX).exists() else SYNTHETIC_STORES / dataset
# Settings a later run may ask more of: the store adds them to the videos that lack them.
ADDITIVE = ("backward",)
# Free space below this (bytes) refuses a run before any work: a UCF-101 video's flow and
# frames take a few MB, and a full disk mid-transaction costs the video being written.
MIN_FREE = 64 << 20


class StoreError(Exception):
    """A store that cannot be written or read; the message says what to do."""


class CorruptRecord(StoreError):
    """A record that does not decode: names the store, the video and the key."""

    def __init__(self, store: Path, video: str, key: str):
        self.store, self.video, self.key = store, video, key
        super().__init__(f"{store}: record {key} of video {video} does not decode (corrupt); "
                         f"redo that video with `tools/extract.py ... --redo {video}`.")


class DiskFull(StoreError):
    """A write the disk had no room for (or failed); what was written before it is kept."""


def require_space(folder: Path, what: str, need: int = MIN_FREE) -> None:
    """Refuses before any work a folder that cannot be written or whose disk is (nearly) full."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create {what} {folder} ({error.strerror}); choose a folder you "
                         "can write to.") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(f"{what} {folder} is not writable; choose a folder you can write to, "
                         "or fix its permissions.")
    free = shutil.disk_usage(folder).free
    if free < need:
        raise StoreError(f"the disk holding {what} {folder} has {free >> 20} MB free (at least "
                         f"{need >> 20} MB needed); free space or choose another folder.")


def writing(folder: Path):
    """Held by whoever writes a store folder (extraction, merging), for the whole write: a second
    writer, with the same settings or others, is refused at once."""
    return held(Path(folder) / "write.lock", f"the store {folder}", StoreError)


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
        try:
            self.env = lmdb.open(str(self.path), map_size=INITIAL_MAP_SIZE, subdir=True,
                                 readonly=readonly, lock=True, readahead=False,
                                 meminit=False, max_readers=512)
        except lmdb.Error as error:
            if not readonly:
                raise
            # The folder exists but LMDB's data file is missing or still empty: another process
            # has only begun creating the store.
            raise StoreError(f"store {self.path} cannot be opened yet ({error}); if an "
                             "extraction is creating it, wait for its first video, else run "
                             "`make frames` / `make flow` for this dataset again.") from None
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
        self._write(lambda txn: [txn.put(k.encode() if isinstance(k, str) else k, v)
                                 for k, v in items])

    def delete_video(self, video: str) -> None:
        """Removes a video's records and meta in one transaction."""
        keys = [*self.records(video), f"{video}/{META}"]
        self._write(lambda txn: [txn.delete(k.encode()) for k in keys])

    def settings(self) -> dict | None:
        with self.env.begin() as txn:
            data = txn.get(SETTINGS.encode())
        return None if data is None else json.loads(data)

    def put_settings(self, settings: dict) -> None:
        data = json.dumps(settings, sort_keys=True).encode()
        self._write(lambda txn: txn.put(SETTINGS.encode(), data))

    def dataset(self) -> str | None:
        """The dataset whose videos the store holds (None: not recorded yet)."""
        with self.env.begin() as txn:
            data = txn.get(DATASET.encode())
        return None if data is None else data.decode()

    def put_dataset(self, dataset: str) -> None:
        self._write(lambda txn: txn.put(DATASET.encode(), dataset.encode()))

    def _write(self, change) -> None:
        """One write transaction, the map grown as needed; a full disk is one sentence."""
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    change(txn)
                return
            except lmdb.MapFullError:
                self.env.set_mapsize(self.env.info()["map_size"] * 2)
            except lmdb.Error as error:
                # A full disk shows as ENOSPC, or as EIO when a sparse map cannot be backed.
                if getattr(error, "errno", None) in (errno.ENOSPC, errno.EIO) or any(
                        text in str(error) for text in ("No space left", "Input/output error")):
                    raise DiskFull(f"cannot write {self.path}: the disk is full or failing "
                                     f"({error}); free space and run again: every video stored "
                                     "so far is kept.") from None
                raise


class FrameReader:
    """Frames of stored videos as BGR uint8 arrays."""

    def __init__(self, folder: Path):
        self.store = Store(frames_path(folder), readonly=True)

    def count(self, video: str) -> int:
        return self.store.meta(video)["frame_count"]

    def frame(self, video: str, i: int) -> np.ndarray:
        return decoded(self.store, video, frame_key(video, i))


class FlowReader:
    """Flow fields of stored videos as float32 H x W x 2 arrays in pixels."""

    def __init__(self, folder: Path, method: str):
        self.store = Store(flow_path(folder, method), readonly=True)
        self._meta = {}

    def meta(self, video: str) -> dict:
        if video not in self._meta:
            self._meta[video] = self.store.meta(video)
        return self._meta[video]

    def count(self, video: str) -> int:
        return self.meta(video)["flow_count"]

    def flow(self, video: str, i: int, backward: bool = False) -> np.ndarray:
        """Forward flow i goes from frame i to frame i+1; backward flow i from i+1 to i."""
        x, y, ranges = self.quantised(video, i, backward)
        return dequantise(np.stack([x, y], axis=2), np.asarray(ranges, np.float32))

    def quantised(self, video: str, i: int, backward: bool = False):
        """(d^x as stored, d^y as stored, ranges): the two uint8 images and the [lo, hi] of
        each, for callers that dequantise only what they crop."""
        meta = self.meta(video)
        if backward and "backward_ranges" not in meta:
            raise StoreError(f"{self.store.path} has no backward flow for {video}; add it with "
                             "`make flow ... BACKWARD=1` (only the videos lacking it are done).")
        ranges = meta["backward_ranges" if backward else "ranges"][i]
        key_x, key_y = flow_keys(video, i, backward)
        return (decoded(self.store, video, key_x, colour=False),
                decoded(self.store, video, key_y, colour=False), ranges)


def decoded(store: Store, video: str, key: str, colour: bool = True) -> np.ndarray:
    """A stored JPEG as an array; a record that does not decode names its store, video and key."""
    try:
        return decode_jpeg(store.get(key), colour=colour)
    except CodecError:
        raise CorruptRecord(store.path, video, key) from None


def claim_dataset(store: Store, dataset: str) -> None:
    """A store holds one dataset's videos: the first extraction names it (a store made before
    it was recorded: its index's); another dataset's extraction is refused before any work."""
    own = store.dataset()
    recorded = own or index_dataset(store.path.parent)
    if recorded is not None and recorded != dataset:
        raise StoreError(f"{store.path.parent} holds {recorded}'s videos, this run extracts "
                         f"{dataset}'s: one store holds one dataset; give --out another folder "
                         f"(e.g. data/{dataset}).")
    if own is None:
        store.put_dataset(dataset)


def index_dataset(folder: Path) -> str | None:
    """The dataset a store folder's index.h5 names (None without one)."""
    path = Path(folder) / INDEX
    if not path.is_file():
        return None
    with h5py.File(path, "r") as index:
        return str(index.attrs["dataset"])


def require_dataset(folder: Path, dataset: str) -> None:
    """Refuses a store folder that holds another dataset's videos, where a run is given it as
    `dataset`'s (training, testing)."""
    recorded = index_dataset(folder)
    if recorded is not None and recorded != dataset:
        raise StoreError(f"{folder} is {recorded}'s store (its index.h5 says so), not "
                         f"{dataset}'s: give --store {dataset}=FOLDER of {dataset}'s own store.")


def agree_settings(store: Store, requested: dict) -> dict:
    """The settings the store is made with, after this run: the requested ones for a new store;
    a store's own if they agree (more of an additive one added); else one sentence refusing."""
    recorded = store.settings() or inferred_settings(store)
    if recorded is None:
        store.put_settings(requested)
        return requested
    for key in sorted(set(recorded) | set(requested)):
        if key in ADDITIVE:
            continue
        if recorded.get(key) != requested.get(key):
            raise StoreError(
                f"{store.path} was made with {key} = {json.dumps(recorded.get(key))}, this run "
                f"asks for {json.dumps(requested.get(key))}: one store holds one setting; give "
                "the store's own setting, another --out for the new one, or delete the store to "
                "redo it.")
    merged = {**recorded, **{k: recorded.get(k) or requested.get(k) for k in ADDITIVE
                             if k in requested or k in recorded}}
    if merged != store.settings():
        store.put_settings(merged)
    return merged


def inferred_settings(store: Store) -> dict | None:
    """A store made before settings were recorded: its first video's (None when empty)."""
    videos = store.videos()
    if not videos:
        return None
    meta = store.meta(videos[0])
    if "method" not in meta:
        return {"short_side": meta.get("short_side"), "jpeg_quality": meta.get("jpeg_quality")}
    return {"method": meta["method"], "parameters": meta["parameters"], "bound": meta["bound"],
            "jpeg_quality": meta["jpeg_quality"], "short_side": meta.get("short_side"),
            "backward": "backward_ranges" in meta}


def stored_settings(folder: Path, method: str | None = None) -> dict:
    """The settings a store folder's frames (`method` None) or `method` flow were made with."""
    path = frames_path(folder) if method is None else flow_path(folder, method)
    with Store(path, readonly=True) as store:
        settings = store.settings() or inferred_settings(store)
    if settings is None:
        raise StoreError(f"store {path} holds no video yet; extract the dataset first.")
    return settings


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
