"""Loading a .caffemodel into a net by layer name, with clear errors instead of Caffe's aborts.

Caffe's own `Net.copy_from` kills the process (a glog CHECK) when a layer's blob shapes differ,
so the file is read and compared here first; the copy itself is then Caffe's.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import caffe
from caffe.proto import caffe_pb2
from google.protobuf.message import DecodeError


class WeightsError(Exception):
    """A weights file that cannot be loaded into a net; the message says which and why."""


@dataclass(frozen=True)
class LoadedWeights:
    path: str
    sha1: str
    layers: tuple[str, ...]  # the net's layers that received weights
    fresh: tuple[str, ...]  # the net's layers with parameters that kept their initialisation


def blob_shape(blob: caffe_pb2.BlobProto) -> tuple[int, ...]:
    if blob.HasField("shape"):
        return tuple(blob.shape.dim)
    # Caffe's legacy 4-D blobs (the Model Zoo's 2014 files): InnerProduct weights are stored
    # as 1 x 1 x out x in.
    legacy = (blob.num, blob.channels, blob.height, blob.width)
    return tuple(d for d in legacy if d != 1) or (1,)


def squeeze(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1) or (1,)


def read_weights(path: str | Path) -> tuple[dict[str, list[tuple[int, ...]]], str]:
    """{layer name: its blobs' shapes} of a .caffemodel (V1 or V2 layers), and the file's sha1."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} not found; download it (see models/README.md) "
                           "or pass the right --weights path.")
    data = path.read_bytes()
    proto = caffe_pb2.NetParameter()
    try:
        proto.ParseFromString(data)
    except DecodeError as error:
        raise WeightsError(f"weights file {path} is not a Caffe .caffemodel ({error}); "
                           "download it again.") from None
    layers = list(proto.layer) or list(proto.layers)
    shapes = {layer.name: [blob_shape(b) for b in layer.blobs] for layer in layers if layer.blobs}
    for layer in layers:
        for blob in layer.blobs:
            held, shape = max(len(blob.data), len(blob.double_data)), blob_shape(blob)
            if held != int(np.prod(shape)):
                # Caffe would read past the values it has (or abort) when copying them.
                raise WeightsError(f"weights file {path}: layer {layer.name} holds {held} values "
                                   f"for a blob of shape {shape}; the file is damaged: copy or "
                                   "download it again.")
    if not shapes:
        raise WeightsError(f"weights file {path} holds no layer with weights; is it a "
                           ".caffemodel (not a .prototxt or .solverstate)?")
    return shapes, hashlib.sha1(data).hexdigest()


def load_weights(net: caffe.Net, path: str | Path) -> LoadedWeights:
    """Copies every layer of `path` whose name is in `net`; layers absent from the file keep
    their initialisation (e.g. a new dataset's fc8_<dataset>)."""
    stored, sha1 = read_weights(path)
    matched = [name for name in net.params if name in stored]
    if not matched:
        raise WeightsError(f"weights file {path}: none of its layers ({', '.join(sorted(stored))}) "
                           f"is in the net ({', '.join(net.params)}); is it the right file?")
    for name in matched:
        want = [squeeze(tuple(b.data.shape)) for b in net.params[name]]
        have = [squeeze(s) for s in stored[name]]
        if want != have:
            raise WeightsError(
                f"weights file {path}: layer {name} has blobs of shape {have} there but {want} "
                "in the net; the file was trained for another input or class count "
                "(a temporal net's conv1 has 2L channels, an RGB net's 3).")
    net.copy_from(str(path))
    fresh = tuple(name for name in net.params if name not in stored)
    return LoadedWeights(str(path), sha1, tuple(matched), fresh)


def trained_net(deploy: Path, weights: str | Path) -> caffe.Net:
    """The deploy net with every layer's weights from `weights` (a trained net's: none may keep
    its initialisation), shapes checked first."""
    net = caffe.Net(str(deploy), caffe.TEST)
    loaded = load_weights(net, weights)
    if loaded.fresh:
        raise WeightsError(f"weights file {weights} has no weights for the layer(s) "
                           f"{', '.join(loaded.fresh)} of {deploy}; is it this net's?")
    return net


# The settings that start from ImageNet weights (Table 1a rows 2-3).
PRETRAINED_SETTINGS = ("finetune", "lastlayer")


def require_weights(setting: str, weights: str | Path | None) -> None:
    """Stops a pre-trained setting before it trains from random weights."""
    if setting in PRETRAINED_SETTINGS and weights is None:
        raise WeightsError(f"the '{setting}' setting starts from ImageNet weights: pass "
                           "--weights /path/to/VGG_CNN_M_2048.caffemodel (models/README.md says "
                           "where to download it).")
