"""One writer at a time: an OS file lock (flock) held for the whole write of a store, a run folder
or a score file, in a lock file beside it that its owner module names. A second writer is
refused at once, in one sentence naming the holder's process and command. The lock file is
removed when the write ends; the lock goes with the process, so a killed writer never leaves one
held (docs/formats.md)."""
from __future__ import annotations

import fcntl
import os
import sys
from contextlib import contextmanager
from pathlib import Path


_HELD: set[Path] = set()  # the locks this process holds: taking one again is a no-op


@contextmanager
def held(lock: Path, what: str, error: type[Exception]):
    """Holds `lock` for the block; `what` (e.g. "the store data/ucf101") and the owner's
    `error` class word the refusal when another process holds it."""
    lock = Path(lock).resolve()
    if lock in _HELD:
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = _locked(lock, what, error)
    try:
        os.ftruncate(fd, 0)
        command = " ".join(sys.argv)[:300]
        os.pwrite(fd, f"process {os.getpid()} ({command})".encode(), 0)
        _HELD.add(lock)
        try:
            yield
        finally:
            _HELD.discard(lock)
            lock.unlink(missing_ok=True)  # still held: nobody can have taken it meanwhile
    finally:
        os.close(fd)


def _locked(lock: Path, what: str, error: type[Exception]) -> int:
    """An open descriptor of `lock`, flock'ed; the file it locks is the one at `lock` now (a
    holder that let go removed its file: a lock taken on that one would guard nothing)."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise error(f"{what} is being written by {holder}; wait for it to end (or stop "
                        "it), then run again.") from None
        try:
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
