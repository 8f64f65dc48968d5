"""Frames and optical flow of a whole dataset into its stores: parallel, sharded, resumable.

Worker processes decode, resize, compute flow and encode JPEGs; the main process alone writes,
one LMDB transaction per video, so an interrupted run leaves only whole videos behind and the
next run carries on with the rest. Videos that cannot be used are reported and listed in
failures.tsv; the others go on.
"""
from __future__ import annotations

import logging
import multiprocessing
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from data_prep.codec import FLOW_QUALITY, FRAME_QUALITY, encode_flow, encode_jpeg
from data_prep.datasets import Video, read_dataset
from data_prep.flow import flow_method, to_gray
from data_prep.store import Store, flow_keys, frame_key, write_index
from data_prep.video import SHORT_SIDE, VideoError, file_sha256, read_frames

# Frame pairs a batch flow method (brox-gpu) solves per call: a UCF-101 video's 341x256 pairs
# take about 40 MB each on the GPU, so 64 stay well inside any current GPU's memory.
BATCH_PAIRS = 64

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractConfig:
    dataset: str
    root: Path
    out: Path  # the dataset's store folder, e.g. data/ucf101
    method: str | None = None  # None: frames only
    backward: bool = False  # also backward flow, for bi-directional stacking
    bound: float | None = None  # None: per-field min/max ranges (the paper's)
    short_side: int = SHORT_SIDE
    jobs: int = 1
    shard: tuple[int, int] | None = None  # (i, n), 1-based: this node's share of the videos
    allow_missing: bool = False
    progress: bool = True

    @property
    def folder(self) -> Path:
        """Where this run writes: the dataset's folder, or its shard's."""
        if self.shard is None:
            return Path(self.out)
        return Path(self.out) / "shards" / f"{self.shard[0]}-of-{self.shard[1]}"


@dataclass
class Summary:
    stored: int = 0
    already: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    folder: Path | None = None

    @property
    def exit_code(self) -> int:
        """0: all stored; 1: some failed; 2: nothing in the store at all."""
        if self.stored + self.already == 0:
            return 2
        return 1 if self.failed else 0


def shard_of(videos: list[Video], shard: tuple[int, int] | None) -> list[Video]:
    if shard is None:
        return videos
    i, n = shard
    return [v for k, v in enumerate(videos) if k % n == i - 1]


def video_records(video: Video, config: ExtractConfig, need_frames: bool, need_flow: bool):
    """Everything one video puts into the stores; runs in a worker process."""
    frames = read_frames(video.path, config.short_side)
    height, width = frames[0].shape[:2]
    frame_meta = dict(frame_count=len(frames), height=height, width=width,
                      source=str(video.path), sha256=file_sha256(video.path),
                      jpeg_quality=FRAME_QUALITY, short_side=config.short_side)
    result = {}
    if need_frames:
        result["frames"] = ({frame_key(video.id, i): encode_jpeg(f, FRAME_QUALITY)
                             for i, f in enumerate(frames)}, frame_meta)
    if need_flow:
        result["flow"] = flow_records(video.id, [to_gray(f) for f in frames], config, frame_meta)
    return result


def flow_records(video: str, gray: list[np.ndarray], config: ExtractConfig, frame_meta: dict):
    method = flow_method(config.method)
    records, meta = {}, dict(frame_count=len(gray), flow_count=len(gray) - 1,
                             method=config.method, parameters=method.parameters(),
                             bound=config.bound, jpeg_quality=FLOW_QUALITY,
                             sha256=frame_meta["sha256"])
    directions = [False, True] if config.backward else [False]
    for backward in directions:
        ranges = []
        pairs = [(gray[i + 1], gray[i]) if backward else (gray[i], gray[i + 1])
                 for i in range(len(gray) - 1)]
        for i, flow in enumerate(video_flows(method, pairs)):
            jpeg_x, jpeg_y, r = encode_flow(flow, config.bound)
            key_x, key_y = flow_keys(video, i, backward)
            records[key_x], records[key_y] = jpeg_x, jpeg_y
            ranges.append(r.tolist())
        meta["backward_ranges" if backward else "ranges"] = ranges
    return records, meta


def video_flows(method, pairs: list):
    """The flow of each (first, second) pair: a batch method (brox-gpu) takes a video's pairs,
    all of one size, BATCH_PAIRS at a time; the others one by one."""
    if not hasattr(method, "batch"):
        yield from (method(a, b) for a, b in pairs)
        return
    for start in range(0, len(pairs), BATCH_PAIRS):
        chunk = pairs[start:start + BATCH_PAIRS]
        yield from method.batch(np.stack([a for a, _ in chunk]), np.stack([b for _, b in chunk]))


def work(job):
    """Worker entry: (video, config, needs) -> (video id, records or None, failure or None)."""
    video, config, need_frames, need_flow = job
    try:
        return video.id, video_records(video, config, need_frames, need_flow), None
    except VideoError as error:
        return video.id, None, str(error)


def init_worker():
    cv2.setNumThreads(1)  # one core per process: JOBS=N uses N cores, and results are exact


def results(jobs: list, workers: int):
    if workers <= 1:
        init_worker()
        yield from map(work, jobs)
        return
    with multiprocessing.get_context("fork").Pool(workers, initializer=init_worker) as pool:
        yield from pool.imap_unordered(work, jobs, chunksize=1)


def extract(config: ExtractConfig) -> Summary:
    start = time.perf_counter()
    dataset = read_dataset(config.dataset, config.root, config.allow_missing)
    folder = config.folder
    if config.method:
        flow_method(config.method)  # a method that cannot run here says so before any work
    folder.mkdir(parents=True, exist_ok=True)
    videos = shard_of(sorted(dataset.videos.values(), key=lambda v: v.id), config.shard)
    summary = Summary(folder=folder)
    frames_store = Store(folder / "frames.lmdb")
    flow_store = Store(folder / f"flow-{config.method}.lmdb") if config.method else None
    try:
        jobs = []
        for video in videos:
            need_frames = not frames_store.has(video.id)
            need_flow = flow_store is not None and not flow_store.has(video.id)
            if need_frames or need_flow:
                jobs.append((video, config, need_frames, need_flow))
            else:
                summary.already += 1
        log.info("%s: %d videos, %d already stored, %d to do, %d job(s) -> %s", dataset.name,
                 len(videos), summary.already, len(jobs), config.jobs, folder)
        bar = tqdm(total=len(jobs), unit="video", disable=not config.progress,
                   desc=f"{dataset.name} {config.method or 'frames'}")
        for video_id, records, failure in results(jobs, config.jobs):
            if failure is not None:
                summary.failed.append((video_id, failure))
                log.warning("skipped %s", failure)
            else:
                if "frames" in records:
                    frames_store.put_video(video_id, *records["frames"])
                if "flow" in records:
                    flow_store.put_video(video_id, *records["flow"])
                summary.stored += 1
            bar.update(1)
        bar.close()
    finally:
        frames_store.close()
        if flow_store is not None:
            flow_store.close()
    write_failures(folder, summary.failed)
    write_index(folder, dataset, stored_methods(folder))
    summary.seconds = time.perf_counter() - start
    return summary


def stored_methods(folder: Path) -> list[str]:
    """The flow methods that have a store in folder (flow-{method}.lmdb)."""
    return sorted(p.name[len("flow-"):-len(".lmdb")] for p in folder.glob("flow-*.lmdb"))


def write_failures(folder: Path, failed: list[tuple[str, str]]) -> None:
    path = folder / "failures.tsv"
    if failed:
        path.write_text("video\treason\n" + "".join(f"{v}\t{r}\n" for v, r in sorted(failed)))
    elif path.exists():
        path.unlink()


def merge(dataset_name: str, root: Path, out: Path, allow_missing: bool = False) -> dict:
    """Joins the shards under out/shards/ into out/'s stores; returns {store: videos merged}."""
    dataset = read_dataset(dataset_name, root, allow_missing)
    shards = sorted((Path(out) / "shards").glob("*-of-*"))
    if not shards:
        raise FileNotFoundError(f"no shards under {Path(out) / 'shards'}; run with SHARD=i/N "
                                "first.")
    merged, failed = {}, []
    for shard in shards:
        for store_dir in sorted(shard.glob("*.lmdb")):
            copied = copy_store(store_dir, Path(out) / store_dir.name)
            merged[store_dir.name] = merged.get(store_dir.name, 0) + copied
        failures = shard / "failures.tsv"
        if failures.exists():
            failed += [tuple(line.split("\t", 1)) for line in
                       failures.read_text().splitlines()[1:]]
    write_failures(Path(out), failed)
    write_index(Path(out), dataset, stored_methods(Path(out)))
    return merged


def copy_store(source: Path, target: Path) -> int:
    """Copies every whole video of one shard store into the joint store."""
    copied = 0
    with Store(source, readonly=True) as src, Store(target) as dst:
        for video in src.videos():
            if dst.has(video):
                continue
            dst.put_video(video, src.records(video), src.meta(video))
            copied += 1
    return copied
