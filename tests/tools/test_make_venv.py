"""The venv's interpreter (tools/setup/make_venv.sh): the machine's python3 or PYTHON=, 3.11 or
newer; an older one is refused in one sentence naming what is supported, before the venv is
touched; pyproject.toml says the same."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OLDER = sorted(Path("~/.pyenv/versions").expanduser().glob("3.[0-9].*/bin/python3.[0-9]")) + \
    sorted(Path("~/.pyenv/versions").expanduser().glob("3.10.*/bin/python3.10"))


def test_pyproject_asks_for_3_11_or_newer_and_this_venv_is():
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()
    assert sys.version_info[:2] >= (3, 11)
    if Path(sys.prefix) == ROOT / ".venv":  # the project's venv, not a conda env's
        made_from = (ROOT / ".venv" / ".made-from").read_text()
        assert made_from.startswith("pyproject ") and f" {sys.version.split()[0]}\n" in made_from


@pytest.mark.skipif(not OLDER, reason="no Python older than 3.11 on this machine")
def test_an_older_python_is_refused_in_one_sentence_before_the_venv_is_touched():
    stamp = ROOT / ".venv" / ".made-from"
    before = stamp.read_text() if stamp.exists() else None
    result = subprocess.run(["bash", "tools/setup/make_venv.sh"], cwd=ROOT, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "PYTHON": str(OLDER[-1])})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        f"make_venv: error: '{OLDER[-1]}' is Python 3.")
    assert "the project needs Python 3.11 or newer (measured on 3.11 (Debian 12) and 3.13 " \
        "(Debian 13)); set PYTHON=" in result.stderr
    assert (stamp.read_text() if stamp.exists() else None) == before


def test_a_missing_python_says_what_to_install():
    result = subprocess.run(["bash", "tools/setup/make_venv.sh"], cwd=ROOT, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "PYTHON": "python3.99"})
    assert result.returncode == 1
    assert result.stderr == ("make_venv: error: no 'python3.99' on PATH; install Python 3.11 or "
                             "newer (Debian: python3 python3-venv python3-dev) or set "
                             "PYTHON=/path/to/python3.\n")
