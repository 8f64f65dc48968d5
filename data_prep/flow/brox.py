"""The paper's flow (Sect. 5: Brox et al. 2004, "High accuracy optical flow estimation based on a
theory for warping") on the CPU: brightness and gradient constancy, smoothness, robust
penalisers, coarse-to-fine warping.

It is OpenCV's variational refinement solver, which minimises exactly that energy with
fixed-point iterations and SOR at one scale, run level by level over an image pyramid, each
level warping with the flow of the coarser one. The batch solver (`data_prep/flow/brox_batch.py`,
method `brox-gpu`) imports its parameters and pyramid from here, so the two solve one problem.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class BroxParams:
    """The `brox` solver's parameters, tuned on Middlebury Grove3 at 640x480 (EPE 0.69 px) and
    for speed at 341x256 (docs/benchmarks.md).

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
