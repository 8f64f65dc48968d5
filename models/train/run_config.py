"""A training run's settings (`RunConfig`), the checks made before it starts, the nets and
solver written into its folder, and its record (config.json, through run_record.py)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import caffe
from data_prep.store import flow_path
from data_prep.video import file_sha1
from models.input.batches import InputError, check_store_serves
from models.input.mean_image import MeanError, read_mean
from models.input.sampling import HELD_OUT_FRACTION, per_gpu_batch
from models.nets.cnn_m_2048 import cnn_m_2048
from models.nets.paper_nets import PaperNet
from models.nets.solvers import sgd_solver
from models.nets.weights import require_weights
from models.train.run_record import run_folder, run_of_weights, write_record


class TrainingError(Exception):
    """A run that cannot start or go on; the message says what to do."""


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
    """Whether the Caffe in use was built CPU_ONLY (tools/setup/build_caffe.sh records its
    flags)."""
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


def record_of(config: RunConfig) -> dict:
    """The run's record: every setting, the net, the dataset it is tested on."""
    record = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()
              if k != "net"}
    record.update(net=config.net.name, dataset=config.dataset,
                  net_config=json.loads(config.net.config.describe()), used_in=config.net.used_in,
                  # resolved: the test tool and export read the file from where the run was
                  mean=str(Path(config.mean).resolve()) if config.mean else None,
                  mean_sha1=file_sha1(config.mean) if config.mean else None)
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
