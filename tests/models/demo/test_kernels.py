"""The demo pins OpenBLAS's kernel before any BLAS loads (models/demo/kernels.py)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.demo.kernels import cpu_flags, pin_kernels

ROOT = Path(__file__).resolve().parents[3]
REPORT = """
import json, sys
from models.demo.kernels import pin_kernels
said = pin_kernels(set(sys.argv[1].split()))
import caffe, threadpoolctl
print(json.dumps([said, sorted({(i["filepath"].split("/")[-1], i["architecture"], i["num_threads"])
                                for i in threadpoolctl.threadpool_info()})]))
"""


def blas_seen(flags: str, **env) -> tuple[str, list]:
    result = subprocess.run([sys.executable, "-c", REPORT, flags], cwd=ROOT, check=True,
                            capture_output=True, text=True, env={"PATH": "/usr/bin", **env})
    return json.loads(result.stdout.splitlines()[-1])


def test_every_openblas_loaded_after_the_pin_runs_haswell_kernels_on_one_thread():
    # numpy's and scipy's OpenBLAS wheels and Caffe's system OpenBLAS alike; a user's own
    # OPENBLAS_CORETYPE is overridden.
    said, libraries = blas_seen("avx2 fma sse2", OPENBLAS_CORETYPE="SkylakeX",
                                OPENBLAS_NUM_THREADS="2")
    assert said.startswith("OpenBLAS pinned to its Haswell (AVX2) kernels and 1 thread")
    assert any(name.startswith("libopenblas") for name, _, _ in libraries)  # Caffe's
    assert len(libraries) >= 2
    assert {(architecture, threads) for _, architecture, threads in libraries} == {("Haswell", 1)}


def test_a_cpu_without_avx2_keeps_its_own_kernel_and_is_told_so():
    said, libraries = blas_seen("sse2 sse4_2", OPENBLAS_CORETYPE="Sandybridge",
                                OPENBLAS_NUM_THREADS="2")
    assert said == ("this CPU lacks avx2, fma: OpenBLAS keeps its own kernel (on 1 thread), so "
                    "this demo's figures may differ from the README's in the last videos")
    assert {(architecture, threads) for _, architecture, threads in libraries} == \
        {("Sandybridge", 1)}


def test_pinning_after_numpy_is_loaded_is_refused():
    with pytest.raises(RuntimeError, match="before numpy"):
        pin_kernels({"avx2", "fma"})


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n")
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "fma"}
    assert cpu_flags(tmp_path / "missing") == set()
