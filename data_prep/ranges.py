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


def count(text: str) -> int:
    """An integer > 0: iterations, batch sizes, videos, sizes, repeats."""
    value = _number(int, text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be greater than 0")
    return value


def index(text: str) -> int:
    """An integer >= 0: a GPU id, a seed, a worker count (0: in this process), a frame."""
    value = _number(int, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def positive(text: str) -> float:
    """A number > 0: a learning rate, a flow bound."""
    value = _number(float, text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be greater than 0")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1): a dropout ratio."""
    value = _number(float, text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be in [0, 1)")
    return value


def width(text: str) -> float:
    """A channel width factor in (0, 1]: 1 is the paper's nets."""
    value = _number(float, text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value} must be in (0, 1]")
    return value
