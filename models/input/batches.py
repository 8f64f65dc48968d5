"""Training mini-batches from the stores: the data layers' parameters, their videos, and
`BatchMaker`, which fills one batch's arrays (in a worker process, or inline)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from data_prep.store import (CorruptRecord, FlowReader, FrameReader, IndexedVideos, StoreError,
                             read_index)
from models.input.mean_image import MeanError, read_mean
from models.input.sampling import (HELD_OUT_FRACTION, Sample, TrainVideo, batch_seed, by_class,
                             held_out_ids, sample_batch, usable)
from models.input.volumes import colour_jitter, random_crop, rgb_input, stored_fields, volume_of


log = logging.getLogger("train")
# Samples drawn in a row for one batch slot before a store too corrupt to train from stops it.
MAX_REDRAWS = 20


class InputError(ValueError):
    """Data-layer parameters or stores that cannot make a batch; the message says why."""


@dataclass(frozen=True)
class InputParams:
    """The data layer's param_str. The committed nets carry the first group; the training tool
    adds the run's own stores, splits and seed to its copy."""

    stream: str
    batch_size: int
    crop_size: int
    datasets: list
    flip: bool = True
    new_length: int = 1
    stacking: str = "flow"
    mean_subtraction: bool = True
    colour_jitter: bool = False
    ignore_label: int = -1
    borrowed_classes: dict = field(default_factory=dict)
    # added per run
    stores: dict = field(default_factory=dict)  # dataset -> store folder
    borrowed_class_names: dict = field(default_factory=dict)  # dataset -> the classes borrowed
    splits: dict = field(default_factory=dict)  # dataset -> 1, 2, 3 or "all"
    method: str = "brox"
    seed: int = 0
    workers: int = 2
    queue_size: int = 2
    held_out: float = HELD_OUT_FRACTION
    mean_file: str | None = None  # a mean image in place of the mean pixel (spatial nets)
    start_batch: int = 0  # a resumed run's first batch, so it continues the same sequence
    # The held-out batches of one validation: every validation draws the same ones, so that
    # validations compare, and a resumed run's equal the uninterrupted run's (0: no cycle).
    held_out_batches: int = 0

    @property
    def channels(self) -> int:
        return (2 if self.stream == "temporal" else 3) * self.new_length


def parse_params(param_str: str, stream: str) -> InputParams:
    try:
        raw = json.loads(param_str)
    except json.JSONDecodeError as error:
        raise InputError(f"data layer param_str is not JSON ({error}): {param_str!r}") from None
    known = {f.name for f in fields(InputParams)} - {"stream"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(f"data layer param_str has unknown keys {unknown}; known: "
                         f"{sorted(known)}")
    params = InputParams(stream=stream, **raw)
    for dataset, count in params.borrowed_classes.items():
        names = params.borrowed_class_names.get(dataset, [])
        if len(names) != count:
            raise InputError(f"the net adds {count} {dataset} classes (Table 2) but param_str "
                             f"names {len(names)}; the paper does not list them: train with "
                             f"tools/train_net.py --borrowed-classes FILE.")
    missing = [d for d in [*params.datasets, *params.borrowed_classes]
               if d not in params.stores or d not in params.splits]
    if missing:
        raise InputError(f"data layer param_str gives no store or split for {missing}: train "
                         "with tools/train_net.py, which writes them into the run's nets.")
    return params


def read_videos(params: InputParams, dataset: str, phase_train: bool) -> list[TrainVideo]:
    """The split's training videos of one dataset, minus (TRAIN) or only (TEST) the held-out
    slice, that are long enough for a sample."""
    try:
        index = read_index(params.stores[dataset],
                           params.method if params.stream == "temporal" else None)
    except StoreError as error:
        raise InputError(str(error)) from None
    member = index.member(params.splits[dataset], "train") & index.stored
    videos = [TrainVideo(dataset, i, int(label), int(count))
              for i, label, count, m in zip(index.ids, index.labels, index.counts, member) if m]
    videos = [v for v in videos if usable(v, params.stacking, params.new_length, params.stream)]
    held = held_out_ids(videos, params.held_out)
    return [v for v in videos if (v.id in held) != phase_train]


def check_store_serves(store, method: str, split, subset: str, config,
                       every_video: bool) -> tuple[IndexedVideos, list[str]]:
    """Refuses, before any work, a store that cannot give `config`'s net its input on this
    split's subset: no backward flow for a bi-directional net, or videos too short for L (all
    of them; with `every_video`, as testing needs, any). Returns the store's index and the ids
    of the videos it can serve."""
    temporal = config.stream == "temporal"
    try:
        index = read_index(store, method if temporal else None)
    except StoreError as error:
        raise InputError(str(error)) from None
    member = index.member(split, subset) & index.stored
    ids = [i for i, m in zip(index.ids, member) if m]
    if not ids:
        raise InputError(f"{store} holds no {subset} video of split {split}; extract the "
                         "dataset's videos first.")
    small = [(i, int(side)) for i, m, side in zip(index.ids, member, index.short_sides)
             if m and side < config.input_size]
    if small:
        raise InputError(f"{len(small)} of the {len(ids)} {subset} videos in {store} are smaller "
                         f"than the net's {config.input_size}-pixel crops (e.g. {small[0][0]}, "
                         f"{small[0][1]} pixels on its short side): extract at --short-side "
                         f"{config.input_size} or more, or give --input-size "
                         f"{min(s for _, s in small)} or less.")
    if temporal and config.stacking == "bidirectional":
        lacking = [i for i, m, b in zip(index.ids, member, index.backward) if m and not b]
        if lacking:
            raise InputError(f"{store} has no backward {method} flow for {len(lacking)} of the "
                             f"{len(ids)} videos (e.g. {lacking[0]}) and the bi-directional net "
                             f"needs it: run `make flow ... METHOD={method} BACKWARD=1`, which "
                             "adds it to exactly those videos.")
    short = [i for i, m, c in zip(index.ids, member, index.counts)
             if m and not usable(TrainVideo("", i, 0, int(c)), config.stacking,
                                 config.new_length, config.stream)]
    if short and (every_video or len(short) == len(ids)):
        raise InputError(f"{len(short)} of the {len(ids)} {subset} videos in {store} are too "
                         f"short for L = {config.new_length} ({config.stacking} stacking), "
                         f"e.g. {short[0]}; choose a smaller L, or a store of longer videos.")
    if short:
        log.warning("%d of the %d %s videos in %s are too short for L = %d and are not "
                    "sampled: %s", len(short), len(ids), subset, store, config.new_length,
                    ", ".join(short[:5]) + (" ..." if len(short) > 5 else ""))
        too_short = set(short)
        ids = [i for i in ids if i not in too_short]
    return index, ids


def store_classes(store) -> list[str]:
    return read_index(store).classes


def read_borrowed(params: InputParams, dataset: str, phase_train: bool) -> list[TrainVideo]:
    """Table 2's extra training data: the videos of the named classes of another dataset, as
    classes C, C+1, ... of the net's one head (C: its own dataset's class count)."""
    head = params.datasets[0]
    offset = len(store_classes(params.stores[head]))
    lookup = {c.lower(): i for i, c in enumerate(store_classes(params.stores[dataset]))}
    names = params.borrowed_class_names[dataset]
    unknown = [n for n in names if n.lower() not in lookup]
    if unknown:
        raise InputError(f"{Path(params.stores[dataset]) / 'index.h5'} has no class "
                         f"{', '.join(unknown)}; check the --borrowed-classes file's names.")
    position = {lookup[n.lower()]: offset + j for j, n in enumerate(names)}
    return [replace(v, label=position[v.label], head=head)
            for v in read_videos(params, dataset, phase_train) if v.label in position]


class BatchMaker:
    """Fills batch arrays; opens its own LMDB readers (one set per process)."""

    def __init__(self, params: InputParams, phase_train: bool, rank: int = 0,
                 quiet: bool = False):
        # quiet: skips are counted but not logged (a batch drawn again later, which logs them).
        self.params, self.rank, self.phase_train, self.quiet = params, rank, phase_train, quiet
        videos = [v for d in params.datasets for v in read_videos(params, d, phase_train)]
        videos += [v for d in params.borrowed_classes for v in read_borrowed(params, d,
                                                                             phase_train)]
        if not videos:
            raise InputError(f"no {'training' if phase_train else 'held-out'} video of "
                             f"{params.datasets} is in the stores {params.stores}.")
        self.groups = by_class(videos, params.datasets)
        try:
            self.mean = read_mean(params.mean_file, params.crop_size) if params.mean_file else None
        except MeanError as error:
            raise InputError(str(error)) from None
        self.videos = len(videos)
        self.skipped = 0  # samples skipped for a corrupt record
        self._readers = None

    @property
    def shapes(self):
        p = self.params
        return (p.batch_size, p.channels, p.crop_size, p.crop_size), (len(p.datasets), p.batch_size)

    def readers(self):
        if self._readers is None:  # opened lazily: LMDB handles must not cross a fork
            if self.params.stream == "temporal":
                self._readers = {d: FlowReader(s, self.params.method)
                                 for d, s in self.params.stores.items()}
            else:
                self._readers = {d: FrameReader(s) for d, s in self.params.stores.items()}
        return self._readers

    def samples(self, batch_index: int) -> tuple[list[Sample], np.random.Generator]:
        p = self.params
        # TEST batches come from their own stream, so validation never shifts training batches.
        rng = batch_seed(p.seed + (0 if self.phase_train else 1_000_003), self.rank, batch_index)
        return sample_batch(self.groups, p.datasets, p.batch_size, rng, p.stacking, p.new_length,
                            p.stream, p.ignore_label), rng

    def fill(self, batch_index: int, data: np.ndarray, labels: np.ndarray) -> None:
        samples, rng = self.samples(batch_index)
        for i, sample in enumerate(samples):
            for _ in range(MAX_REDRAWS):
                try:
                    self.sample_input(sample, rng, data[i])
                    break
                except CorruptRecord as error:
                    # The sample is skipped and another drawn; each one is logged and counted,
                    # so a store with corrupt records shows in train.log, never silently.
                    self.skipped += 1
                    if not self.quiet:
                        log.warning("skipped sample %d of batch %d (%d skipped so far): %s",
                                    i, batch_index, self.skipped, error)
                    sample = sample_batch(self.groups, self.params.datasets, 1, rng,
                                          self.params.stacking, self.params.new_length,
                                          self.params.stream, self.params.ignore_label)[0]
            else:
                raise InputError(f"{MAX_REDRAWS} samples in a row of batch {batch_index} hit "
                                 "corrupt records; redo the store's videos named in train.log.")
            labels[:, i] = sample.labels

    def sample_input(self, sample: Sample, rng: np.random.Generator, out: np.ndarray) -> None:
        """Writes one sample's input into `out` (C x S x S)."""
        p, reader = self.params, self.readers()[sample.video.dataset]
        video, t, size = sample.video.id, sample.frame, p.crop_size
        flip = p.flip and bool(rng.random() < 0.5)
        if p.stream == "spatial":
            frames = [reader.frame(video, t + k) for k in range(p.new_length)]
            y0, x0 = random_crop(*frames[0].shape[:2], size, rng)
            jitter = colour_jitter(rng) if p.colour_jitter else None
            out[...] = rgb_input(frames, y0, x0, size, flip, jitter, self.mean)
            return
        fields_, shape = stored_fields(reader, video, t, p.stacking, p.new_length)
        y0, x0 = random_crop(*shape, size, rng)
        volume_of(fields_, p.stacking, y0, x0, size, p.mean_subtraction, flip, out=out)
