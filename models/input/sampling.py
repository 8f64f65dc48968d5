"""Which videos and frames a training mini-batch holds (Sect. 5), as plain functions.

Sect. 5: "a mini-batch of 256 samples is constructed by sampling 256 training videos (uniformly
across the classes), from each of which a single frame is randomly selected". For the temporal
net the frame is one whose whole flow volume exists.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

# Validation during training uses a held-out slice of the training videos (the paper reports
# none; its test set stays untouched until the 25 x 10 evaluation).
HELD_OUT_FRACTION = 0.1


@dataclass(frozen=True)
class TrainVideo:
    dataset: str  # the store it is read from
    id: str
    label: int  # within its head's classes
    flow_count: int  # frames - 1
    head: str = ""  # the head it trains; its own dataset's unless borrowed (Table 2)

    @property
    def trains(self) -> str:
        return self.head or self.dataset


@dataclass(frozen=True)
class Sample:
    video: TrainVideo
    frame: int  # the first frame of the sample (flow stacking), or its centre (bi-directional)
    labels: tuple[int, ...]  # one per head; IGNORE for another dataset's head


def held_out_ids(videos: list[TrainVideo], fraction: float = HELD_OUT_FRACTION) -> set[str]:
    """A stable, class-balanced slice of the training videos: in each class, the share
    `fraction` (at least one, when the class has two or more) with the smallest CRC-32 of their
    ids. The same ids are held out on every run and machine."""
    chosen = set()
    for group in by_class(videos, sorted({v.trains for v in videos})):
        if len(group) < 2 or fraction <= 0:
            continue
        count = max(1, round(fraction * len(group)))
        ranked = sorted(group, key=lambda v: (zlib.crc32(v.id.encode()), v.id))
        chosen.update(v.id for v in ranked[:count])
    return chosen


def frame_range(flow_count: int, stacking: str, new_length: int,
                stream: str = "temporal") -> tuple[int, int]:
    """[first, last] frame t whose sample exists: flow stacking and trajectories need flows
    t .. t+L-1; bi-directional needs backward flows t-L/2 .. t-1 and forward t .. t+L/2-1.
    A spatial sample is a frame (or L consecutive frames for the RGB stack)."""
    frames = flow_count + 1
    if stream == "spatial":
        return 0, frames - new_length
    if stacking == "bidirectional":
        half = new_length // 2
        return half, flow_count - half
    return 0, flow_count - new_length


def by_class(videos: list[TrainVideo], heads: list[str]) -> list[list[TrainVideo]]:
    """Videos grouped by (dataset, class), in a fixed order; the classes of every head."""
    groups = {}
    for video in sorted(videos, key=lambda v: (heads.index(v.trains), v.label, v.id)):
        groups.setdefault((video.trains, video.label), []).append(video)
    return list(groups.values())


def sample_batch(groups: list[list[TrainVideo]], heads: list[str], batch_size: int,
                 rng: np.random.Generator, stacking: str = "flow", new_length: int = 1,
                 stream: str = "temporal", ignore_label: int = -1) -> list[Sample]:
    """batch_size samples: a class uniformly (over every head's classes), a video uniformly in
    it, a frame uniformly among those whose sample exists."""
    samples = []
    for c in rng.integers(0, len(groups), batch_size):
        video = groups[c][rng.integers(0, len(groups[c]))]
        first, last = frame_range(video.flow_count, stacking, new_length, stream)
        frame = int(rng.integers(first, last + 1))
        labels = tuple(video.label if head == video.trains else ignore_label for head in heads)
        samples.append(Sample(video, frame, labels))
    return samples


def usable(video: TrainVideo, stacking: str, new_length: int, stream: str = "temporal") -> bool:
    first, last = frame_range(video.flow_count, stacking, new_length, stream)
    return last >= first


def batch_seed(seed: int, rank: int, batch_index: int) -> np.random.Generator:
    """Each GPU (rank) and each batch has its own random stream: batches are the same whatever
    the number of worker processes, and ranks never repeat each other's samples."""
    return np.random.default_rng([seed, rank, batch_index])


def per_gpu_batch(total: int, gpus: int) -> int:
    """Caffe runs the prototxt's batch on every GPU: each gets total / N (Sect. 5's 256 split
    across GPUs)."""
    if gpus < 1 or total % gpus:
        raise ValueError(f"a total batch of {total} does not split evenly over {gpus} GPU(s); "
                         "use a GPU count that divides it.")
    return total // gpus
