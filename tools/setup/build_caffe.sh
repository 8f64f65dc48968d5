#!/usr/bin/env bash
# Builds BVLC Caffe 1.0 (pycaffe included) from a checksummed source, installs it into a cache
# outside the clone keyed by everything that changes the binaries, and links it into the venv.
#
#   PYTHON=.venv/bin/python tools/setup/build_caffe.sh
#
# Environment:
#   PYTHON       interpreter that will import pycaffe (its headers, libpython and numpy are used)
#   CUDA=1       CUDA build (default 0: CPU_ONLY), without cuDNN (Caffe 1.0 targets cuDNN 5-7's
#                API); cuBLAS, cuRAND and NCCL from the toolkit, else from pinned PyPI wheels
#   CUDA_ARCH_BIN  GPU architectures, e.g. "90" or "80 90" (default: those of 75 80 86 89 90 100
#                120 that the installed nvcc compiles for); PTX is added for the highest
#   CAFFE_SRC    a Caffe tree the user already has (BVLC/caffe at commit 99bd997), built with
#                Debian's patches from caffe_patches/debian/; default: Debian's source package
#                `caffe` of bullseye, from this machine's Debian mirror or Debian's archives
#   DEBIAN_POOLS the archive roots that source is fetched from, in order (tools/setup/debian_apt.sh)
#   CAFFE_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/two-stream-caffe)
#   PORTABLE=1   a Caffe to carry to another machine (tools/gpu/gpu_kit.sh): without OpenCV, LevelDB
#                and HDF5, whose Debian libraries pull in hundreds of MB (the project reads its
#                stores from Python and snapshots in Caffe's binary format)
#   BOOST_PYTHON_LIBDIR  a folder holding libboost_pythonXY.so for $PYTHON (default: the system's
#                if it is for this Python's X.Y, else one tools/setup/boost_python.sh builds)
#   CAFFE_JOBS   parallel compile jobs (default: number of cores)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-.venv/bin/python}
CUDA=${CUDA:-0}
CUDA_ARCH_BIN=${CUDA_ARCH_BIN:-}
PORTABLE=${PORTABLE:-0}
BOOST_PYTHON_LIBDIR=${BOOST_PYTHON_LIBDIR:-}
# cuBLAS, cuRAND and NCCL of the CUDA 13.0 release, when the toolkit lacks them.
CUDA_WHEELS=(nvidia-cublas==13.0.2.14 nvidia-curand==10.4.0.35 nvidia-nccl-cu13==2.27.7)
DEFAULT_ARCHS="75 80 86 89 90 100 120"
JOBS=${CAFFE_JOBS:-$(nproc)}
CACHE=${CAFFE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/two-stream-caffe}
PATCH_DIR=$HERE/caffe_patches

# The source we build: Debian bullseye's `caffe`, whose upstream tarball is BVLC's tree at 99bd997.
DEB_SUITE=bullseye
DEB_VERSION=1.0.0+git20180821.99bd997-8
ORIG_TARBALL=caffe_1.0.0+git20180821.99bd997.orig.tar.gz
ORIG_SHA256=e0eb3f06794f7402c77b7dec8e8480273ee1a1bb192e9122b621a69d4147ad0c
DEBIAN_TARBALL=caffe_${DEB_VERSION}.debian.tar.xz
DEBIAN_SHA256=07cf073227494a6b07234e40cb5df91db566616593eef9baafdc4d06ad159f21

say() { echo "build_caffe: $*"; }
die() { echo "build_caffe: error: $*" >&2; exit 1; }

# ---- the interpreter pycaffe is built for ---------------------------------------------------
[[ -x "$PYTHON" ]] || die "no Python interpreter at '$PYTHON'; run 'make venv' first (or set PYTHON=)."
# Absolute, but not resolved: a venv's python is a link to the base interpreter, and only the
# link's path finds the venv's numpy.
PYTHON=$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")
PY_INFO=$("$PYTHON" - <<'PY'
import os, sys, sysconfig
import numpy
libdir, multiarch = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("MULTIARCH") or ""
names = [sysconfig.get_config_var("LDLIBRARY"), f"libpython{sys.version_info[0]}.{sys.version_info[1]}.so"]
candidates = [os.path.join(libdir, sub, name) for name in names for sub in ("", multiarch)]
lib = next((c for c in candidates if c.endswith(".so") and os.path.exists(c)), "")
print(sys.version.split()[0], f"{sys.version_info[0]}.{sys.version_info[1]}",
      sysconfig.get_paths()["include"], lib, numpy.__version__, os.path.realpath(sys.base_prefix))
PY
) || die "'$PYTHON' cannot import numpy; run 'make venv' first."
read -r PY_VERSION PY_MAJMIN PY_INCLUDE PY_LIBRARY NUMPY_VERSION PY_PREFIX <<<"$PY_INFO"
[[ -n "$PY_LIBRARY" ]] || die "'$PYTHON' has no shared libpython (it was built without --enable-shared); pycaffe needs one: use a Python with libpython${PY_MAJMIN}.so."

# ---- build flags ----------------------------------------------------------------------------
WITH_IO=$([[ "$PORTABLE" == 1 ]] && echo OFF || echo ON)
CMAKE_FLAGS=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_python=ON -DBUILD_python_layer=ON -Dpython_version="$PY_MAJMIN"
  -DPYTHON_INCLUDE_DIR="$PY_INCLUDE" -DPYTHON_LIBRARY="$PY_LIBRARY"
  -DUSE_LMDB=ON -DUSE_LEVELDB=$WITH_IO -DUSE_HDF5=$WITH_IO -DUSE_OPENCV=$WITH_IO -DBLAS=Open
  -DBUILD_docs=OFF -DBUILD_matlab=OFF
)
# Boost.Python for this interpreter: the system's where it is for this Python's X.Y, else one
# built for it (tools/setup/boost_python.sh prints its folder).
if [[ -z "$BOOST_PYTHON_LIBDIR" ]]; then
  BOOST_PYTHON_LIBDIR=$(PYTHON=$PYTHON CAFFE_CACHE=$CACHE CAFFE_JOBS=$JOBS bash "$HERE/boost_python.sh") \
    || die "no Boost.Python for Python $PY_MAJMIN (above)."
fi
if [[ -n "$BOOST_PYTHON_LIBDIR" ]]; then
  ls "$BOOST_PYTHON_LIBDIR"/libboost_python"${PY_MAJMIN/./}".so >/dev/null 2>&1 \
    || die "BOOST_PYTHON_LIBDIR=$BOOST_PYTHON_LIBDIR holds no libboost_python${PY_MAJMIN/./}.so."
  # Boost's own CMake files know only the system's Python: FindBoost's module mode, told where
  # this one is (it searches one folder, the system's, once it has found the other components).
  CMAKE_FLAGS+=(-DBoost_NO_BOOST_CMAKE=ON
    -DBoost_PYTHON${PY_MAJMIN/./}_LIBRARY_RELEASE="$BOOST_PYTHON_LIBDIR/libboost_python${PY_MAJMIN/./}.so")
fi
# A conda env (environment.yml) holds the libraries that apt-get installs elsewhere.
if [[ -n "${CONDA_PREFIX:-}" && "$PYTHON" == "$CONDA_PREFIX"/* ]]; then
  CMAKE_FLAGS+=(-DCMAKE_PREFIX_PATH="$CONDA_PREFIX")
fi
if [[ "$CUDA" == 1 ]]; then
  # The toolkit: CUDA_HOME, else /usr/local/cuda, else the folder above the nvcc on PATH.
  CUDA_ROOT=${CUDA_HOME:-/usr/local/cuda}
  if [[ ! -x "$CUDA_ROOT/bin/nvcc" ]] && command -v nvcc >/dev/null; then
    CUDA_ROOT=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
  fi
  [[ -x "$CUDA_ROOT/bin/nvcc" ]] || die "CUDA=1 needs the CUDA toolkit (nvcc); none at ${CUDA_HOME:-/usr/local/cuda} and none on PATH: set CUDA_HOME."
  supported=" $("$CUDA_ROOT/bin/nvcc" --list-gpu-code 2>/dev/null | sed -n 's/^sm_//p' | tr '\n' ' ')"
  if [[ -z "$CUDA_ARCH_BIN" ]]; then
    for arch in $DEFAULT_ARCHS; do [[ "$supported" == *" $arch "* ]] && CUDA_ARCH_BIN+="$arch "; done
    CUDA_ARCH_BIN=${CUDA_ARCH_BIN% }
  fi
  for arch in $CUDA_ARCH_BIN; do
    [[ "$supported" == *" $arch "* ]] || die "CUDA_ARCH_BIN: this nvcc ($CUDA_ROOT) cannot compile for sm_$arch; it knows:$supported"
  done
  CUDA_ARCH_PTX=${CUDA_ARCH_BIN##* }
  CMAKE_FLAGS+=(-DCPU_ONLY=OFF -DUSE_CUDNN=OFF -DUSE_NCCL=ON -DCUDA_TOOLKIT_ROOT_DIR="$CUDA_ROOT"
                -DCUDA_ARCH_NAME=Manual -DCUDA_ARCH_BIN="$CUDA_ARCH_BIN" -DCUDA_ARCH_PTX="$CUDA_ARCH_PTX"
                -DCMAKE_INSTALL_RPATH_USE_LINK_PATH=ON)
  # cuBLAS, cuRAND, NCCL: the toolkit's (and the system's NCCL) if there, else NVIDIA's wheels.
  if [[ -e "$CUDA_ROOT/include/cublas_v2.h" && -e "$CUDA_ROOT/include/curand.h" ]] \
     && { [[ -e /usr/include/nccl.h ]] || [[ -e "$CUDA_ROOT/include/nccl.h" ]]; }; then
    CUDA_LIBS="toolkit"
  else
    CUDA_LIBS=$CACHE/cuda-libs-$(printf '%s\n' "${CUDA_WHEELS[@]}" | sha256sum | cut -c1-12)
    if [[ ! -f "$CUDA_LIBS/.complete" ]]; then
      say "the toolkit at $CUDA_ROOT has no cuBLAS/cuRAND/NCCL: installing ${CUDA_WHEELS[*]} into $CUDA_LIBS"
      rm -rf "$CUDA_LIBS"
      "$PYTHON" -m pip install -q --no-deps --target "$CUDA_LIBS" "${CUDA_WHEELS[@]}" \
        || die "could not install ${CUDA_WHEELS[*]} from PyPI; install the toolkit's cuBLAS, cuRAND and NCCL development files instead."
      touch "$CUDA_LIBS/.complete"
    fi
    # One folder with every library under its versioned name (what the loader asks for, here
    # and for cuBLAS's own cublasLt) and its unversioned one (what the linker asks for).
    mkdir -p "$CUDA_LIBS/lib"
    for lib in "$CUDA_LIBS"/nvidia/cu13/lib/*.so.* "$CUDA_LIBS"/nvidia/nccl/lib/*.so.*; do
      ln -sfn "$lib" "$CUDA_LIBS/lib/$(basename "$lib")"
      ln -sfn "$lib" "$CUDA_LIBS/lib/$(basename "${lib%%.so.*}").so"
    done
    # FindCUDA resets CUDA_cublas_LIBRARY and friends; its second search takes this path.
    CMAKE_FLAGS+=(-DCMAKE_LIBRARY_PATH="$CUDA_LIBS/lib"
                  -DNCCL_INCLUDE_DIR="$CUDA_LIBS/nvidia/nccl/include"
                  -DNCCL_LIBRARIES="$CUDA_LIBS/lib/libnccl.so"
                  -DCMAKE_CXX_FLAGS="-I$CUDA_LIBS/nvidia/cu13/include"
                  -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$CUDA_LIBS/lib"
                  -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-rpath-link,$CUDA_LIBS/lib"
                  -DCUDA_NVCC_FLAGS="-I$CUDA_LIBS/nvidia/cu13/include;-I$CUDA_LIBS/nvidia/nccl/include")
  fi
else
  CMAKE_FLAGS+=(-DCPU_ONLY=ON)
fi

# ---- the source -----------------------------------------------------------------------------
source "$(dirname "${BASH_SOURCE[0]}")/debian_apt.sh"

# The two files of Debian's source package, by their pool path: from this machine's mirror, else
# from Debian's archives of retired releases (tools/setup/debian_apt.sh), each checked by sha256.
fetch_debian_source() {
  FETCH_PYTHON=$PYTHON fetch_from_pools "$CACHE/src" c/caffe \
    "$ORIG_TARBALL" "$ORIG_SHA256" "$DEBIAN_TARBALL" "$DEBIAN_SHA256" \
    || die "could not fetch $ORIG_TARBALL and $DEBIAN_TARBALL (Debian's caffe $DEB_VERSION, $DEB_SUITE) from $(debian_pools | sed 's/ /, /g'); download BVLC's Caffe at commit 99bd997 and run again with CAFFE_SRC=/path/to/that/tree."
}

tree_sha256() {  # directory: a content hash that ignores build outputs and VCS data
  tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
      --exclude=.git --exclude=./build --exclude='./.build_*' -cf - . | sha256sum | cut -d' ' -f1
}

# Debian's patches: from its tarball, or, beside a tree of the user's (which needs no download),
# the copy of them in caffe_patches/debian/ (tests/test_caffe_build.py: equal to the tarball's).
if [[ -n "${CAFFE_SRC:-}" ]]; then
  [[ -f "$CAFFE_SRC/include/caffe/caffe.hpp" ]] || die "CAFFE_SRC=$CAFFE_SRC is not a Caffe source tree (no include/caffe/caffe.hpp)."
  SRC_ID="tree:$(tree_sha256 "$CAFFE_SRC")"
  DEBIAN_PATCHES_ID="copy:$(cat "$PATCH_DIR"/debian/* | sha256sum | cut -d' ' -f1)"
else
  fetch_debian_source
  SRC_ID="debian:$ORIG_SHA256"
  DEBIAN_PATCHES_ID=$DEBIAN_SHA256
fi

# FETCH_ONLY=1: the source fetched and checked, nothing built (tests/tools/test_caffe_source.py).
[[ "${FETCH_ONLY:-0}" == 1 ]] && { say "source ready in $CACHE/src"; exit 0; }

# ---- the cache key: source, patch sets, flags, interpreter, numpy, compiler -----------------
# Patches only the CUDA build needs (today's CUDA removed what they replace).
EXTRA_PATCHES=()
[[ "$CUDA" == 1 ]] && EXTRA_PATCHES=("$PATCH_DIR"/cuda/*.patch)
# ... and those only the portable build needs (it leaves out what they guard).
[[ "$PORTABLE" == 1 ]] && EXTRA_PATCHES+=("$PATCH_DIR"/portable/*.patch)
KEY_TEXT=$(printf '%s\n' "source $SRC_ID" "debian-patches $DEBIAN_PATCHES_ID" \
  "patches $(cat "$PATCH_DIR"/*.patch "${EXTRA_PATCHES[@]}" | sha256sum | cut -d' ' -f1)" \
  "flags ${CMAKE_FLAGS[*]}" "python $PY_VERSION $PY_PREFIX" "numpy $NUMPY_VERSION" \
  "compiler $(c++ -dumpfullversion 2>/dev/null || c++ --version | head -n 1)")
# (The wheels' pins are in their folder's name, which the flags carry.)
[[ "$CUDA" == 1 ]] && KEY_TEXT+=$'\n'"nvcc $("$CUDA_ROOT/bin/nvcc" --version | tail -n 1)"
KEY=$([[ "$CUDA" == 1 ]] && echo cuda || echo cpu)-$(sha256sum <<<"$KEY_TEXT" | cut -c1-16)
PREFIX=$CACHE/$KEY
LOG=$CACHE/logs/$KEY.log
mkdir -p "$CACHE/logs"

link_into_venv() {
  local venv site
  venv=$("$PYTHON" -c 'import sys; print(sys.prefix)')
  site=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$PREFIX/lib/python3/dist-packages" >"$site/caffe.pth"
  for tool in "$PREFIX"/bin/*; do ln -sfn "$tool" "$venv/bin/$(basename "$tool")"; done
  say "pycaffe on $venv via $site/caffe.pth; $(ls "$PREFIX/bin" | wc -l) Caffe tools linked into $venv/bin"
}

exec 9>"$CACHE/$KEY.lock"
flock 9
if [[ -f "$PREFIX/BUILD-INFO.txt" ]]; then
  say "cached build $PREFIX"
  link_into_venv
  exit 0
fi

# ---- build ----------------------------------------------------------------------------------
apply_patch() {  # tree patchfile: applies once; a patch already in the tree is skipped
  if patch -d "$1" -p1 -R -f -s --dry-run <"$2" >/dev/null 2>&1; then
    echo "patch $(basename "$2"): already applied"
  else
    patch -d "$1" -p1 -f -N <"$2"
  fi
}

# Each step ends the build on failure: errexit does not hold inside a function run as a condition.
build() {
  local tree=$PREFIX/source p
  rm -rf "$PREFIX" && mkdir -p "$tree" "$PREFIX/build" || return
  if [[ -n "${CAFFE_SRC:-}" ]]; then
    tar -C "$CAFFE_SRC" --exclude=.git --exclude=./build --exclude='./.build_*' -cf - . | tar -C "$tree" -xf - || return
  else
    tar -C "$tree" -xzf "$CACHE/src/$ORIG_TARBALL" || return
  fi
  if [[ -n "${CAFFE_SRC:-}" ]]; then
    mkdir -p "$PREFIX/debian" && cp -r "$PATCH_DIR/debian" "$PREFIX/debian/patches" || return
  else
    tar -C "$PREFIX" -xJf "$CACHE/src/$DEBIAN_TARBALL" || return
  fi
  while read -r p; do
    [[ -z "$p" || "$p" == \#* ]] || apply_patch "$tree" "$PREFIX/debian/patches/$p" || return
  done <"$PREFIX/debian/patches/series"
  for p in "$PATCH_DIR"/*.patch "${EXTRA_PATCHES[@]}"; do apply_patch "$tree" "$p" || return; done
  # The venv's interpreter finds numpy's headers; it stays out of the key (which names the base
  # interpreter and numpy's version), so every clone's venv on this machine shares one build.
  cmake -S "$tree" -B "$PREFIX/build" -DCMAKE_INSTALL_PREFIX="$PREFIX" "${CMAKE_FLAGS[@]}" \
        -DPYTHON_EXECUTABLE="$PYTHON" || return
  cmake --build "$PREFIX/build" -j "$JOBS" || return
  cmake --install "$PREFIX/build" || return
  # Caffe's CMake quietly skips pycaffe when boost-python for this Python is missing.
  [[ -e "$PREFIX/lib/python3/dist-packages/caffe/_caffe.so" ]] \
    || { echo "error: pycaffe was not built: no boost-python for Python $PY_MAJMIN (Debian: libboost-python-dev of a release whose python3 is $PY_MAJMIN)"; return 1; }
}

say "building Caffe ($KEY) with $JOBS jobs; log: $LOG"
start=$(date +%s)
if ! build >"$LOG" 2>&1; then
  echo "build_caffe: error: the Caffe build failed; full log: $LOG" >&2
  grep -nE '(error|Error|ERROR)[: ]' "$LOG" | tail -n 15 >&2 || tail -n 15 "$LOG" >&2
  exit 1
fi
rm -rf "$PREFIX/build" "$PREFIX/debian" "$PREFIX/source"
printf '%s\nbuilt %s in %ss\n' "$KEY_TEXT" "$(date -u +%FT%TZ)" "$(($(date +%s) - start))" >"$PREFIX/BUILD-INFO.txt"
say "built in $(($(date +%s) - start)) s into $PREFIX"
link_into_venv
