"""The demo's numbers the same on any x86-64 machine with AVX2: OpenBLAS (Caffe's system copy
and the wheels' copies alike) picks its kernels, and with them the order of every sum, from the
CPU it runs on, and SGD amplifies the last-bit differences into other accuracies. The demo pins
the kernel that every AVX2 machine can run, and one BLAS thread on every machine.

    pin_kernels()  # before numpy, OpenCV or Caffe is imported; child processes inherit it

Imports nothing that loads a BLAS.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

# Haswell: OpenBLAS's AVX2 + FMA kernels and blocking. The thread count is fixed too (one,
# which every machine has), as the split of a product among threads changes its sums; the
# measurements behind both are in docs/demo.md.
KERNEL = {"OPENBLAS_CORETYPE": "Haswell"}
THREADS = {"OPENBLAS_NUM_THREADS": "1"}
NEEDED_FLAGS = {"avx2", "fma"}
LOADED_TOO_EARLY = ("numpy", "cv2", "caffe")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (Linux); empty where they cannot be read."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def pin_kernels(flags: set[str] | None = None) -> str:
    """Sets THREADS in the environment, and KERNEL where the CPU can run it; returns what was
    done, in words, for the demo's log."""
    early = [m for m in LOADED_TOO_EARLY if m in sys.modules]
    if early:
        raise RuntimeError(f"pin_kernels() must run before {', '.join(early)} is imported")
    flags = cpu_flags() if flags is None else flags
    os.environ.update(THREADS)
    missing = NEEDED_FLAGS - flags
    if missing:
        return (f"this CPU lacks {', '.join(sorted(missing))}: OpenBLAS keeps its own kernel "
                "(on 1 thread), so this demo's figures may differ from the README's in the last "
                "videos")
    os.environ.update(KERNEL)
    return (f"OpenBLAS pinned to its {KERNEL['OPENBLAS_CORETYPE']} (AVX2) kernels and 1 thread, "
            "so that results.json is the same on any x86-64 machine with AVX2")
