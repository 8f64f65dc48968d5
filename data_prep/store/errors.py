"""What a store refuses or meets: each message names the store (and the video and key) and
the fix."""
from __future__ import annotations

from pathlib import Path


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
