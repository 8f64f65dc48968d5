"""Decoding a video file into frames rescaled so that the smaller side is 256 (Sect. 5)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

# Sect. 5: "The videos are rescaled beforehand, so that the smallest side of the frame equals 256".
SHORT_SIDE = 256
# A file that decodes to fewer frames than this share of the count its container declares is
# reported as truncated, not stored short.
TRUNCATED_BELOW = 0.9


class VideoError(Exception):
    """A video that cannot be used; the message names the file and the reason."""


class TooShort(VideoError):
    """A video that decodes, into fewer frames than optical flow needs."""


def resize_short_side(frame: np.ndarray, short_side: int) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = short_side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return frame
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(frame, size, interpolation=interpolation)


def read_frames(path: Path, short_side: int | None = SHORT_SIDE) -> list[np.ndarray]:
    """Every frame of a video, BGR uint8, rescaled (short_side None: as decoded); VideoError if
    it cannot give two."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoError(f"{path}: OpenCV cannot open it (missing, unreadable, or not a video)")
    declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame if short_side is None else resize_short_side(frame, short_side))
    capture.release()
    if len(frames) < 2:
        raise TooShort(f"{path}: decoded {len(frames)} frame(s); optical flow needs at least 2")
    if declared > 0 and len(frames) < TRUNCATED_BELOW * declared:
        raise VideoError(f"{path}: truncated or corrupt, decoded {len(frames)} of the "
                         f"{declared} frames its container declares")
    return frames


def file_digest(path: Path, algorithm: str) -> str:
    """A file's hex digest, read in blocks (a video, a 370 MB caffemodel, a mean image)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def file_sha256(path: Path) -> str:
    return file_digest(path, "sha256")


def file_sha1(path: Path) -> str:
    """The sha1 the Model Zoo gives a caffemodel by (and score files name their weights by)."""
    return file_digest(path, "sha1")
