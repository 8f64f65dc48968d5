"""The Brox et al. 2004 flow solver on whole batches of frame pairs, written once against an array
module: NumPy on the CPU (the reference, tested in CI) and CuPy on a GPU (`METHOD=brox-gpu`).

The energy and the numerical scheme are those of the CPU `brox` method (OpenCV's variational
refinement, run level by level over an image pyramid), so the two agree:

    E(u, v) = sum  delta Psi(E_I) + gamma Psi(E_G) + alpha Psi(E_S),   Psi(s^2) = sqrt(s^2 + eps^2)

with E_I the brightness constancy and E_G the gradient constancy residuals (each linearised
around the current warp and normalised by its image gradient, as Zimmer et al.), E_S the flow's
squared gradient. At each pyramid level, coarse to fine: warp the second frame by the current
flow; `fixed_point` outer iterations freeze the robust weights (lagged non-linearity); each
solves the resulting linear system for the flow increment with `sor` red-black SOR sweeps, all
pixels of one colour at once, which is what parallel hardware wants. A batch is an
(N, H, W) stack of frame pairs of one size; every operation is element-wise over it or a
neighbour shift, so a pair's flow does not depend on the others in its batch.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from data_prep.flow.brox import BroxParams, image_pyramid

ZETA = 0.1  # data-term normalisation (OpenCV's fixed value)
EPSILON = 0.001  # Psi's epsilon


def array_module(name: str):
    """numpy, or cupy with a usable GPU; one sentence when there is none."""
    if name == "numpy":
        return np
    try:
        import cupy
    except ImportError:
        raise RuntimeError("brox-gpu needs CuPy (pip install cupy-cuda13x) and an NVIDIA GPU; "
                           "without one, use METHOD=brox (the CPU solver).") from None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError
    except Exception:
        raise RuntimeError("brox-gpu: CuPy sees no NVIDIA GPU on this machine; use METHOD=brox "
                           "(the CPU solver).") from None
    return cupy


def pyramid(images: np.ndarray, params: BroxParams) -> list[np.ndarray]:
    """Coarse-to-fine levels of an (N, H, W) batch: each image's levels exactly as the CPU
    `brox` builds them, stacked level by level."""
    return [np.stack(level) for level in zip(*(image_pyramid(i, params) for i in images))]


def sample(xp, image, xs, ys):
    """Bilinear samples of each (H, W) image of an (N, H, W) batch at real positions (xs, ys),
    both (N, h, w); positions outside take the border's value (OpenCV's BORDER_REPLICATE)."""
    n, height, width = image.shape
    xs = xp.clip(xs, 0, width - 1)
    ys = xp.clip(ys, 0, height - 1)
    x0 = xp.minimum(xp.floor(xs).astype(xp.int32), width - 2 if width > 1 else 0)
    y0 = xp.minimum(xp.floor(ys).astype(xp.int32), height - 2 if height > 1 else 0)
    x1, y1 = xp.minimum(x0 + 1, width - 1), xp.minimum(y0 + 1, height - 1)
    wx, wy = xs - x0, ys - y0
    flat = image.reshape(n, -1)

    def at(y, x):
        return xp.take_along_axis(flat, (y * width + x).reshape(n, -1), axis=1).reshape(xs.shape)
    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    return (top * (1 - wy) + bottom * wy).astype(xp.float32)


def upsample_flow(xp, flow_u, flow_v, height: int, width: int):
    """The coarser level's flow at this level's size (OpenCV's INTER_LINEAR pixel centres),
    displacements scaled with the image."""
    n, h, w = flow_u.shape
    fx, fy = w / width, h / height
    xs = (xp.arange(width, dtype=xp.float32) + 0.5) * fx - 0.5
    ys = (xp.arange(height, dtype=xp.float32) + 0.5) * fy - 0.5
    grid_x = xp.broadcast_to(xs[None, None, :], (n, height, width))
    grid_y = xp.broadcast_to(ys[None, :, None], (n, height, width))
    return (sample(xp, flow_u, grid_x, grid_y) * np.float32(width / w),
            sample(xp, flow_v, grid_x, grid_y) * np.float32(height / h))


def central_x(xp, f):
    """f(x + 1) - f(x - 1), the border replicated (OpenCV's Sobel with ksize 1)."""
    padded = xp.concatenate([f[:, :, :1], f, f[:, :, -1:]], axis=2)
    return padded[:, :, 2:] - padded[:, :, :-2]


def central_y(xp, f):
    padded = xp.concatenate([f[:, :1], f, f[:, -1:]], axis=1)
    return padded[:, 2:] - padded[:, :-2]


def forward_x(xp, f):
    """f(x + 1) - f(x), zero in the last column."""
    out = xp.zeros_like(f)
    out[:, :, :-1] = f[:, :, 1:] - f[:, :, :-1]
    return out


def forward_y(xp, f):
    out = xp.zeros_like(f)
    out[:, :-1] = f[:, 1:] - f[:, :-1]
    return out


class LevelSolver:
    """One pyramid level of a batch: the derivatives of the warped pair and the fixed-point /
    red-black SOR iterations for the flow increment."""

    def __init__(self, xp, params: BroxParams, first, second, flow_u, flow_v):
        self.xp, self.p = xp, params
        n, height, width = first.shape
        ys, xs = xp.meshgrid(xp.arange(height, dtype=xp.float32),
                             xp.arange(width, dtype=xp.float32), indexing="ij")
        warped = sample(xp, second, xs[None] + flow_u, ys[None] + flow_v)
        average = 0.5 * (first + warped)
        self.iz = warped - first
        self.ix, self.iy = central_x(xp, average), central_y(xp, average)
        self.ixz, self.iyz = central_x(xp, self.iz), central_y(xp, self.iz)
        self.ixx, self.ixy = central_x(xp, self.ix), central_y(xp, self.ix)
        self.iyy = central_y(xp, self.iy)
        self.flow_u, self.flow_v = flow_u, flow_v
        red = (xp.arange(height)[:, None] + xp.arange(width)[None, :]) % 2 == 0
        self.colours = (red[None], ~red[None])

    def data_term(self, du, dv):
        """A11, A12, A22, b1, b2 of the data term, its robust weights at the current increment."""
        xp, zeta2, eps2 = self.xp, ZETA ** 2, EPSILON ** 2
        ix, iy, iz = self.ix, self.iy, self.iz
        norm = ix * ix + iy * iy + zeta2
        residual = iz + ix * du + iy * dv
        w = (self.p.delta / 2) / xp.sqrt(residual * residual / norm + eps2) / norm
        a11, a12, a22 = w * ix * ix + zeta2, w * ix * iy, w * iy * iy + zeta2
        b1, b2 = -w * iz * ix, -w * iz * iy
        ixx, ixy, iyy, ixz, iyz = self.ixx, self.ixy, self.iyy, self.ixz, self.iyz
        norm_x, norm_y = ixx * ixx + ixy * ixy + zeta2, iyy * iyy + ixy * ixy + zeta2
        rx, ry = ixz + ixx * du + ixy * dv, iyz + ixy * du + iyy * dv
        w = (self.p.gamma / 2) / xp.sqrt(rx * rx / norm_x + ry * ry / norm_y + eps2)
        a11 = a11 + w * (ixx * ixx / norm_x + ixy * ixy / norm_y)
        a12 = a12 + w * (ixx * ixy / norm_x + ixy * iyy / norm_y)
        a22 = a22 + w * (ixy * ixy / norm_x + iyy * iyy / norm_y)
        b1 = b1 - w * (ixx * ixz / norm_x + ixy * iyz / norm_y)
        b2 = b2 - w * (ixy * ixz / norm_x + iyy * iyz / norm_y)
        return a11, a12, a22, b1, b2

    def smoothness(self, du, dv):
        """Weights of the edges to the right (wr) and below (wd) neighbours, and what they add
        to the system: each pixel's total edge weight and the flow's weighted Laplacian."""
        xp = self.xp
        u, v = self.flow_u + du, self.flow_v + dv
        ux, uy, vx, vy = forward_x(xp, u), forward_y(xp, u), forward_x(xp, v), forward_y(xp, v)
        weight = (self.p.alpha / 2) / xp.sqrt(ux * ux + vx * vx + uy * uy + vy * vy
                                              + EPSILON ** 2)
        wr, wd = weight.copy(), weight.copy()
        wr[:, :, -1] = 0  # no neighbour to the right of the last column, below the last row
        wd[:, -1] = 0
        total = wr + wd + shift_right(xp, wr) + shift_down(xp, wd)
        return wr, wd, total, neighbour_sum(xp, self.flow_u, wr, wd) - total * self.flow_u, \
            neighbour_sum(xp, self.flow_v, wr, wd) - total * self.flow_v

    def solve(self):
        """The flow increment (du, dv) after the fixed-point and SOR iterations."""
        xp, omega = self.xp, np.float32(self.p.omega)
        du, dv = xp.zeros_like(self.ix), xp.zeros_like(self.ix)
        for _ in range(self.p.fixed_point):
            a11, a12, a22, b1, b2 = self.data_term(du, dv)
            wr, wd, total, lap_u, lap_v = self.smoothness(du, dv)
            a11, a22, b1, b2 = a11 + total, a22 + total, b1 + lap_u, b2 + lap_v
            for _ in range(self.p.sor):
                for colour in self.colours:
                    sigma_u = neighbour_sum(xp, du, wr, wd)
                    new_u = du + omega * ((sigma_u + b1 - a12 * dv) / a11 - du)
                    du = xp.where(colour, new_u, du)
                    sigma_v = neighbour_sum(xp, dv, wr, wd)
                    new_v = dv + omega * ((sigma_v + b2 - a12 * du) / a22 - dv)
                    dv = xp.where(colour, new_v, dv)
        return du, dv


def shift_right(xp, f):
    """g(x) = f(x - 1), zero in the first column: the left neighbour's edge weight."""
    out = xp.zeros_like(f)
    out[:, :, 1:] = f[:, :, :-1]
    return out


def shift_down(xp, f):
    out = xp.zeros_like(f)
    out[:, 1:] = f[:, :-1]
    return out


def neighbour_sum(xp, f, wr, wd):
    """Sum over the four neighbours q of p of w_pq f(q)."""
    total = xp.zeros_like(f)
    total[:, :, :-1] += wr[:, :, :-1] * f[:, :, 1:]  # right
    total[:, :, 1:] += wr[:, :, :-1] * f[:, :, :-1]  # left
    total[:, :-1] += wd[:, :-1] * f[:, 1:]  # below
    total[:, 1:] += wd[:, :-1] * f[:, :-1]  # above
    return total


class BatchBroxFlow:
    """Flow of a batch of grayscale frame pairs of one size: (N, H, W) x 2 -> (N, H, W, 2)."""

    name = "brox-gpu"

    def __init__(self, backend: str = "cupy", params: BroxParams = BroxParams()):
        self.xp, self.params = array_module(backend), params
        self.backend = self.xp.__name__

    def batch(self, firsts: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        xp = self.xp
        if firsts.shape != seconds.shape or firsts.ndim != 3:
            raise ValueError(f"a batch is two (N, H, W) stacks of one shape; got {firsts.shape} "
                             f"and {seconds.shape}")
        flow_u = flow_v = None
        for a, b in zip(pyramid(firsts, self.params), pyramid(seconds, self.params)):
            a, b = xp.asarray(a), xp.asarray(b)
            n, height, width = a.shape
            if flow_u is None:
                flow_u = xp.zeros((n, height, width), xp.float32)
                flow_v = xp.zeros_like(flow_u)
            else:
                flow_u, flow_v = upsample_flow(xp, flow_u, flow_v, height, width)
            du, dv = LevelSolver(xp, self.params, a, b, flow_u, flow_v).solve()
            flow_u, flow_v = flow_u + du, flow_v + dv
        flow = xp.stack([flow_u, flow_v], axis=-1).astype(xp.float32)
        return flow.get() if hasattr(flow, "get") else flow

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        return self.batch(prev[None], nxt[None])[0]

    def parameters(self) -> dict:
        return dict(asdict(self.params), backend=self.backend, zeta=ZETA, epsilon=EPSILON)
