"""The foundation: pycaffe and Caffe's tools, built by tools/setup/build_caffe.sh, really work.

Real Caffe throughout: nets run forward and backward, a solver trains, Caffe's own HDF5Data and
Data layers read files written here with h5py and lmdb.
"""
import os
import subprocess
import sys
from pathlib import Path

import h5py
import lmdb
import numpy as np
import pytest

import caffe
from caffe import layers as L
from caffe import params as P
from caffe.proto import caffe_pb2

VENV_BIN = Path(sys.executable).parent


def test_pycaffe_comes_from_a_cached_build_made_for_this_venvs_numpy():
    # <cache>/<key>/lib/python3/dist-packages/caffe/__init__.py
    build_info = Path(caffe.__file__).parents[4] / "BUILD-INFO.txt"
    assert build_info.is_file(), caffe.__file__
    assert f"numpy {np.__version__}\n" in build_info.read_text()
    assert f"python {sys.version.split()[0]} " in build_info.read_text()


def test_pycaffe_has_python_layers():
    layer_types = caffe.layer_type_list()
    for layer_type in ("Python", "Data", "HDF5Data", "Convolution", "LRN", "SoftmaxWithLoss"):
        assert layer_type in layer_types


def test_netspec_forward_and_backward_match_numpy(write_proto):
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[4, 3]))
    n.label = L.Input(shape=dict(dim=[4]))
    n.ip = L.InnerProduct(n.data, num_output=2, weight_filler=dict(type="gaussian", std=0.5),
                          bias_filler=dict(type="constant", value=0.1))
    n.loss = L.SoftmaxWithLoss(n.ip, n.label)
    caffe.set_mode_cpu()
    proto = n.to_proto()
    proto.force_backward = True  # Caffe computes input diffs only when asked
    net = caffe.Net(write_proto(proto), caffe.TRAIN)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0], dtype=np.float32)
    net.blobs["data"].data[...] = x
    net.blobs["label"].data[...] = y
    w, b = net.params["ip"][0].data.copy(), net.params["ip"][1].data.copy()

    loss = net.forward()["loss"]
    logits = x @ w.T + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected_loss = -np.log(p[np.arange(4), y.astype(int)]).mean()
    np.testing.assert_allclose(net.blobs["ip"].data, logits, rtol=1e-5, atol=1e-6)
    assert loss == pytest.approx(expected_loss, rel=1e-5)

    net.backward()
    dlogits = p.copy()
    dlogits[np.arange(4), y.astype(int)] -= 1
    dlogits /= 4
    np.testing.assert_allclose(net.params["ip"][0].diff, dlogits.T @ x, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(net.params["ip"][1].diff, dlogits.sum(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(net.blobs["data"].diff, dlogits @ w, rtol=1e-4, atol=1e-6)


def separable_problem(n=200, seed=1):
    """Two Gaussian blobs in 4-D, 3 standard deviations apart: linearly separable in practice."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    centres = np.array([[-1.5, 1.5, 0, 0], [1.5, -1.5, 0, 0]], dtype=np.float32)
    data = centres[labels] + 0.5 * rng.standard_normal((n, 4)).astype(np.float32)
    return data.reshape(n, 4, 1, 1), labels.astype(np.float32)


def test_sgd_solver_learns_a_separable_problem_from_hdf5(tmp_path, write_proto):
    data, labels = separable_problem()
    h5_path = tmp_path / "train.h5"
    with h5py.File(h5_path, "w") as f:
        f["data"], f["label"] = data, labels
    (tmp_path / "train.txt").write_text(f"{h5_path}\n")

    n = caffe.NetSpec()
    n.data, n.label = L.HDF5Data(source=str(tmp_path / "train.txt"), batch_size=50, shuffle=True,
                                 ntop=2)
    n.hidden = L.InnerProduct(n.data, num_output=8, weight_filler=dict(type="xavier"))
    n.relu = L.ReLU(n.hidden, in_place=True)
    n.score = L.InnerProduct(n.relu, num_output=2, weight_filler=dict(type="xavier"))
    n.loss = L.SoftmaxWithLoss(n.score, n.label)
    n.accuracy = L.Accuracy(n.score, n.label)
    net_path = write_proto(n.to_proto())

    solver = caffe_pb2.SolverParameter(net=net_path, base_lr=0.05, momentum=0.9, lr_policy="fixed",
                                       max_iter=200, display=0, snapshot=0, random_seed=3,
                                       solver_mode=caffe_pb2.SolverParameter.CPU)
    caffe.set_mode_cpu()
    sgd = caffe.SGDSolver(write_proto(solver, "solver.prototxt"))
    sgd.step(200)
    assert sgd.iter == 200

    net = sgd.net
    correct = 0
    for _ in range(len(labels) // 50):  # one pass over the 200 training samples
        net.forward()
        correct += int((net.blobs["score"].data.argmax(1) == net.blobs["label"].data).sum())
    assert correct / len(labels) > 0.95


def test_lmdb_datums_read_back_bit_exactly_by_caffes_data_layer(tmp_path, write_proto):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (6, 3, 8, 10), dtype=np.uint8)
    labels = [5, 0, 3, 3, 1, 4]
    db_path = tmp_path / "datums.lmdb"
    with lmdb.open(str(db_path), map_size=1 << 24) as env, env.begin(write=True) as txn:
        for i, (image, label) in enumerate(zip(images, labels)):
            datum = caffe_pb2.Datum(channels=3, height=8, width=10, data=image.tobytes(),
                                    label=label)
            txn.put(f"{i:08d}".encode(), datum.SerializeToString())

    n = caffe.NetSpec()
    n.data, n.label = L.Data(source=str(db_path), backend=P.Data.LMDB, batch_size=6, ntop=2)
    caffe.set_mode_cpu()
    net = caffe.Net(write_proto(n.to_proto()), caffe.TEST)
    net.forward()
    assert net.blobs["data"].data.shape == (6, 3, 8, 10)
    np.testing.assert_array_equal(net.blobs["data"].data, images.astype(np.float32))
    np.testing.assert_array_equal(net.blobs["label"].data, np.array(labels, dtype=np.float32))


def test_caffe_command_line_tools_are_in_the_venv():
    for tool in ("caffe", "upgrade_net_proto_text", "convert_imageset", "compute_image_mean"):
        assert (VENV_BIN / tool).exists(), tool
    version = subprocess.run([VENV_BIN / "caffe", "--version"], capture_output=True, text=True)
    assert version.returncode == 0
    assert "caffe version 1.0.0" in version.stdout + version.stderr


def test_caffe_time_runs_on_a_small_net(write_proto):
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[2, 3, 32, 32]))
    n.conv = L.Convolution(n.data, kernel_size=5, num_output=8, weight_filler=dict(type="xavier"))
    n.pool = L.Pooling(n.conv, pool=P.Pooling.MAX, kernel_size=3, stride=2)
    n.ip = L.InnerProduct(n.pool, num_output=10, weight_filler=dict(type="xavier"))
    result = subprocess.run([VENV_BIN / "caffe", "time", "-model", write_proto(n.to_proto()),
                             "-iterations", "3"], capture_output=True, text=True,
                            env={**os.environ, "GLOG_minloglevel": "0"})
    assert result.returncode == 0, result.stderr[-2000:]
    log = result.stdout + result.stderr
    assert "Average Forward pass" in log
    assert "Average Forward-Backward" in log
    # Caffe's pooling rounds up: (28 - 3) / 2 + 1 = 13.5 -> 14.
    assert "Top shape: 2 8 14 14" in log


ROOT = Path(__file__).resolve().parents[1]
TOOLKIT = Path("/usr/local/cuda/bin/nvcc")


def build_caffe(tmp_path, **env):
    return subprocess.run(["bash", "tools/setup/build_caffe.sh"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHON": sys.executable, "CUDA": "1",
                                          "CAFFE_CACHE": str(tmp_path), **env})


def test_cuda_build_without_a_toolkit_says_where_it_looked(tmp_path):
    result = build_caffe(tmp_path, CUDA_HOME=str(tmp_path / "none"), PATH="/usr/bin:/bin")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"build_caffe: error: CUDA=1 needs the CUDA toolkit (nvcc); "
                                     f"none at {tmp_path / 'none'} and none on PATH: set "
                                     "CUDA_HOME.")


@pytest.mark.skipif(not TOOLKIT.exists(), reason="needs the CUDA toolkit at /usr/local/cuda")
def test_cuda_build_refuses_an_architecture_the_nvcc_cannot_compile_for(tmp_path):
    known = subprocess.run([str(TOOLKIT), "--list-gpu-code"], capture_output=True,
                           text=True).stdout.split()
    assert "sm_90" in known  # H100/H200, the GPUs this project is lent
    result = build_caffe(tmp_path, CUDA_ARCH_BIN="90 35")
    assert result.returncode == 1
    assert result.stderr.strip().startswith(
        "build_caffe: error: CUDA_ARCH_BIN: this nvcc (/usr/local/cuda) cannot compile for sm_35; "
        "it knows: 75 80")
    assert not list(tmp_path.glob("cuda-*"))  # refused before any download or build
