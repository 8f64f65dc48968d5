"""Numbers checked where they enter: argparse types for the tools' flags, each refusing a value
out of its range in one sentence (argparse prints it with the flag's name and exits 2), so that
no 0 or negative count is ever read as "not given"."""
from __future__ import annotations

import argparse
import math


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
