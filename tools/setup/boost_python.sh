#!/usr/bin/env bash
# Boost.Python for the interpreter that will import pycaffe: the one owner of that choice and of
# that build (tools/setup/build_caffe.sh and tools/gpu/gpu_kit.sh both ask here).
#
#   PYTHON=/path/to/python bash tools/setup/boost_python.sh
#       prints the folder holding libboost_pythonXY.so to link, or nothing when the system's fits
#
# A distribution builds libboost_pythonXY.so for its own Python X.Y; any interpreter of the same
# X.Y (a pyenv or python.org build of it) shares that ABI and uses it. For another X.Y (a pyenv,
# conda or python.org Python beside the system's) Boost.Python is compiled here, from the source
# of the Boost whose headers Caffe compiles against (the distribution's source package, through
# apt) with Debian's patches to Boost.Python, into the cache, keyed by Boost's source and the
# Python; a second call takes it in a second. docs/setup.md: "Boost.Python".
#
# Environment: PYTHON; CAFFE_CACHE, CAFFE_JOBS. For a build that must not follow the machine
# (the GPU kit's, carried elsewhere): BOOST_PYTHON_BUILD=1 (built even where the system has one)
# and the pins BOOST_SOURCE (package=version), BOOST_SUITE, BOOST_ORIG_SHA256, BOOST_DEBIAN_SHA256.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${CAFFE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/two-stream-caffe}
JOBS=${CAFFE_JOBS:-$(nproc)}

say() { echo "boost_python: $*" >&2; }
die() { echo "boost_python: error: $*" >&2; exit 1; }
source "$HERE/debian_apt.sh"

[[ -n "${PYTHON:-}" && -x "$PYTHON" ]] || die "set PYTHON to the interpreter pycaffe is built for."
read -r MAJMIN INCLUDE PY_PREFIX <<<"$("$PYTHON" -c 'import sys, sysconfig
print(f"{sys.version_info[0]}.{sys.version_info[1]}", sysconfig.get_paths()["include"], sys.base_prefix)')"
XY=${MAJMIN/./}
LIB=libboost_python$XY.so

# ---- the system's, when it is for this X.Y ----------------------------------------------------
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || true)
SEARCH=("/usr/lib/$MULTIARCH" /usr/lib /usr/local/lib)
# A conda env's own Boost (environment.yml) is its system.
[[ -n "${CONDA_PREFIX:-}" && "$PY_PREFIX" == "$CONDA_PREFIX"* ]] && SEARCH=("$CONDA_PREFIX/lib" "${SEARCH[@]}")
for dir in "${SEARCH[@]}"; do
  [[ "${BOOST_PYTHON_BUILD:-0}" != 1 && -e "$dir/$LIB" ]] && exit 0
done

# ---- else built here, from the source of the Boost this machine's headers are ---------------
if [[ -z "${BOOST_SOURCE:-}" ]]; then
  headers=$(dpkg-query -S /usr/include/boost/version.hpp 2>/dev/null | cut -d: -f1 | head -n 1) || true
  [[ -n "$headers" ]] || die "no $LIB for Python $MAJMIN and no Debian Boost headers to build one from; install Boost.Python for Python $MAJMIN (conda: libboost-python-devel), make the venv from the system's python3, or set BOOST_PYTHON_LIBDIR to a folder holding $LIB."
  BOOST_SOURCE=$(dpkg-query -W -f='${source:Package}=${source:Version}' "$headers")
  BOOST_SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi
package=${BOOST_SOURCE%%=*} version=${BOOST_SOURCE#*=}
upstream=${version#*:}; upstream=${upstream%-*}
release=$(grep -oE '^[0-9]+\.[0-9]+\.[0-9]+' <<<"$upstream")
src=$CACHE/src/$package-$version
if ! ls "$src"/*.debian.tar.* >/dev/null 2>&1 || ! ls "$src"/*.orig.tar.* >/dev/null 2>&1; then
  debian_source "$CACHE/apt-${BOOST_SUITE:-stable}" "$src" "${BOOST_SUITE:-stable}" "$BOOST_SOURCE" >&2 \
    || die "could not fetch $BOOST_SOURCE's source from this machine's Debian mirror; install Boost.Python for Python $MAJMIN or set BOOST_PYTHON_LIBDIR to a folder holding $LIB."
fi
ORIG=$(ls "$src"/"${package}_${upstream}".orig.tar.* | head -n 1)
DEBIAN=$(ls "$src"/"${package}_${version#*:}".debian.tar.* | head -n 1)
[[ -z "${BOOST_ORIG_SHA256:-}" ]] || verify_sha256 "$ORIG" "$BOOST_ORIG_SHA256"
[[ -z "${BOOST_DEBIAN_SHA256:-}" ]] || verify_sha256 "$DEBIAN" "$BOOST_DEBIAN_SHA256"

# Debian's patches that change Boost.Python alone (every file they touch under libs/python/).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xf "$DEBIAN" debian/patches
PATCHES=()
while read -r p; do
  [[ -z "$p" || "$p" == \#* ]] && continue
  targets=$(grep -E '^\+\+\+ ' "$work/debian/patches/$p" | awk '{print $2}' | sed 's#^[^/]*/##' | sort -u)
  [[ -n "$targets" ]] && ! grep -qv '^libs/python/' <<<"$targets" && PATCHES+=("$p")
done <"$work/debian/patches/series"

KEY=$(printf '%s\n' "$(sha256sum "$ORIG" | cut -d' ' -f1)" "$(sha256sum "$DEBIAN" | cut -d' ' -f1)" \
  "${PATCHES[*]}" "$("$PYTHON" -V)" "$(c++ -dumpfullversion)" | sha256sum | cut -c1-12)
BP=$CACHE/boost-python$MAJMIN-$KEY
if [[ ! -f "$BP/lib/$LIB" ]]; then
  say "building Boost.Python $release ($BOOST_SOURCE) for $("$PYTHON" -V) into $BP"
  [[ -f "$INCLUDE/Python.h" ]] || die "$PYTHON has no Python.h; install its headers (Debian: python$MAJMIN-dev)."
  rm -rf "$BP" && mkdir -p "$BP/obj" "$BP/lib" "$work/boost"
  tar -C "$work/boost" --strip-components=1 --wildcards -xf "$ORIG" '*/libs/python/*'
  for p in "${PATCHES[@]}"; do patch -d "$work/boost" -p1 -s <"$work/debian/patches/$p"; done
  find "$work/boost/libs/python/src" -maxdepth 2 -name '*.cpp' -not -path '*/numpy/*' \
    | xargs -P "$JOBS" -I{} sh -c 'g++ -O2 -fPIC -DNDEBUG -DBOOST_PYTHON_SOURCE -DBOOST_BIND_GLOBAL_PLACEHOLDERS \
        -I"$1/boost/libs/python/include" -I"$2" -w -c "{}" -o "$3/obj/$(echo "{}" | md5sum | cut -c1-12).o"' \
        _ "$work" "$INCLUDE" "$BP" || die "compiling Boost.Python failed."
  g++ -shared -o "$BP/lib/$LIB.$release" -Wl,-soname,"$LIB.$release" "$BP"/obj/*.o
  ln -sfn "$LIB.$release" "$BP/lib/$LIB"
  rm -rf "$BP/obj"
  printf '%s\n' "source $BOOST_SOURCE" "patches ${PATCHES[*]}" "python $("$PYTHON" -V) $PY_PREFIX" \
    "built $(date -u +%FT%TZ)" >"$BP/BUILD-INFO.txt"
fi
echo "$BP/lib"
