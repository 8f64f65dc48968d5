"""What tools/gpu/gpu_check.sh records, with the standard library alone (it runs before the kit is
installed, under the GPU machine's own Python):

    python3 tools/gpu/gpu_facts.py                  the machine: GPU, driver, nvcc, C library,
                                                compiler, Python, make, the CUDA libraries found
    python3 tools/gpu/gpu_facts.py --cuda-libs      the folders holding the CUDA libraries the kit's
                                                Caffe loads, joined with ':'
    python3 tools/gpu/gpu_facts.py --summary WORK REHEARSAL
                                                the check's JSON: each step, the figures, the
                                                goals met or missed and what bounds a missed one
"""
from __future__ import annotations

import glob
import json
import os
import platform
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

# What the kit's Caffe loads from the machine (tools/gpu/gpu_kit.sh leaves them out).
CUDA_LIBS = ("libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10",
             "libnccl.so.2")
# The goals on one H100 or H200 (README, "GPU and multi-GPU training").
GOAL_TRAIN_IMG_PER_S = 1000  # temporal net, batch 256; the paper's 4 Titans: about 240
UCF101_SPLIT1_TEST_VIDEOS = 3783
GOAL_TEST_VIDEOS_PER_S = UCF101_SPLIT1_TEST_VIDEOS / 600  # split 1 in 10 minutes a net
GOAL_BROX_PAIRS_PER_S = 500
GOAL_BROX_EPE = 0.70


def command(*argv: str) -> str:
    """First lines of a command's output, or why there is none."""
    if shutil.which(argv[0]) is None:
        return "not found"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"failed: {error}"
    return (done.stdout or done.stderr).strip()


def cuda_lib_dirs() -> list[str]:
    """Folders holding the CUDA libraries: NVIDIA's wheels in this Python's site-packages, then
    the toolkit's. The first folder that has a library wins, as LD_LIBRARY_PATH will have it."""
    candidates = []
    for packages in [*site.getsitepackages(), site.getusersitepackages()]:
        candidates += sorted(glob.glob(os.path.join(packages, "nvidia", "*", "lib")))
    candidates += ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"]
    found, dirs = set(), []
    for folder in candidates:
        here = {name for name in CUDA_LIBS if os.path.exists(os.path.join(folder, name))}
        if here - found:
            dirs.append(folder)
            found |= here
    return dirs


def missing_cuda_libs(dirs: list[str]) -> list[str]:
    return [name for name in CUDA_LIBS
            if not any(os.path.exists(os.path.join(d, name)) for d in dirs)]


def glibcxx() -> str:
    """The newest GLIBCXX symbol version of the system's libstdc++."""
    for path in ("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6"):
        if os.path.exists(path):
            versions = re.findall(rb"GLIBCXX_3\.4\.(\d+)", Path(path).read_bytes())
            return f"GLIBCXX_3.4.{max(int(v) for v in versions)}" if versions else "unknown"
    return "not found"


def facts() -> dict:
    import sysconfig
    dirs = cuda_lib_dirs()
    include = sysconfig.get_paths()["include"]
    return {
        "gpu": command("nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                       "--format=csv,noheader"),
        "nvcc": command("nvcc", "--version").splitlines()[-1],
        "libcuda": command("sh", "-c", "ldconfig -p | grep 'libcuda.so.1 ' || echo 'not in the "
                           "loader cache'"),
        "c_library": " ".join(platform.libc_ver()),
        "ldd": command("ldd", "--version").splitlines()[0],
        "compiler": command("gcc", "--version").splitlines()[0],
        "libstdc++": glibcxx(),
        "python": sys.version.split()[0], "python_executable": sys.executable,
        "python_headers": os.path.exists(os.path.join(include, "Python.h")),
        "make": command("make", "--version").splitlines()[0],
        "kernel": platform.release(), "cpus": os.cpu_count(),
        "os": (Path("/etc/os-release").read_text().split('PRETTY_NAME="')[1].split('"')[0]
               if Path("/etc/os-release").exists() else "unknown"),
        "cuda_lib_dirs": dirs, "cuda_libs_missing": missing_cuda_libs(dirs),
        "packages": {name: version_of(name) for name in
                     ("numpy", "scipy", "skimage", "h5py", "cv2", "cupy", "google.protobuf",
                      "tqdm", "matplotlib", "sklearn")},
    }


def version_of(module: str) -> str:
    done = subprocess.run([sys.executable, "-c", f"import {module} as m; print(m.__version__)"],
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip() if done.returncode == 0 else "missing"


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def goal(value, target: float, more_is_better: bool = True, bound: str = "") -> dict:
    if value is None:
        return {"measured": None, "target": target, "met": None}
    met = value >= target if more_is_better else value <= target
    entry = {"measured": round(value, 3), "target": round(target, 3), "met": met}
    if not met and bound:
        entry["bounded_by"] = bound
    return entry


def summary(work: Path, rehearsal: bool) -> dict:
    steps = [json.loads(line) for line in (work / "steps.jsonl").read_text().splitlines()
             if line.strip()]
    bench = read_json(work / "bench_gpu.json") or {}
    brox = (read_json(work / "brox_gpu.json") or {}).get("brox_gpu", {})
    classify = read_json(work / "classify.json") or {}
    figures = {k: v for k, v in bench.items() if k != "machine"}
    if brox:
        figures["brox_gpu.pairs_per_s"] = brox.get("pairs_per_s")
        figures["brox_gpu.grove3_epe"] = brox.get("grove3_epe")
    for key in ("classify.seconds_per_10s_clip", "classify.extract_s", "classify.nets_s"):
        if key in classify:
            figures[key] = classify[key]
    caffe_alone = bench.get("caffe.temporal.train_img_per_s")
    fed = bench.get("fed.temporal.train_img_per_s")
    feeding = bench.get("input.temporal.samples_per_s")
    train_bound = ""
    if fed is not None and feeding is not None and caffe_alone is not None:
        train_bound = ("the data layer (its workers make fewer samples/s than Caffe consumes)"
                       if feeding < caffe_alone else
                       "Caffe's own layers on the GPU (im2col and cuBLAS GEMM, not timed apart)")
    cutting, netting = (bench.get("test.temporal.inputs_s_per_video"),
                        bench.get("test.temporal.net_s_per_video"))
    test_bound = ""
    if cutting is not None and netting is not None:
        test_bound = ("cutting the 250 inputs on the CPU" if cutting > netting
                      else "the net's forward passes on the GPU")
    best_brox = max((brox.get("pairs_per_s") or {}).values(), default=None)
    goals = {} if rehearsal else {
        "train.temporal.img_per_s_batch256": goal(fed, GOAL_TRAIN_IMG_PER_S, bound=train_bound),
        "test.temporal.videos_per_s": goal(bench.get("test.temporal.videos_per_s"),
                                           GOAL_TEST_VIDEOS_PER_S, bound=test_bound),
        "brox_gpu.pairs_per_s_341x256": goal(best_brox, GOAL_BROX_PAIRS_PER_S,
                                             bound="the solver's kernels and the host "
                                             "transfers (timed together)"),
        "brox_gpu.grove3_epe": goal(brox.get("grove3_epe"), GOAL_BROX_EPE, more_is_better=False),
    }
    failed = [s["step"] for s in steps if s["status"] in ("failed", "timed out")]
    return {"rehearsal": rehearsal, "machine": read_json(work / "machine.json"),
            "kit_libstdcxx_used": (work / "libstdcxx-fallback").exists(),
            "check_gpu": read_json(work / "check_gpu.json"), "steps": steps,
            "failed_steps": failed, "figures": figures, "goals": goals}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--cuda-libs"]:
        dirs = cuda_lib_dirs()
        missing = missing_cuda_libs(dirs)
        if missing:
            print(f"gpu_facts: no {', '.join(missing)} in this Python's NVIDIA wheels or "
                  f"/usr/local/cuda; install NVIDIA's wheels (nvidia-cublas, nvidia-curand, "
                  f"nvidia-cuda-runtime, nvidia-nccl-cu13).", file=sys.stderr)
            return 1
        print(":".join(dirs))
        return 0
    if argv[:1] == ["--summary"]:
        print(json.dumps(summary(Path(argv[1]), argv[2] == "1"), indent=1, sort_keys=True))
        return 0
    print(json.dumps(facts(), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
