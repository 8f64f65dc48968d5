"""The whole paper in miniature on the embedded synthetic data: flow, both streams, multi-task,
25 x 10 testing, fusion by averaging and SVM, and the paper's findings measured.

    python tools/demo.py [--out runs/demo] [--full] [--fresh]

Every stage is a call of the library the tools call (extraction, training, scoring), each in a
process of its own with its output in OUT/logs/; a stage whose output exists is kept, so an
interrupted demo resumes. Writes OUT/report.md (tables and figures) and OUT/results.json.
"""
from __future__ import annotations

import itertools
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from data_prep.datasets.synthetic import MARKER, SyntheticConfig, make_synthetic
from data_prep.extract import ExtractConfig, extract
from models.demo.findings import finding_line, measure, percent
from models.demo.kernels import THREADS
from models.demo.summary import write_report
from models.evaluate.score_file import named_path, read_scores
from models.evaluate.score_run import ScoreRequest, score_run
from models.train.loop import leave_without_caffe
from models.train.request import TrainRequest, run_folder, train_run
from models.train.run_record import latest_snapshot, read_record, snapshot_iteration


@dataclass(frozen=True)
class DemoConfig:
    """The demo's nets are the paper's CNN-M-2048 from the same builder, smaller so that the
    whole demo runs in minutes on two cores (docs/demo.md)."""

    width: float = 0.5  # every layer's channels x 0.5 (conv1 48 filters, fc6 2048, fc7 1024)
    # He fillers, under which the README's figures were measured; under the nets' own lsuv
    # every net learns too, but L = 10 beats L = 1 only within noise (docs/recipe.md).
    init: str | None = "he"  # None: each net its own (cnn_m_2048.default_init)
    short_side: int = 64  # frames and flow stored at 64 px (synthetic clips are 160x120)
    input_size: int = 48  # crops of 48 px: the smallest the net's five strided stages take
    batch_size: int = 32
    # The paper's schedule (lr / 10 at 5/8 and 7/8 of the run) scaled to 500 iterations, the
    # fewest after which the temporal net had learnt (docs/demo.md, "The demo's nets").
    iters: int = 500
    # Temporal nets: too few iterations for dropout to pay; the spatial net keeps Table 1a's 0.5,
    # without which it is overconfident where it cannot know (docs/demo.md).
    temporal_dropout: float = 0.0
    spatial_dropout: float = 0.5
    synthetic: SyntheticConfig = SyntheticConfig()


FULL = DemoConfig(width=1.0, init=None, short_side=256, input_size=224, batch_size=256,
                  temporal_dropout=0.9, spatial_dropout=0.9)  # Table 1's nets from scratch
# A few seconds a stage: what the test suite runs so CI keeps the demo working end to end.
TINY = DemoConfig(width=0.125, iters=6, batch_size=8,
                  synthetic=SyntheticConfig(ucf_clips_per_group=1, hmdb_clips_per_class=5,
                                            frames=12, ucf_groups=4))


@dataclass(frozen=True)
class Net:
    """One trained net of the demo: its results.json key and its choice (models/nets/choice.py)."""

    key: str
    dataset: str  # the dataset whose split-1 test videos it is scored on
    choice: dict = field(default_factory=dict)
    fusion: bool = False  # also scored on its training videos (for the SVM)


NETS = (
    Net("spatial", "ucf101", dict(stream="spatial", setting="scratch"), fusion=True),
    Net("temporal", "ucf101", dict(stream="temporal"), fusion=True),
    Net("temporal_no_mean_subtraction", "ucf101", dict(stream="temporal",
                                                       no_mean_subtraction=True)),
    Net("temporal_L1", "ucf101", dict(stream="temporal", length=1)),
    # Table 2's set-up: HMDB-51's split 1 plus all of UCF-101, one softmax head each.
    Net("multitask.temporal", "hmdb51", dict(stream="multitask")),
)


class DemoError(Exception):
    pass


def extract_stage(config: ExtractConfig) -> None:
    """One extraction, as tools/extract.py runs it; raises if a video failed."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    summary = extract(config)
    print(f"{config.dataset} {config.method or 'frames'}: {summary.stored} stored, "
          f"{summary.already} already there, {len(summary.failed)} failed -> {summary.folder}")
    if summary.exit_code:
        raise DemoError(summary.stopped or f"{len(summary.failed)} videos failed "
                        f"({summary.folder / 'failures.tsv'})")


def stage_process(log: str, work, request) -> None:
    """In a process of its own: `work(request)`, its output (Caffe's too) into `log`."""
    handle = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    try:
        work(request)
    except BaseException:
        traceback.print_exc()
        code = 1
    else:
        code = 0
    leave_without_caffe(code)


class Demo:
    def __init__(self, out: Path, config: DemoConfig):
        self.out, self.config = out, config
        self.synthetic, self.stores = out / "synthetic", out / "stores"
        self.runs, self.scores, self.logs = out / "runs", out / "scores", out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.steps = itertools.count(1)  # stages run in two threads: next() hands out each once
        # Inherited by the stages' processes: the pinned thread count (models/demo/kernels.py)
        # also where tools/demo.py did not pin, and no page of Caffe's net set-up per stage.
        for name, value in THREADS.items():
            os.environ.setdefault(name, value)
        os.environ["GLOG_minloglevel"] = "2"

    def say(self, message: str) -> None:
        print(f"demo: {message}", flush=True)

    def stage(self, work, request, log: str) -> None:
        """`work(request)` in a process of its own (so that one trains while another tests, on
        both cores); its output goes to logs/{log}.log, its last lines to the screen if it
        fails."""
        step, start = next(self.steps), time.perf_counter()
        path = self.logs / f"{log}.log"
        process = multiprocessing.get_context("spawn").Process(
            target=stage_process, args=(str(path), work, request))
        process.start()
        process.join()
        if process.exitcode != 0:
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-15:])
            raise DemoError(f"{log} failed (exit {process.exitcode}); its log is {path}:\n{tail}")
        self.say(f"[{step}] {log}: {time.perf_counter() - start:.0f} s (log {path})")

    def make_data(self) -> None:
        marker = self.synthetic / "hmdb51" / MARKER
        if marker.exists() and json.loads(marker.read_text())["config"] == asdict(
                self.config.synthetic):
            self.say(f"synthetic datasets already in {self.synthetic}")
        else:
            start = time.perf_counter()
            make_synthetic(self.synthetic, self.config.synthetic)
            self.say(f"synthetic datasets -> {self.synthetic}: "
                     f"{time.perf_counter() - start:.0f} s")
        for dataset in ("ucf101", "hmdb51"):
            for method in (None, "brox"):
                config = ExtractConfig(dataset, self.synthetic / dataset, self.stores / dataset,
                                       method, short_side=self.config.short_side,
                                       jobs=os.cpu_count() or 2, progress=False)
                log = f"{dataset}_flow_{method}" if method else f"{dataset}_frames"
                self.stage(extract_stage, config, log)

    def training(self, net: Net, resume: bool = False) -> TrainRequest:
        c = self.config
        return TrainRequest(
            **net.choice, dataset=net.dataset, split=1, runs=self.runs,
            stores={d: self.stores / d for d in ("ucf101", "hmdb51")}, iters=c.iters,
            width=c.width, init=c.init, input_size=c.input_size, batch_size=c.batch_size,
            workers=1, dropout=c.spatial_dropout if net.choice["stream"] == "spatial"
            else c.temporal_dropout, display=max(1, c.iters // 10), test_interval=c.iters,
            snapshot_every=max(1, c.iters // 3), resume=resume)

    def train(self, net: Net) -> Path:
        folder = run_folder(self.training(net))
        snapshot = latest_snapshot(folder) if folder.exists() else None
        if snapshot is not None and snapshot_iteration(snapshot) >= self.config.iters:
            self.say(f"{net.key}: trained already ({folder})")
            return folder
        self.stage(train_run, self.training(net, resume=snapshot is not None),
                   f"train_{net.key}")
        return folder

    def test(self, net: Net, folder: Path, subset: str) -> Path:
        record = read_record(folder)
        path = named_path(self.scores, record.dataset, record.net, record.split, subset)
        if not path.exists():
            self.stage(score_run, ScoreRequest(run=folder, subset=subset, out=self.scores,
                                               quiet=True), f"test_{net.key}_{subset}")
        return path

    def check_settings(self) -> None:
        """An interrupted demo resumes only into a folder made with the same settings."""
        path = self.out / "demo_config.json"
        settings = json.dumps(asdict(self.config), sort_keys=True)
        if path.exists() and path.read_text() != settings:
            raise DemoError(f"{self.out} holds a demo made with other settings ({path}); give "
                            "another --out, or --fresh to start this one over.")
        path.write_text(settings)

    def run(self) -> dict:
        start = time.perf_counter()
        self.check_settings()
        self.make_data()
        folders, tested = {}, {}
        # Each net is tested while the next one trains: one test at a time beside the training,
        # as the tests run on one core and training leaves the other mostly idle (2 cores: the
        # demo took 568 s with every stage in turn).
        with ThreadPoolExecutor(1) as tests:
            for net in NETS:
                folder = folders[net.key] = self.train(net)
                for subset in ("test", "train") if net.fusion else ("test",):
                    key = net.key if subset == "test" else f"{net.key}.{subset}"
                    tested[key] = tests.submit(self.test, net, folder, subset)
            paths = {key: future.result() for key, future in tested.items()}
        scores = {key: read_scores(path) for key, path in paths.items()}
        results = measure(scores, self.synthetic)
        results["seconds"] = round(time.perf_counter() - start, 1)
        results["config"] = asdict(self.config)
        write_report(self, results, scores, folders)
        return results


def run_demo(config: DemoConfig, out: Path, fresh: bool = False) -> int:
    """The demo into `out` (with `fresh`, emptied first), printed as it goes; 0 done, 1 a stage
    failed (its log named)."""
    out = out.resolve()
    if fresh and out.exists():
        shutil.rmtree(out)
    demo = Demo(out, config)
    demo.say(f"the paper in miniature -> {out} (nets at width {config.width}, "
             f"{config.input_size}-px crops, {config.iters} iterations)")
    try:
        results = demo.run()
    except DemoError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    for f in results["findings"]:
        demo.say(finding_line(f))
    demo.say(f"spatial {percent(results['spatial'])}, temporal {percent(results['temporal'])}, "
             f"average {percent(results['fusion.average'])}, SVM {percent(results['fusion.svm'])}")
    demo.say(f"report {out / 'report.md'}, results {out / 'results.json'}")
    demo.say(f"done in {results['seconds']:.0f} s ({results['seconds'] / 60:.1f} min)")
    return 0

