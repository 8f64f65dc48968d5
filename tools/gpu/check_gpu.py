"""On a GPU machine, with the CUDA build of Caffe: does GPU mode give the CPU's results on the
CNN-M-2048 nets? The same weights and inputs through the spatial and temporal nets in both
modes (forward, and one SGD step of the train net), compared within float tolerance.

    python tools/gpu/check_gpu.py [--gpu 0] [--width 0.25] [--out runs/bench/gpu_check.json]

Exit code 0 when every comparison holds; each is printed with its largest difference.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

import caffe
from models.nets.cnn_m_2048 import Head, NetConfig, cnn_m_2048, label_tops
from models.nets.solvers import sgd_solver
from models.train.run_config import build_only_cpu
from tools import flags

RTOL, ATOL = 1e-3, 1e-5  # float32 sums in another order (cuBLAS vs OpenBLAS)


def set_mode(gpu: int | None) -> None:
    if gpu is None:
        caffe.set_mode_cpu()
    else:
        caffe.set_device(gpu)
        caffe.set_mode_gpu()


def run_net(config: NetConfig, weights: Path, inputs: np.ndarray, gpu: int | None,
            folder: Path) -> dict:
    """Every blob of the deploy net after a forward pass, in one mode."""
    set_mode(gpu)
    path = folder / "deploy.prototxt"
    path.write_text(str(cnn_m_2048(config, "deploy")))
    net = caffe.Net(str(path), str(weights), caffe.TEST)
    net.blobs["data"].reshape(*inputs.shape)
    net.blobs["data"].data[...] = inputs
    net.forward()
    return {name: blob.data.copy() for name, blob in net.blobs.items()}


def step(config: NetConfig, weights: Path, inputs: np.ndarray, labels: np.ndarray,
         gpu: int | None, folder: Path) -> dict:
    """The weights after one SGD step from the same start on the same batch."""
    set_mode(gpu)
    net_path = folder / f"train_{gpu}.prototxt"
    net_path.write_text(str(cnn_m_2048(config, "trainval", source="input")))
    solver_param = sgd_solver(str(net_path), config.setting, str(folder / "snap"))
    solver_param.test_interval = solver_param.max_iter + 1
    solver_param.solver_mode = solver_param.CPU if gpu is None else solver_param.GPU
    solver_path = folder / f"solver_{gpu}.prototxt"
    solver_path.write_text(str(solver_param))
    solver = caffe.SGDSolver(str(solver_path))
    solver.net.copy_from(str(weights))
    solver.net.blobs["data"].data[...] = inputs
    solver.net.blobs[label_tops(config)[0]].data[...] = labels
    solver.step(1)
    return {f"{name}/{i}": solver.net.params[name][i].data.copy()
            for name in solver.net.params for i in range(len(solver.net.params[name]))}


def compare(cpu: dict, gpu: dict) -> tuple[bool, str, float]:
    """(every array within tolerance, the one furthest past it, the largest difference)."""
    excess = {name: float(np.max(np.abs(a - gpu[name]) - (ATOL + RTOL * np.abs(a))))
              for name, a in cpu.items() if a.size}
    worst = max(excess, key=excess.get)
    largest = max(float(np.max(np.abs(cpu[name] - gpu[name]))) for name in excess)
    return excess[worst] <= 0, worst, largest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", type=int, default=0, help="-1: the CPU against itself (checks "
                        "this script on a machine without a GPU)")
    parser.add_argument("--width", type=flags.width, default=1.0, help="1.0: the paper's nets")
    parser.add_argument("--batch", type=flags.count, default=8)
    parser.add_argument("--out", type=flags.output_file,
                        default=Path("runs/bench/gpu_check.json"))
    args = parser.parse_args(argv)
    gpu = None if args.gpu < 0 else args.gpu
    if gpu is not None and build_only_cpu():
        print("check_gpu: this Caffe was built CPU-only; build the CUDA one with `make caffe "
              "CUDA=1`.", file=sys.stderr)
        return 2
    rng = np.random.default_rng(0)
    folder = Path(tempfile.mkdtemp(prefix="check_gpu_"))
    results, ok = {}, True
    for stream in ("spatial", "temporal"):
        config = NetConfig(stream=stream, heads=(Head("ucf101", 101),), dropout=0.0,
                           new_length=1 if stream == "spatial" else 10, width=args.width,
                           batch_size=args.batch)
        # Weights from Caffe's fillers on the CPU, saved once, loaded by both modes.
        caffe.set_mode_cpu()
        start = folder / f"{stream}.caffemodel"
        init = folder / f"{stream}_init.prototxt"
        init.write_text(str(cnn_m_2048(replace(config, batch_size=1), "deploy")))
        caffe.Net(str(init), caffe.TEST).save(str(start))
        inputs = rng.normal(0, 20, (args.batch, config.channels, 224, 224)).astype(np.float32)
        labels = rng.integers(0, 101, args.batch).astype(np.float32)
        for what, run in (("forward", lambda g: run_net(config, start, inputs, g, folder)),
                          ("sgd_step", lambda g: step(config, start, inputs, labels, g,
                                                      folder))):
            same, where, largest = compare(run(None), run(gpu))
            results[f"{stream}.{what}"] = dict(within_tolerance=same, worst=where,
                                               largest_difference=largest)
            ok &= same
            print(f"check_gpu: {stream} {what}: {'same' if same else 'DIFFERENT'} within "
                  f"rtol {RTOL} atol {ATOL} (largest difference {largest:.3g}, at {where})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"check_gpu: wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
