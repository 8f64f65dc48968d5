"""Writes the synthetic UCF-101-like and HMDB-51-like datasets (the embedded default data).

    python tools/make_synthetic.py [--out data/synthetic] [--seed 0] [--ucf-clips-per-group 2]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from data_prep.datasets.synthetic import FRAMES, UCF_GROUPS, SyntheticConfig, make_synthetic
from tools import flags


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=flags.output_folder, default=Path("data/synthetic"))
    parser.add_argument("--seed", type=flags.index, default=0)
    parser.add_argument("--ucf-clips-per-group", type=flags.count, default=2,
                        help="clips per class and group (8 groups, as UCF-101's g01-g25)")
    parser.add_argument("--hmdb-clips-per-class", type=flags.count, default=10,
                        help="clips per class (70%% train / 30%% test per split)")
    parser.add_argument("--frames", type=flags.count, default=FRAMES, help="frames per clip")
    parser.add_argument("--ucf-groups", type=flags.count, default=UCF_GROUPS,
                        help="groups per class (split k tests groups k, k + 4, ...)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    counts = make_synthetic(args.out, SyntheticConfig(args.seed, args.ucf_clips_per_group,
                                                      args.hmdb_clips_per_class, args.frames,
                                                      args.ucf_groups))
    for name, count in counts.items():
        print(f"make_synthetic: {count} clips in {args.out / name} ({name} layout)")
    print(f"make_synthetic: done in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
