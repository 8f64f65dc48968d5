"""The Python data layers inside real Caffe nets, on stores with known flow."""
import json

import numpy as np
import pytest

import caffe
from caffe import layers as L
from models.input.batches import BatchMaker, InputError, parse_params
from models.input.prefetch import Prefetcher


def layer_net(write_proto, layer, params, ntop=2):
    n = caffe.NetSpec()
    tops = L.Python(python_param=dict(module="models.input.data_layers", layer=layer,
                                      param_str=json.dumps(params, sort_keys=True)), ntop=ntop)
    n.data = tops[0]
    for i, top in enumerate(tops[1:]):
        n[f"label{i}"] = top
    caffe.set_mode_cpu()
    return caffe.Net(write_proto(n.to_proto()), caffe.TRAIN)


def temporal_params(store, **changes):
    params = dict(batch_size=8, crop_size=32, datasets=["ucf101"], flip=False, new_length=10,
                  stacking="flow", mean_subtraction=False, stores={"ucf101": str(store)},
                  splits={"ucf101": 1}, workers=0, held_out=0.0)
    params.update(changes)
    return params


@pytest.mark.parametrize("stacking", ["flow", "trajectory"])
def test_stacked_volumes_carry_the_stored_translation(flow_store, write_proto, stacking):
    net = layer_net(write_proto, "TemporalDataLayer", temporal_params(flow_store,
                                                                      stacking=stacking))
    net.forward()
    data = net.blobs["data"].data
    assert data.shape == (8, 20, 32, 32)
    np.testing.assert_allclose(data[:, 0::2], 2.0, atol=1e-6)
    np.testing.assert_allclose(data[:, 1::2], -1.0, atol=1e-6)
    assert set(net.blobs["label0"].data.astype(int)) <= {0, 1, 2}


def test_bidirectional_volumes_hold_forward_then_backward_flow(flow_store, write_proto):
    net = layer_net(write_proto, "TemporalDataLayer",
                    temporal_params(flow_store, stacking="bidirectional"))
    net.forward()
    data = net.blobs["data"].data
    np.testing.assert_allclose(data[:, 0:10:2], 2.0, atol=1e-6)
    np.testing.assert_allclose(data[:, 10:20:2], -2.0, atol=1e-6)
    np.testing.assert_allclose(data[:, 11:20:2], 1.0, atol=1e-6)


def test_mean_subtraction_zeroes_and_flipping_negates_dx(flow_store, write_proto):
    net = layer_net(write_proto, "TemporalDataLayer",
                    temporal_params(flow_store, mean_subtraction=True))
    net.forward()
    np.testing.assert_allclose(net.blobs["data"].data, 0, atol=1e-6)
    net = layer_net(write_proto, "TemporalDataLayer",
                    temporal_params(flow_store, flip=True, batch_size=64))
    net.forward()
    dx = net.blobs["data"].data[:, 0::2].reshape(64, -1)
    assert set(np.unique(np.round(dx, 4))) == {-2.0, 2.0}
    assert np.all(np.abs(dx - dx[:, :1]) < 1e-6)  # one flip decision per sample
    np.testing.assert_allclose(net.blobs["data"].data[:, 1::2], -1.0, atol=1e-6)


def test_spatial_layer_crops_frames_minus_the_imagenet_mean(flow_store, write_proto):
    params = dict(temporal_params(flow_store), new_length=1, colour_jitter=False)
    del params["stacking"], params["mean_subtraction"]
    net = layer_net(write_proto, "SpatialDataLayer", params)
    net.forward()
    data = net.blobs["data"].data
    assert data.shape == (8, 3, 32, 32)
    # Frame i is grey level 10 i: one value per sample and channel, minus the mean pixel.
    grey = data[:, 0, 0, 0] + 103.939
    assert np.all(np.abs(grey / 10 - np.round(grey / 10)) < 0.2)


def test_multitask_batches_label_each_head(tmp_path, write_proto, store_writer):
    write_store = store_writer
    hmdb = write_store(tmp_path / "hmdb51", "hmdb51",
                       {f"h{c}/x{i}.avi": (c, 12, "train") for c in range(2) for i in range(3)})
    ucf = write_store(tmp_path / "ucf101", "ucf101",
                      {f"U{c}/y{i}.avi": (c, 12, "train") for c in range(3) for i in range(3)})
    params = temporal_params(ucf, datasets=["hmdb51", "ucf101"], batch_size=100,
                             stores={"hmdb51": str(hmdb), "ucf101": str(ucf)},
                             splits={"hmdb51": 1, "ucf101": "all"}, ignore_label=-1)
    net = layer_net(write_proto, "TemporalDataLayer", params, ntop=3)
    net.forward()
    hmdb_labels, ucf_labels = net.blobs["label0"].data, net.blobs["label1"].data
    assert np.all((hmdb_labels == -1) != (ucf_labels == -1))  # exactly one head per sample
    assert set(hmdb_labels[hmdb_labels >= 0].astype(int)) == {0, 1}
    assert set(ucf_labels[ucf_labels >= 0].astype(int)) == {0, 1, 2}


def test_worker_processes_give_the_batches_made_inline(flow_store):
    params = parse_params(json.dumps(temporal_params(flow_store, flip=True, stacking="trajectory",
                                                     mean_subtraction=True)), "temporal")
    maker = BatchMaker(params, phase_train=True)
    inline, workers = Prefetcher(maker, 0), Prefetcher(maker, 2, slots=2)
    try:
        for _ in range(5):
            a, b = inline.next(), workers.next()
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
    finally:
        workers.close()


def test_param_str_without_the_runs_stores_is_refused():
    with pytest.raises(InputError, match="gives no store or split for \\['ucf101'\\]: train with "
                                         "tools/train_net.py"):
        parse_params(json.dumps(dict(batch_size=4, crop_size=8, datasets=["ucf101"])), "temporal")
    with pytest.raises(InputError, match="unknown keys \\['colour'\\]"):
        parse_params(json.dumps(dict(batch_size=4, crop_size=8, datasets=[], colour=1)),
                     "spatial")


def test_borrowed_classes_join_the_head_after_its_own(store_writer, tmp_path):
    hmdb = store_writer(tmp_path / "hmdb51", "hmdb51",
                        {f"h{c}/h{c}_{i}.avi": (c, 14, "train")
                         for c in range(2) for i in range(3)})
    ucf = store_writer(tmp_path / "ucf101", "ucf101",
                       {f"U{c}/u{c}_{i}.avi": (c, 14, "train") for c in range(3) for i in range(3)})
    params = dict(batch_size=64, crop_size=32, datasets=["hmdb51"], new_length=10,
                  stores={"hmdb51": str(hmdb), "ucf101": str(ucf)},
                  splits={"hmdb51": 1, "ucf101": "all"}, workers=0, held_out=0.0,
                  borrowed_classes={"ucf101": 2})
    with pytest.raises(InputError, match="adds 2 ucf101 classes \\(Table 2\\) but param_str "
                                         "names 0"):
        parse_params(json.dumps(params), "temporal")
    params["borrowed_class_names"] = {"ucf101": ["U2", "U0"]}
    maker = BatchMaker(parse_params(json.dumps(params), "temporal"), phase_train=True)
    seen = {}
    for index in range(8):
        for sample in maker.samples(index)[0]:
            seen.setdefault(sample.labels, set()).add(sample.video.id.split("/")[0])
    # Own classes 0 and 1, then U2 as 2 and U0 as 3; U1 is not borrowed.
    assert seen == {(0,): {"h0"}, (1,): {"h1"}, (2,): {"U2"}, (3,): {"U0"}}
    params["borrowed_class_names"] = {"ucf101": ["U2", "Nope"]}
    with pytest.raises(InputError, match="has no class Nope"):
        BatchMaker(parse_params(json.dumps(params), "temporal"), phase_train=True)
