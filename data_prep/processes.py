"""How the project's worker processes start (extraction's pool, training's data workers).

From a clean server process (multiprocessing's forkserver), not by forking the caller: a trainer
holds Caffe's and OpenBLAS's threads, an extractor OpenCV's, and fork() of a threaded process may
deadlock (Python 3.12+ warns; 3.14 makes forkserver the default). It is this module's choice, not
the interpreter's default context, which any library can fix to fork by using it first, so every
Python behaves alike; the workers run the same under fork and spawn. docs/usage.md, "Training".
"""
from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.forkserver
import signal

START_METHOD = "forkserver"


@contextlib.contextmanager
def ctrl_c_held():
    """Processes started inside are born with Ctrl-C blocked: a terminal's Ctrl-C reaches the
    whole process group, and one arriving while a worker still starts up would end it with a
    traceback; the parent stops its workers itself."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def start_context():
    """The multiprocessing context workers start in; under forkserver, its server runs (started
    with Ctrl-C blocked, which every worker it forks inherits)."""
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        with ctrl_c_held():
            multiprocessing.forkserver.ensure_running()
    return context


def ignore_ctrl_c() -> None:
    """In a worker, first thing: Ctrl-C ignored, then no longer blocked."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
