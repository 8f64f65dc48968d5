"""A mean image in Caffe's BlobProto format (`.binaryproto`, as Caffe's compute_image_mean writes
it and the Model Zoo ships VGG_mean.binaryproto beside VGG_CNN_M_2048), subtracted from the
spatial net's crops in place of the mean pixel when a run is given one (`--mean`).

Its centre crop-sized window is subtracted from every crop before it is flipped, as Caffe's own
data transformer subtracts the mean at the source pixel (models/README.md).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from caffe.proto import caffe_pb2
from google.protobuf.message import DecodeError

from data_prep.video import file_sha1


class MeanError(ValueError):
    """A mean image that cannot serve the net's crops; the message names the file and the fix."""


def read_mean(path, crop_size: int) -> np.ndarray:
    """The mean image's centre `crop_size` square, H x W x 3 float32 (BGR, 0-255)."""
    path = Path(path)
    if not path.is_file():
        raise MeanError(f"mean image {path}: no such file; give a .binaryproto (the Model Zoo's "
                        "VGG_mean.binaryproto, models/README.md).")
    blob = caffe_pb2.BlobProto()
    try:
        blob.ParseFromString(path.read_bytes())
    except DecodeError:
        raise MeanError(f"{path} is not a Caffe BlobProto (.binaryproto); give the mean image "
                        "file itself (Caffe's compute_image_mean writes one).") from None
    shape = list(blob.shape.dim) if blob.HasField("shape") else \
        [blob.num, blob.channels, blob.height, blob.width]
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) != 3 or shape[0] != 3:
        raise MeanError(f"{path} holds a blob of shape {shape}, not a mean image (3 x H x W, "
                        "BGR); give the mean image the weights were trained with.")
    values = np.asarray(blob.data if len(blob.data) else blob.double_data, dtype=np.float32)
    if values.size != int(np.prod(shape)):
        raise MeanError(f"{path} holds {values.size} values for its shape {shape} "
                        f"({int(np.prod(shape))}): the file is truncated; copy it again.")
    _, height, width = shape
    if height < crop_size or width < crop_size:
        raise MeanError(f"{path}'s mean image is {width}x{height}, smaller than the net's "
                        f"{crop_size}x{crop_size} crops; give one at least the crop's size, or "
                        f"a smaller --input-size.")
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 255:
        raise MeanError(f"{path}'s values run from {values.min():g} to {values.max():g}, not "
                        "within 0-255 as a mean of 0-255 pixels is; give the mean image itself.")
    image = values.reshape(shape).transpose(1, 2, 0)
    y0, x0 = (height - crop_size) // 2, (width - crop_size) // 2
    return np.ascontiguousarray(image[y0:y0 + crop_size, x0:x0 + crop_size])


def read_known_mean(path, sha1: str, crop_size: int, whose: str) -> np.ndarray:
    """read_mean of the file a net was trained with, refused if it is not that file any more
    (`whose`: the run or bundle that names it, for the sentence)."""
    if not Path(path).is_file():
        raise MeanError(f"{path}, the mean image {whose} was trained with, is not there: put "
                        "it back where it was.")
    if (actual := file_sha1(path)) != sha1:
        raise MeanError(f"{path} is not the mean image {whose} was trained with (sha1 "
                        f"{actual[:10]}, the net's {sha1[:10]}): put that file back.")
    return read_mean(path, crop_size)
