"""Late fusion of the spatial and temporal streams' scores: averaging and a linear SVM
(Sect. 2, Tables 3-4).

    python tools/fuse_scores.py --spatial S_test.h5 --temporal T_test.h5 [--svm \
        --spatial-train S_train.h5 --temporal-train T_train.h5] [--json out.json]
    python tools/fuse_scores.py --dataset ucf101 --splits 1 2 3 --svm     # Table 4's nets
    python tools/fuse_scores.py --dataset ucf101 --splits 1 --temporal-net NET   # another net

With --dataset the files are found by name (models/score_file.py) from the nets chosen:
runs/scores/{dataset}/{net}_split{k}_{subset}.h5. Every file must play its role (stream,
subset, dataset, split; the SVM's training scores from the nets it fuses), else one sentence.

Exit code: 0 fused, 2 refused.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from models.fusion import fuse_files
from models.paper import fused_nets
from models.score_file import ScoreError, named_path


def table(per_split: dict) -> str:
    """Accuracy per split and their mean, as Tables 3-4, then the mean class accuracy."""
    columns = ["spatial", "temporal", "average"] + (["svm"] if "svm" in next(
        iter(per_split.values())) else [])
    lines = []
    for title, pick in (("accuracy", lambda r, c: r[c]),
                        ("mean class accuracy", lambda r, c: r["mean_class_accuracy"][c])):
        lines += [title, "split  " + "  ".join(f"{c:>9}" for c in columns)]
        for split, result in per_split.items():
            lines.append(f"{split:<5}  " + "  ".join(f"{100 * pick(result, c):8.1f}%"
                                                     for c in columns))
        if len(per_split) > 1:
            lines.append("mean   " + "  ".join(
                f"{100 * np.mean([pick(r, c) for r in per_split.values()]):8.1f}%"
                for c in columns))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spatial", type=Path)
    parser.add_argument("--temporal", type=Path)
    parser.add_argument("--spatial-train", type=Path)
    parser.add_argument("--temporal-train", type=Path)
    parser.add_argument("--dataset", choices=("ucf101", "hmdb51"))
    parser.add_argument("--splits", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--scores", type=Path, default=Path("runs/scores"),
                        help="folder of named score files")
    parser.add_argument("--spatial-net", help="with --dataset: the spatial net by name "
                        "(default Table 4's: {dataset}_spatial_lastlayer_drop0.5)")
    parser.add_argument("--temporal-net", help="with --dataset: the temporal net by name "
                        "(default Table 4's: the multi-task net)")
    method = parser.add_mutually_exclusive_group()
    method.add_argument("--avg", action="store_true", help="averaging only (the default)")
    method.add_argument("--svm", action="store_true", help="also the linear SVM")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    try:
        if args.spatial and args.temporal:
            if args.svm and not (args.spatial_train and args.temporal_train):
                raise ScoreError("--svm trains on the training videos' scores: also give "
                                 "--spatial-train and --temporal-train.")
            train = (args.spatial_train, args.temporal_train) if args.svm else ()
            results = fuse_files(args.spatial, args.temporal, *train)
            per_split = {"-": results}
        elif args.dataset:
            default_spatial, default_temporal = fused_nets(args.dataset)
            nets = (args.spatial_net or default_spatial, args.temporal_net or default_temporal)
            per_split = {}
            for k in args.splits:
                files = [named_path(args.scores, args.dataset, net, k, subset)
                         for subset in ("test", "train") for net in nets]
                per_split[k] = fuse_files(*(files if args.svm else files[:2]))
            results = {"splits": {str(k): r for k, r in per_split.items()},
                       "nets": next(iter(per_split.values()))["nets"],
                       **{c: float(np.mean([r[c] for r in per_split.values()]))
                          for c in ("spatial", "temporal", "average", "svm")
                          if c in next(iter(per_split.values()))}}
        else:
            raise ScoreError("give --spatial and --temporal score files, or --dataset to use "
                             "runs/scores/.")
    except ScoreError as error:
        print(f"fuse_scores: {error}", file=sys.stderr)
        return 2
    first = next(iter(per_split.values()))
    print(f"fused spatial {first['nets']['spatial']} + temporal {first['nets']['temporal']}")
    print(table(per_split))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
