"""The paper's Tables 1-4 with our numbers beside the paper's, and Figs. 4-6, from the runs.

    python tools/report.py [--scores runs/scores] [--runs runs] [--out runs/report]

Every row comes from the score file of its own net, dataset and split (SCORES); the runs' folders
give the temporal nets' conv1 filters. Writes OUT/report.md and its PNG figures; a table cell
with no run says so.

Exit code: 0 written, 1 written without the score files it names (unreadable: each is
left out with its reason, in report.md too).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from models.evaluate.tables import write_report
from tools import flags


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=Path, default=Path("runs/scores"),
                        help="the score files' folder (tools/score_net.py --out)")
    parser.add_argument("--runs", type=Path, default=Path("runs"),
                        help="the training runs' folder (for the conv1 filters)")
    parser.add_argument("--out", type=flags.output_folder, default=Path("runs/report"))
    args = parser.parse_args(argv)
    path, count, left_out = write_report(args.scores, args.runs, args.out)
    for reason in left_out:
        print(f"report: left out {reason}", file=sys.stderr)
    print(f"report: {count} run(s) -> {path}")
    return 1 if left_out else 0


if __name__ == "__main__":
    raise SystemExit(main())
