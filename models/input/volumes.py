"""The temporal net's input volumes (Sect. 3.1), built from stored flow fields, and the spatial
net's crops (Sect. 2, 5): plain functions on arrays.

A volume is 2L x S x S float32 in pixels: channels 2k and 2k+1 (0-based) are d^x and d^y of its
k-th displacement field, sampled over the S x S crop whose top-left corner is (y0, x0).
"""
from __future__ import annotations

import cv2
import numpy as np

# The mean pixel (BGR) of the ImageNet-trained VGG_CNN_M_2048 weights (models/README.md).
IMAGENET_MEAN_BGR = np.float32([103.939, 116.779, 123.68])
# Krizhevsky et al.'s "RGB jittering" (the paper's [15]): add multiples of the principal
# components of ImageNet's RGB pixel values, with magnitudes eigenvalue x N(0, 0.1).
PCA_EIGENVALUES = np.float32([0.2175, 0.0188, 0.0045]) * 255
PCA_EIGENVECTORS_RGB = np.float32([[-0.5675, 0.7192, 0.4009],
                                   [-0.5808, -0.0045, -0.8140],
                                   [-0.5836, -0.6948, 0.4203]])
JITTER_STD = 0.1


def field_mean(field: np.ndarray) -> np.ndarray:
    """The mean displacement vector of a whole field (Sect. 3.1, camera motion compensation)."""
    return np.float32(cv2.mean(field)[:2])


def stacked(fields: list[np.ndarray], y0: int, x0: int, size: int,
            mean_subtraction: bool) -> np.ndarray:
    """Eq. (1): d^x, d^y of each field at the same pixels (flow stacking, and bi-directional
    stacking, whose fields are L/2 forward then L/2 backward flows)."""
    volume = np.empty((2 * len(fields), size, size), np.float32)
    for k, field in enumerate(fields):
        crop = field[y0:y0 + size, x0:x0 + size]
        if mean_subtraction:
            crop = crop - field_mean(field)
        volume[2 * k], volume[2 * k + 1] = crop[..., 0], crop[..., 1]
    return volume


def stacked_quantised(fields: list, y0: int, x0: int, size: int, mean_subtraction: bool,
                      flip: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """`stacked` (then `flip_flow` if flip) on fields as stored, (q_x, q_y, [[lo_x, hi_x],
    [lo_y, hi_y]]) with d = q / 255 (hi - lo) + lo: only the crop is dequantised, straight
    into the output, mirrored on the way when flipped, and the field's mean comes from the
    uint8 image. The same values, several times faster: the training input's hot path."""
    volume = np.empty((2 * len(fields), size, size), np.float32) if out is None else out
    for k, (q_x, q_y, ranges) in enumerate(fields):
        for c, q in enumerate((q_x, q_y)):
            lo, hi = ranges[c]
            scale = (hi - lo) / 255
            offset = lo - (lo + cv2.mean(q)[0] * scale if mean_subtraction else 0.0)
            sign = -1.0 if flip and c == 0 else 1.0  # a mirrored field's d^x changes sign
            crop = q[y0:y0 + size, x0:x0 + size]
            if flip:  # OpenCV mirrors the uint8 crop faster than numpy reads it backwards
                crop = cv2.flip(crop, 1)
            plane = volume[2 * k + c]
            np.multiply(crop, np.float32(sign * scale), out=plane, casting="unsafe")
            plane += np.float32(sign * offset)
    return volume


def bilinear(field: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """field sampled at real-valued (xs, ys); points past the border take the border's value.
    In float arithmetic: OpenCV's remap rounds its weights to 1/32 of a pixel."""
    height, width = field.shape[:2]
    xs, ys = np.clip(xs, 0, width - 1), np.clip(ys, 0, height - 1)
    x0, y0 = np.floor(xs).astype(np.intp), np.floor(ys).astype(np.intp)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    wx, wy = (xs - x0)[..., None], (ys - y0)[..., None]
    top = field[y0, x0] * (1 - wx) + field[y0, x1] * wx
    bottom = field[y1, x0] * (1 - wx) + field[y1, x1] * wx
    return (top * (1 - wy) + bottom * wy).astype(np.float32)


def trajectory(fields: list[np.ndarray], y0: int, x0: int, size: int,
               mean_subtraction: bool) -> np.ndarray:
    """Eq. (2): field k sampled at p_k, where p_1 is the crop's pixel grid and
    p_{k+1} = p_k + d_k(p_k), by bilinear interpolation."""
    ys, xs = np.mgrid[y0:y0 + size, x0:x0 + size].astype(np.float32)
    volume = np.empty((2 * len(fields), size, size), np.float32)
    for k, field in enumerate(fields):
        d = bilinear(field, xs, ys)
        xs, ys = xs + d[..., 0], ys + d[..., 1]  # the next point uses the raw displacement
        if mean_subtraction:  # subtracting before or after sampling is the same: it is linear
            d = d - field_mean(field)
        volume[2 * k], volume[2 * k + 1] = d[..., 0], d[..., 1]
    return volume


def flip_flow(volume: np.ndarray) -> np.ndarray:
    """Horizontal flip of a flow volume: mirror every channel and negate every d^x."""
    flipped = volume[:, :, ::-1].copy()
    flipped[0::2] *= -1
    return flipped


def flow_volume(fields: list[np.ndarray], stacking: str, y0: int, x0: int, size: int,
                mean_subtraction: bool, flip: bool) -> np.ndarray:
    build = trajectory if stacking == "trajectory" else stacked
    volume = build(fields, y0, x0, size, mean_subtraction)
    return flip_flow(volume) if flip else volume


def flow_indices(frame: int, stacking: str, new_length: int) -> list[tuple[int, bool]]:
    """(flow index, backward) of the L fields of the volume at `frame`: L forward flows from
    it, or (bi-directional) L/2 forward flows from it then L/2 backward flows ending at it."""
    if stacking != "bidirectional":
        return [(frame + k, False) for k in range(new_length)]
    half = new_length // 2
    return [(frame + k, False) for k in range(half)] + \
        [(frame - half + k, True) for k in range(half)]


def stored_fields(reader, video: str, frame: int, stacking: str, new_length: int):
    """The fields a volume needs, as the fastest builder takes them: whole float fields for
    trajectories (sampled anywhere), as stored otherwise; and the fields' (height, width)."""
    indices = flow_indices(frame, stacking, new_length)
    if stacking == "trajectory":
        fields = [reader.flow(video, i, backward) for i, backward in indices]
        return fields, fields[0].shape[:2]
    fields = [reader.quantised(video, i, backward) for i, backward in indices]
    return fields, fields[0][0].shape


def volume_of(fields, stacking: str, y0: int, x0: int, size: int, mean_subtraction: bool,
              flip: bool, out: np.ndarray | None = None) -> np.ndarray:
    """The volume of `stored_fields`' fields."""
    if stacking == "trajectory":
        volume = flow_volume(fields, stacking, y0, x0, size, mean_subtraction, flip)
        if out is None:
            return volume
        out[...] = volume
        return out
    return stacked_quantised(fields, y0, x0, size, mean_subtraction, flip, out=out)


def random_crop(height: int, width: int, size: int, rng: np.random.Generator) -> tuple[int, int]:
    """Sect. 5: the crop is "sampled from the whole frame, not just its 256 x 256 center"."""
    if height < size or width < size:
        raise ValueError(f"a {width}x{height} frame is smaller than the {size}x{size} crop; "
                         "extract frames with a larger --short-side")
    return int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))


def colour_jitter(rng: np.random.Generator) -> np.ndarray:
    """The BGR offset of one sample's RGB jittering."""
    alpha = rng.normal(0, JITTER_STD, 3).astype(np.float32)
    return (PCA_EIGENVECTORS_RGB @ (alpha * PCA_EIGENVALUES))[::-1]


def rgb_input(frames: list[np.ndarray], y0: int, x0: int, size: int, flip: bool,
              jitter: np.ndarray | None, mean: np.ndarray | None = None) -> np.ndarray:
    """3L x S x S float32 (BGR per frame, mean subtracted): the spatial net's input, one frame
    or the RGB stack of L frames, all cropped, flipped and jittered alike. `mean`: an S x S x 3
    mean image (models/input/mean_image.py) in place of the mean pixel."""
    mean = IMAGENET_MEAN_BGR if mean is None else mean
    channels = []
    for frame in frames:
        crop = frame[y0:y0 + size, x0:x0 + size].astype(np.float32)
        if jitter is not None:
            crop = crop + jitter
        crop = crop - mean  # before the flip: the mean at the crop's own pixels
        if flip:
            crop = crop[:, ::-1]
        channels.append(crop.transpose(2, 0, 1))
    return np.ascontiguousarray(np.concatenate(channels))
