"""Training one of the paper's nets with pycaffe: the run folder, the loop, resuming, guarding.

A run lives in the folder models/train/run_record.py names (runs/{dataset}/{net}_split{k}/): the exact
nets and solver it used, its record, train.log, metrics.jsonl, training.png and snapshots/. With N
GPUs one process per GPU steps its own solver under Caffe's NCCL (as Caffe's python/train.py
does; Caffe's command-line multi-GPU refuses Python layers), each with 256/N of the batch.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

import caffe
from caffe.proto import caffe_pb2
from google.protobuf import text_format
from data_prep.store import flow_path
from models.input.batches import BatchMaker, InputError, check_store_serves, parse_params
from models.input.mean_image import MeanError, mean_sha1, read_mean
from models.nets.cnn_m_2048 import INITIALISATIONS, cnn_m_2048, net_loss
from models.nets.paper_nets import PaperNet
from models.train.run_record import (METRICS, RunError, claim_folder, cut_metrics,
                                     latest_snapshot, mark_complete, read_metrics, run_folder,
                                     run_of_weights, snapshot_iteration, training, write_record)
from models.input.sampling import HELD_OUT_FRACTION, per_gpu_batch
from models.nets.solvers import sgd_solver
from models.nets.weights import load_weights, prototxt_scale, require_weights
from models.train.lsuv import unit_variance

log = logging.getLogger("train")
# A loss this close to chance (relative) for PLATEAU_SHARE of the run's iterations, and at
# least PLATEAU_MIN, is a net that is not learning: the run says so (docs/recipe.md).
PLATEAU, PLATEAU_SHARE, PLATEAU_MIN = 0.02, 0.1, 20
# A loss above this (the paper's nets start near ln(101) = 4.6) has exploded.
EXPLODED_LOSS = 1e3


class TrainingError(Exception):
    """A run that cannot start or go on; the message says what to do."""


class Stopped(TrainingError):
    """A run that started and stopped before its end."""


class Diverged(Stopped):
    """The loss became NaN or exploded; Caffe's state may be corrupt (see Loop.run)."""


@dataclass
class RunConfig:
    net: PaperNet
    split: int | str  # 1, 2, 3, or "all": every video of the dataset, no test set
    stores: dict  # dataset -> store folder
    splits: dict  # dataset -> split number or "all" (multi-task: the other dataset whole)
    runs: Path = Path("runs")
    gpus: list = field(default_factory=list)
    weights: str | None = None
    method: str = "brox"
    iters: int | None = None  # the paper's schedule, scaled to this many iterations
    width: float = 1.0
    init: str | None = None  # NetConfig.init; None: the net's own (cnn_m_2048.default_init)
    input_size: int | None = None
    batch_size: int | None = None  # total over GPUs; default the paper's 256
    workers: int = 2
    seed: int = 0
    snapshot_every: int | None = None
    test_interval: int | None = None
    test_iter: int | None = None
    display: int = 20
    resume: bool = False
    fresh: bool = False  # delete the folder's snapshots and start over
    base_lr: float | None = None  # a deviation from the paper's 1e-2, recorded in config.json
    borrowed_class_names: dict = field(default_factory=dict)  # Table 2: dataset -> classes
    # The share of the split's training videos held out to validate on (0: the paper's whole
    # training set, no validation); recorded, and a resumed run keeps it.
    holdout: float = HELD_OUT_FRACTION
    # A mean image (.binaryproto) subtracted from the spatial net's crops in place of the mean
    # pixel, as the Model Zoo's VGG_CNN_M_2048 was trained (models/README.md); its sha1 recorded.
    mean: str | None = None

    def __post_init__(self):
        # Named in the run's record either way, so that a resumed run is compared by name.
        self.init = self.init or self.net.config.init
        # None means the paper's value; 0 or less is never read as "not given".
        counts = ("iters", "input_size", "batch_size", "snapshot_every", "test_interval",
                  "test_iter", "display")
        for name in counts:
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be greater than 0, not {value}.")
        checks = [(self.split in (1, 2, 3, "all"),
                   f"split must be 1, 2, 3 or all, not {self.split!r}."),
                  (self.workers >= 0, f"workers must be 0 or more, not {self.workers}."),
                  (self.seed >= 0, f"seed must be 0 or more, not {self.seed}."),
                  (0 < self.width <= 1, f"width must be in (0, 1], not {self.width}."),
                  (self.base_lr is None or self.base_lr > 0,
                   f"base_lr must be greater than 0, not {self.base_lr}."),
                  (self.split in self.splits.values(),
                   f"splits {self.splits} gives no dataset split {self.split!r}."),
                  (0 <= self.holdout < 1, f"holdout must be in [0, 1), not {self.holdout}."),
                  (self.holdout > 0 or (self.test_iter, self.test_interval) == (None, None),
                   "holdout 0 holds no video out to validate on: give no test_iter or "
                   "test_interval with it.")]
        for ok, sentence in checks:
            if not ok:
                raise ValueError(sentence)

    @property
    def dataset(self) -> str:
        """The dataset whose split is trained and tested (multi-task: the one not taken whole;
        a net trained on every video: its head's)."""
        return next(d for d, split in self.splits.items() if split == self.split)

    @property
    def folder(self) -> Path:
        return run_folder(self.runs, self.net.name, self.dataset, self.split)


def build_only_cpu() -> bool:
    """Whether the Caffe in use was built CPU_ONLY (tools/build_caffe.sh records its flags)."""
    info = Path(caffe.__file__).parents[4] / "BUILD-INFO.txt"
    return info.is_file() and "-DCPU_ONLY=ON" in info.read_text()


def check_inputs(config: RunConfig) -> None:
    """Everything a run needs, reported before anything starts."""
    if config.gpus and build_only_cpu():
        raise TrainingError("this Caffe was built CPU-only; build the CUDA one with "
                            "`make caffe CUDA=1`, or train on the CPU (no --gpus).")
    require_weights(config.net.config.setting, config.weights)
    if config.mean:
        if config.net.config.stream != "spatial":
            raise TrainingError(f"--mean is a mean image for RGB input; {config.net.name} takes "
                                "optical flow, whose mean is subtracted per field (Sect. 3.1): "
                                "train it without --mean.")
        try:
            read_mean(config.mean, config.input_size or config.net.config.input_size)
        except MeanError as error:
            raise TrainingError(str(error)) from None
    if config.weights and not Path(config.weights).is_file():
        raise TrainingError(f"weights file {config.weights} not found; see models/README.md.")
    for dataset in [*(h.name for h in config.net.config.heads), *config.borrowed_class_names]:
        store = Path(config.stores.get(dataset, ""))
        if not (store / "index.h5").is_file():
            raise TrainingError(f"no store for {dataset} at {store or '(none given)'}: run "
                                f"`make flow DATASET={dataset}` (or pass --store "
                                f"{dataset}=FOLDER).")
        if config.net.config.stream == "temporal" and \
                not flow_path(store, config.method).exists():
            raise TrainingError(f"{store} has no {config.method} flow; run `make flow "
                                f"DATASET={dataset} METHOD={config.method}`.")
        # The net as this run makes it: the crops it cuts are the run's (--input-size).
        net = replace(config.net.config,
                      input_size=config.input_size or config.net.config.input_size)
        try:
            check_store_serves(store, config.method, config.splits.get(dataset, "all"), "train",
                               net, every_video=False)
        except InputError as error:
            raise TrainingError(str(error)) from None


def scaled_schedule(solver, iters: int):
    """The paper's schedule shape (Sect. 5) over `iters` iterations."""
    factor = iters / solver.max_iter
    steps = [max(1, round(s * factor)) for s in solver.stepvalue]
    del solver.stepvalue[:]
    solver.stepvalue.extend(steps)
    solver.max_iter = iters


def learning_rate(solver, iteration: int) -> float:
    """Caffe's multistep rule: base_lr x gamma^(steps passed)."""
    passed = sum(iteration >= s for s in solver.stepvalue)
    return solver.base_lr * solver.gamma ** passed


def write_run(config: RunConfig, start_iter: int = 0) -> tuple[Path, object]:
    """The run's own nets and solver, written into its folder; returns (solver path, params)."""
    folder = config.folder
    (folder / "snapshots").mkdir(parents=True, exist_ok=True)
    gpus = max(1, len(config.gpus))
    net_config = config.net.config
    total = config.batch_size or net_config.batch_size
    net_config = replace(net_config, width=config.width, init=config.init,
                         batch_size=per_gpu_batch(total, gpus),
                         input_size=config.input_size or net_config.input_size)
    solver = sgd_solver(str((folder / "trainval.prototxt").resolve()), net_config.setting,
                        str((folder / "snapshots" / config.net.name).resolve()))
    if config.iters:
        scaled_schedule(solver, config.iters)
    if config.base_lr:
        solver.base_lr = config.base_lr
    # The loop below displays, validates and snapshots; Caffe itself does none of it.
    solver.test_interval = solver.max_iter + 1
    solver.test_iter[0] = config.test_iter or solver.test_iter[0]
    if not config.holdout:  # nothing held out: no test net at all
        del solver.test_iter[:]
    solver.display, solver.snapshot = 0, 0
    solver.random_seed = config.seed
    solver.solver_mode = solver.GPU if config.gpus else solver.CPU
    proto = cnn_m_2048(net_config, "trainval")
    proto.name = config.net.name
    params = json.loads(proto.layer[0].python_param.param_str)
    params.update(stores={d: str(Path(s).resolve()) for d, s in config.stores.items()},
                  splits=config.splits, method=config.method, seed=config.seed,
                  workers=config.workers, start_batch=start_iter, held_out=config.holdout,
                  held_out_batches=solver.test_iter[0] if config.holdout else 0)
    if config.mean:
        params["mean_file"] = str(Path(config.mean).resolve())
    if config.borrowed_class_names:
        params["borrowed_class_names"] = config.borrowed_class_names
    proto.layer[0].python_param.param_str = json.dumps(params, sort_keys=True)
    (folder / "trainval.prototxt").write_text(str(proto))
    (folder / "solver.prototxt").write_text(str(solver))
    return folder / "solver.prototxt", solver


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
        self.plateau_from = None

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
                                               self.solver.iter)

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
            log.info("interrupted at iteration %d; snapshot %s; continue with --resume",
                     solver.iter, self.last_snapshot)
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
    """Ctrl-C asks the loop to stop at the end of the iteration, snapshot, and return."""
    previous = signal.signal(signal.SIGINT, lambda *_: setattr(loop, "stop_requested", True))
    try:
        return loop.run()
    finally:
        signal.signal(signal.SIGINT, previous)


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


def record_of(config: RunConfig) -> dict:
    """The run's record: every setting, the net, the dataset it is tested on."""
    record = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()
              if k != "net"}
    record.update(net=config.net.name, dataset=config.dataset,
                  net_config=json.loads(config.net.config.describe()), used_in=config.net.used_in,
                  # resolved: the test tool and export read the file from where the run was
                  mean=str(Path(config.mean).resolve()) if config.mean else None,
                  mean_sha1=mean_sha1(config.mean) if config.mean else None)
    return record


def write_config(config: RunConfig, resumed_from: Path | None) -> None:
    record = record_of(config)
    record.update(resumed_from=str(resumed_from or ""), resumed_at=int(time.time()))
    if config.weights:
        from models.nets.weights import read_weights
        record["weights_sha1"] = read_weights(config.weights)[1]
        record["weights_run"] = run_of_weights(config.weights)
    info = Path(caffe.__file__).parents[4] / "BUILD-INFO.txt"
    record["caffe_build"] = info.read_text() if info.is_file() else "unknown"
    write_record(config.folder, record, resumed=resumed_from is not None)


def drawn(folder: Path) -> None:
    """training.png however the run ended; a plot that fails is a warning, never the error a
    run ends with (a full disk, a damaged metrics.jsonl)."""
    try:
        plot(folder)
    except (RunError, OSError, ValueError) as error:
        log.warning("training.png not drawn: %s", error)


def plot(folder: Path) -> Path | None:
    """training.png: training loss and held-out accuracy against iterations."""
    rows = read_metrics(folder)
    if rows is None:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, loss_ax = plt.subplots(figsize=(8, 4.5))
    steps = [r for r in rows if "loss" in r]
    loss_ax.plot([r["iter"] for r in steps], [r["loss"] for r in steps], color="tab:blue")
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel("training loss", color="tab:blue")
    accuracy_ax = loss_ax.twinx()
    for name in sorted({k for r in rows for k in r if k.startswith("accuracy")}):
        points = [r for r in rows if name in r]
        accuracy_ax.plot([r["iter"] for r in points], [r[name] for r in points], marker="o",
                         label=f"held-out {name}")
    accuracy_ax.set_ylabel("held-out accuracy")
    accuracy_ax.set_ylim(0, 1)
    if accuracy_ax.lines:
        accuracy_ax.legend(loc="center right")
    loss_ax.set_title(folder.name)
    fig.tight_layout()
    fig.savefig(folder / "training.png", dpi=100)
    plt.close(fig)
    return folder / "training.png"
