"""The whole paper in miniature on the embedded synthetic data: flow, both streams, multi-task,
25 x 10 testing, fusion by averaging and SVM, and the paper's findings measured.

    python tools/demo.py [--out runs/demo] [--full] [--fresh]

The demo is models/demo/: every stage calls the library the tools call (extraction, training,
scoring), in a process of its own; a stage whose output exists is kept, so an interrupted demo
resumes.
Writes OUT/report.md (tables and figures) and OUT/results.json.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from models.demo.kernels import pin_kernels
from tools import flags


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=flags.output_folder,
                        help="default runs/demo (runs/demo-full with --full)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="the paper-sized nets (hours on a CPU)")
    size.add_argument("--tiny", action="store_true", help="seconds a stage, for the test suite")
    parser.add_argument("--fresh", action="store_true", help="delete OUT first")
    args = parser.parse_args(argv)
    # Before anything loads OpenBLAS: the demo's own process and, by inheritance, its tools'.
    print(f"demo: {pin_kernels()}", flush=True)
    from models.demo.pipeline import FULL, TINY, DemoConfig, run_demo
    config = FULL if args.full else TINY if args.tiny else DemoConfig()
    return run_demo(config, args.out or Path("runs/demo-full" if args.full else "runs/demo"),
                    args.fresh)


if __name__ == "__main__":
    raise SystemExit(main())
