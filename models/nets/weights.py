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
from google.protobuf import text_format
from google.protobuf.message import DecodeError
from models.nets.cnn_m_2048 import RGB_SCALE_LAYER


class WeightsError(Exception):
    """A weights file that cannot be loaded into a net; the message says which and why."""


@dataclass(frozen=True)
class LoadedWeights:
    path: str
    sha1: str
    layers: tuple[str, ...]  # the net's layers that received weights
    fresh: tuple[str, ...]  # the net's layers with parameters that kept their initialisation
    conv1_factor: float = 1.0  # conv1's weights times this: another input scale (input_scale)


def blob_shape(blob: caffe_pb2.BlobProto) -> tuple[int, ...]:
    if blob.HasField("shape"):
        return tuple(blob.shape.dim)
    # Caffe's legacy 4-D blobs (the Model Zoo's 2014 files): InnerProduct weights are stored
    # as 1 x 1 x out x in.
    legacy = (blob.num, blob.channels, blob.height, blob.width)
    return tuple(d for d in legacy if d != 1) or (1,)


def squeeze(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1) or (1,)


def input_scale(proto: caffe_pb2.NetParameter) -> float:
    """The factor a net (or the net a .caffemodel was saved from: Caffe saves every layer, the
    blob-less ones too) multiplies its RGB input by before conv1: its RGB_SCALE_LAYER's, else 1
    (the paper's input, 0-255 minus the mean)."""
    for layer in list(proto.layer) or list(proto.layers):
        if layer.name == RGB_SCALE_LAYER:
            return float(layer.power_param.scale)
    return 1.0


def prototxt_scale(path: str | Path) -> float:
    """input_scale of the net a .prototxt describes."""
    proto = caffe_pb2.NetParameter()
    text_format.Parse(Path(path).read_text(), proto)
    return input_scale(proto)


def read_weights(path: str | Path) -> tuple[dict[str, list[tuple[int, ...]]], str]:
    """{layer name: its blobs' shapes} of a .caffemodel (V1 or V2 layers), and the file's sha1."""
    shapes, sha1, _ = stored_weights(path)
    return shapes, sha1


def stored_weights(path: str | Path) -> tuple[dict[str, list[tuple[int, ...]]], str, float]:
    """read_weights' shapes and sha1, and the input_scale of the net the file was saved from."""
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
    return shapes, hashlib.sha1(data).hexdigest(), input_scale(proto)


def load_weights(net: caffe.Net, path: str | Path, scale: float = 1.0) -> LoadedWeights:
    """Copies every layer of `path` whose name is in `net`; layers absent from the file keep
    their initialisation (e.g. a new dataset's fc8_<dataset>). `scale` is the net's input_scale:
    weights saved from a net of another scale have conv1's weights converted (times the file's
    scale over the net's: exact, both being powers of 2), so the net computes what the saved
    one did on the same 0-255 input (docs/formats.md, "Weights")."""
    stored, sha1, saved_scale = stored_weights(path)
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
    factor = saved_scale / scale if "conv1" in matched else 1.0
    if factor != 1:
        net.params["conv1"][0].data[...] *= factor
    fresh = tuple(name for name in net.params if name not in stored)
    return LoadedWeights(str(path), sha1, tuple(matched), fresh, factor)


def trained_net(deploy: Path, weights: str | Path) -> caffe.Net:
    """The deploy net with every layer's weights from `weights` (a trained net's: none may keep
    its initialisation), shapes checked first, conv1 converted to the deploy net's input."""
    net = caffe.Net(str(deploy), caffe.TEST)
    loaded = load_weights(net, weights, prototxt_scale(deploy))
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
