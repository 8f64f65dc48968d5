"""Trained runs into a model bundle (models/bundle/bundle.py): `export(ExportRequest)`.

Each stream comes from its run's record (net, settings, stores) and weights (default the last
snapshot); the extraction settings from the stores it was trained on; the accuracy from the score
files scored for exactly these weights (models/evaluate/score_run.py); the SVM from the
training videos' score files, trained as fusion trains it (models/evaluate/fusion.py).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import caffe
from data_prep.store import read_index, stored_settings
from data_prep.video import file_sha1
from models.bundle.bundle import DEPLOY, Bundle, BundleError, Stream, free_folder, \
    write_bundle
from models.bundle.readme import readme_body, stream_body
from models.evaluate.fusion import fused_scores
from models.evaluate.metrics import accuracy
from models.evaluate.score_file import named_path, read_identity, read_scores
from models.nets.cnn_m_2048 import cnn_m_2048
from models.nets.weights import trained_net
from models.train.run_record import SNAPSHOT_NAME, read_record, run_weights, snapshot_iteration, \
    trained_mean

BUNDLES = Path("runs/bundles")


@dataclass(frozen=True)
class ExportRequest:
    """An export as tools/export_model.py's flags ask for it: the runs (each by its stream, or in
    `run` by what its record says), their weights (default: the last snapshots), the fusion,
    where the score files are and where the bundle goes (default under BUNDLES)."""

    run: tuple = ()  # run folders of either stream
    spatial: Path | None = None
    temporal: Path | None = None  # the temporal (or multi-task) net's run
    spatial_weights: Path | None = None
    temporal_weights: Path | None = None
    fusion: str = "average"  # or svm: the linear SVM on both streams' training-video scores
    scores: Path = Path("runs/scores")
    out: Path | None = None
    name: str | None = None  # the model's name in its readme
    license: str = "unspecified"
    caffemodel_url: str = ""  # the folder URL the bundle will be downloadable from

    def __post_init__(self):
        if self.fusion not in ("average", "svm"):
            raise BundleError(f"fusion {self.fusion!r} is not average or svm.")


def stream_of(kind: str, run: Path, weights: Path | None) -> Stream:
    """One stream from its run: net, weights, and the settings of the stores it learnt from."""
    record = read_record(run)
    if record.stream != kind:
        raise BundleError(f"{run} trained a {record.stream} net ({record.net}), not a {kind} one; "
                          f"give it as --{record.stream}.")
    weights = run_weights(run, weights, f"--{kind}-weights")
    flow = stored_settings(record.store, record.method) if kind == "temporal" else None
    trained_on = dict(run=str(run), dataset=record.dataset, split=record.split,
                      # the stores of the datasets it learnt from (a multi-task net: both)
                      stores={d: str(record.stores[d]) for d in record.splits},
                      splits=record.splits,
                      method=record.method if flow else None, weights=str(weights),
                      # weights named otherwise than Caffe's snapshots: iteration unknown
                      iteration=snapshot_iteration(weights)
                      if SNAPSHOT_NAME.search(weights.name) else None)
    trained_mean(record)  # the mean image it was trained with, if any, is there and unchanged
    return Stream(record.net, record.net_config, Path(weights), file_sha1(weights),
                  stored_settings(record.store), flow, trained_on, record.mean, record.mean_sha1)


def check_loads(stream: Stream) -> None:
    """The weights to publish, loaded into the deploy net the bundle ships: a truncated file,
    or another stream's or net's, is refused before anything is written."""
    caffe.set_mode_cpu()
    with tempfile.TemporaryDirectory(prefix="export_") as work:
        deploy = Path(work) / DEPLOY
        deploy.write_text(str(cnn_m_2048(stream.net_config, "deploy")))
        trained_net(deploy, stream.caffemodel)


def requested_runs(args: ExportRequest) -> list[tuple[str, Path, Path | None]]:
    """(stream, run folder, weights) of each run the flags give; a --run's stream is the one
    its record says."""
    weights = {"spatial": args.spatial_weights, "temporal": args.temporal_weights}
    runs = [(kind, run, weights[kind]) for kind, run in
            (("spatial", args.spatial), ("temporal", args.temporal)) if run is not None]
    for run in args.run:
        kind = read_record(run).stream
        runs.append((kind, run, weights[kind]))
    return runs


def streams_of(runs: list[tuple[str, Path, Path | None]]) -> dict[str, Stream]:
    """Each (stream, run, weights) as a Stream; one run a stream, all of one dataset and split."""
    kinds = [kind for kind, _, _ in runs]
    if len(set(kinds)) < len(kinds):
        raise BundleError(f"two {max(kinds, key=kinds.count)} runs given; a two-stream model "
                          "has one run a stream.")
    streams = {kind: stream_of(kind, run, weights) for kind, run, weights in runs}
    if not streams:
        raise BundleError("give the runs to export: --spatial RUN and/or --temporal RUN.")
    seen = {(s.trained_on["dataset"], s.trained_on["split"]) for s in streams.values()}
    if len(seen) > 1:
        raise BundleError(f"the runs are of different datasets or splits ({sorted(seen)}); a "
                          "two-stream model fuses two nets of one dataset and split.")
    return streams


def classes_of(streams: dict[str, Stream]) -> list[str]:
    lists = {kind: read_index(s.trained_on["stores"][s.trained_on["dataset"]]).classes
             for kind, s in streams.items()}
    if len({tuple(c) for c in lists.values()}) > 1:
        raise BundleError("the two runs' stores list different classes; fuse nets trained on "
                          "the same dataset's store.")
    return next(iter(lists.values()))


def matching_scores(scores_dir: Path, stream: Stream, subset: str):
    """The score file tools/score_net.py wrote for these weights on `subset`, or None."""
    t = stream.trained_on
    path = named_path(scores_dir, t["dataset"], stream.net, t["split"], subset)
    if path.is_file() and read_identity(path).weights_sha1 == stream.sha1:
        return read_scores(path)
    return None


def measured(streams: dict[str, Stream], scores_dir: Path, fusion: str) -> tuple[dict, dict]:
    """(accuracy on the split's test videos from these weights' score files, the SVM's weights
    if fusion is svm); the SVM refused without its training scores."""
    test = {kind: matching_scores(scores_dir, s, "test") for kind, s in streams.items()}
    train = {kind: matching_scores(scores_dir, s, "train") for kind, s in streams.items()}
    if fusion == "svm":
        lacking = [(k, subset) for subset, files in (("train", train), ("test", test))
                   for k, f in files.items() if f is None]
        if lacking:
            kind, subset = lacking[0]
            raise BundleError(
                f"--fusion svm needs both streams' score files of these weights in {scores_dir}, "
                f"and the {kind} stream's {subset} scores are not there: run `tools/score_net.py "
                f"--run {streams[kind].trained_on['run']} --subset {subset} --out {scores_dir}`.")
    result = {k: dict(accuracy=accuracy(s.scores, s.labels), videos=len(s.labels),
                      score_file=s.path) for k, s in test.items() if s is not None}
    svm = None
    if len(streams) == 2 and all(test.values()):
        fused = fused_scores(test["spatial"], test["temporal"],
                             *((train["spatial"], train["temporal"]) if fusion == "svm" else ()))
        result["fused"] = dict(method=fusion, accuracy=accuracy(fused.scores[fusion],
                                                                fused.labels),
                               videos=len(fused.labels))
        svm = fused.svm
    return result, svm


def default_out(streams: dict[str, Stream], fusion: str) -> Path:
    first = next(iter(streams.values())).trained_on
    nets = "+".join(s.net for s in streams.values())
    return BUNDLES / f"{first['dataset']}_split{first['split']}_{nets}_{fusion}"


def export(args: ExportRequest) -> Bundle:
    """The bundle asked for, written; refusals (BundleError and the runs', stores' and
    score files' own) before anything is written."""
    streams = streams_of(requested_runs(args))
    for stream in streams.values():
        check_loads(stream)
    fusion = args.fusion if len(streams) == 2 else "none"
    if args.fusion == "svm" and len(streams) < 2:
        raise BundleError("--fusion svm fuses two streams: give both --spatial and --temporal.")
    out = free_folder(args.out or default_out(streams, fusion))  # before the SVM is trained
    accuracy_, svm = measured(streams, args.scores, fusion)
    first = next(iter(streams.values())).trained_on
    name = args.name or (f"Two-stream ConvNet, {first['dataset']} split {first['split']}"
                         if len(streams) == 2 else f"{next(iter(streams))} stream, "
                         f"{first['dataset']} split {first['split']}")
    bundle = Bundle(out, name, first["dataset"], first["split"], classes_of(streams), streams,
                    fusion, svm, accuracy_, args.license, args.caffemodel_url)
    write_bundle(bundle, readme_body(bundle), {k: stream_body(bundle, k) for k in streams})
    return bundle


def runs_bundle(spatial: Path | None, temporal: Path | None) -> Bundle:
    """Two runs' last snapshots as a bundle in memory (folder None), fused by averaging: to
    classify with straight after training, without exporting."""
    streams = streams_of([(kind, run, None) for kind, run in
                          (("spatial", spatial), ("temporal", temporal)) if run is not None])
    first = next(iter(streams.values())).trained_on
    return Bundle(None, "runs " + " + ".join(s.trained_on["run"] for s in streams.values()),
                  first["dataset"], first["split"], classes_of(streams), streams,
                  "average" if len(streams) == 2 else "none")
