"""Room to write: a folder refused before any work when it cannot be written or its disk is
(nearly) full, and the lock a store's one writer holds."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from data_prep.lock import held
from data_prep.store.errors import StoreError

# Free space below this (bytes) refuses a run before any work: a UCF-101 video's flow and
# frames take a few MB, and a full disk mid-transaction costs the video being written.
MIN_FREE = 64 << 20


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
