"""Whether the paper's recipe trains (Sect. 5): the first iterations' losses of a net from scratch
at the paper's learning rate, read straight from the solver, one iteration at a time.

A sane start is a loss near ln(C) for C classes (the softmax of small logits); a loss many times
that means the initial logits are huge, and SGD at lr 1e-2 then blows up.
"""
from __future__ import annotations

import math
from pathlib import Path

from models.train.loop import RunConfig, prepare, start_solver


def loss_of(net) -> float:
    """The net's loss: the sum of its heads' losses (one head, or one per dataset)."""
    return float(sum(net.blobs[name].data for name in net.outputs if name.startswith("loss")))


def first_losses(config: RunConfig, iterations: int, path: Path) -> list[float]:
    """The loss of each of the first `iterations` SGD steps of the run `config` describes (its
    folder is written as a training run's), each also appended to `path` as it comes, so that
    the losses before a crash are kept; stops at the first NaN or infinity."""
    solver_path, _, _ = prepare(config)
    solver = start_solver(config, solver_path, None)
    losses = []
    path.write_text("")
    for _ in range(iterations):
        solver.step(1)
        losses.append(loss_of(solver.net))
        with open(path, "a") as handle:
            handle.write(f"{losses[-1]}\n")
        if not math.isfinite(losses[-1]):
            break
    return losses
