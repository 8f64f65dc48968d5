"""The settings a store was made with, one dataset a store: recorded on its first extraction,
agreed with by every later one, refused with a sentence otherwise."""
from __future__ import annotations

import json
from pathlib import Path

import h5py

from data_prep.store.errors import StoreError
from data_prep.store.layout import INDEX, flow_path, frames_path
from data_prep.store.lmdb_store import Store

# Settings a later run may ask more of: the store adds them to the videos that lack them.
ADDITIVE = ("backward",)


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
