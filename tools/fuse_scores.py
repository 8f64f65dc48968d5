"""Late fusion of the spatial and temporal streams' scores: averaging and a linear SVM
(Sect. 2, Tables 3-4).

    python tools/fuse_scores.py --spatial S_test.h5 --temporal T_test.h5 [--svm \
        --spatial-train S_train.h5 --temporal-train T_train.h5] [--json out.json]
    python tools/fuse_scores.py --dataset ucf101 --splits 1 2 3 --svm     # Table 4's nets
    python tools/fuse_scores.py --dataset ucf101 --splits 1 --temporal-net NET   # another net

With --dataset the files are found by name (models/evaluate/score_file.py) from the nets chosen:
runs/scores/{dataset}/{net}_split{k}_{subset}.h5. Every file must play its role (stream,
subset, dataset, split; the SVM's training scores from the nets it fuses), else one sentence.

Exit code: 0 fused, 2 refused.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.evaluate.fusion import fuse_files, fuse_splits, split_table
from models.evaluate.score_file import ScoreError
from tools import flags


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spatial", type=Path)
    parser.add_argument("--temporal", type=Path)
    parser.add_argument("--spatial-train", type=Path)
    parser.add_argument("--temporal-train", type=Path)
    parser.add_argument("--dataset", choices=("ucf101", "hmdb51"))
    parser.add_argument("--splits", type=int, nargs="+", choices=(1, 2, 3), default=[1, 2, 3])
    parser.add_argument("--scores", type=Path, default=Path("runs/scores"),
                        help="folder of named score files")
    parser.add_argument("--spatial-net", help="with --dataset: the spatial net by name "
                        "(default Table 4's: {dataset}_spatial_lastlayer_drop0.5)")
    parser.add_argument("--temporal-net", help="with --dataset: the temporal net by name "
                        "(default Table 4's: the multi-task net)")
    method = parser.add_mutually_exclusive_group()
    method.add_argument("--avg", action="store_true", help="averaging only (the default)")
    method.add_argument("--svm", action="store_true", help="also the linear SVM")
    parser.add_argument("--json", type=flags.output_file, help="write the results here")
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
            per_split, results = fuse_splits(args.scores, args.dataset, args.splits,
                                             args.spatial_net, args.temporal_net, args.svm)
        else:
            raise ScoreError("give --spatial and --temporal score files, or --dataset to use "
                             "runs/scores/.")
    except ScoreError as error:
        print(f"fuse_scores: {error}", file=sys.stderr)
        return 2
    first = next(iter(per_split.values()))
    print(f"fused spatial {first['nets']['spatial']} + temporal {first['nets']['temporal']}")
    print(split_table(per_split))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
