"""Batches made ahead in worker processes, so that Caffe's forward never waits on Python.

Worker w makes batches w, w + W, w + 2W, ... into its own slots of shared memory (a batch of 256
flow volumes is 1 GB: too much to pickle through a pipe) and announces each on its queue; the
consumer takes batch i from worker i mod W. Batches come out in index order, identical to those
made inline, whatever the workers' speeds; each worker holds at most `slots` batches ahead.
"""
from __future__ import annotations

import atexit
import os
import queue
import signal
import traceback
from multiprocessing import shared_memory

import cv2
import numpy as np

from data_prep.processes import ctrl_c_held, ignore_ctrl_c, start_context

WAIT_SECONDS = 5.0  # between checks that the workers are alive


class Slots:
    """`count` batches of (data, labels) arrays in one block of shared memory."""

    def __init__(self, count: int, data_shape, label_shape):
        self.data_shape, self.label_shape = tuple(data_shape), tuple(label_shape)
        self.data_bytes = int(np.prod(data_shape)) * 4
        self.slot_bytes = self.data_bytes + int(np.prod(label_shape)) * 4
        self.memory = shared_memory.SharedMemory(create=True, size=count * self.slot_bytes)

    def view(self, slot: int):
        base = slot * self.slot_bytes
        data = np.ndarray(self.data_shape, np.float32, self.memory.buf, base)
        labels = np.ndarray(self.label_shape, np.float32, self.memory.buf, base + self.data_bytes)
        return data, labels

    def release(self):
        self.memory.close()
        self.memory.unlink()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def die_with_parent(parent: int) -> None:
    """A worker must not outlive its trainer (killed, or leaving through os._exit): Linux sends
    it SIGTERM when the process that started it dies (the trainer, or under forkserver the
    server, which ends with the trainer); the wait for a free slot also checks the trainer."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if not alive(parent):  # it died before prctl took effect
        os._exit(0)


def next_free(free, parent: int):
    while True:
        try:
            return free.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            if not alive(parent):
                return None


def work(maker, worker: int, workers: int, slots: Slots, free, ready, first_index: int,
         parent: int):
    die_with_parent(parent)
    ignore_ctrl_c()
    cv2.setNumThreads(1)
    try:
        index = first_index + worker
        while True:
            slot = next_free(free, parent)
            if slot is None:
                return
            data, labels = slots.view(slot)
            maker.fill(index, data, labels)
            ready.put((index, slot))
            index += workers
    except Exception:  # the consumer re-raises it with the worker's traceback
        ready.put(("error", traceback.format_exc()))


class Prefetcher:
    """next() -> (data, labels): views valid until the following next()."""

    def __init__(self, maker, workers: int, slots: int = 2, first_index: int = 0,
                 cycle: int = 0):
        """cycle (in this process only, workers=0): batches first_index .. + cycle - 1 again
        and again."""
        if cycle and workers:
            raise ValueError("a cycle of batches is made in this process: workers must be 0")
        self.maker, self.workers, self.cycle = maker, workers, cycle
        self.index = self.first_index = first_index
        data_shape, label_shape = maker.shapes
        if workers == 0:
            self.arrays = (np.empty(data_shape, np.float32), np.empty(label_shape, np.float32))
            return
        context = start_context()
        self.pools = []
        for w in range(workers):
            pool = Slots(slots, data_shape, label_shape)
            free, ready = context.Queue(), context.Queue()
            for s in range(slots):
                free.put(s)
            process = context.Process(target=work, daemon=True,
                                      args=(maker, w, workers, pool, free, ready, first_index,
                                            os.getpid()))
            with ctrl_c_held():
                process.start()
            self.pools.append((pool, free, ready, process))
        self.held = None  # (worker, slot) the consumer holds
        atexit.register(self.close)  # Caffe may never delete its layers before exit

    def next(self):
        if self.workers == 0:
            if self.cycle and self.index - self.first_index >= self.cycle:
                self.index = self.first_index
            self.maker.fill(self.index, *self.arrays)
            self.index += 1
            return self.arrays
        if self.held is not None:
            worker, slot = self.held
            self.pools[worker][1].put(slot)
        worker = (self.index - self.first_index) % self.workers
        pool, _, ready, process = self.pools[worker]
        while True:
            try:
                index, slot = ready.get(timeout=WAIT_SECONDS)
                break
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(f"data worker {worker} died (exit code "
                                       f"{process.exitcode})") from None
        if index == "error":
            raise RuntimeError(f"data worker {worker} failed:\n{slot}")
        assert index == self.index, (index, self.index)
        self.index += 1
        self.held = (worker, slot)
        return pool.view(slot)

    def close(self):
        if self.workers == 0:
            return
        for pool, free, ready, process in self.pools:
            process.terminate()
            process.join(timeout=5)
            for channel in (free, ready):  # their semaphores go with them, not at exit
                channel.close()
                channel.join_thread()
            pool.release()
        self.workers, self.pools, self.held = 0, [], None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
