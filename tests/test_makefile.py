"""The Makefile: `make help` is made from the targets' own "## " lines and names every target a
user runs; the train-%, eval-% and bench-% pattern rules reach the tools with the right flags."""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INTERNAL = {"system", "venv", "caffe"}  # steps of `make setup`


def make(*args: str) -> str:
    result = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def phony_targets() -> set[str]:
    database = make("-pn", "help")
    line = next(line for line in database.splitlines() if line.startswith(".PHONY:"))
    return set(line.split(":", 1)[1].split()) - INTERNAL


def test_help_names_every_target_a_user_runs():
    listed = set(re.findall(r"(?:make |\| )([a-z]+(?:-[a-z]+)?)", make("help")))
    targets = phony_targets()
    assert {"demo", "test", "train-temporal", "eval-multitask", "bench-flow", "fuse"} <= targets
    assert targets - listed == set()


def test_pattern_rules_pass_the_stream_and_the_bench_name():
    assert "tools/train_net.py --dataset hmdb51 --split 2" in make("-n", "train-multitask",
                                                                   "DATASET=hmdb51", "SPLIT=2")
    assert make("-n", "train-multitask", "DATASET=hmdb51").rstrip().endswith("--stream multitask")
    assert make("-n", "eval-spatial").rstrip().endswith("--subset test     --stream spatial")
    assert make("-n", "bench-train").rstrip().endswith("tools/bench_train.py")
