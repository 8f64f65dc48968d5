"""What tools/train_net.py's flags ask for: the run's settings (`RunConfig`), its folder, and
the training itself, logged to the folder's train.log."""
from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from data_prep import ranges
from data_prep.datasets import READERS as DATASETS
from data_prep.store import default_store, require_dataset, require_space
from models.input.batches import store_classes
from models.input.sampling import HELD_OUT_FRACTION
from models.nets.cli import add_net_arguments, select_net
from models.nets.cnn_m_2048 import INITIALISATIONS, Head
from models.nets.paper_nets import PaperNet
from models.train import run_record
from models.train.loop import train
from models.train.run_config import RunConfig

log = logging.getLogger("train")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """tools/train_net.py's flags: the net's (models/nets/cli.py), then the run's."""
    add_net_arguments(parser, every_video=True)
    parser.add_argument("--store", action="append", default=[], metavar="DATASET=FOLDER",
                        help="a dataset's store (default data/DATASET, else the synthetic one)")
    parser.add_argument("--method", default="brox", help="flow method of the store")
    parser.add_argument("--gpus", default="", help="e.g. 0 or 0,1,2,3; empty: the CPU")
    parser.add_argument("--weights", help="a .caffemodel to start from (by layer name)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue from the last snapshot")
    start.add_argument("--fresh", action="store_true",
                       help="delete the run folder's snapshots and metrics and start over")
    parser.add_argument("--iters", type=ranges.count,
                        help="scale the paper's schedule to N iterations")
    parser.add_argument("--width", type=ranges.width, default=1.0, help="channel width factor")
    parser.add_argument("--init", choices=sorted(INITIALISATIONS),
                        help="weight initialisation (default: the net's, as in its prototxt: "
                        "lsuv from scratch, at any size; gaussian for pre-trained nets; "
                        "docs/recipe.md)")
    parser.add_argument("--input-size", type=ranges.count, help="crop size (default 224)")
    parser.add_argument("--batch-size", type=ranges.count, help="total batch (default 256)")
    parser.add_argument("--workers", type=ranges.index, default=2,
                        help="data worker processes per GPU")
    parser.add_argument("--seed", type=ranges.index, default=0)
    parser.add_argument("--snapshot-every", type=ranges.count)
    parser.add_argument("--test-interval", type=ranges.count)
    parser.add_argument("--test-iter", type=ranges.count)
    parser.add_argument("--display", type=ranges.count, default=20)
    parser.add_argument("--base-lr", type=ranges.positive,
                        help="override the paper's 1e-2 (recorded)")
    parser.add_argument("--holdout", type=ranges.fraction, default=HELD_OUT_FRACTION,
                        help="share of the split's training videos held out to validate on "
                        "(default 0.1, a class-balanced tenth); 0 trains on every one, as the "
                        "paper does, with no validation")
    parser.add_argument("--mean", type=Path, metavar="FILE.binaryproto",
                        help="a mean image subtracted from the spatial net's crops in place of "
                        "the mean pixel: the Model Zoo's VGG_mean.binaryproto with its weights")
    parser.add_argument("--borrowed-classes", type=Path, metavar="FILE",
                        help="Table 2's net with UCF-101 classes added to HMDB-51: the UCF-101 "
                        "class names, one a line (the paper does not list its 78)")


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


def with_borrowed_classes(net: PaperNet, args) -> tuple[PaperNet, dict]:
    """Table 2's net with the classes the user lists: its head grows by their count."""
    (dataset, count), = net.config.borrowed_classes.items()
    if args.borrowed_classes is None:
        raise ValueError(f"{net.name} adds {count} {dataset} classes to {args.dataset} (Table 2), "
                         f"which the paper chose by hand and does not list: give yours with "
                         f"--borrowed-classes FILE (one {dataset} class name a line).")
    names = read_class_list(args.borrowed_classes)
    config = replace(net.config, borrowed_classes={dataset: len(names)})
    return PaperNet(net.group, config, net.used_in), {dataset: names}


def run_config(args, net: PaperNet) -> RunConfig:
    borrowed = {}
    if net.config.borrowed_classes:
        net, borrowed = with_borrowed_classes(net, args)
    elif args.borrowed_classes is not None:
        raise ValueError(f"--borrowed-classes is for Table 2's net with UCF-101 classes added "
                         f"(hmdb51_temporal_flow-L10-meansub_plus-ucf101-78_scratch_drop0.9), "
                         f"not {net.name}.")
    datasets = [h.name for h in net.config.heads]
    stores = {d: default_store(d) for d in [*datasets, *borrowed]}
    for item in args.store:
        name, _, folder = item.partition("=")
        if name not in DATASETS or not folder:
            raise ValueError(f"--store {item}: give DATASET=FOLDER with DATASET one of "
                             f"{', '.join(DATASETS)}.")
        stores[name] = Path(folder)
        require_dataset(stores[name], name)  # where a store enters: another dataset's refused
    net = with_store_classes(net, stores)
    if args.split == "all" and len(datasets) > 1:
        raise ValueError("--split all trains one dataset on every video; the multi-task net "
                         "trains on a split of --dataset and all of the other (Sect. 6): give "
                         "--split 1, 2 or 3.")
    # Multi-task (Sect. 6): the other dataset's videos of all splits join the chosen split's;
    # borrowed classes (Table 2) bring all their videos.
    splits = {d: (args.split if d == args.dataset or len(datasets) == 1 else "all")
              for d in datasets}
    splits.update({d: "all" for d in borrowed})
    return RunConfig(net=net, split=args.split, stores=stores, splits=splits, runs=args.runs,
                     gpus=[g for g in args.gpus.split(",") if g], weights=args.weights,
                     method=args.method, iters=args.iters, width=args.width, init=args.init,
                     input_size=args.input_size, batch_size=args.batch_size,
                     workers=args.workers, seed=args.seed, snapshot_every=args.snapshot_every,
                     test_interval=args.test_interval, test_iter=args.test_iter,
                     display=args.display, resume=args.resume, fresh=args.fresh,
                     base_lr=args.base_lr, holdout=args.holdout,
                     borrowed_class_names=borrowed,
                     mean=str(args.mean) if args.mean else None)


def run_folder(args) -> Path:
    """The folder these flags' net trains into (models/train/run_record.py names it)."""
    return run_record.run_folder(args.runs, select_net(args).name, args.dataset, args.split)


def train_from_args(args) -> int:
    """Trains the run the flags describe; the iteration reached (logged with the run folder)."""
    config = run_config(args, select_net(args))
    require_space(config.folder, "run folder")
    with run_record.training(config.folder):  # before its log is opened (--fresh empties it)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                            handlers=[logging.StreamHandler(), logging.FileHandler(
                                config.folder / "train.log", mode="w" if args.fresh else "a")])
        reached = train(config)
    log.info("stopped at iteration %d; run folder %s", reached, config.folder)
    return reached
