"""Layer-sequential unit-variance initialisation (Mishkin & Matas 2015, "All you need is a good
init"): the He-filled weights of a net from scratch, rescaled layer by layer on one real training
batch so that each layer's output has unit variance as training sees it, dropout's masks
included; the classifiers' scores then start small, so that the loss starts at ln C.

Why: no fixed filler served every net of Tables 1-2 at every size (prototxt/README.md, "Weight
initialisation"): He's ignores dropout 0.9, which multiplies what it keeps by 10 twice before
fc8; the Gaussians' signal vanishes in a net narrower or smaller than the paper's.
"""
from __future__ import annotations

import logging

import numpy as np

import caffe
from models.nets.cnn_m_2048 import CLASSIFIER

log = logging.getLogger("train")

# The classifiers' scores start with this standard deviation: a softmax of such small scores
# is all but uniform, so the loss starts within 1% of ln C.
SCORE_STD = 0.1


def rescale(net: caffe.Net, first: str, layer: str, end: str, target: float) -> float:
    """Scales `layer`'s weights so that its output as the next layer sees it (after the layers
    `end` names, which rewrite it in place: ReLU, dropout) has root mean square `target` on the
    batch (exact in one step: that output is linear in the weights, the biases being 0, and
    ReLU and dropout commute with a positive scale); returns the scale. An output of 0 (a batch
    with no signal, such as constant flow after mean subtraction) keeps the filler's scale: 1."""
    net.forward(start=first, end=end)
    rms = float(np.sqrt(np.mean(np.square(net.blobs[layer].data, dtype=np.float64))))
    if rms == 0:
        return 1.0
    net.params[layer][0].data[...] *= target / rms
    return target / rms


def unit_variance(net: caffe.Net, data: np.ndarray, seed: int) -> dict[str, float]:
    """Rescales, in order, every convolution and fully connected layer of the train net `net`
    (each output, after its in-place ReLU and dropout, to unit root mean square), then each
    classifier fc8_* (its scores to SCORE_STD), on the batch `data`; returns each layer's
    scale. The dropout masks are seeded by `seed`, the same for every layer's measure."""
    names = list(net._layer_names)
    types = {name: layer.type for name, layer in zip(names, net.layers)}
    tops = {name: list(net.top_names[name]) for name in names}
    bottoms = {name: list(net.bottom_names[name]) for name in names}
    first = names[1]  # the layer after the data layer
    net.blobs["data"].data[...] = data
    scales = {}
    for i, name in enumerate(names):
        if types[name] not in ("Convolution", "InnerProduct"):
            continue
        end = name
        for after in names[i + 1:]:  # the layers that rewrite its output in place
            if bottoms[after] != tops[name] or tops[after] != tops[name]:
                break
            end = after
        caffe.set_random_seed(seed)
        scales[name] = rescale(net, first, name, end,
                               SCORE_STD if name.startswith(CLASSIFIER) else 1.0)
    log.info("lsuv: weights rescaled on one training batch: %s",
             "  ".join(f"{k} x{v:.3g}" for k, v in scales.items()))
    if scales and all(v == 1.0 for v in scales.values()):
        log.warning("lsuv: the first training batch holds no signal (every layer's output is "
                    "0), so He's fillers are kept as they are; check the store "
                    "(tools/show_flow.py) if it is not a test's constant one.")
    return scales
