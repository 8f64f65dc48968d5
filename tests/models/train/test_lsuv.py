"""lsuv: each layer of a net from scratch rescaled on one batch, as training sees it (dropout's
masks included), so that the loss starts at ln C (models/train/lsuv.py)."""
import logging

import numpy as np
import pytest

import caffe
from models.nets.cnn_m_2048 import Head, NetConfig, cnn_m_2048
from models.train.lsuv import SCORE_STD, unit_variance

LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8_ucf101"]


def train_phase_net(write_proto, stream):
    # The train/val net as training builds it (He's fillers, dropout 0.9 drawing masks), fed by
    # an Input layer in place of the store's data layer.
    config = NetConfig(stream=stream, heads=(Head("ucf101", 7),), width=0.25, input_size=64,
                       new_length=1 if stream == "spatial" else 10, dropout=0.9, init="lsuv")
    proto = cnn_m_2048(config, "trainval")
    data = proto.layer[0]
    data.type = "Input"
    data.ClearField("python_param")
    data.input_param.shape.add().dim.extend([10, config.channels, 64, 64])
    data.input_param.shape.add().dim.extend([10])
    return caffe.Net(write_proto(proto), caffe.TRAIN)


def output_rms(net, seed):
    caffe.set_random_seed(seed)
    net.forward()
    # Each layer's top after its in-place ReLU and dropout: what the next layer takes.
    return {name: float(np.sqrt(np.mean(np.square(net.blobs[name].data, dtype=np.float64))))
            for name in LAYERS}


@pytest.mark.parametrize("stream, scale", [("spatial", 128.0), ("temporal", 2.0)])
def test_every_layer_s_output_has_unit_rms_and_the_scores_are_small(write_proto, stream, scale):
    net = train_phase_net(write_proto, stream)
    data = np.random.default_rng(0).normal(0, scale, net.blobs["data"].data.shape)
    before = {name: net.params[name][0].data.copy() for name in LAYERS}
    scales = unit_variance(net, data, seed=5)
    assert list(scales) == LAYERS and all(s > 0 and s != 1 for s in scales.values())
    for name in LAYERS:  # the weights scaled, by the scale it reports, biases left at 0
        np.testing.assert_allclose(net.params[name][0].data, before[name] * scales[name],
                                   rtol=1e-6)
        assert not net.params[name][1].data.any()
    rms = output_rms(net, seed=5)  # the same masks: each layer's measure holds exactly
    assert rms == pytest.approx({**{n: 1.0 for n in LAYERS[:-1]}, "fc8_ucf101": SCORE_STD},
                                rel=1e-4)
    # Scores of rms 0.1: a softmax all but uniform, so the loss starts within 1% of ln C
    # whatever the labels.
    scores = net.blobs["fc8_ucf101"].data.astype(np.float64)
    probabilities = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    assert float(-np.log(probabilities).mean()) == pytest.approx(np.log(7), rel=0.01)
    # Other masks: the scale holds on average, as it must for training's other batches.
    assert output_rms(net, seed=6)["fc7"] == pytest.approx(1.0, rel=0.25)


def test_a_batch_without_signal_keeps_the_fillers_and_says_so(write_proto, caplog):
    # Constant flow after mean subtraction: every layer's output is 0, nothing to scale by.
    net = train_phase_net(write_proto, "temporal")
    before = net.params["conv1"][0].data.copy()
    with caplog.at_level("INFO", logger="train"):
        scales = unit_variance(net, np.zeros(net.blobs["data"].data.shape), seed=0)
    assert scales == {name: 1.0 for name in LAYERS}
    np.testing.assert_array_equal(net.params["conv1"][0].data, before)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["lsuv: the first training batch holds no signal (every layer's output "
                        "is 0), so He's fillers are kept as they are; check the store "
                        "(tools/show_flow.py) if it is not a test's constant one."]
