"""A trained two-stream model on any video, exactly as the paper tests its own: what
tools/classify_video.py does.

The video goes through the extraction the stores were made with (data_prep/extract.py's
`video_records`: the same decoding, rescaling, flow method and parameters, JPEG quantisation)
into a temporary store, and is scored by the same 25 frames x 10 crops protocol
(models/evaluate/protocol.py) and fused as the bundle says; so a video of the benchmark scores
as tools/score_net.py and tools/fuse_scores.py scored it. Everything is checked before any flow
is computed or any net is run: the bundle, each video, the settings this version can reproduce.
"""
from __future__ import annotations

import itertools
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

import caffe
from data_prep.datasets import Video
from data_prep.extract import ExtractConfig, flow_settings, frame_settings, init_worker, \
    video_records
from data_prep.flow import flow_method
from data_prep.store import FlowReader, FrameReader, Store, flow_path, frames_path
from data_prep.video import TooShort, VideoError, read_frames
from models.bundle.bundle import DEPLOY, Bundle, Stream
from models.evaluate.fusion import averaged, svm_decision
from models.input.mean_image import read_mean
from models.evaluate.protocol import own_classes, sampled_frames, video_inputs, video_score
from models.nets.cnn_m_2048 import cnn_m_2048
from models.nets.weights import trained_net

STRIP = 5  # sampled frames shown in a figure


class ClassifyError(Exception):
    """A video or a bundle that cannot be classified with; one sentence naming it."""


@dataclass
class Classified:
    video: Path
    frames: int
    scores: dict[str, np.ndarray]  # "spatial", "temporal" (softmax), "fused"
    strip: list = field(default_factory=list)  # (t, frame, flow or None) for a figure

    def top(self, k: int) -> list[int]:
        return [int(i) for i in np.argsort(-self.scores["fused"], kind="stable")[:k]]


def extract_config(stream: Stream, folder: Path) -> ExtractConfig:
    """The extraction that made the stream's store, into `folder`; refused when this version
    would not reproduce it (other flow parameters, JPEG quality)."""
    flow = stream.flow or {}
    config = ExtractConfig("video", Path("."), folder, method=flow.get("method"),
                           backward=stream.net_config.stacking == "bidirectional",
                           bound=flow.get("bound"), short_side=stream.frames["short_side"],
                           progress=False)
    wanted = [(stream.frames, frame_settings(config))]
    if stream.flow:
        try:
            flow_method(config.method)  # a method that cannot run here says so now
        except RuntimeError as error:
            raise ClassifyError(f"the bundle's {stream.net} needs {config.method} flow: "
                                f"{error}") from None
        ours = {k: v for k, v in flow_settings(config).items() if k != "backward"}
        wanted.append(({k: v for k, v in stream.flow.items() if k != "backward"}, ours))
    for recorded, ours in wanted:
        differ = [k for k in sorted(recorded) if recorded.get(k) != ours.get(k)]
        if differ:
            k = differ[0]
            raise ClassifyError(f"the bundle's {stream.net} learnt from input made with {k} = "
                                f"{recorded.get(k)!r}, this version makes {ours.get(k)!r}; its "
                                "scores would be wrong: use the version that exported it.")
    return config


def check_video(path: Path, bundle: Bundle) -> int:
    """The video's frame count; refused if it cannot be decoded or is too short for a stream."""
    short_side = next(iter(bundle.streams.values())).frames["short_side"]
    try:
        count = len(read_frames(path, short_side))
    except TooShort as error:
        raise ClassifyError(f"{error}; give a longer clip.") from None
    except VideoError as error:
        raise ClassifyError(f"{error}; give a video OpenCV can decode.") from None
    for kind, s in bundle.streams.items():
        c = s.net_config
        try:
            sampled_frames(count - 1, c.stacking, c.new_length, c.stream)
        except ValueError:
            raise ClassifyError(f"{path} has {count} frames, too few for the {kind} stream "
                                f"(L = {c.new_length}, {c.stacking} stacking); give a longer "
                                "clip.") from None
    return count


class Ticking:
    """A flow method that advances a progress bar with each field it computes."""

    def __init__(self, method, bar):
        self.method, self.bar = method, bar

    def __call__(self, first, second):
        flow = self.method(first, second)
        self.bar.update(1)
        return flow

    def parameters(self) -> dict:
        return self.method.parameters()


class Classifier:
    """The bundle's nets, loaded once, for any number of videos."""

    def __init__(self, bundle: Bundle, gpu: int | None = None, batch: int = 50,
                 progress: bool = True):
        self.bundle, self.batch, self.progress = bundle, batch, progress
        self.work = tempfile.TemporaryDirectory(prefix="classify_")
        self.stores = itertools.count()  # a temporary store a stream and video
        self.configs = {kind: extract_config(s, Path(self.work.name))
                        for kind, s in bundle.streams.items()}
        if gpu is not None:
            caffe.set_device(gpu)
            caffe.set_mode_gpu()
        else:
            caffe.set_mode_cpu()
        self.nets = {kind: trained_net(self.deploy(kind, s), s.caffemodel)
                     for kind, s in bundle.streams.items()}
        # checked against its sha1 where the bundle (or run) was read
        self.means = {kind: read_mean(s.mean, s.net_config.input_size) if s.mean else None
                      for kind, s in bundle.streams.items()}

    def deploy(self, kind: str, stream: Stream) -> Path:
        """The bundle's own deploy.prototxt; for runs given directly, the builder's."""
        if self.bundle.folder is not None:
            return Path(self.bundle.folder) / kind / DEPLOY
        path = Path(self.work.name) / f"{kind}_{DEPLOY}"
        path.write_text(str(cnn_m_2048(stream.net_config, "deploy")))
        return path

    def close(self) -> None:
        self.work.cleanup()

    def stored(self, kind: str, path: Path, frames: int):
        """The video in a temporary store made as the stream's was; its reader."""
        folder = Path(self.work.name) / f"{kind}{next(self.stores)}"
        config = replace(self.configs[kind], out=folder)
        folder.mkdir(parents=True)
        method = None
        if config.method:
            total = (frames - 1) * (2 if config.backward else 1)
            bar = tqdm(total=total, unit="field", desc=f"{path.name} flow", leave=False,
                       disable=not self.progress)
            method = Ticking(flow_method(config.method), bar)
        init_worker()  # one OpenCV thread, as the extraction's workers: the same results
        records = video_records(Video(path.name, path, "", -1), config,
                                (True, bool(config.method), False), method)
        with Store(frames_path(folder)) as store:
            store.put_video(path.name, *records["frames"])
        if not config.method:
            return FrameReader(folder), None
        bar.close()
        with Store(flow_path(folder, config.method)) as store:
            store.put_video(path.name, *records["flow"])
        return FrameReader(folder), FlowReader(folder, config.method)

    def stream_scores(self, kind: str, path: Path, frames: int, strip: bool):
        """The stream's mean softmax over the video's 250 inputs, and frames for a figure."""
        stream = self.bundle.streams[kind]
        c = stream.net_config
        frame_reader, flow_reader = self.stored(kind, path, frames)
        reader = flow_reader if c.stream == "temporal" else frame_reader
        inputs = video_inputs(reader, path.name, frames - 1, c, c.input_size, self.means[kind])
        with tqdm(total=len(inputs), unit="crop", desc=f"{path.name} {kind}", leave=False,
                  disable=not self.progress) as bar:
            scores = video_score(self.nets[kind], inputs, stream.output, self.batch, bar.update)
        scores = own_classes(scores, len(self.bundle.classes))
        shown = []
        if strip:
            sampled = sampled_frames(frames - 1, c.stacking, c.new_length, c.stream)
            for t in [sampled[i] for i in np.linspace(0, len(sampled) - 1, STRIP).astype(int)]:
                shown.append((t, frame_reader.frame(path.name, t),
                              flow_reader.flow(path.name, t) if flow_reader else None))
        for reader in (frame_reader, flow_reader):
            if reader is not None:
                reader.store.close()
        shutil.rmtree(Path(frame_reader.store.path).parent)
        return scores, shown

    def fused(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        b = self.bundle
        if b.fusion == "average":
            return averaged(scores["spatial"], scores["temporal"])
        if b.fusion == "svm":
            return svm_decision(b.svm, scores["spatial"], scores["temporal"], len(b.classes))[0]
        return next(iter(scores.values()))

    def classify(self, path: Path, frames: int, strip: bool = False) -> Classified:
        # A figure shows the frames the temporal stream sampled (with their flow), if it has one.
        drawn = "temporal" if "temporal" in self.bundle.streams else "spatial"
        scores, shown = {}, []
        for kind in self.bundle.streams:
            scores[kind], kept = self.stream_scores(kind, Path(path), frames,
                                                    strip and kind == drawn)
            shown += kept
        scores["fused"] = self.fused(scores)
        return Classified(Path(path), frames, scores, shown)


def classify_videos(bundle: Bundle, videos: list[Path], gpu: int | None = None,
                    batch: int = 50, progress: bool = True, strip: bool = False):
    """Each video's Classified, in order; every video checked before the first is run."""
    counts = [check_video(Path(v), bundle) for v in videos]
    classifier = Classifier(bundle, gpu, batch, progress)
    try:
        for video, count in zip(videos, counts):
            yield classifier.classify(Path(video), count, strip)
    finally:
        classifier.close()

