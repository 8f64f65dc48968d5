"""A training as asked for (`TrainRequest`): the run's settings (`RunConfig`), its folder, and
the training itself, logged to the folder's train.log."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from data_prep.datasets import READERS as DATASETS
from data_prep.store import default_store, require_dataset, require_space
from models.input.batches import store_classes
from models.input.sampling import HELD_OUT_FRACTION
from models.nets.choice import NetChoice, select_net
from models.nets.cnn_m_2048 import Head
from models.nets.paper_nets import PaperNet
from models.train import run_record
from models.train.loop import train
from models.train.run_config import RunConfig

log = logging.getLogger("train")
# The request's settings RunConfig takes as they are.
RUN_SETTINGS = ("runs", "weights", "method", "iters", "width", "init", "input_size",
                "batch_size", "workers", "seed", "snapshot_every", "test_interval", "test_iter",
                "display", "resume", "fresh", "base_lr", "holdout")


@dataclass(frozen=True)
class TrainRequest(NetChoice):
    """A training as tools/train_net.py's flags ask for it: the net (`NetChoice`), its stores
    (dataset -> folder; default data/DATASET, else the synthetic one) and the run's settings
    (None: the paper's, or the net's own; RunConfig checks each range)."""

    stores: dict = field(default_factory=dict)
    method: str = "brox"  # the flow method of the store
    gpus: tuple = ()  # GPU ids; empty: the CPU
    weights: str | None = None  # a .caffemodel to start from (by layer name)
    resume: bool = False  # continue from the last snapshot
    fresh: bool = False  # delete the run folder's snapshots and metrics and start over
    iters: int | None = None  # the paper's schedule scaled to this many iterations
    width: float = 1.0  # channel width factor
    init: str | None = None
    input_size: int | None = None
    batch_size: int | None = None
    workers: int = 2  # data worker processes per GPU
    seed: int = 0
    snapshot_every: int | None = None
    test_interval: int | None = None
    test_iter: int | None = None
    display: int = 20
    base_lr: float | None = None
    holdout: float = HELD_OUT_FRACTION
    mean: Path | None = None  # a mean image (.binaryproto) for the spatial net's crops
    borrowed_classes: Path | None = None  # Table 2's added UCF-101 class names, one a line

    def __post_init__(self):
        super().__post_init__()
        if self.resume and self.fresh:
            raise ValueError("resume and fresh exclude each other: give one.")


@dataclass(frozen=True)
class Trained:
    """What a training made: its run folder and the iteration it stopped at."""

    folder: Path
    iteration: int


def with_store_classes(net: PaperNet, stores: dict) -> PaperNet:
    """The net with each head's class count taken from its store: the paper's 101 and 51 for
    the real datasets, the synthetic datasets' own counts for them (plus any borrowed ones)."""
    heads, borrowed = [], sum(net.config.borrowed_classes.values())
    for head in net.config.heads:
        if not (Path(stores[head.name]) / "index.h5").is_file():  # reported before training
            return net
        heads.append(Head(head.name, len(store_classes(stores[head.name])) + borrowed))
    return PaperNet(net.group, replace(net.config, heads=tuple(heads)), net.used_in)


def read_class_list(path: Path) -> list[str]:
    """Class names, one a line; blank lines and # comments skipped."""
    if not path.is_file():
        raise ValueError(f"--borrowed-classes file {path} not found.")
    names = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    names = [n for n in names if n]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"{path} must list distinct class names, one a line.")
    return names


def with_borrowed_classes(net: PaperNet, request: TrainRequest) -> tuple[PaperNet, dict]:
    """Table 2's net with the classes the user lists: its head grows by their count."""
    (dataset, count), = net.config.borrowed_classes.items()
    if request.borrowed_classes is None:
        raise ValueError(f"{net.name} adds {count} {dataset} classes to {request.dataset} "
                         f"(Table 2), "
                         f"which the paper chose by hand and does not list: give yours with "
                         f"--borrowed-classes FILE (one {dataset} class name a line).")
    names = read_class_list(request.borrowed_classes)
    config = replace(net.config, borrowed_classes={dataset: len(names)})
    return PaperNet(net.group, config, net.used_in), {dataset: names}


def run_config(request: TrainRequest) -> RunConfig:
    """The run's settings: the chosen net, its heads sized by the stores' classes, the splits of
    each dataset it learns from."""
    net = select_net(request)
    borrowed = {}
    if net.config.borrowed_classes:
        net, borrowed = with_borrowed_classes(net, request)
    elif request.borrowed_classes is not None:
        raise ValueError(f"--borrowed-classes is for Table 2's net with UCF-101 classes added "
                         f"(hmdb51_temporal_flow-L10-meansub_plus-ucf101-78_scratch_drop0.9), "
                         f"not {net.name}.")
    datasets = [h.name for h in net.config.heads]
    stores = {d: default_store(d) for d in [*datasets, *borrowed]}
    for name, folder in request.stores.items():
        if name not in DATASETS:
            raise ValueError(f"--store {name}={folder}: give DATASET=FOLDER with DATASET one "
                             f"of {', '.join(DATASETS)}.")
        stores[name] = Path(folder)
        require_dataset(stores[name], name)  # where a store enters: another dataset's refused
    net = with_store_classes(net, stores)
    if request.split == "all" and len(datasets) > 1:
        raise ValueError("--split all trains one dataset on every video; the multi-task net "
                         "trains on a split of --dataset and all of the other (Sect. 6): give "
                         "--split 1, 2 or 3.")
    # Multi-task (Sect. 6): the other dataset's videos of all splits join the chosen split's;
    # borrowed classes (Table 2) bring all their videos.
    splits = {d: (request.split if d == request.dataset or len(datasets) == 1 else "all")
              for d in datasets}
    splits.update({d: "all" for d in borrowed})
    same = {name: getattr(request, name) for name in RUN_SETTINGS}
    return RunConfig(net=net, split=request.split, stores=stores, splits=splits,
                     gpus=[str(g) for g in request.gpus], borrowed_class_names=borrowed,
                     mean=str(request.mean) if request.mean else None, **same)


def run_folder(choice: NetChoice) -> Path:
    """The folder the chosen net trains into (models/train/run_record.py names it)."""
    return run_record.run_folder(choice.runs, select_net(choice).name, choice.dataset,
                                 choice.split)


def train_run(request: TrainRequest) -> Trained:
    """Trains the run asked for; its folder and the iteration reached (logged with both)."""
    config = run_config(request)
    require_space(config.folder, "run folder")
    with run_record.training(config.folder):  # before its log is opened (--fresh empties it)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                            handlers=[logging.StreamHandler(), logging.FileHandler(
                                config.folder / "train.log", mode="w" if request.fresh else "a")])
        reached = train(config)
    log.info("stopped at iteration %d; run folder %s", reached, config.folder)
    return Trained(config.folder, reached)
