"""Dense optical flow between consecutive grayscale frames, several methods behind one interface.

    method = flow_method("brox")          # or "brox-gpu", "tvl1", "farneback", "dis"
    flow = method(prev_gray, next_gray)   # H x W x 2 float32: (d^x, d^y) in pixels

`brox` is the paper's method (Sect. 5: Brox et al. 2004, "High accuracy optical flow estimation
based on a theory for warping"): brightness and gradient constancy, smoothness, robust
penalisers, coarse-to-fine warping. On the CPU it is OpenCV's variational refinement solver,
which minimises exactly that energy with fixed-point iterations and SOR at one scale, run level
by level over an image pyramid, each level warping with the flow of the coarser one. `brox-gpu`
is the same solver written for arrays (`data_prep/brox_batch.py`), run on CuPy with many pairs a
call. `brox-opencv-cuda` is OpenCV's own GPU Brox, only where OpenCV was built with CUDA: another
solver with other parameters, so a method (and a store) of its own name, never a stand-in.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

CPU_METHODS = ("brox", "tvl1", "farneback", "dis")
METHODS = CPU_METHODS[:1] + ("brox-gpu",) + CPU_METHODS[1:] + ("brox-opencv-cuda",)
# Middlebury's marker for "no ground truth here" is 1e10; anything above this is unknown.
UNKNOWN_FLOW = 1e9
FLO_TAG = 202021.25  # Middlebury .flo magic number ("PIEH")


@dataclass(frozen=True)
class BroxParams:
    """The `brox` solver's parameters, tuned on Middlebury Grove3 at 640x480 (EPE 0.69 px) and
    for speed at 341x256 (see README's benchmark table).

    alpha: smoothness weight; gamma: gradient constancy weight; delta: brightness constancy
    weight (OpenCV's names; images in [0, 255]). scale: pyramid down-sampling factor per level
    (Brox et al. use 0.9-0.95; 0.8 loses 0.02 px of EPE on Grove3 and halves the levels).
    min_size: the coarsest level's smaller side. fixed_point / sor: outer (lagged
    non-linearity) and inner (SOR) iterations per level; omega: SOR relaxation.
    """

    alpha: float = 10.0
    gamma: float = 10.0
    delta: float = 5.0
    scale: float = 0.8
    min_size: int = 16
    fixed_point: int = 5
    sor: int = 5
    omega: float = 1.6


class BroxFlow:
    name = "brox"

    def __init__(self, params: BroxParams = BroxParams()):
        self.params = params
        self._solver = cv2.VariationalRefinement_create()
        self._solver.setAlpha(params.alpha)
        self._solver.setGamma(params.gamma)
        self._solver.setDelta(params.delta)
        self._solver.setFixedPointIterations(params.fixed_point)
        self._solver.setSorIterations(params.sor)
        self._solver.setOmega(params.omega)
        self._recent = []  # (frame, its pyramid): a video's frame i+1 starts pair i+1 too

    def pyramid(self, image: np.ndarray) -> list[np.ndarray]:
        for frame, levels in self._recent:
            if frame is image:
                return levels
        levels = self.build_pyramid(image)
        self._recent = [(image, levels)] + self._recent[:1]
        return levels

    def build_pyramid(self, image: np.ndarray) -> list[np.ndarray]:
        return image_pyramid(image, self.params)

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        flow = None
        for a, b in zip(self.pyramid(prev), self.pyramid(nxt)):
            height, width = a.shape
            if flow is None:
                flow = np.zeros((height, width, 2), np.float32)
            else:  # upsample the coarser level's flow; displacements scale with the image
                factor = np.array([width / flow.shape[1], height / flow.shape[0]], np.float32)
                flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR) * factor
            self._solver.calc(a, b, flow)
        return flow

    def parameters(self) -> dict:
        return asdict(self.params)


def image_pyramid(image: np.ndarray, params: BroxParams) -> list[np.ndarray]:
    """The `brox` levels of one image, coarse to fine: float32, OpenCV's area resize by
    `scale` while the smaller side stays >= min_size."""
    levels = [image.astype(np.float32)]
    while min(levels[-1].shape) * params.scale >= params.min_size:
        levels.append(cv2.resize(levels[-1], None, fx=params.scale, fy=params.scale,
                                 interpolation=cv2.INTER_AREA))
    return levels[::-1]


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
        from data_prep.brox_batch import BatchBroxFlow
        return BatchBroxFlow("cupy")
    return OpenCVFlow(name)


def to_gray(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def endpoint_error(flow: np.ndarray, truth: np.ndarray) -> float:
    """Mean end-point error over the pixels where the ground truth is known."""
    known = np.all(np.abs(truth) < UNKNOWN_FLOW, axis=2)
    return float(np.sqrt(((flow - truth) ** 2).sum(axis=2))[known].mean())


def read_flo(path) -> np.ndarray:
    """A Middlebury .flo file as H x W x 2 float32."""
    with open(path, "rb") as f:
        tag = np.fromfile(f, np.float32, 1)
        if tag.size != 1 or tag[0] != FLO_TAG:
            raise ValueError(f"{path} is not a Middlebury .flo file (bad magic number)")
        width, height = np.fromfile(f, np.int32, 2)
        data = np.fromfile(f, np.float32, 2 * width * height)
    if data.size != 2 * width * height:
        raise ValueError(f"{path} is truncated: expected {width}x{height}x2 floats")
    return data.reshape(height, width, 2)


def write_flo(path, flow: np.ndarray) -> None:
    height, width = flow.shape[:2]
    with open(path, "wb") as f:
        np.array([FLO_TAG], np.float32).tofile(f)
        np.array([width, height], np.int32).tofile(f)
        flow.astype(np.float32).tofile(f)


def colour_wheel() -> np.ndarray:
    """Baker et al.'s Middlebury colour wheel: 55 hues, RGB in [0, 255]."""
    segments = [(15, (255, 0, 0), (255, 255, 0)), (6, (255, 255, 0), (0, 255, 0)),
                (4, (0, 255, 0), (0, 255, 255)), (11, (0, 255, 255), (0, 0, 255)),
                (13, (0, 0, 255), (255, 0, 255)), (6, (255, 0, 255), (255, 0, 0))]
    rows = [np.array(start) + (np.array(end) - np.array(start)) * (i / n)
            for n, start, end in segments for i in range(n)]
    return np.array(rows, np.float32)


def flow_to_colour(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Middlebury colour coding (hue: direction, saturation: magnitude) as a BGR uint8 image."""
    flow = np.where(np.abs(flow) < UNKNOWN_FLOW, flow, 0)
    u, v = flow[..., 0], flow[..., 1]
    radius = np.sqrt(u ** 2 + v ** 2)
    scale = max_magnitude or max(float(radius.max()), 1e-6)
    u, v, radius = u / scale, v / scale, radius / scale
    wheel = colour_wheel()
    position = (np.arctan2(-v, -u) / np.pi + 1) / 2 * (len(wheel) - 1)
    low = np.floor(position).astype(int)
    high = (low + 1) % len(wheel)
    weight = (position - low)[..., None]
    colour = ((1 - weight) * wheel[low] + weight * wheel[high]) / 255
    saturation = np.clip(radius, 0, 1)[..., None]
    colour = 1 - saturation * (1 - colour)
    colour[radius > 1] *= 0.75  # beyond the scale: darker, as in the Middlebury code
    return (colour[..., ::-1] * 255).round().astype(np.uint8)
