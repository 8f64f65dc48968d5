"""Frames and optical flow of a dataset into its LMDB stores and HDF5 index.

    python tools/extract.py --dataset ucf101 --root /data/ucf101                 # frames only
    python tools/extract.py --dataset ucf101 --root /data/ucf101 --method brox   # + flow
    python tools/extract.py ... --shard 3/8          # this node's eighth, into OUT/shards/3-of-8
    python tools/extract.py --dataset ucf101 --root /data/ucf101 --merge         # join shards
    python tools/extract.py ... --method brox --redo Class/v_Class_g01_c01.avi   # extract again

Re-running carries on where a run stopped. A store keeps the settings it was made with (short
side, bound, method and parameters): other ones are refused; --backward on a store without it
adds backward flow to exactly the videos that lack it.

Exit code: 0 all stored, 1 some videos failed (listed in OUT/failures.tsv) or the disk filled
part-way (the videos stored are kept and indexed; run again to go on), 2 nothing stored or
refused before any work (the message says why).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from data_prep.datasets import DatasetError
from data_prep.extract import ExtractConfig, extract, merge
from data_prep.flow import METHODS
from data_prep.store import StoreError, default_store, require_space
from data_prep.video import SHORT_SIDE
from tools import flags

log = logging.getLogger("extract")


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes i/N, e.g. 3/8, not {text!r}") from None
    if not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"--shard {text}: i must be between 1 and N")
    return i, n


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, choices=("ucf101", "hmdb51"),
                        help="the layout of ROOT (the synthetic datasets use the same)")
    parser.add_argument("--root", type=Path, required=True,
                        help="where the dataset's archives are unpacked")
    parser.add_argument("--out", type=Path, help="store folder (default: data/DATASET, or "
                        "stores/DATASET beside a synthetic dataset)")
    parser.add_argument("--method", choices=METHODS, help="optical flow method (default: frames "
                        "only)")
    parser.add_argument("--backward", action="store_true",
                        help="also backward flow, for bi-directional stacking")
    parser.add_argument("--bound", type=flags.positive, help="clip flow to [-BOUND, BOUND] "
                        "before quantising (default: each field's own min/max, as the paper)")
    parser.add_argument("--short-side", type=flags.count, default=SHORT_SIDE,
                        help=f"rescale frames so the smaller side is this (default {SHORT_SIDE})")
    parser.add_argument("--jobs", type=flags.count, default=1, help="worker processes")
    parser.add_argument("--shard", type=parse_shard, help="i/N: only this node's share")
    parser.add_argument("--merge", action="store_true", help="join OUT/shards/* into OUT")
    parser.add_argument("--allow-missing", action="store_true",
                        help="skip videos listed in the split files but missing on disk")
    parser.add_argument("--redo", nargs="+", default=[], metavar="VIDEO",
                        help="delete these videos (ids as the split files write them) from the "
                        "frames store and --method's flow store, and extract them again")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or default_store(args.dataset, args.root)
    try:
        require_space(out, "store folder")
    except StoreError as error:
        print(f"extract: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s",
                        handlers=[logging.StreamHandler(), logging.FileHandler(out / "extract.log")])
    try:
        if args.merge:
            merged = merge(args.dataset, args.root, out, args.allow_missing)
            for store, count in sorted(merged.items()):
                log.info("merged %d videos into %s from %s", count, out / store, out / "shards")
            return 0
        config = ExtractConfig(args.dataset, args.root, out, args.method, args.backward,
                               args.bound, args.short_side, args.jobs, args.shard,
                               args.allow_missing, progress=not args.quiet,
                               redo=tuple(args.redo))
        summary = extract(config)
    except (DatasetError, StoreError, FileNotFoundError, RuntimeError) as error:
        print(f"extract: {error}", file=sys.stderr)
        return 2
    log.info("%s %s: %d stored, %d already there, %d failed%s, in %.1f s -> %s", args.dataset,
             args.method or "frames", summary.stored, summary.already, len(summary.failed),
             f" (listed in {summary.folder / 'failures.tsv'})" if summary.failed else "",
             summary.seconds, summary.folder)
    if summary.stopped:
        print(f"extract: {summary.stopped}", file=sys.stderr)
    return summary.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
