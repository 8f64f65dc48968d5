"""The tools' flags, shared where several tools take the same ones: numbers and output paths
checked where they enter (each refusing a value out of its range in one sentence, which argparse
prints with the flag's name before exiting 2, so that no 0 or negative count is ever read as "not
given"), and the flags of a net, a training, a scoring and an export, each read into the
library's request (`request`). Not a tool itself: the one module the tools share besides
benchlib."""
from __future__ import annotations

import argparse
import math
from dataclasses import fields
from pathlib import Path

from data_prep.outputs import unwritable

# The net, training, scoring and export flags import the library where they are added: a tool
# that takes none of them starts without loading Caffe, and tools/demo.py pins the kernels'
# threads before anything loads numpy.


def _number(kind, text: str):
    try:
        value = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _ranged(kind, inside, words: str):
    """An argparse type: a number of `kind` for which `inside(value)` holds; else `words`."""
    def check(text: str):
        value = _number(kind, text)
        if not inside(value):
            raise argparse.ArgumentTypeError(f"{value} must be {words}")
        return value
    return check


# An integer > 0: iterations, batch sizes, videos, sizes, repeats.
count = _ranged(int, lambda v: v > 0, "greater than 0")
# An integer >= 0: a GPU id, a seed, a worker count (0: in this process), a frame.
index = _ranged(int, lambda v: v >= 0, "0 or more")
# A number > 0: a learning rate, a flow bound.
positive = _ranged(float, lambda v: v > 0, "greater than 0")
# A number in [0, 1): a dropout ratio.
fraction = _ranged(float, lambda v: 0 <= v < 1, "in [0, 1)")
# A channel width factor in (0, 1]: 1 is the paper's nets.
width = _ranged(float, lambda v: 0 < v <= 1, "in (0, 1]")
# A share in (0, 1]: a batch accuracy to reach.
share = _ranged(float, lambda v: 0 < v <= 1, "in (0, 1]")


def _checked(folder: bool):
    def check(text: str) -> Path:
        problem = unwritable(Path(text), folder)
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}; give a path you can write to")
        return Path(text)
    return check


# A type: a file this process can write (made, or written over).
output_file = _checked(folder=False)
# A type: a folder this process can write into (made if missing).
output_folder = _checked(folder=True)


def request(kind, args: argparse.Namespace, **given):
    """The library's request (`kind`, a dataclass) from the parsed flags of the same names."""
    return kind(**{f.name: getattr(args, f.name) for f in fields(kind) if f.name not in given},
                **given)


def split_of(every_video: bool):
    """--split's type: 1, 2 or 3; and with `every_video` (training), "all": every video of the
    dataset, no test set (the paper pre-trains Table 2's fine-tuned net so, Sect. 6)."""
    def parse(text: str):
        if every_video and text == "all":
            return text
        if text not in ("1", "2", "3"):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a split: give 1, 2 or 3" + (" or all" if every_video else ""))
        return int(text)
    return parse


def add_net_arguments(parser: argparse.ArgumentParser, every_video: bool = False) -> None:
    """A net by name or by its parts (models/nets/choice.py), the split and the runs folder."""
    from models.nets.choice import DATASETS as NETS_OF, SETTINGS, STACKINGS, STREAMS, NetChoice
    parser.add_argument("--net", help="one of the paper's nets by name (prototxt/README.md)")
    parser.add_argument("--dataset", choices=NETS_OF, default=NetChoice.dataset,
                        help="the dataset (multi-task: the one whose split is used)")
    parser.add_argument("--stream", choices=STREAMS, default=NetChoice.stream)
    parser.add_argument("--setting", choices=SETTINGS)
    parser.add_argument("--dropout", type=fraction)
    parser.add_argument("--stacking", choices=STACKINGS, default=NetChoice.stacking)
    parser.add_argument("--length", type=count, help="L, flows stacked (default 10)")
    parser.add_argument("--no-mean-subtraction", action="store_true")
    parser.add_argument("--split", type=split_of(every_video), default=NetChoice.split,
                        help="the dataset's split (1-3)" + (
                            "; all: every video, no test set, to pre-train on" if every_video
                            else ""))
    parser.add_argument("--runs", type=Path, default=NetChoice.runs)


def store_pair(text: str) -> tuple[str, Path]:
    """--store's type: DATASET=FOLDER (the dataset's name is checked with the request)."""
    from data_prep.datasets import READERS as DATASETS
    name, _, folder = text.partition("=")
    if not name or not folder:
        raise argparse.ArgumentTypeError(f"{text!r}: give DATASET=FOLDER with DATASET one of "
                                         f"{', '.join(DATASETS)}")
    return name, Path(folder)


def gpu_list(text: str) -> tuple[str, ...]:
    """--gpus' type: GPU ids, e.g. 0 or 0,1,2,3; empty: the CPU."""
    ids = tuple(g for g in text.split(",") if g)
    for g in ids:
        index(g)
    return ids


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """tools/train_net.py's flags: the net's, then the run's (models/train/request.py)."""
    from models.nets.cnn_m_2048 import INITIALISATIONS
    from models.train.request import TrainRequest
    add_net_arguments(parser, every_video=True)
    parser.add_argument("--store", dest="stores", type=store_pair, action="append", default=[],
                        metavar="DATASET=FOLDER",
                        help="a dataset's store (default data/DATASET, else the synthetic one)")
    parser.add_argument("--method", default=TrainRequest.method,
                        help="flow method of the store")
    parser.add_argument("--gpus", type=gpu_list, default=(),
                        help="e.g. 0 or 0,1,2,3; empty: the CPU")
    parser.add_argument("--weights", help="a .caffemodel to start from (by layer name)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue from the last snapshot")
    start.add_argument("--fresh", action="store_true",
                       help="delete the run folder's snapshots and metrics and start over")
    parser.add_argument("--iters", type=count, help="scale the paper's schedule to N iterations")
    parser.add_argument("--width", type=width, default=TrainRequest.width,
                        help="channel width factor")
    parser.add_argument("--init", choices=sorted(INITIALISATIONS),
                        help="weight initialisation (default: the net's, as in its prototxt: "
                        "lsuv from scratch, at any size; gaussian for pre-trained nets; "
                        "docs/recipe.md)")
    parser.add_argument("--input-size", type=count, help="crop size (default 224)")
    parser.add_argument("--batch-size", type=count, help="total batch (default 256)")
    parser.add_argument("--workers", type=index, default=TrainRequest.workers,
                        help="data worker processes per GPU")
    parser.add_argument("--seed", type=index, default=TrainRequest.seed)
    parser.add_argument("--snapshot-every", type=count)
    parser.add_argument("--test-interval", type=count)
    parser.add_argument("--test-iter", type=count)
    parser.add_argument("--display", type=count, default=TrainRequest.display)
    parser.add_argument("--base-lr", type=positive, help="override the paper's 1e-2 (recorded)")
    parser.add_argument("--holdout", type=fraction, default=TrainRequest.holdout,
                        help="share of the split's training videos held out to validate on "
                        "(default 0.1, a class-balanced tenth); 0 trains on every one, as the "
                        "paper does, with no validation")
    parser.add_argument("--mean", type=Path, metavar="FILE.binaryproto",
                        help="a mean image subtracted from the spatial net's crops in place of "
                        "the mean pixel: the Model Zoo's VGG_mean.binaryproto with its weights")
    parser.add_argument("--borrowed-classes", type=Path, metavar="FILE",
                        help="Table 2's net with UCF-101 classes added to HMDB-51: the UCF-101 "
                        "class names, one a line (the paper does not list its 78)")


def train_request(args: argparse.Namespace):
    """add_train_arguments' flags as a TrainRequest."""
    from models.train.request import TrainRequest
    return request(TrainRequest, args, stores=dict(args.stores))


def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    """tools/score_net.py's flags: a run (or the net flags naming one), then the scoring's."""
    from models.evaluate.score_run import ScoreRequest
    parser.add_argument("--run", type=Path, help="a training run's folder (default: the one "
                        "the net flags below name, runs/{dataset}/{net}_split{k})")
    add_net_arguments(parser)
    parser.add_argument("--subset", choices=("test", "train"), default=ScoreRequest.subset,
                        help="train: the training videos' scores, for the fusion SVM")
    parser.add_argument("--weights", type=Path, help="default: the run's last snapshot")
    parser.add_argument("--gpu", type=index, help="GPU id (default: the CPU)")
    parser.add_argument("--batch", type=count, default=ScoreRequest.batch,
                        help="inputs per forward pass")
    parser.add_argument("--out", type=Path, default=ScoreRequest.out,
                        help="the score files' folder")
    parser.add_argument("--allow-missing", action="store_true",
                        help="score the videos the store holds when some of the split's cannot "
                        "be (the score file says how many of the split's it holds)")
    parser.add_argument("--quiet", action="store_true")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """tools/export_model.py's flags (models/bundle/export.py)."""
    from models.bundle.export import BUNDLES, ExportRequest
    parser.add_argument("--run", type=Path, action="append", default=[],
                        help="a run folder of either stream (its record says which); twice for "
                        "both")
    parser.add_argument("--spatial", type=Path, metavar="RUN", help="the spatial net's run folder")
    parser.add_argument("--temporal", type=Path, metavar="RUN",
                        help="the temporal (or multi-task) net's run folder")
    parser.add_argument("--spatial-weights", type=Path, help="default: the run's last snapshot")
    parser.add_argument("--temporal-weights", type=Path, help="default: the run's last snapshot")
    parser.add_argument("--fusion", choices=("average", "svm"), default=ExportRequest.fusion,
                        help="svm: the linear SVM on both streams' training-video scores")
    parser.add_argument("--scores", type=Path, default=ExportRequest.scores,
                        help="the score files' folder (accuracy, and the SVM's training scores)")
    parser.add_argument("--out", type=Path, help=f"the bundle's folder (default {BUNDLES}/"
                        "{dataset}_split{k}_{nets}_{fusion})")
    parser.add_argument("--name", help="the model's name in its readme")
    parser.add_argument("--license", default=ExportRequest.license,
                        help="the readme's license field")
    parser.add_argument("--caffemodel-url", default=ExportRequest.caffemodel_url, metavar="URL",
                        help="the folder URL the bundle will be downloadable from")
