"""Dense optical flow between consecutive grayscale frames: the methods, behind one interface.

    method = flow_method("brox")          # or "brox-gpu", "tvl1", "farneback", "dis"
    flow = method(prev_gray, next_gray)   # H x W x 2 float32: (d^x, d^y) in pixels

`brox` is the paper's method, on the CPU (`data_prep/flow/brox.py`). `brox-gpu` is the same solver
written for arrays (`data_prep/flow/brox_batch.py`), run on CuPy with many pairs a call.
`brox-opencv-cuda` is OpenCV's own GPU Brox, only where OpenCV was built with CUDA: another
solver with other parameters, so a method (and a store) of its own name, never a stand-in.
"""
from __future__ import annotations

import cv2
import numpy as np

from data_prep.flow.brox import BroxFlow
from data_prep.flow.brox_batch import BatchBroxFlow

CPU_METHODS = ("brox", "tvl1", "farneback", "dis")
METHODS = CPU_METHODS[:1] + ("brox-gpu",) + CPU_METHODS[1:] + ("brox-opencv-cuda",)


class CudaBroxFlow:
    """OpenCV's GPU Brox (only in OpenCV builds with CUDA; PyPI's wheels have none)."""

    name = "brox-opencv-cuda"

    def __init__(self):
        self._solver = cv2.cuda_BroxOpticalFlow.create()

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        a, b = cv2.cuda_GpuMat(), cv2.cuda_GpuMat()
        a.upload(prev.astype(np.float32) / 255)
        b.upload(nxt.astype(np.float32) / 255)
        return self._solver.calc(a, b, None).download()

    def parameters(self) -> dict:
        return dict(backend="opencv-cuda")


class OpenCVFlow:
    """TV-L1 (Zach et al. 2007), Farneback (2003) and DIS (Kroeger et al. 2016), as the
    community runs them (OpenCV's defaults; DIS at its "medium" preset)."""

    def __init__(self, name: str):
        self.name = name
        if name == "tvl1":
            self._solver = cv2.optflow.DualTVL1OpticalFlow_create()
        elif name == "dis":
            self._solver = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._farneback = dict(pyr_scale=0.5, levels=5, winsize=15, iterations=3, poly_n=5,
                               poly_sigma=1.2, flags=0)

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        if self.name == "farneback":
            return cv2.calcOpticalFlowFarneback(prev, nxt, None, **self._farneback)
        return self._solver.calc(prev, nxt, None)

    def parameters(self) -> dict:
        return dict(self._farneback) if self.name == "farneback" else dict(opencv="defaults")


def cuda_available() -> bool:
    return hasattr(cv2, "cuda_BroxOpticalFlow") and cv2.cuda.getCudaEnabledDeviceCount() > 0


def flow_method(name: str):
    """A callable (prev, next) -> H x W x 2 float32 flow, for 8-bit grayscale frames."""
    if name not in METHODS:
        raise ValueError(f"unknown flow method {name!r}; choose one of {', '.join(METHODS)}")
    if name == "brox":
        return BroxFlow()
    if name == "brox-opencv-cuda":
        if not cuda_available():
            raise RuntimeError("brox-opencv-cuda needs an OpenCV built with CUDA and a GPU (PyPI's "
                               "wheels have no CUDA); use brox (the CPU) or brox-gpu (CuPy).")
        return CudaBroxFlow()
    if name == "brox-gpu":  # the same solver on CuPy, a batch of pairs at a time
        return BatchBroxFlow("cupy")
    return OpenCVFlow(name)


def to_gray(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
