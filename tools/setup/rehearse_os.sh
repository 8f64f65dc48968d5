#!/usr/bin/env bash
# The README's commands rehearsed on another Debian release, as a new user would run them: a
# minimal Debian root made with debootstrap (git, make and CA certificates, nothing else), a
# fresh clone of this repository in it, then `make setup`, `make test-fast` and `make demo`,
# each timed, and the demo's table printed.
#
#   make rehearse-os [SUITE=trixie|bookworm|forky]   -> runs/rehearse-os/{suite}/
#
# Runs as root (debootstrap, chroot, mounts). The bare root is cached beside the Caffe builds,
# keyed by its suite and packages, and copied afresh for each rehearsal, so every one starts from
# a machine that has never built anything. The chroot takes the host's network, its locally
# added CA certificates (a network that intercepts HTTPS needs them) and nothing else of the
# host's environment. Takes tens of minutes; not part of make test. docs/setup.md has the figures.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${CAFFE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/two-stream-caffe}
SUITE=${SUITE:-trixie}
STEPS=${STEPS:-setup test-fast demo}
DEBS=git,make,ca-certificates
RESULTS=$ROOT/runs/rehearse-os/$SUITE

say() { echo "rehearse_os: $*"; }
die() { echo "rehearse_os: error: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (debootstrap, chroot and mounts); run it as root."
case $SUITE in
  bookworm|trixie|forky|sid) ;;
  *) die "SUITE=$SUITE: rehearsed are bookworm (Debian 12), trixie (13), forky (14, testing) and sid." ;;
esac
source "$ROOT/tools/setup/debian_apt.sh"

# ---- the bare root, cached ------------------------------------------------------------------
command -v debootstrap >/dev/null || { say "installing debootstrap"; apt-get install -y -qq debootstrap >/dev/null; }
# A release newer than this debootstrap knows is made with sid's script (Debian's own advice).
script=$SUITE
[[ -e /usr/share/debootstrap/scripts/$SUITE ]] || script=sid
KEY=$(printf '%s\n' "$SUITE" "$DEBS" "$script" | sha256sum | cut -c1-12)
BASE=$CACHE/os-root-$SUITE-$KEY
if [[ ! -f "$BASE/.complete" ]]; then
  mirror=$(debian_mirror)
  [[ -n "$mirror" ]] || die "found no Debian mirror in /etc/apt/sources.list* for debootstrap."
  say "a minimal Debian $SUITE in $BASE (from $mirror)"
  rm -rf "$BASE"
  start=$(date +%s)
  debootstrap --variant=minbase --include="$DEBS" "$SUITE" "$BASE" "$mirror" \
    "/usr/share/debootstrap/scripts/$script" >"$CACHE/os-root-$SUITE.log" 2>&1 \
    || die "debootstrap failed; its log: $CACHE/os-root-$SUITE.log"
  say "debootstrap: $(($(date +%s) - start)) s"
  touch "$BASE/.complete"
fi

# ---- a fresh copy, this repository cloned into it -------------------------------------------
FS=$CACHE/os-rehearsal-$SUITE
mounts=()
cleanup() { local m; for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
for m in dev/shm dev sys proc; do umount -l "$FS/$m" 2>/dev/null || true; done
# Never delete through a mount left by an earlier rehearsal (its /dev is the host's).
! grep -q " $FS/" /proc/mounts || die "$FS still has mounts (see /proc/mounts); unmount them first."
rm -rf "$FS"
cp -a "$BASE" "$FS"
git clone -q --no-local "$ROOT" "$FS/root/two-stream" || die "git clone of $ROOT failed."
say "cloned $(git -C "$FS/root/two-stream" log -1 --format='%h %s' | cut -c1-80)"
cp /etc/resolv.conf "$FS/etc/resolv.conf"
# A mirror that serves a frozen copy of the archive serves testing's Release files past their
# Valid-Until date; apt in the root accepts them (the machine's own apt is not touched).
echo 'Acquire::Check-Valid-Until "false";' >"$FS/etc/apt/apt.conf.d/99rehearsal-valid-until"
# No service starts inside the root (munge and slurm's packages would start their daemons).
printf '#!/bin/sh\nexit 101\n' >"$FS/usr/sbin/policy-rc.d" && chmod +x "$FS/usr/sbin/policy-rc.d"
if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
  cp -r /usr/local/share/ca-certificates/. "$FS/usr/local/share/ca-certificates/"
  chroot "$FS" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the root."
fi
mount -t proc proc "$FS/proc" && mounts+=("$FS/proc")
mount --bind /sys "$FS/sys" && mounts=("$FS/sys" "${mounts[@]}")
mount --bind /dev "$FS/dev" && mounts=("$FS/dev" "${mounts[@]}")
mount -t tmpfs -o size=4g tmpfs "$FS/dev/shm" && mounts=("$FS/dev/shm" "${mounts[@]}")

# ---- the README's commands, each timed ------------------------------------------------------
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
in_root() {  # command: run in the clone, with a clean environment as a new login has
  chroot "$FS" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "cd /root/two-stream && $1"
}
facts=$(in_root '. /etc/os-release; echo "$PRETTY_NAME"')
say "$facts"
summary=()
rc=0
for step in $STEPS; do
  say "make $step ..."
  start=$(date +%s)
  if in_root "make $step" >"$RESULTS/$step.log" 2>&1; then status=passed; else status=FAILED; rc=1; fi
  seconds=$(($(date +%s) - start))
  summary+=("make $step: $status in $seconds s")
  say "make $step: $status in $seconds s (log $RESULTS/$step.log)"
  [[ $status == passed ]] || { tail -n 20 "$RESULTS/$step.log"; break; }
done
in_root '.venv/bin/python -V 2>&1; gcc --version | head -n 1' >"$RESULTS/versions.txt" 2>&1 || true
if [[ -f "$FS/root/two-stream/runs/demo/report.md" ]]; then
  cp "$FS/root/two-stream/runs/demo/report.md" "$FS/root/two-stream/runs/demo/results.json" "$RESULTS/"
  say "the demo's table:"
  sed -n '/^|/p' "$RESULTS/report.md" | head -n 20
fi
{ echo "$facts"; cat "$RESULTS/versions.txt"; printf '%s\n' "${summary[@]}"; } >"$RESULTS/summary.txt"
say "$([[ $rc == 0 ]] && echo passed || echo FAILED) on $facts: $(printf '%s; ' "${summary[@]}")"
exit $rc
