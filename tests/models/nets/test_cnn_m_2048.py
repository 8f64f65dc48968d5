"""The CNN-M-2048 builder: the committed nets load in Caffe with the paper's shapes and sizes,
the multi-task heads see only their own samples, and "last layer only" freezes conv1-fc7."""
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import caffe
from caffe.proto import caffe_pb2
from google.protobuf import text_format
from models.nets.cnn_m_2048 import Head, NetConfig, cnn_m_2048
from models.nets.paper_nets import paper_nets
from models.nets.solvers import sgd_solver

ROOT = Path(__file__).resolve().parents[3]
DEPLOY_NETS = sorted((ROOT / "prototxt").glob("*/*_deploy.prototxt"))
TRAINVAL_NETS = paper_nets()

# Fig. 1, Sect. 5: blob sizes for a 224 input (Caffe's pooling rounds up).
SPATIAL_SIZES = {"conv1": 109, "pool1": 54, "conv2": 26, "pool2": 13, "conv3": 13, "conv4": 13,
                 "conv5": 13, "pool5": 6}


def hand_counted_params(channels, classes):
    """The paper's layers (Fig. 1), counted by hand: weights + biases per layer."""
    counts = {
        "conv1": 96 * channels * 7 * 7 + 96,
        "conv2": 256 * 96 * 5 * 5 + 256,
        "conv3": 512 * 256 * 3 * 3 + 512,
        "conv4": 512 * 512 * 3 * 3 + 512,
        "conv5": 512 * 512 * 3 * 3 + 512,
        "fc6": 4096 * (512 * 6 * 6) + 4096,
        "fc7": 2048 * 4096 + 2048,
    }
    counts.update({f"fc8_{name}": k * 2048 + k for name, k in classes.items()})
    return counts


def read_net(path):
    return text_format.Parse(Path(path).read_text(), caffe_pb2.NetParameter())


@pytest.mark.slow
@pytest.mark.parametrize("path", DEPLOY_NETS, ids=lambda p: p.stem)
def test_deploy_net_has_the_papers_shapes_and_parameter_counts(path):
    proto = read_net(path)
    layers = {layer.name: layer for layer in proto.layer}
    classes = {name[4:]: layers[name].inner_product_param.num_output
               for name in layers if name.startswith("fc8_")}
    caffe.set_mode_cpu()
    net = caffe.Net(str(path), caffe.TEST)
    batch, channels = net.blobs["data"].data.shape[:2]
    assert (batch, *net.blobs["data"].data.shape[2:]) == (10, 224, 224)
    net.blobs["data"].data[...] = np.random.default_rng(0).standard_normal(
        net.blobs["data"].data.shape)
    outputs = net.forward()

    for blob, size in SPATIAL_SIZES.items():
        assert net.blobs[blob].data.shape[2:] == (size, size), blob
    assert net.blobs["conv1"].data.shape[1] == 96 and net.blobs["pool5"].data.shape[1] == 512
    for name, k in classes.items():
        prob = outputs["prob" if len(classes) == 1 else f"prob_{name}"]
        assert prob.shape == (10, k)
        np.testing.assert_allclose(prob.sum(1), 1, rtol=1e-5)
    counted = {name: sum(b.data.size for b in blobs) for name, blobs in net.params.items()}
    assert counted == hand_counted_params(channels, classes)
    # Sect. 5: LRN as Krizhevsky's, norm2 only in the spatial (RGB) net.
    lrn = layers["norm1"].lrn_param
    assert (lrn.local_size, lrn.alpha, lrn.beta, lrn.k) == (5, pytest.approx(5e-4), 0.75, 2)
    assert ("norm2" in layers) == (channels % 3 == 0)
    for pool in ("pool1", "pool2", "pool5"):
        p = layers[pool].pooling_param
        assert (p.pool, p.kernel_size, p.stride) == (p.MAX, 3, 2)


def test_each_paper_net_has_the_input_and_heads_its_table_needs():
    by_name = {net.name: net.config for net in TRAINVAL_NETS}
    assert by_name["ucf101_temporal_flow-L10-meansub_scratch_drop0.9"].channels == 20
    assert by_name["ucf101_temporal_flow-L1-meansub_scratch_drop0.9"].channels == 2
    assert by_name["ucf101_temporal_bidirectional-L10-meansub_scratch_drop0.9"].channels == 20
    assert by_name["ucf101_rgbstack-L11_scratch_drop0.9"].channels == 33
    assert by_name["hmdb51_temporal_flow-L10-meansub_plus-ucf101-78_scratch_drop0.9"].heads == (
        Head("hmdb51", 129),)
    assert by_name["multitask_temporal_flow-L10-meansub_scratch_drop0.9"].heads == (
        Head("hmdb51", 51), Head("ucf101", 101))
    spatial = [c for c in by_name.values() if c.stream == "spatial" and c.new_length == 1]
    assert {(c.heads[0].name, c.setting, c.dropout) for c in spatial} == {
        ("ucf101", s, d) for s in ("scratch", "finetune", "lastlayer") for d in (0.5, 0.9)
    } | {("hmdb51", "lastlayer", 0.5)}


def small(config, **changes):
    """The same net at 1/8 width on 64x64 inputs: the builder's code path, in milliseconds."""
    return replace(config, width=0.125, input_size=64, batch_size=6, **changes)


def softmax_loss(scores, labels):
    z = scores - scores.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return -np.log(p[np.arange(len(labels)), labels]).mean()


def test_multitask_heads_each_see_only_their_own_datasets_samples(write_proto):
    config = small(NetConfig(stream="temporal", heads=(Head("hmdb51", 51), Head("ucf101", 101)),
                             new_length=10))
    proto = cnn_m_2048(config, "trainval", source="input")
    caffe.set_mode_cpu()
    net = caffe.Net(write_proto(proto), caffe.TRAIN)
    hmdb = np.array([3, -1, 50, -1, -1, 0])
    ucf = np.array([-1, 5, -1, 100, 2, -1])
    net.blobs["data"].data[...] = np.random.default_rng(1).standard_normal(
        net.blobs["data"].data.shape)
    net.blobs["label_hmdb51"].data[...] = hmdb
    net.blobs["label_ucf101"].data[...] = ucf
    out = net.forward()

    mine = hmdb >= 0
    expected_hmdb = softmax_loss(net.blobs["fc8_hmdb51"].data[mine], hmdb[mine])
    expected_ucf = softmax_loss(net.blobs["fc8_ucf101"].data[~mine], ucf[~mine])
    assert out["loss_hmdb51"] == pytest.approx(expected_hmdb, rel=1e-5)
    assert out["loss_ucf101"] == pytest.approx(expected_ucf, rel=1e-5)
    net.backward()
    # No gradient reaches a head from the other dataset's samples.
    assert np.all(net.blobs["fc8_hmdb51"].diff[~mine] == 0)
    assert np.all(net.blobs["fc8_ucf101"].diff[mine] == 0)
    assert np.all(np.abs(net.blobs["fc8_hmdb51"].diff[mine]).sum(1) > 0)
    assert np.all(np.abs(net.blobs["fc8_ucf101"].diff[~mine]).sum(1) > 0)


def solver_for(config, write_proto):
    net_path = write_proto(cnn_m_2048(config, "trainval", source="dummy"))
    solver = sgd_solver(net_path, config.setting, "unused")
    solver.random_seed = 1
    caffe.set_mode_cpu()
    return caffe.SGDSolver(write_proto(solver, "solver.prototxt"))


def params_of(net):
    return {name: [b.data.copy() for b in blobs] for name, blobs in net.params.items()}


@pytest.mark.parametrize("setting", ["lastlayer", "scratch"])
def test_last_layer_setting_freezes_every_layer_below_the_classifier(setting, write_proto):
    spatial = next(n.config for n in TRAINVAL_NETS
                   if n.name == f"ucf101_spatial_{setting}_drop0.5")
    solver = solver_for(small(spatial), write_proto)
    before = params_of(solver.net)
    solver.step(3)
    after = params_of(solver.net)
    trunk = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"]
    unchanged = [name for name in trunk
                 if all(np.array_equal(b, a) for b, a in zip(before[name], after[name]))]
    assert unchanged == (trunk if setting == "lastlayer" else [])
    assert not np.array_equal(before["fc8_ucf101"][0], after["fc8_ucf101"][0])


def stand_in_nets():
    """Each train/val net with DummyData (batch 2) in place of the Python data layer. Nets that
    differ only in their data layer's parameters (stacking, mean subtraction) are the same net
    here, so each distinct one is timed once, under the names of all the nets it stands for."""
    distinct = {}
    for net in TRAINVAL_NETS:
        proto = cnn_m_2048(replace(net.config, batch_size=2), "trainval", source="dummy")
        proto.name = "stand-in"
        names, _ = distinct.setdefault(str(proto), ([], (proto, net.config.channels)))
        names.append(net.name)
    return [pytest.param(proto, channels, id="+".join(names))
            for names, (proto, channels) in distinct.values()]


@pytest.mark.slow
@pytest.mark.parametrize("proto, channels", stand_in_nets())
def test_caffe_time_runs_each_trainval_net_with_a_stand_in_data_layer(proto, channels,
                                                                      write_proto):
    caffe_bin = Path(sys.executable).parent / "caffe"
    result = subprocess.run([caffe_bin, "time", "-model", write_proto(proto), "-iterations", "1"],
                            capture_output=True, text=True,
                            env={**os.environ, "GLOG_minloglevel": "0"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Average Forward-Backward" in result.stderr
    assert f"Top shape: 2 {channels} 224 224" in result.stderr
    assert "Top shape: 2 512 6 6" in result.stderr  # pool5


@pytest.mark.parametrize("stream, init, setting, scaled", [
    ("spatial", "he", "scratch", True),  # RGB in 0-255 would break He's unit-scale assumption
    ("spatial", "gaussian", "scratch", False),  # Caffe's reference nets: as the paper feeds
    ("spatial", "he", "finetune", False),  # pre-trained conv1 expects 0-255
    ("temporal", "he", "scratch", False),  # flow is in pixels already
])
def test_a_spatial_net_from_scratch_under_he_takes_its_rgb_input_at_1_64(
        stream, init, setting, scaled, write_proto):
    config = NetConfig(stream=stream, heads=(Head("ucf101", 5),), init=init, setting=setting,
                       input_size=48, width=0.25, new_length=1 if stream == "spatial" else 2,
                       batch_size=10)
    # The train/val net scales; the deploy net never does (it takes the paper's input, the
    # weights folded as they load: test_weights.py).
    assert [layer.type for layer in cnn_m_2048(config, "deploy").layer[:2]] == \
        ["Input", "Convolution"]
    proto = cnn_m_2048(config, "trainval", source="input")
    assert ("Power" in [layer.type for layer in proto.layer]) == scaled
    net = caffe.Net(str(write_proto(proto)), caffe.TEST)
    rng = np.random.default_rng(0)
    net.blobs["data"].data[...] = rng.uniform(-120, 130, net.blobs["data"].data.shape)
    weights, bias = (rng.normal(0, 0.01, p.data.shape) for p in net.params["conv1"])
    net.params["conv1"][0].data[...], net.params["conv1"][1].data[...] = weights, bias
    net.forward()
    x = net.blobs["data"].data[0, :, :7, :7] * (1 / 64 if scaled else 1)  # conv1's first window
    expected = np.maximum((weights * x).sum((1, 2, 3)) + bias, 0)  # conv1 with its ReLU
    np.testing.assert_allclose(net.blobs["conv1"].data[0, :, 0, 0], expected, rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("stream, setting, init, filler", [
    # Measured at the paper's size and the demo's on real footage (docs/recipe.md): He's
    # fillers rescaled on the first batch (lsuv) start every net from scratch at ln C.
    ("spatial", "scratch", "lsuv", "msra"),
    ("temporal", "scratch", "lsuv", "msra"),
    ("spatial", "finetune", "gaussian", "gaussian"),  # fillers that never act: conv1-fc7 load
    ("spatial", "lastlayer", "gaussian", "gaussian"),
    ("temporal", "finetune", "gaussian", "gaussian"),
])
def test_a_net_with_no_init_named_takes_its_setting_s_own(stream, setting, init, filler):
    config = NetConfig(stream=stream, heads=(Head("ucf101", 101),), setting=setting)
    assert config.init == init
    assert config.scales_rgb == (setting == "scratch" and stream == "spatial")
    conv1 = next(layer for layer in cnn_m_2048(config).layer if layer.name == "conv1")
    assert conv1.convolution_param.weight_filler.type == filler
    assert conv1.bottom == ["data_scaled" if config.scales_rgb else "data"]
    # Named, it is kept whatever the stream.
    assert NetConfig(stream=stream, heads=(Head("ucf101", 101),), setting=setting,
                     init="gaussian").init == "gaussian"


def test_every_spatial_net_of_one_input_shares_one_deploy_net():
    names = {(n.config.setting, n.config.new_length): n.deploy_name for n in paper_nets()
             if n.group == "ucf101" and n.config.stream == "spatial"}
    assert names == {("scratch", 1): "ucf101_spatial",
                     ("finetune", 1): "ucf101_spatial", ("lastlayer", 1): "ucf101_spatial",
                     ("scratch", 11): "ucf101_rgbstack-L11"}
