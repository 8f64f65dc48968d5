"""Runs a command on one free GPU of a list: the workflow's local jobs, one GPU a job.

    python tools/gpu_slot.py --gpus 0,1,2,3 --locks runs/paper/gpus -- python tools/score_net.py ... --gpu 0

Holds an exclusive lock on LOCKS/gpu{id}.lock for the command's lifetime (the lock goes with the
process, however it ends), waits while every GPU is held, and gives the command that GPU alone
(CUDA_VISIBLE_DEVICES), so that it addresses it as device 0.

Exit code: the command's; 2 refused.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import subprocess
import time
from pathlib import Path

from tools import flags


def gpu_ids(text: str) -> list[str]:
    ids = [g for g in text.split(",") if g]
    if not ids:
        raise argparse.ArgumentTypeError("give GPU ids, e.g. 0,1")
    for g in ids:
        flags.index(g)
    return ids


def hold_free_gpu(ids: list[str], locks: Path, wait: float = 2.0):
    """(id, open lock file) of the first GPU no other holder has; waits for one."""
    locks.mkdir(parents=True, exist_ok=True)
    while True:
        for gpu in ids:
            handle = open(locks / f"gpu{gpu}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            return gpu, handle
        time.sleep(wait)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=gpu_ids, required=True)
    parser.add_argument("--locks", type=flags.output_folder, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    gpu, handle = hold_free_gpu(args.gpus, args.locks)
    with handle:
        name = next((Path(a).name for a in command if a.endswith(".py")), Path(command[0]).name)
        print(f"gpu_slot: GPU {gpu} for {name}", flush=True)
        return subprocess.call(command, env={**os.environ, "CUDA_VISIBLE_DEVICES": gpu})


if __name__ == "__main__":
    raise SystemExit(main())
