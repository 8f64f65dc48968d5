#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that building BVLC Caffe 1.0 and the project's venv need.
# Idempotent: asks apt only for what dpkg says is missing, so a second run takes a second.
# Elsewhere (no apt-get, or neither root nor sudo) it stops with one sentence pointing to conda.
set -euo pipefail

# Build dependencies of Caffe's CMake build (CPU), as measured in shared/BUILD-NOTES.md,
# plus dpkg-dev (dpkg-source unpacks Debian's source package) and the venv's needs.
PACKAGES=(
  build-essential cmake pkg-config dpkg-dev ca-certificates
  libboost-dev libboost-filesystem-dev libboost-system-dev libboost-thread-dev libboost-python-dev
  libgflags-dev libgoogle-glog-dev libhdf5-dev libleveldb-dev liblmdb-dev libsnappy-dev
  libopenblas-dev libopencv-dev libprotobuf-dev libprotoc-dev protobuf-compiler
  python3-dev python3-venv patchelf
  # a single-node SLURM for the workflow's test (tests/workflow/conftest.py starts and stops it)
  slurm-wlm munge
)

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install_system_packages: this is not a Debian/Ubuntu system; create the build environment from environment.yml (conda env create -f environment.yml), then run 'make caffe'." >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install_system_packages: all ${#PACKAGES[@]} system packages present"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install_system_packages: missing ${missing[*]}; run this as root or install sudo (or use environment.yml with conda)." >&2
    exit 1
  fi
fi

echo "install_system_packages: installing ${#missing[@]} missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install_system_packages: done"
