"""Trains one of the paper's nets with pycaffe on the CPU, one GPU or several (NCCL).

    python tools/train_net.py --dataset ucf101 --stream temporal --split 1 [--gpus 0,1,2,3]
    python tools/train_net.py --dataset ucf101 --stream spatial --setting lastlayer \
        --weights VGG_CNN_M_2048.caffemodel
    python tools/train_net.py --net multitask_temporal_flow-L10-meansub_scratch_drop0.9 --resume

Everything goes to runs/{dataset}/{net}_split{k}/ (models/train/run_record.py: nets, solver, record,
log, metrics, plot, snapshots). Ctrl-C, SIGTERM and SIGUSR1 snapshot first, then stop (exit 1);
--resume continues from the last snapshot, --fresh deletes the folder's snapshots and starts
over; without either, a folder that holds a run is refused.

Exit code: 0 trained, 1 stopped during training (the message says why), 2 refused before any work.
"""
from __future__ import annotations

import argparse
import sys

from data_prep.store import StoreError
from models.input.batches import InputError
from models.nets.weights import WeightsError
from models.train.loop import Diverged, Stopped, leave_without_caffe
from models.train.request import train_run
from models.train.run_config import TrainingError
from models.train.run_record import RunError
from tools.flags import add_train_arguments, train_request


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    try:
        train_run(train_request(args))
    except (TrainingError, WeightsError, InputError, RunError, StoreError, ValueError) as error:
        print(f"train_net: {error}", file=sys.stderr)
        if isinstance(error, Diverged):  # snapshots are already on disk
            leave_without_caffe(1)
        return 1 if isinstance(error, Stopped) else 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
