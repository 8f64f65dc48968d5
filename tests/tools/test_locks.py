"""One writer at a time, between two real processes: a second extraction into a store, a second
training into a run folder and a second test into a score file are refused at once, in one
sentence naming the first; the first, paused while it held its lock (SIGSTOP) and let go,
finishes unharmed. The lock goes with its process: a killed writer leaves none."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data_prep.lock import held
from data_prep.datasets.synthetic import SyntheticConfig, make_synthetic

pytestmark = pytest.mark.slow  # end to end: `make test-fast` leaves it out

ROOT = Path(__file__).resolve().parents[2]
NET = "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"
TINY = ["--iters", "6", "--width", "0.125", "--input-size", "48", "--batch-size", "4",
        "--workers", "0", "--test-interval", "100", "--snapshot-every", "2", "--display", "1"]


def start(*argv) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True)


def paused_holding(process: subprocess.Popen, lock: Path, timeout: float = 120) -> str:
    """Waits until `process` holds `lock` (its pid written in it), then stops it there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = lock.read_text() if lock.exists() else ""
        if text.startswith(f"process {process.pid} "):
            os.kill(process.pid, signal.SIGSTOP)
            return text
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    raise AssertionError(f"{lock} never held by {process.pid}")


def finish(process: subprocess.Popen) -> tuple[int, str]:
    os.kill(process.pid, signal.SIGCONT)
    _, err = process.communicate(timeout=300)
    return process.returncode, err


def refusal(what: str, holder: str) -> str:
    return f"{what} is being written by {holder}; wait for it to end (or stop it), then run again."


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic(root, SyntheticConfig(ucf_clips_per_group=1, hmdb_clips_per_class=3))
    return root / "ucf101"


def test_a_second_extraction_is_refused_while_the_first_writes_the_store(dataset, tmp_path):
    store = tmp_path / "store"
    first = start("tools/extract.py", "--dataset", "ucf101", "--root", str(dataset), "--out",
                  str(store), "--short-side", "64", "--quiet")
    holder = paused_holding(first, store / "write.lock")
    second = run("tools/extract.py", "--dataset", "ucf101", "--root", str(dataset), "--out",
                 str(store), "--short-side", "96", "--quiet")
    assert second.returncode == 2
    assert second.stderr.strip() == "extract: " + refusal(f"the store {store}", holder)
    assert finish(first)[0] == 0
    from data_prep.store import stored_settings
    assert stored_settings(store)["short_side"] == 64
    again = run("tools/extract.py", "--dataset", "ucf101", "--root", str(dataset), "--out",
                str(store), "--short-side", "64", "--quiet")
    assert again.returncode == 0 and "0 stored, 80 already there" in again.stderr


@pytest.fixture(scope="module")
def store(dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("stores") / "ucf101"
    done = run("tools/extract.py", "--dataset", "ucf101", "--root", str(dataset), "--out",
               str(folder), "--short-side", "64", "--method", "farneback", "--quiet")
    assert done.returncode == 0, done.stderr
    return folder


def test_a_second_training_into_a_run_folder_is_refused(store, tmp_path):
    runs = tmp_path / "runs"
    folder = runs / "ucf101" / f"{NET}_split1"
    args = ["tools/train_net.py", "--stream", "temporal", "--method", "farneback", "--store",
            f"ucf101={store}", "--runs", str(runs), *TINY]
    first = start(*args)
    holder = paused_holding(first, folder / "train.lock")
    second = run(*args, "--seed", "1")
    assert second.returncode == 2
    assert second.stderr.strip() == "train_net: " + refusal(f"the run folder {folder}", holder)
    code, err = finish(first)
    assert code == 0, err[-1500:]
    record = json.loads((folder / "config.json").read_text())
    assert record["seed"] == 0
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in rows if "loss" in r] == [1, 2, 3, 4, 5, 6]


def test_a_second_test_into_a_score_file_is_refused(store, tmp_path):
    runs = tmp_path / "runs"
    trained = run("tools/train_net.py", "--stream", "temporal", "--method", "farneback",
                  "--store", f"ucf101={store}", "--runs", str(runs), *TINY)
    assert trained.returncode == 0, trained.stderr[-1500:]
    folder = runs / "ucf101" / f"{NET}_split1"
    out = tmp_path / "scores"
    args = ["tools/score_net.py", "--run", str(folder), "--out", str(out), "--quiet"]
    first = start(*args)
    path = out / "ucf101" / f"{NET}_split1_test.h5"
    holder = paused_holding(first, path.with_name(path.name + ".lock"))
    second = run(*args)
    assert second.returncode == 2
    assert second.stderr.strip() == "score_net: " + refusal(f"the score file {path}", holder)
    assert finish(first)[0] == 0 and path.is_file()


def test_a_killed_writer_leaves_no_lock(tmp_path):
    lock = tmp_path / "write.lock"
    holder = start("-c", "import sys, time\nfrom pathlib import Path\n"
                   "from data_prep.lock import held\n"
                   f"with held(Path({str(lock)!r}), 'x', RuntimeError):\n"
                   "    print('held', flush=True); time.sleep(60)")
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RuntimeError, match=f"x is being written by process {holder.pid} "):
        with held(lock, "x", RuntimeError):
            pass
    holder.kill()
    holder.wait()
    with held(lock, "x", RuntimeError):
        assert lock.read_text().startswith(f"process {os.getpid()} (")
