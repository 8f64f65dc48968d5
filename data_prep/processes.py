"""How the project's worker processes start (extraction's pool, training's data workers).

From a clean server process (multiprocessing's forkserver), not by forking the caller: a trainer
holds Caffe's and OpenBLAS's threads, an extractor OpenCV's, and fork() of a threaded process may
deadlock (Python 3.12+ warns; 3.14 makes forkserver the default, so every Python behaves alike).
A program that set its own start method keeps it. docs/usage.md, "Training".
"""
from __future__ import annotations

import multiprocessing
import signal

DEFAULT_START = "forkserver"


def start_context():
    """The multiprocessing context workers start in."""
    chosen = multiprocessing.get_start_method(allow_none=True)
    return multiprocessing.get_context(chosen or DEFAULT_START)


def ignore_ctrl_c() -> None:
    """In a worker: a terminal's Ctrl-C reaches the whole process group, and the parent stops
    its workers itself (no traceback from each)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
