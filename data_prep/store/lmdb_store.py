"""One LMDB environment: whole videos written in one transaction each, its map grown as
needed, read-only handles shared within a process."""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import lmdb
import numpy as np

from data_prep.codec import CodecError, decode_jpeg
from data_prep.store.errors import CorruptRecord, DiskFull, StoreError
from data_prep.store.layout import DATASET, META, SETTINGS

INITIAL_MAP_SIZE = 1 << 30  # grown by doubling whenever a video does not fit
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


def decoded(store: Store, video: str, key: str, colour: bool = True) -> np.ndarray:
    """A stored JPEG as an array; a record that does not decode names its store, video and key."""
    try:
        return decode_jpeg(store.get(key), colour=colour)
    except CodecError:
        raise CorruptRecord(store.path, video, key) from None
