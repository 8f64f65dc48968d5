#!/usr/bin/env bash
# The GPU check rehearsed on this CPU machine, in an environment that holds nothing `make setup`
# installed: a minimal Debian root made with debootstrap, holding the Python 3.12 and the Python
# packages a GPU machine needs (docs/gpu.md), entered with chroot and no network. The check
# installs Caffe from the kit alone; the GPU steps run their CPU variants at a small size.
#
#   make gpu-rehearsal     (builds the kit first)  -> runs/bench/gpu-rehearsal/gpu_check.json
#
# Runs as root (debootstrap, chroot, mounts). The root file system is cached beside the Caffe
# builds, keyed by its packages; the tree and the kit are copied in afresh each time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${CAFFE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/two-stream-caffe}
RESULTS=$ROOT/runs/bench/gpu-rehearsal
SUITE=bookworm
# What a bare Debian needs to run a copied CPython 3.12 and the check's shell.
DEBS=make,xz-utils,procps,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,libreadline8,libncursesw6,zlib1g,libexpat1,libuuid1,libgdbm6
# The GPU machines' Python packages (docs/gpu.md), and NVIDIA's runtime wheels that the kit's
# Caffe loads there from the same Python.
WHEELS=(numpy==2.5.2 scipy==1.17.1 scikit-image==0.26.0 h5py==3.16.0
        opencv-python-headless==4.13.0.92 protobuf==7.36.2 tqdm==4.70.1 matplotlib==3.11.2
        scikit-learn==1.9.1 six==1.17.0 nvidia-cuda-runtime==13.0.96 nvidia-cublas==13.0.2.14
        nvidia-curand==10.4.0.35 nvidia-nccl-cu13==2.27.7)

say() { echo "gpu_rehearsal: $*"; }
die() { echo "gpu_rehearsal: error: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (debootstrap, chroot and mounts); run it as root."
source "$ROOT/tools/setup/debian_apt.sh"

# A Python 3.12 install (its prefix), copied in whole: the GPU machines run 3.12.
PY312=${PY312_PREFIX:-$(ls -d "$(pyenv root 2>/dev/null)"/versions/3.12.* 2>/dev/null | head -n 1)}
[[ -x "$PY312/bin/python3.12" ]] || die "no Python 3.12 install to copy in (looked for pyenv's); set PY312_PREFIX to one's prefix."

KEY=$(printf '%s\n' "$SUITE" "$DEBS" "${WHEELS[*]}" "$PY312" | sha256sum | cut -c1-12)
FS=$CACHE/rehearsal-root-$KEY
if [[ ! -f "$FS/.complete" ]]; then
  command -v debootstrap >/dev/null || { say "installing debootstrap"; apt-get install -y -qq debootstrap >/dev/null; }
  mirror=$(debian_mirror)
  [[ -n "$mirror" ]] || die "found no Debian mirror in /etc/apt/sources.list* for debootstrap."
  say "a minimal Debian $SUITE in $FS (from $mirror)"
  rm -rf "$FS"
  debootstrap --variant=minbase --include="$DEBS" "$SUITE" "$FS" "$mirror" >"$CACHE/rehearsal-debootstrap.log" 2>&1 \
    || die "debootstrap failed; its log: $CACHE/rehearsal-debootstrap.log"
  # At the same path: its interpreter finds its libpython by an absolute run path.
  mkdir -p "$FS$(dirname "$PY312")"
  cp -a "$PY312" "$FS$PY312"
  say "the GPU machines' Python packages into its Python 3.12"
  "$PY312/bin/python3.12" -m pip install -q --only-binary=:all: --no-warn-script-location \
    --target "$FS$PY312/lib/python3.12/site-packages" --upgrade "${WHEELS[@]}" \
    || die "pip could not install the rehearsal's packages."
  touch "$FS/.complete"
fi

[[ -f "$ROOT/gpu-kit/two-stream-kit.tar.xz" ]] || die "no kit in gpu-kit/; run make gpu-kit first."
# Nothing of make setup's in there: no Caffe libraries, no venv.
if ls "$FS"/usr/lib/x86_64-linux-gnu/ | grep -qE '^lib(boost|glog|gflags|protobuf|openblas|caffe|lmdb)'; then
  die "$FS holds Caffe's libraries; delete it and run again."
fi

# The tree as git has it, and the kit.
rm -rf "$FS/repo" && mkdir -p "$FS/repo"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$FS/repo" -xf -
cp -a "$ROOT/gpu-kit" "$FS/repo/gpu-kit"

mounts=()
cleanup() { local m; for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
mount -t proc proc "$FS/proc" && mounts+=("$FS/proc")
mount --bind /dev "$FS/dev" && mounts+=("$FS/dev")
mkdir -p "$FS/dev/shm" && mount -t tmpfs -o size=4g tmpfs "$FS/dev/shm" && mounts=("$FS/dev/shm" "${mounts[@]}")

say "running tools/gpu/gpu_check.sh in it, without network (REHEARSAL=1)"
set +e
unshare -n chroot "$FS" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
  PATH="$PY312/bin:/usr/local/bin:/usr/bin:/bin" GPU_PYTHON=python3.12 REHEARSAL=1 \
  BUDGET_S=1200 OUT=/repo/out bash -c 'cd /repo && bash tools/gpu/gpu_check.sh'
rc=$?
set -e
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
cp "$FS"/repo/out/* "$RESULTS/" 2>/dev/null || true
say "$([[ $rc == 0 ]] && echo passed || echo FAILED) (exit $rc); $RESULTS/gpu_check.json, gpu_check.log"
exit $rc
