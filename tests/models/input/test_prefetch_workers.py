"""Data workers under every start method (models/input/prefetch.py, data_prep/processes.py): a
short training runs with its workers started by fork, forkserver and spawn (forkserver by
default, on every Python), and no exit leaves shared memory or a semaphore behind in /dev/shm
or a resource_tracker warning: a normal end, a refusal, and a terminal's Ctrl-C."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

TRAINING = textwrap.dedent("""
    import logging, multiprocessing, os, sys
    from pathlib import Path
    from data_prep import processes
    from models.nets.paper_nets import paper_nets
    from models.train.loop import Stopped, train
    from models.train.run_config import RunConfig

    method, store, runs, iters = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])


    def naming(cls, name_of):
        # Each shared memory block and named semaphore this process makes, said on stdout.
        made = cls.__init__

        def init(self, *args, **kwargs):
            made(self, *args, **kwargs)
            if name_of(self):
                print("made /dev/shm/" + name_of(self), flush=True)
        cls.__init__ = init


    if __name__ == "__main__":
        from multiprocessing import shared_memory, synchronize
        naming(shared_memory.SharedMemory,
               lambda m: m._name.lstrip("/") if m._flags & os.O_CREAT else None)
        naming(synchronize.SemLock,
               lambda s: "sem." + s._semlock.name.lstrip("/") if s._semlock.name else None)
        logging.basicConfig(level=logging.INFO)
        if method != "default":
            processes.START_METHOD = method
        else:  # as tqdm does: a lock of the default context, which fixes its start method
            multiprocessing.RLock()
        net = next(n for n in paper_nets()
                   if n.name == "ucf101_temporal_flow-L5-meansub_scratch_drop0.9")
        config = RunConfig(net=net, split=1, stores={"ucf101": store}, splits={"ucf101": 1},
                           runs=runs, method="farneback", iters=iters, width=0.125, input_size=48,
                           batch_size=8, workers=2, display=1, test_interval=iters, test_iter=1,
                           snapshot_every=iters)
        print("workers start by", processes.start_context().get_start_method(), flush=True)
        try:
            print("trained to", train(config), flush=True)
        except Stopped as stopped:
            sys.exit(f"stopped: {stopped}")
""")


def made(output: str) -> list[Path]:
    """What the training said it made in /dev/shm (other processes on the machine make and
    remove their own: only the training's are counted)."""
    return [Path(line.split(" ", 1)[1]) for line in output.splitlines()
            if line.startswith("made ")]


def run_training(method, store, runs, iters=4):
    return subprocess.run([sys.executable, "-c", TRAINING, method, str(store), str(runs),
                           str(iters)], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("method", ["default", "fork", "forkserver", "spawn"])
def test_a_short_training_runs_under_each_start_method_and_leaves_nothing(
        method, synthetic_store, tmp_path):
    result = run_training(method, synthetic_store, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = "forkserver" if method == "default" else method
    assert f"workers start by {expected}\n" in result.stdout
    assert "trained to 4\n" in result.stdout
    assert "resource_tracker" not in result.stderr and "leaked" not in result.stderr
    if method != "fork":
        assert "fork() may lead to deadlocks" not in result.stderr
    shm = made(result.stdout)
    assert len(shm) >= 2 and not [p for p in shm if p.exists()]  # a block a worker at least


def test_a_refused_training_leaves_nothing(synthetic_store, tmp_path):
    first = run_training("default", synthetic_store, tmp_path)
    # The same folder again, with neither resume nor fresh: refused before any work.
    result = run_training("default", synthetic_store, tmp_path)
    assert result.returncode == 1 and "holds a run" in result.stderr
    assert "resource_tracker" not in result.stderr
    assert made(result.stdout) == [] and not [p for p in made(first.stdout) if p.exists()]


def test_ctrl_c_in_a_terminal_stops_workers_quietly_and_leaves_nothing(synthetic_store, tmp_path):
    process = subprocess.Popen([sys.executable, "-c", TRAINING, "default", str(synthetic_store),
                                str(tmp_path), "100000"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob("ucf101/*_split1/metrics.jsonl")):
        time.sleep(0.1)
    assert list(tmp_path.glob("ucf101/*_split1/metrics.jsonl")), "the training never started"
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole process group
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1 and "stopped: SIGINT at iteration " in stderr
    assert "KeyboardInterrupt" not in stderr and "Traceback" not in stderr, stderr[-3000:]
    assert "resource_tracker" not in stderr
    shm = made(stdout)
    assert len(shm) >= 2 and not [p for p in shm if p.exists()]
