"""Frames and optical flow of a whole dataset into its stores: parallel, sharded, resumable.

Worker processes decode, resize, compute flow and encode JPEGs; the main process alone writes,
one LMDB transaction per video, so an interrupted run leaves only whole videos behind and the
next run carries on with the rest. Videos that cannot be used are reported and listed in
failures.tsv; the others go on. A store keeps the settings it was made with: a run asking for
other ones is refused before any work, one asking for backward flow adds it to the videos that
lack it, and `redo` re-extracts named videos (a corrupt record, say).
"""
from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from data_prep.codec import FLOW_QUALITY, FRAME_QUALITY, encode_flow, encode_jpeg
from data_prep.datasets import DatasetError, Video, read_dataset
from data_prep.flow import flow_method, to_gray
from data_prep.processes import ctrl_c_held, ignore_ctrl_c, start_context
from data_prep.store import (DiskFull, Store, agree_settings, claim_dataset, flow_keys, flow_meta,
                             flow_path, frame_key, frame_meta, frames_path, require_space,
                             stored_methods, write_index, writing)
from data_prep.video import SHORT_SIDE, VideoError, file_sha256, read_frames

# Frame pairs a batch flow method (brox-gpu) solves per call: a UCF-101 video's 341x256 pairs
# take about 40 MB each on the GPU, so 64 stay well inside any current GPU's memory.
BATCH_PAIRS = 64

log = logging.getLogger(__name__)
# Held in the store folder while extracting, and given back just before index.h5 is written: a
# disk that fills mid-run still has room to index the videos stored (a few hundred bytes each).
INDEX_RESERVE = ".index-reserve"
RESERVE_PER_VIDEO = 512


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
    redo: tuple = ()  # ids of videos to delete from the stores and extract again

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
    stopped: str | None = None  # why the run stopped before its last video (a full disk)

    @property
    def exit_code(self) -> int:
        """0: all stored; 1: some failed, or the run stopped part-way; 2: nothing in the store
        at all."""
        if self.stopped:
            return 1
        if self.stored + self.already == 0:
            return 2
        return 1 if self.failed else 0


def shard_of(videos: list[Video], shard: tuple[int, int] | None) -> list[Video]:
    if shard is None:
        return videos
    i, n = shard
    return [v for k, v in enumerate(videos) if k % n == i - 1]


def video_records(video: Video, config: ExtractConfig, needs: tuple[bool, bool, bool],
                  method=None):
    """Everything one video puts into the stores; runs in a worker process. needs: (frames,
    flow, backward flow alone for a video whose forward flow is stored); `method`: config's
    flow method already made (one that reports its progress, say)."""
    need_frames, need_flow, need_backward = needs
    frames = read_frames(video.path, config.short_side)
    height, width = frames[0].shape[:2]
    meta = frame_meta(len(frames), height, width, str(video.path), file_sha256(video.path),
                      FRAME_QUALITY, config.short_side)
    result = {}
    if need_frames:
        result["frames"] = ({frame_key(video.id, i): encode_jpeg(f, FRAME_QUALITY)
                             for i, f in enumerate(frames)}, meta)
    if need_flow or need_backward:
        method, gray = method or flow_method(config.method), [to_gray(f) for f in frames]
        if need_flow:
            result["flow"] = flow_records(video.id, gray, method, config, meta["sha256"])
        else:
            result["backward"] = direction_records(video.id, gray, method, config.bound,
                                                   backward=True)
    return result


def flow_settings(config: ExtractConfig) -> dict:
    """What makes a flow store what it is (recorded in it; models read it from the index)."""
    return dict(method=config.method, parameters=flow_method(config.method).parameters(),
                bound=config.bound, jpeg_quality=FLOW_QUALITY, short_side=config.short_side,
                backward=config.backward)


def frame_settings(config: ExtractConfig) -> dict:
    return dict(short_side=config.short_side, jpeg_quality=FRAME_QUALITY)


def flow_records(video: str, gray: list[np.ndarray], method, config: ExtractConfig,
                 sha256: str):
    records, ranges = direction_records(video, gray, method, config.bound, backward=False)
    backward_ranges = None
    if config.backward:
        backward, backward_ranges = direction_records(video, gray, method, config.bound,
                                                      backward=True)
        records.update(backward)
    return records, flow_meta(len(gray), config.method, method.parameters(), config.bound,
                              FLOW_QUALITY, sha256, ranges, backward_ranges)


def direction_records(video: str, gray: list[np.ndarray], method, bound: float | None,
                      backward: bool) -> tuple[dict, list]:
    """The JPEG records and ranges of a video's forward (frame i -> i+1) or backward flows."""
    records, ranges = {}, []
    pairs = [(gray[i + 1], gray[i]) if backward else (gray[i], gray[i + 1])
             for i in range(len(gray) - 1)]
    for i, flow in enumerate(video_flows(method, pairs)):
        jpeg_x, jpeg_y, r = encode_flow(flow, bound)
        key_x, key_y = flow_keys(video, i, backward)
        records[key_x], records[key_y] = jpeg_x, jpeg_y
        ranges.append(r.tolist())
    return records, ranges


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
    video, config, needs = job
    try:
        return video.id, video_records(video, config, needs), None
    except VideoError as error:
        return video.id, None, str(error)


def init_worker(pooled: bool = False):
    cv2.setNumThreads(1)  # one core per process: JOBS=N uses N cores, and results are exact
    if pooled:
        ignore_ctrl_c()


def results(jobs: list, workers: int):
    if workers <= 1:
        init_worker()
        yield from map(work, jobs)
        return
    context = start_context()
    with ctrl_c_held():
        pool = context.Pool(workers, initializer=init_worker, initargs=(True,))
    with pool:
        yield from pool.imap_unordered(work, jobs, chunksize=1)


def extract(config: ExtractConfig) -> Summary:
    """Frames (and the flow of `config.method`) of every video the store lacks, one writer at a
    time."""
    with writing(config.folder):
        return extract_unlocked(config)


def extract_unlocked(config: ExtractConfig) -> Summary:
    start = time.perf_counter()
    dataset = read_dataset(config.dataset, config.root, config.allow_missing)
    folder = config.folder
    if config.method:
        flow_method(config.method)  # a method that cannot run here says so before any work
    require_space(folder, "store folder")
    videos = shard_of(sorted(dataset.videos.values(), key=lambda v: v.id), config.shard)
    summary = Summary(folder=folder)
    made = [path for path in (frames_path(folder), flow_path(folder, config.method))
            if not path.exists()]
    frames_store = Store(frames_path(folder))
    flow_store = Store(flow_path(folder, config.method)) if config.method else None
    reserve = folder / INDEX_RESERVE
    try:
        reserve.write_bytes(bytes((1 << 20) + RESERVE_PER_VIDEO * len(dataset.videos)))
        claim_dataset(frames_store, config.dataset)
        agree_settings(frames_store, frame_settings(config))
        if flow_store is not None:
            # A store made with backward flow keeps it for every video it takes in.
            settings = agree_settings(flow_store, flow_settings(config))
            config = replace(config, backward=settings["backward"])
        redo(config, dataset, [s for s in (frames_store, flow_store) if s is not None])
        jobs = [(video, config, needs) for video in videos
                if any(needs := video_needs(video.id, frames_store, flow_store, config.backward))]
        summary.already = len(videos) - len(jobs)
        log.info("%s: %d videos, %d already stored, %d to do, %d job(s) -> %s", dataset.name,
                 len(videos), summary.already, len(jobs), config.jobs, folder)
        store_results(results(jobs, config.jobs), frames_store, flow_store, summary,
                      tqdm(total=len(jobs), unit="video", disable=not config.progress,
                           desc=f"{dataset.name} {config.method or 'frames'}"))
    except Exception:
        # A refused run leaves no empty store behind (a later run would take it for one).
        for store in (frames_store, flow_store):
            if store is not None and store.path in made and not store.videos():
                store.close()
                shutil.rmtree(store.path)
        raise
    finally:
        frames_store.close()
        if flow_store is not None:
            flow_store.close()
        reserve.unlink(missing_ok=True)
    write_failures(folder, summary.failed)
    write_index(folder, dataset, stored_methods(folder))
    summary.seconds = time.perf_counter() - start
    return summary


def video_needs(video: str, frames_store: Store, flow_store: Store | None,
                backward: bool) -> tuple[bool, bool, bool]:
    """(frames, flow, backward flow alone) that a video still lacks."""
    need_flow = flow_store is not None and not flow_store.has(video)
    need_backward = (flow_store is not None and backward and not need_flow and
                     "backward_ranges" not in flow_store.meta(video))
    return not frames_store.has(video), need_flow, need_backward


def redo(config: ExtractConfig, dataset, stores: list[Store]) -> None:
    """Deletes the named videos from the stores, so this run extracts them again."""
    # Any id a store holds can be redone, one the dataset no longer lists too.
    unknown = [v for v in config.redo
               if v not in dataset.videos and not any(store.has(v) for store in stores)]
    if unknown:
        raise DatasetError(f"--redo {unknown[0]}: not a video of {dataset.name} at "
                           f"{dataset.root}; give ids as the split files write them "
                           "(Class/v_Class_g01_c01.avi).")
    for video in config.redo:
        for store in stores:
            if store.has(video):
                store.delete_video(video)
                log.info("deleted %s from %s, to extract it again", video, store.path)


def store_results(done, frames_store: Store, flow_store: Store | None, summary: Summary,
                  bar) -> None:
    for video_id, records, failure in done:
        if failure is not None:
            summary.failed.append((video_id, failure))
            log.warning("skipped %s", failure)
        else:
            try:
                put_records(video_id, records, frames_store, flow_store)
            except DiskFull as error:
                # The videos stored so far are whole and kept; the run ends here (exit 1) and
                # still indexes them.
                summary.stopped = f"{error} ({summary.stored} video(s) stored by this run)"
                break
            summary.stored += 1
        bar.update(1)
    bar.close()


def put_records(video_id: str, records: dict, frames_store: Store,
                flow_store: Store | None) -> None:
    if "frames" in records:
        frames_store.put_video(video_id, *records["frames"])
    if "flow" in records:
        flow_store.put_video(video_id, *records["flow"])
    if "backward" in records:
        backward, ranges = records["backward"]
        meta = dict(flow_store.meta(video_id), backward_ranges=ranges)
        flow_store.put_video(video_id, backward, meta)


def write_failures(folder: Path, failed: list[tuple[str, str]]) -> None:
    path = folder / "failures.tsv"
    if failed:
        path.write_text("video\treason\n" + "".join(f"{v}\t{r}\n" for v, r in sorted(failed)))
    elif path.exists():
        path.unlink()


def merge(dataset_name: str, root: Path, out: Path, allow_missing: bool = False) -> dict:
    """Joins the shards under out/shards/ into out/'s stores; returns {store: videos merged}."""
    with writing(out):
        return merge_unlocked(dataset_name, root, out, allow_missing)


def merge_unlocked(dataset_name: str, root: Path, out: Path, allow_missing: bool) -> dict:
    dataset = read_dataset(dataset_name, root, allow_missing)
    shards = sorted((Path(out) / "shards").glob("*-of-*"))
    if not shards:
        raise FileNotFoundError(f"no shards under {Path(out) / 'shards'}; run with SHARD=i/N "
                                "first.")
    with Store(frames_path(out)) as frames:
        claim_dataset(frames, dataset.name)
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
        settings = src.settings()
        if settings is not None:
            agree_settings(dst, settings)
        for video in src.videos():
            if dst.has(video):
                continue
            dst.put_video(video, src.records(video), src.meta(video))
            copied += 1
    return copied
