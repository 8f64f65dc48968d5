"""Optical flow between two image files, written as a Middlebury .flo (and a colour picture).

    python tools/compute_flow.py --method brox frame10.png frame11.png -o flow.flo [--png flow.png]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2

from data_prep.flow import METHODS, flow_method
from data_prep.flow.middlebury import flow_to_colour, write_flo
from tools import flags


def read_gray(path: Path):
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise SystemExit(f"compute_flow: cannot read image {path}; give a PNG or JPEG file.")
    return image


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frame1", type=Path)
    parser.add_argument("frame2", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .flo file to write")
    parser.add_argument("--method", choices=METHODS, default="brox")
    parser.add_argument("--png", type=flags.output_file,
                        help="also write the Middlebury colour coding here")
    args = parser.parse_args(argv)
    first, second = read_gray(args.frame1), read_gray(args.frame2)
    if first.shape != second.shape:
        raise SystemExit(f"compute_flow: {args.frame1} is {first.shape[1]}x{first.shape[0]} but "
                         f"{args.frame2} is {second.shape[1]}x{second.shape[0]}; give two frames "
                         "of one size.")
    try:
        method = flow_method(args.method)
    except RuntimeError as error:
        raise SystemExit(f"compute_flow: {error}") from None
    start = time.perf_counter()
    flow = method(first, second)
    seconds = time.perf_counter() - start
    write_flo(args.output, flow)
    if args.png:
        cv2.imwrite(str(args.png), flow_to_colour(flow))
    print(f"compute_flow: {args.method} flow {flow.shape[1]}x{flow.shape[0]} in {seconds:.3f} s "
          f"-> {args.output}" + (f", {args.png}" if args.png else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
