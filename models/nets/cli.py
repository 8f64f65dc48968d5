"""The command-line choice of one of the paper's nets: the flags tools/train_net.py and
tools/score_net.py share, and the net they name."""
from __future__ import annotations

import argparse
from pathlib import Path

from data_prep import ranges
from models.nets.cnn_m_2048 import NetConfig
from models.nets.paper_nets import HMDB51, UCF101, PaperNet, paper_nets

HEADS = {"ucf101": (UCF101,), "hmdb51": (HMDB51,), "multitask": (HMDB51, UCF101)}


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
    parser.add_argument("--net", help="one of the paper's nets by name (prototxt/README.md)")
    parser.add_argument("--dataset", choices=("ucf101", "hmdb51"), default="ucf101",
                        help="the dataset (multi-task: the one whose split is used)")
    parser.add_argument("--stream", choices=("spatial", "temporal", "multitask"),
                        default="temporal")
    parser.add_argument("--setting", choices=("scratch", "finetune", "lastlayer"))
    parser.add_argument("--dropout", type=ranges.fraction)
    parser.add_argument("--stacking", choices=("flow", "trajectory", "bidirectional"),
                        default="flow")
    parser.add_argument("--length", type=ranges.count, help="L, flows stacked (default 10)")
    parser.add_argument("--no-mean-subtraction", action="store_true")
    parser.add_argument("--split", type=split_of(every_video), default=1,
                        help="the dataset's split (1-3)" + (
                            "; all: every video, no test set, to pre-train on" if every_video
                            else ""))
    parser.add_argument("--runs", type=Path, default=Path("runs"))


def select_net(args) -> PaperNet:
    """The named net, or the one the stream/setting/input flags describe (the paper's defaults:
    spatial pre-trained + last layer with dropout 0.5, temporal from scratch with 0.9, L = 10)."""
    known = {net.name: net for net in paper_nets()}
    if args.net:
        if args.net not in known:
            raise ValueError(f"--net {args.net} is not one of the paper's nets: "
                             f"{', '.join(sorted(known))}")
        return known[args.net]
    stream = "spatial" if args.stream == "spatial" else "temporal"
    setting = args.setting or ("lastlayer" if stream == "spatial" else "scratch")
    dropout = args.dropout if args.dropout is not None else (0.5 if setting == "lastlayer"
                                                             else 0.9)
    length = args.length or (1 if stream == "spatial" else 10)
    group = "multitask" if args.stream == "multitask" else args.dataset
    config = NetConfig(stream=stream, heads=HEADS[group], setting=setting, dropout=dropout,
                       new_length=length, stacking=args.stacking,
                       mean_subtraction=not args.no_mean_subtraction)
    candidate = PaperNet(group, config, "not in the paper")
    return known.get(candidate.name, candidate)

