"""Middlebury's conventions for optical flow (Baker et al. 2011): the `.flo` file, the end-point
error against ground truth, and the colour code (hue: direction, saturation: speed).

`.flo` files are read and written by OpenCV (`cv2.readOpticalFlow`, `cv2.writeOpticalFlow`);
the header is checked here first, because OpenCV answers a bad file with an empty array and no
reason.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# Middlebury's marker for "no ground truth here" is 1e10; anything above this is unknown.
UNKNOWN_FLOW = 1e9
FLO_TAG = 202021.25  # Middlebury .flo magic number ("PIEH")
FLO_HEADER = 12  # bytes: the tag, then width and height as int32


def endpoint_error(flow: np.ndarray, truth: np.ndarray) -> float:
    """Mean end-point error over the pixels where the ground truth is known."""
    known = np.all(np.abs(truth) < UNKNOWN_FLOW, axis=2)
    return float(np.sqrt(((flow - truth) ** 2).sum(axis=2))[known].mean())


def read_flo(path) -> np.ndarray:
    """A Middlebury .flo file as H x W x 2 float32."""
    path = Path(path)
    header = path.read_bytes()[:FLO_HEADER]
    if len(header) < FLO_HEADER or np.frombuffer(header[:4], np.float32)[0] != FLO_TAG:
        raise ValueError(f"{path} is not a Middlebury .flo file (bad magic number)")
    width, height = np.frombuffer(header[4:], np.int32)
    if path.stat().st_size < FLO_HEADER + 8 * int(width) * int(height):
        raise ValueError(f"{path} is truncated: expected {width}x{height}x2 floats")
    return cv2.readOpticalFlow(str(path))


def write_flo(path, flow: np.ndarray) -> None:
    if not cv2.writeOpticalFlow(str(path), np.ascontiguousarray(flow, np.float32)):
        raise ValueError(f"could not write {path}: check that its folder exists and is writable")


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
