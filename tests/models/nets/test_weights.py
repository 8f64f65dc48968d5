"""Loading .caffemodel weights by layer name, and refusing wrong files with a clear message."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import caffe
from caffe.proto import caffe_pb2
from models.nets.cnn_m_2048 import Head, NetConfig, cnn_m_2048
from models.nets.weights import (WeightsError, load_weights, prototxt_scale, require_weights,
                                 stored_weights, trained_net)

TRUNK = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"]


def small_net(write_proto, name, **fields):
    config = NetConfig(**{"stream": "spatial", "heads": (Head("ucf101", 101),), **fields})
    config = replace(config, width=0.125, input_size=64, batch_size=2)
    caffe.set_mode_cpu()
    return caffe.Net(write_proto(cnn_m_2048(config, "trainval", source="input"), name), caffe.TEST)


@pytest.fixture
def imagenet_like(tmp_path, write_proto):
    """A .caffemodel saved by Caffe from a spatial net with a 1000-way fc8_imagenet, taking the
    0-255 input as the Zoo's does."""
    caffe.set_random_seed(7)
    net = small_net(write_proto, "source.prototxt", heads=(Head("imagenet", 1000),),
                    init="gaussian")
    path = tmp_path / "imagenet_like.caffemodel"
    net.save(str(path))
    return path, {name: [b.data.copy() for b in net.params[name]] for name in net.params}


def test_matching_layers_load_by_name_and_a_new_classifier_stays_fresh(imagenet_like, write_proto):
    path, saved = imagenet_like
    caffe.set_random_seed(8)
    net = small_net(write_proto, "target.prototxt", setting="lastlayer")
    fc8_before = net.params["fc8_ucf101"][0].data.copy()
    loaded = load_weights(net, path)
    assert loaded.layers == tuple(TRUNK)
    assert loaded.fresh == ("fc8_ucf101",)
    assert len(loaded.sha1) == 40
    for name in TRUNK:
        for blob, stored in zip(net.params[name], saved[name]):
            np.testing.assert_array_equal(blob.data, stored)
    np.testing.assert_array_equal(net.params["fc8_ucf101"][0].data, fc8_before)


def test_an_rgb_file_into_a_flow_net_fails_naming_the_layer_and_shapes(imagenet_like,
                                                                       write_proto):
    path, _ = imagenet_like
    net = small_net(write_proto, "temporal.prototxt", stream="temporal", new_length=10)
    with pytest.raises(WeightsError, match=r"layer conv1 has blobs of shape \[\(12, 3, 7, 7\), "
                                           r"\(12,\)\] there but \[\(12, 20, 7, 7\), \(12,\)\]"):
        load_weights(net, path)


def test_a_missing_file_and_a_file_that_is_no_caffemodel_are_refused(tmp_path, write_proto):
    net = small_net(write_proto, "net.prototxt")
    with pytest.raises(WeightsError, match="not found; download it"):
        load_weights(net, tmp_path / "VGG_CNN_M_2048.caffemodel")
    not_weights = tmp_path / "net.caffemodel"
    not_weights.write_text("name: 'just a prototxt'\nlayer { name: 'x' type: 'ReLU' }\n")
    with pytest.raises(WeightsError, match="net.caffemodel"):
        load_weights(net, not_weights)


def test_a_file_sharing_no_layer_name_with_the_net_is_refused(tmp_path, write_proto):
    other = caffe.NetSpec()
    other.data = caffe.layers.Input(shape=dict(dim=[1, 4]))
    other.unrelated = caffe.layers.InnerProduct(other.data, num_output=3)
    donor = caffe.Net(write_proto(other.to_proto(), "other.prototxt"), caffe.TEST)
    path = tmp_path / "other.caffemodel"
    donor.save(str(path))
    net = small_net(write_proto, "net.prototxt")
    with pytest.raises(WeightsError, match=r"none of its layers \(unrelated\) is in the net"):
        load_weights(net, path)


def test_pretrained_settings_need_a_weights_file_and_scratch_does_not(tmp_path):
    for setting in ("finetune", "lastlayer"):
        with pytest.raises(WeightsError, match=f"the '{setting}' setting starts from ImageNet"):
            require_weights(setting, None)
        require_weights(setting, tmp_path / "VGG_CNN_M_2048.caffemodel")
    require_weights("scratch", None)


def test_a_blob_holding_fewer_values_than_its_shape_is_refused_before_caffe_reads_it(
        imagenet_like, write_proto, tmp_path):
    path, _ = imagenet_like
    proto = caffe_pb2.NetParameter()
    proto.ParseFromString(path.read_bytes())
    conv2 = next(layer for layer in proto.layer if layer.name == "conv2")
    del conv2.blobs[0].data[-5:]  # a file whose values were cut, its shapes kept
    damaged = tmp_path / "damaged.caffemodel"
    damaged.write_bytes(proto.SerializeToString())
    net = small_net(write_proto, "net.prototxt")
    with pytest.raises(WeightsError) as refused:
        load_weights(net, damaged)
    assert str(refused.value) == (f"weights file {damaged}: layer conv2 holds 9595 values for a "
                                  "blob of shape (32, 12, 5, 5); the file is damaged: copy or "
                                  "download it again.")


def test_a_scaled_net_s_weights_score_the_same_in_the_paper_s_deploy_net(tmp_path, write_proto):
    # A spatial net from scratch trains on its RGB input times 1/64 (a Power layer Caffe saves
    # in the caffemodel); the deploy net takes 0-255 minus the mean, conv1 folded as it loads.
    caffe.set_random_seed(3)
    trained = small_net(write_proto, "scaled.prototxt")
    assert "Power" in [layer.type for layer in trained.layers]
    snapshot = tmp_path / "scaled.caffemodel"
    trained.save(str(snapshot))
    assert stored_weights(snapshot)[2] == 1 / 64
    config = NetConfig(stream="spatial", heads=(Head("ucf101", 101),), width=0.125,
                       input_size=64)
    deploy = write_proto(cnn_m_2048(config, "deploy"), "deploy.prototxt")
    assert prototxt_scale(deploy) == 1.0
    crops = np.random.default_rng(0).uniform(-120, 130, (2, 3, 64, 64))
    trained.blobs["data"].data[...] = crops
    trained.forward()
    expected = trained.blobs["fc8_ucf101"].data.copy()
    net = caffe.Net(deploy, caffe.TEST)
    loaded = load_weights(net, snapshot, prototxt_scale(deploy))
    assert loaded.conv1_factor == 1 / 64
    np.testing.assert_array_equal(net.params["conv1"][0].data,
                                  trained.params["conv1"][0].data / 64)  # exact: a power of 2
    net.blobs["data"].data[...] = crops[:1].repeat(10, 0)
    net.forward()
    np.testing.assert_allclose(net.blobs["fc8_ucf101"].data[0], expected[0], rtol=1e-5,
                               atol=1e-5)
    # Caffe's own copy, which knows no scale, would have been 64 times off at conv1.
    bare = caffe.Net(deploy, str(snapshot), caffe.TEST)
    bare.blobs["data"].data[...] = net.blobs["data"].data
    bare.forward()
    assert not np.allclose(bare.blobs["fc8_ucf101"].data[0], expected[0], atol=1e-3)
    # Saved from the deploy net, the weights are the paper's convention for anyone: Caffe's
    # own copy then scores as the scaled net did; back into a scaled net they are scaled again.
    folded = tmp_path / "folded.caffemodel"
    net.save(str(folded))
    assert stored_weights(folded)[2] == 1.0
    plain = caffe.Net(deploy, str(folded), caffe.TEST)
    plain.blobs["data"].data[...] = net.blobs["data"].data
    plain.forward()
    np.testing.assert_array_equal(plain.blobs["fc8_ucf101"].data, net.blobs["fc8_ucf101"].data)
    again = small_net(write_proto, "again.prototxt")
    assert load_weights(again, folded, 1 / 64).conv1_factor == 64
    np.testing.assert_array_equal(again.params["conv1"][0].data,
                                  trained.params["conv1"][0].data)


def zoo_v1_caffemodel(path, net):
    """A .caffemodel as the Model Zoo's 2014 VGG_CNN_M_2048 is written: V1 `layers` (type enums)
    named conv1 ... fc7 and a 1000-way fc8, legacy 4-D blobs (a fully connected layer's weights
    as 1 x 1 x out x in), filled from `net`'s trunk (its shapes: a narrow net, as a test
    affords); returns {layer: its weights}."""
    proto = caffe_pb2.NetParameter(name="VGG_CNN_M_2048")
    values = {}
    rng = np.random.default_rng(11)
    for name in [*TRUNK, "fc8"]:
        layer = proto.layers.add(name=name)
        fc = name.startswith("fc")
        layer.type = caffe_pb2.V1LayerParameter.INNER_PRODUCT if fc else \
            caffe_pb2.V1LayerParameter.CONVOLUTION
        shapes = [(1000, net.params["fc7"][0].data.shape[0]), (1000,)] if name == "fc8" else \
            [b.data.shape for b in net.params[name]]
        values[name] = [rng.normal(0, 0.01, shape).astype(np.float32) for shape in shapes]
        for value in values[name]:
            legacy = (1, 1, *value.shape) if value.ndim == 2 else \
                (1, 1, 1, value.shape[0]) if value.ndim == 1 else value.shape
            blob = layer.blobs.add(num=legacy[0], channels=legacy[1], height=legacy[2],
                                   width=legacy[3])
            blob.data.extend(value.ravel().tolist())
    Path(path).write_bytes(proto.SerializeToString())
    return values


def test_the_zoo_s_v1_format_fine_tunes_a_last_layer_net(synthetic_store, tmp_path,
                                                          write_proto, caplog):
    from models.nets.paper_nets import paper_nets
    from models.train.loop import train
    from models.train.run_config import RunConfig
    from models.train.run_record import latest_snapshot
    net = next(n for n in paper_nets() if n.name == "ucf101_spatial_lastlayer_drop0.5")
    shaped = small_net(write_proto, "shapes.prototxt", setting="lastlayer", input_size=48)
    path = tmp_path / "VGG_CNN_M_2048.caffemodel"
    zoo = zoo_v1_caffemodel(path, shaped)
    stored, _, scale = stored_weights(path)
    assert scale == 1.0  # the Zoo's net takes 0-255 minus the mean, as the deploy nets
    assert stored["fc6"] == [zoo["fc6"][0].shape, zoo["fc6"][1].shape]  # legacy 1 x 1 x out x in
    assert stored["fc8"] == [(1000, zoo["fc7"][0].shape[0]), (1000,)]
    config = RunConfig(net=net, split=1, stores={"ucf101": synthetic_store},
                       splits={"ucf101": 1}, runs=tmp_path / "runs", method="farneback",
                       weights=str(path), iters=2, width=0.125, input_size=48, batch_size=4,
                       workers=0, snapshot_every=2, test_interval=2, test_iter=1)
    with caplog.at_level("INFO", logger="train"):
        assert train(config) == 2
    said = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("loaded "))
    assert said.endswith("into conv1, conv2, conv3, conv4, conv5, fc6, fc7; fresh: fc8_ucf101")
    # Last layer only: conv1-fc7 are frozen, so the snapshot holds the Zoo file's values exactly.
    deploy = cnn_m_2048(replace(net.config, width=0.125, input_size=48), "deploy")
    snapshot = trained_net(write_proto(deploy, "deploy.prototxt"),
                           latest_snapshot(config.folder).with_suffix(".caffemodel"))
    for name in TRUNK:
        for blob, value in zip(snapshot.params[name], zoo[name]):
            np.testing.assert_array_equal(blob.data, value)
