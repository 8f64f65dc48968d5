"""Caffe's source outlives its Debian release (tools/setup/build_caffe.sh, debian_apt.sh): the two
files of Debian's source package are taken by their pool path from the first archive that serves
them with the pinned sha256, through a local HTTP server here; a tampered file is refused, and
when no archive serves them the build stops in one sentence naming the files and CAFFE_SRC=."""
import functools
import hashlib
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import caffe

ROOT = Path(__file__).resolve().parents[2]
ORIG = "caffe_1.0.0+git20180821.99bd997.orig.tar.gz"
DEBIAN = "caffe_1.0.0+git20180821.99bd997-8.debian.tar.xz"
# The source the cached build was made from (<cache>/<key>/lib/python3/dist-packages/caffe/).
CACHED_SRC = Path(caffe.__file__).resolve().parents[5] / "src"


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def archives(tmp_path):
    """A server on 127.0.0.1 with three archive roots: missing/ (serves nothing), tampered/ (the
    files with one byte changed) and good/ (the real files); yields the URL of its root."""
    web = tmp_path / "web"
    for name in (ORIG, DEBIAN):
        real = (CACHED_SRC / name).read_bytes()
        for root, data in (("good", real), ("tampered", real[:-1] + bytes([real[-1] ^ 1]))):
            pool = web / root / "pool" / "main" / "c" / "caffe"
            pool.mkdir(parents=True, exist_ok=True)
            (pool / name).write_bytes(data)
    (web / "missing").mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(web)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fetch(tmp_path, *pools):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHON": sys.executable,
           "CAFFE_CACHE": str(tmp_path / "cache"), "FETCH_ONLY": "1",
           "DEBIAN_POOLS": " ".join(pools)}
    return subprocess.run(["bash", "tools/setup/build_caffe.sh"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_first_archive_that_serves_the_files_gives_them(tmp_path, archives):
    result = fetch(tmp_path, f"{archives}/missing", f"{archives}/good")
    assert result.returncode == 0, result.stderr
    assert f"{archives}/missing does not serve {ORIG}" in result.stdout
    assert f"fetched {ORIG} from {archives}/good" in result.stdout
    assert f"fetched {DEBIAN} from {archives}/good" in result.stdout
    for name in (ORIG, DEBIAN):
        assert sha256(tmp_path / "cache" / "src" / name) == sha256(CACHED_SRC / name)
    # Fetched once: a second run asks no archive.
    again = fetch(tmp_path, f"{archives}/missing")
    assert again.returncode == 0 and "fetched" not in again.stdout and "serve" not in again.stdout


def test_a_tampered_file_is_refused_by_its_checksum_and_the_next_archive_tried(tmp_path, archives):
    result = fetch(tmp_path, f"{archives}/tampered", f"{archives}/good")
    assert result.returncode == 0, result.stderr
    assert f"refused {ORIG} from {archives}/tampered: sha256 " in result.stdout
    assert sha256(tmp_path / "cache" / "src" / ORIG) == sha256(CACHED_SRC / ORIG)
    assert not list((tmp_path / "cache" / "src").glob("*.part"))


def test_no_archive_serving_them_is_one_sentence_naming_the_files_and_caffe_src(tmp_path, archives):
    result = fetch(tmp_path, f"{archives}/missing", f"{archives}/tampered")
    assert result.returncode == 1
    error = result.stderr.strip()
    assert error.count("\n") == 0 and error.startswith("build_caffe: error: could not fetch ")
    assert ORIG in error and DEBIAN in error and f"{archives}/missing, {archives}/tampered" in error
    assert error.endswith("run again with CAFFE_SRC=/path/to/that/tree.")
    assert not (tmp_path / "cache" / "src" / ORIG).exists()


def test_the_archives_tried_by_default_are_the_mirror_then_debians_two_archives():
    pools = subprocess.run(["bash", "-c", "source tools/setup/debian_apt.sh; debian_pools"],
                           cwd=ROOT, env={"PATH": "/usr/bin:/bin"}, capture_output=True,
                           text=True, check=True).stdout.split()
    assert len(pools) == 3
    assert pools[1].endswith("/debian") and "/archive/debian/2025" in pools[2]


def test_the_copy_of_debians_patches_equals_the_tarballs(tmp_path):
    subprocess.run(["tar", "-C", str(tmp_path), "-xJf", str(CACHED_SRC / DEBIAN),
                    "debian/patches"], check=True)
    shipped = tmp_path / "debian" / "patches"
    copy = ROOT / "tools" / "setup" / "caffe_patches" / "debian"
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in shipped.iterdir())
    for patch in shipped.iterdir():
        assert (copy / patch.name).read_bytes() == patch.read_bytes(), patch.name
