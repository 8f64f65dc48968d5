"""The paper's jobs: every training and every 25 x 10 scoring that Tables 1-4 need, each once,
with what each starts from. The workflow (workflow/Snakefile) runs them; the report
(models/evaluate/tables.py) reads what they made. Derived from the report's own rows, so that a
row the report prints is a row the workflow makes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pathlib import Path

from models.evaluate.score_file import named_path
from models.evaluate.tables import PAPER_ROWS, PRE_TRAINED_ON_ALL, UNI
from models.nets.paper_nets import fused_nets, paper_nets
from models.nets.solvers import SCHEDULE_OF_SETTING, SCHEDULES
from models.train.run_record import run_folder, snapshot_file

TABLES = ("1a", "1b", "2", "3", "4")
SPLITS = (1, 2, 3)
# Table 2's "+78 UCF-101 classes" row: its classes are the user's (the paper does not list them).
BORROWED = "hmdb51_temporal_flow-L10-meansub_plus-ucf101-78_scratch_drop0.9"


@dataclass(frozen=True)
class Training:
    """One run: a net trained on a dataset's split ("all": every video, to pre-train on).
    `start`: "scratch", "imagenet" (the Zoo's weights and mean image), or "run" (the last
    snapshot of `after`)."""

    dataset: str
    net: str
    split: int | str
    start: str = "scratch"
    after: Training | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """As its run folder is named under the runs folder: {dataset}/{net}_split{k}."""
        return f"{self.dataset}/{self.net}_split{self.split}"

    def folder(self, runs: Path) -> Path:
        return run_folder(runs, self.net, self.dataset, self.split)

    def last_snapshot(self, runs: Path, iters: int | None = None) -> Path:
        """The weights it ends with: the paper's schedule's last iteration, or `iters` (the
        schedule scaled, as train_net --iters)."""
        schedule = SCHEDULES[SCHEDULE_OF_SETTING[settings_of(self.net).setting]]
        return snapshot_file(self.folder(runs), self.net, iters or schedule["max_iter"])


@dataclass(frozen=True)
class Scoring:
    """One score file: a run's videos of its split's `subset` (train: for the SVM)."""

    training: Training
    subset: str

    @property
    def name(self) -> str:
        """As its score file is named under the scores folder."""
        return f"{self.training.name}_{self.subset}"

    def path(self, scores: Path) -> Path:
        t = self.training
        return named_path(scores, t.dataset, t.net, t.split, self.subset)


@dataclass(frozen=True)
class PaperJobs:
    trainings: tuple[Training, ...]  # in an order where each run comes after what it starts from
    scorings: tuple[Scoring, ...]
    stores: tuple[str, ...]  # the datasets to extract
    backward: bool  # UCF-101's store also needs backward flow (the bi-directional net)
    left_out: tuple[str, ...]  # rows that cannot be made as asked, each with why


def settings_of(net: str):
    return next(n.config for n in paper_nets() if n.name == net)


def datasets_of(net: str) -> tuple[str, ...]:
    """The datasets whose stores a net learns from: its heads' and any borrowed classes'."""
    config = settings_of(net)
    return (*(h.name for h in config.heads), *config.borrowed_classes)


class Plan:
    """The jobs gathered table by table, each training and scoring once."""

    def __init__(self, stand_in: str | None):
        self.trainings: dict[str, Training] = {}  # by run folder
        self.scorings: dict[Scoring, None] = {}
        self.stand_in = stand_in

    def train(self, dataset: str, net: str, split, start: str | None = None,
              after: Training | None = None) -> Training:
        if start is None:
            start = "scratch" if settings_of(net).setting == "scratch" else "imagenet"
        if start == "imagenet" and self.stand_in:  # weights of another run stand in (tests)
            start, after = "run", self.train("ucf101", self.stand_in, 1, "scratch")
        training = self.trainings.setdefault(f"{dataset}/{net}_split{split}",
                                             Training(dataset, net, split, start, after))
        if training.start != start:  # one run folder, one way of starting it
            raise ValueError(f"{training.name} would start from {training.start} and {start}.")
        return training

    def score(self, training: Training, *subsets: str) -> None:
        for subset in subsets:
            self.scorings.setdefault(Scoring(training, subset))


def paper_jobs(tables=TABLES, borrowed: bool = False, stand_in: str | None = None) -> PaperJobs:
    """The jobs of `tables`. `borrowed`: the user gave Table 2's borrowed classes (else its row
    is left out); `stand_in`: a from-scratch UCF-101 spatial net whose weights stand in for
    ImageNet's (no Zoo weights: the synthetic workflow)."""
    unknown = sorted(set(tables) - set(TABLES))
    if unknown or not tables:
        raise ValueError(f"tables {', '.join(unknown) or '(none)'}: give some of "
                         f"{', '.join(TABLES)}.")
    plan, left_out = Plan(stand_in), []
    for table, label, dataset, _, source in PAPER_ROWS:
        if table not in tables:
            continue
        if isinstance(source, tuple):  # Table 3: a fusion of two split-1 runs
            spatial, temporal = fused_nets(dataset)[0], source[1]
            subsets = ("test", "train") if source[2] == "svm" else ("test",)
            for net in (spatial, temporal):
                plan.score(plan.train(dataset, net, 1), *subsets)
        elif source == BORROWED and not borrowed:
            left_out.append(f"Table 2, {label}: give the UCF-101 classes you borrow "
                            "(one a line) as borrowed_classes")
        elif source == PRE_TRAINED_ON_ALL:  # Sect. 6: from a net trained on all of UCF-101
            first = plan.train("ucf101", UNI, "all")
            plan.score(plan.train(dataset, source, 1, "run", first), "test")
        else:
            plan.score(plan.train(dataset, source, 1), "test")
    if "4" in tables:  # Table 4: both streams on every split, with the SVM's training scores
        for dataset in ("ucf101", "hmdb51"):
            for split in SPLITS:
                for net in fused_nets(dataset):
                    plan.score(plan.train(dataset, net, split), "test", "train")
    trainings = tuple(plan.trainings.values())
    stores = tuple(d for d in ("ucf101", "hmdb51")
                   if any(d in datasets_of(t.net) or d == t.dataset for t in trainings))
    backward = any(settings_of(t.net).stacking == "bidirectional" for t in trainings)
    return PaperJobs(trainings, tuple(plan.scorings), stores, backward, tuple(left_out))
