"""Frames and flow fields read back from a store folder, decoded (flow: dequantised to pixels)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data_prep.codec import dequantise
from data_prep.store.errors import StoreError
from data_prep.store.layout import flow_keys, flow_path, frame_key, frames_path
from data_prep.store.lmdb_store import Store, decoded


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
