"""Training one of the paper's nets with pycaffe: the run folder, the loop, resuming, guarding.

A run lives in the folder models/train/run_record.py names (runs/{dataset}/{net}_split{k}/): the exact
nets and solver it used, its record, train.log, metrics.jsonl, training.png and snapshots/. With N
GPUs one process per GPU steps its own solver under Caffe's NCCL (as Caffe's python/train.py
does; Caffe's command-line multi-GPU refuses Python layers), each with 256/N of the batch.
"""
from __future__ import annotations

import atexit
import json
import logging
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np

import caffe
from caffe.proto import caffe_pb2
from google.protobuf import text_format
from models.input.batches import BatchMaker, parse_params
from models.nets.cnn_m_2048 import INITIALISATIONS, net_loss
from models.nets.weights import load_weights, prototxt_scale
from models.train.lsuv import unit_variance
from models.train.plot import drawn
from models.train.run_config import (RunConfig, TrainingError, check_inputs, learning_rate,
                                     record_of, write_config, write_run)
from models.train.run_record import (METRICS, claim_folder, cut_metrics, latest_snapshot,
                                     loop_state, mark_complete, snapshot_iteration, training)

log = logging.getLogger("train")
# A loss this close to chance (relative) for PLATEAU_SHARE of the run's iterations, and at
# least PLATEAU_MIN, is a net that is not learning: the run says so (docs/recipe.md).
PLATEAU, PLATEAU_SHARE, PLATEAU_MIN = 0.02, 0.1, 20
# A loss above this (the paper's nets start near ln(101) = 4.6) has exploded.
EXPLODED_LOSS = 1e3


class Stopped(TrainingError):
    """A run that started and stopped before its end."""


class Diverged(Stopped):
    """The loss became NaN or exploded; Caffe's state may be corrupt (see Loop.run)."""


def leave_without_caffe(code: int) -> None:
    """Ends the process without Caffe's destructors (after a NaN step its heap may be corrupt:
    see Loop.run), but after Python's exit handlers: data workers stopped, their shared memory
    and semaphores released, logs flushed."""
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)


# Ctrl-C; kill's SIGTERM (a cluster's time limit, a node's shutdown); SIGUSR1, which SLURM sends
# ahead of a time limit when asked (--signal): each ends a run with a whole snapshot.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)


def step_seed(seed: int, rank: int, iteration: int) -> int:
    """Caffe's seed for one step of one GPU's solver: distinct for every (seed, rank, step)."""
    return (seed * 1_000_003 + rank * 7_919 + iteration) % 2**31


class Loop:
    """The training loop of one process (rank 0 also logs, validates and snapshots)."""

    def __init__(self, config: RunConfig, solver, solver_param, rank: int = 0):
        self.config, self.solver, self.param, self.rank = config, solver, solver_param, rank
        self.snapshot_every = config.snapshot_every or 5_000
        self.test_interval = config.test_interval or 1_000
        self.last_snapshot = latest_snapshot(config.folder)
        self.metrics = config.folder / METRICS
        self.stop_requested = False
        # Chance: a uniform guess's loss, the sum of each head's ln C.
        self.chance = sum(math.log(head.num_classes) for head in config.net.config.heads)
        # A streak of iterations near chance goes on across a resume: it is kept in the marker
        # of the snapshot resumed from (none on a start: the folder has been emptied).
        self.plateau_from = (loop_state(self.last_snapshot).get("plateau_from")
                             if self.last_snapshot else None)

    def watch_plateau(self, it: int, loss: float) -> None:
        """Warns once, in the log and in metrics.jsonl ({"iter", "plateau": first iteration}),
        when the loss has stayed within PLATEAU of chance for PLATEAU_SHARE of the run's
        iterations (at least PLATEAU_MIN) in a row."""
        if abs(loss - self.chance) > PLATEAU * self.chance:
            self.plateau_from = None
            return
        self.plateau_from = self.plateau_from or it
        span = max(PLATEAU_MIN, math.ceil(PLATEAU_SHARE * self.param.max_iter))
        if it - self.plateau_from + 1 == span:
            self.record(iter=it, plateau=self.plateau_from)
            if self.rank == 0:
                log.warning("plateau: the loss has stayed within %.0f%% of chance (%.3f) from "
                            "iteration %d to %d, %d of the run's %d: the net is not learning "
                            "(docs/recipe.md, \"A plateau\", says what to check)",
                            100 * PLATEAU, self.chance, self.plateau_from, it, span,
                            self.param.max_iter)

    def losses(self) -> float:
        return net_loss(self.solver.net)

    def validate(self) -> dict:
        test = self.solver.test_nets[0]
        test.share_with(self.solver.net)
        totals = {}
        for _ in range(self.param.test_iter[0]):
            outputs = test.forward()
            for name, value in outputs.items():
                if name.startswith("accuracy"):
                    totals[name] = totals.get(name, 0.0) + float(value)
        return {name: total / self.param.test_iter[0] for name, total in totals.items()}

    def snapshot_bytes(self) -> int:
        """What the next snapshot will take on disk: the last one's files, or before any, the
        weights twice (the caffemodel, and the solverstate's momentum) and a margin."""
        if self.last_snapshot is not None:
            files = [self.last_snapshot, self.last_snapshot.with_suffix(".caffemodel")]
            held = sum(f.stat().st_size for f in files if f.exists())
        else:
            held = 2 * sum(b.data.nbytes for blobs in self.solver.net.params.values()
                           for b in blobs)
        return int(held * 1.05) + (1 << 20)

    def require_space(self, error: type[TrainingError]) -> None:
        """Caffe aborts the process on a snapshot it cannot write: a disk without room for the
        next one stops the run first, in a sentence (`error`: a refusal, or a stop)."""
        need, free = self.snapshot_bytes(), shutil.disk_usage(self.config.folder).free
        if free < need:
            raise error(f"the disk holding {self.config.folder} has {free >> 20} MB free and a "
                        f"snapshot needs {need >> 20} MB; free space, then run again with "
                        f"--resume (the last snapshot: {self.last_snapshot or 'none'}).")

    def snapshot(self) -> None:
        if self.rank == 0:
            self.require_space(Stopped)
            self.solver.snapshot()
            self.last_snapshot = mark_complete(self.config.folder, self.config.net.name,
                                               self.solver.iter,
                                               {"plateau_from": self.plateau_from})

    def record(self, **entry) -> None:
        if self.rank == 0:
            try:
                with open(self.metrics, "a") as f:
                    f.write(json.dumps(entry, sort_keys=True) + "\n")
            except OSError as error:
                raise Stopped(f"cannot write {self.metrics} ({error.strerror}); free space, then "
                              "run again with --resume (the last snapshot: "
                              f"{self.last_snapshot or 'none'}).") from None

    def run(self) -> int:
        solver, param = self.solver, self.param
        window, start = [], time.perf_counter()
        if self.rank == 0:
            self.require_space(TrainingError)  # before any step: a refusal
        while solver.iter < param.max_iter and not self.stop_requested:
            # Caffe's random state (dropout's masks) is not in a snapshot: seeded from the
            # iteration and the rank each step, a resumed run draws what the whole run drew.
            caffe.set_random_seed(step_seed(self.config.seed, self.rank, solver.iter))
            solver.step(1)
            loss = self.losses()
            if not math.isfinite(loss) or loss > EXPLODED_LOSS:
                # Caffe 1.0's max pooling writes out of bounds in the backward pass of a
                # NaN window: the process must not go on (tools/train_net.py exits at once).
                raise Diverged(
                    f"the loss became {loss} at iteration {solver.iter}; stopped without "
                    f"saving that state. The last good snapshot is {self.last_snapshot or 'none'}"
                    "; lower the learning rate or check the input, then --resume.")
            window.append(loss)
            it = solver.iter
            self.watch_plateau(it, loss)
            if it % self.config.display == 0 or it == param.max_iter:
                rate = len(window) / (time.perf_counter() - start)
                lr = learning_rate(param, it - 1)
                self.record(iter=it, loss=float(np.mean(window)), lr=lr)
                if self.rank == 0:
                    log.info("iter %d  loss %.4f  lr %g  (%.2f iter/s)", it, np.mean(window), lr,
                             rate)
                window, start = [], time.perf_counter()
            if param.test_iter and (it % self.test_interval == 0 or it == param.max_iter):
                if self.rank == 0:
                    accuracy = self.validate()
                    self.record(iter=it, **accuracy)
                    log.info("iter %d  held-out %s", it, "  ".join(
                        f"{k} {v:.3f}" for k, v in sorted(accuracy.items())))
            if it % self.snapshot_every == 0 or it == param.max_iter:
                self.snapshot()
        if self.stop_requested:
            self.snapshot()
        return solver.iter


def prepare(config: RunConfig):
    """Checks, the run's files, and the snapshot to resume from (or None)."""
    check_inputs(config)
    changes = claim_folder(config.folder, config.resume, config.fresh, record_of(config))
    resume = latest_snapshot(config.folder) if config.resume else None
    if config.resume and resume is None:
        raise TrainingError(f"--resume: no snapshot in {config.folder / 'snapshots'}; start "
                            "without it.")
    start_iter = snapshot_iteration(resume) if resume else 0
    if config.iters and start_iter > config.iters:
        raise TrainingError(f"--iters {config.iters}: the run is at iteration {start_iter} "
                            f"already ({resume.name}); give more, or --fresh to start over.")
    for change in changes:
        log.warning("%s", change)  # recorded in the config.resume*.json beside config.json
    # The rows after the snapshot resumed from (or all, on a start) are a dead process's: gone.
    cut_metrics(config.folder, start_iter)
    solver_path, param = write_run(config, start_iter)
    write_config(config, resume)
    return solver_path, param, resume


def start_solver(config: RunConfig, solver_path: Path, resume: Path | None):
    solver = caffe.get_solver(str(solver_path))
    if resume:
        solver.restore(str(resume))
        log.info("resumed from %s at iteration %d", resume, solver.iter)
    elif config.weights:
        loaded = load_weights(solver.net, config.weights,
                              prototxt_scale(config.folder / "trainval.prototxt"))
        log.info("loaded %s (sha1 %s) into %s; fresh: %s", loaded.path, loaded.sha1,
                 ", ".join(loaded.layers), ", ".join(loaded.fresh))
        if loaded.conv1_factor != 1:
            log.info("conv1's weights times %g: the file was trained on another input scale "
                     "(models/nets/weights.py)", loaded.conv1_factor)
    elif INITIALISATIONS[config.init].get("data_dependent") and caffe.solver_rank() == 0:
        unit_variance(solver.net, first_batch(config), step_seed(config.seed, 0, 0))
    return solver


def first_batch(config: RunConfig) -> np.ndarray:
    """The input of the run's first training batch (rank 0's), drawn as its data layer draws
    it, without taking it from the layer's sequence (a resumed run's batches stay the same).
    Quiet: the data layer draws this batch again and logs its skipped samples itself."""
    proto = caffe_pb2.NetParameter()
    text_format.Parse((config.folder / "trainval.prototxt").read_text(), proto)
    maker = BatchMaker(parse_params(proto.layer[0].python_param.param_str,
                                    config.net.config.stream), True, quiet=True)
    data, labels = (np.empty(shape, np.float32) for shape in maker.shapes)
    maker.fill(0, data, labels)
    return data


def run_loop(loop: Loop) -> int:
    """A stop signal (STOP_SIGNALS) asks the loop to stop at the end of its iteration and
    snapshot; the run then ends as Stopped, naming the snapshot and how to continue."""
    def stop(number, _frame):
        loop.stop_requested = signal.Signals(number).name

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        reached = loop.run()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if loop.stop_requested:
        raise Stopped(f"{loop.stop_requested} at iteration {reached}: stopped with a whole "
                      f"snapshot, {loop.last_snapshot}; the same command with --resume (make: "
                      "RESUME=1) continues from it.")
    return reached


def train(config: RunConfig) -> int:
    """Trains on the CPU, one GPU, or several (NCCL); returns the iteration reached. One
    process at a time trains into a run folder."""
    with training(config.folder):
        return train_locked(config)


def train_locked(config: RunConfig) -> int:
    solver_path, param, resume = prepare(config)
    log.info("training %s (%s), split %s, on %s -> %s", config.net.name, config.net.used_in,
             config.split, f"GPUs {config.gpus}" if config.gpus else "the CPU", config.folder)
    try:
        # One GPU too goes through NCCL (a solver count of 1): the path N GPUs take, so that a
        # one-GPU machine runs and checks it.
        if config.gpus:
            return train_nccl(config, solver_path, param, resume)
        caffe.set_mode_cpu()
        return run_loop(Loop(config, start_solver(config, solver_path, resume), param))
    finally:
        drawn(config.folder)


def nccl_worker(config: RunConfig, solver_path: Path, param, resume, uid, rank: int) -> None:
    """One GPU's process, as Caffe's python/train.py: same solver, its own rank and data share."""
    caffe.set_device(int(config.gpus[rank]))
    caffe.set_mode_gpu()
    caffe.set_solver_count(len(config.gpus))
    caffe.set_solver_rank(rank)
    caffe.set_multiprocess(True)
    solver = start_solver(config, solver_path, resume)
    nccl = caffe.NCCL(solver, uid)
    nccl.bcast()
    solver.add_callback(nccl)
    if solver.param.layer_wise_reduce:
        solver.net.after_backward(nccl)
    run_loop(Loop(config, solver, param, rank))


def train_nccl(config: RunConfig, solver_path: Path, param, resume) -> int:
    import multiprocessing
    uid = caffe.NCCL.new_uid()
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=nccl_worker,
                                 args=(config, solver_path, param, resume, uid, rank))
                 for rank in range(len(config.gpus))]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise Stopped(f"{len(failed)} GPU process(es) failed (exit codes {failed}); see "
                            f"{config.folder / 'train.log'}.")
    snapshot = latest_snapshot(config.folder)
    return snapshot_iteration(snapshot) if snapshot else 0
