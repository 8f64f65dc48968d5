"""Boost.Python for the interpreter pycaffe is built for (tools/setup/boost_python.sh): the
system's where it is for that Python's X.Y, else one built from the source of the machine's own
Boost for that interpreter; and a pycaffe built with it imports in a Python other than the
system's."""
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
XY = f"{sys.version_info[0]}{sys.version_info[1]}"
MULTIARCH = sysconfig.get_config_var("MULTIARCH") or ""
SYSTEM_LIBS = [Path("/usr/lib") / MULTIARCH, Path("/usr/lib"), Path("/usr/local/lib")]


def boost_python(python, **env):
    return subprocess.run(["bash", "tools/setup/boost_python.sh"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHON": str(python), **env},
                          timeout=900)


def other_python():
    """A CPython 3.11+ of another X.Y than this one, with its headers and libpython (pyenv's or
    python3.X on the PATH), or None."""
    candidates = [Path(p) for p in sorted(Path(os.path.expanduser("~/.pyenv/versions")).glob(
        "3.1[1-9].*/bin/python3.1[1-9]"))]
    candidates += [Path(f"/usr/bin/python3.{m}") for m in range(11, 16)]
    for python in candidates:
        if not python.is_file():
            continue
        probe = subprocess.run([str(python), "-c", "import sys, sysconfig, os; print("
                                "f'{sys.version_info[0]}{sys.version_info[1]}', os.path.exists("
                                "os.path.join(sysconfig.get_paths()['include'], 'Python.h')))"],
                               capture_output=True, text=True)
        xy, headers = (probe.stdout.split() + ["", ""])[:2]
        if probe.returncode == 0 and xy != XY and headers == "True":
            return python, xy
    return None


def test_the_systems_boost_python_is_taken_for_this_pythons_version():
    result = boost_python(sys.executable)
    assert result.returncode == 0, result.stderr
    system_has = any((d / f"libboost_python{XY}.so").exists() for d in SYSTEM_LIBS)
    assert system_has, f"no libboost_python{XY}.so on this machine (make setup installs it)"
    assert result.stdout == ""


def test_no_python_is_one_sentence():
    result = boost_python("")
    assert result.returncode == 1
    assert result.stderr == ("boost_python: error: set PYTHON to the interpreter pycaffe is "
                             "built for.\n")


@pytest.fixture(scope="module")
def another_python():
    found = other_python()
    if found is None:
        pytest.skip("no CPython of another version than this one on this machine")
    return found


@pytest.mark.slow
def test_another_pythons_boost_python_is_built_from_the_machines_boost_source(another_python):
    python, xy = another_python
    result = boost_python(python)
    assert result.returncode == 0, result.stderr[-2000:]
    folder = Path(result.stdout.strip())
    library = folder / f"libboost_python{xy}.so"
    assert library.is_file() and folder.parent.name.startswith(f"boost-python{xy[0]}.{xy[1:]}-")
    info = (folder.parent / "BUILD-INFO.txt").read_text()
    headers = subprocess.run(["dpkg-query", "-S", "/usr/include/boost/version.hpp"],
                             capture_output=True, text=True).stdout.split(":")[0]
    source = subprocess.run(["dpkg-query", "-W", "-f=${source:Package}=${source:Version}",
                             headers], capture_output=True, text=True).stdout
    assert f"source {source}\n" in info
    # Debian's patches that change Boost.Python alone, e.g. 1.74's python3.10-file.patch.
    assert "patches " in info and ".patch" in info
    needed = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True).stdout
    assert f"libpython3.{sys.version_info[1]}" not in needed
    # It loads in the interpreter it was built for; a second call builds nothing.
    load = subprocess.run([str(python), "-c", f"import ctypes; ctypes.CDLL('{library}')"],
                          capture_output=True, text=True)
    assert load.returncode == 0, load.stderr
    again = boost_python(python)
    assert again.stdout == result.stdout and "building" not in again.stderr


@pytest.mark.slow
def test_pycaffe_built_for_another_python_imports_there(another_python, tmp_path):
    python, xy = another_python
    venv = tmp_path / "venv"
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
    pins = [line.split('"')[1] for line in (ROOT / "pyproject.toml").read_text().splitlines()
            if line.strip().startswith(('"numpy==', '"scikit-image==', '"scipy==', '"six==',
                                        '"protobuf=='))]
    assert len(pins) == 5
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *pins],
                   check=True, timeout=900)
    build = subprocess.run(["bash", "tools/setup/build_caffe.sh"], cwd=ROOT, capture_output=True,
                           text=True, env={**os.environ, "PYTHON": str(venv / "bin" / "python")},
                           timeout=1800)
    assert build.returncode == 0, build.stderr[-2000:]
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys, caffe; print("
                            "f'{sys.version_info[0]}{sys.version_info[1]}', "
                            "'Python' in caffe.layer_type_list(), caffe.__file__)"],
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    version, python_layers, location = probe.stdout.split()
    assert (version, python_layers) == (xy, "True")
    linked = subprocess.run(["ldd", str(Path(location).parent / "_caffe.so")],
                            capture_output=True, text=True).stdout
    assert f"libboost_python{xy}.so" in linked and f"boost-python{xy[0]}.{xy[1:]}-" in linked
