"""Classifies videos with a trained two-stream model, as the paper tests (25 frames x 10 crops,
flow computed with exactly the model's settings, the streams fused as the model says).

    python tools/classify_video.py VIDEO... --model runs/bundles/NAME [--top 5] [--json] \
        [--gpu 0] [--figure out.png] [--quiet]
    python tools/classify_video.py VIDEO --spatial RUN --temporal RUN    # runs, not exported

Prints each video's top classes with their spatial, temporal and fused scores (--json: one JSON
object on stdout). --figure: sampled frames, their flow in colour and the top classes (several
videos: one figure each, named after the video). The bundle (tools/export_model.py) and every
video are checked before any flow is computed.

Exit code: 0 classified, 2 refused before any work.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# Caffe's net set-up (hundreds of lines on stderr) would bury the answer; glog reads this when
# libcaffe loads (below). GLOG_minloglevel=0 shows it again.
os.environ.setdefault("GLOG_minloglevel", "2")
import numpy as np  # noqa: E402

from data_prep.store import StoreError  # noqa: E402
from models.bundle.bundle import BundleError, read_bundle  # noqa: E402
from models.bundle.classify import ClassifyError, classify_videos  # noqa: E402
from models.bundle.export import runs_bundle  # noqa: E402
from models.bundle.figure import classified_figure  # noqa: E402
from models.evaluate.score_run import TestError  # noqa: E402
from models.nets.weights import WeightsError  # noqa: E402
from models.train.run_record import RunError  # noqa: E402
from tools import flags  # noqa: E402

REFUSALS = (BundleError, ClassifyError, RunError, TestError, StoreError, WeightsError)


def table(result, bundle, top: int) -> str:
    streams = [k for k in ("spatial", "temporal") if k in result.scores]
    fused = {"svm": "svm", "average": "fused"}.get(bundle.fusion)
    columns = ([fused] if fused else []) + streams
    lines = [f"{result.video}: {result.frames} frames; top {top} of {len(bundle.classes)} "
             f"classes (fusion: {bundle.fusion})",
             "  " + "".join(f"{c:>9}" for c in columns) + "  class"]
    for c in result.top(top):
        values = ([result.scores["fused"][c]] if fused else []) + \
            [result.scores[k][c] for k in streams]
        lines.append("  " + "".join(f"{v:9.3f}" for v in values) + f"  {bundle.classes[c]}")
    return "\n".join(lines)


def number(x) -> float | None:
    """A score for JSON: an SVM's class never seen in training scores -inf, written null."""
    return float(x) if np.isfinite(x) else None


def as_json(result, bundle, top: int) -> dict:
    return dict(video=str(result.video), frames=result.frames,
                top=[dict(label=c, name=bundle.classes[c],
                          **{k: number(v[c]) for k, v in result.scores.items()})
                     for c in result.top(top)],
                scores={k: [number(x) for x in v] for k, v in result.scores.items()})


def figure_path(figure: Path, video: Path, several: bool) -> Path:
    return figure.with_name(f"{figure.stem}_{video.stem}{figure.suffix}") if several else figure


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", type=Path, nargs="+", metavar="VIDEO")
    parser.add_argument("--model", type=Path, help="a bundle folder (tools/export_model.py)")
    parser.add_argument("--spatial", type=Path, metavar="RUN", help="instead of --model: runs")
    parser.add_argument("--temporal", type=Path, metavar="RUN")
    parser.add_argument("--top", type=flags.count, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--gpu", type=flags.index, help="GPU id (default: the CPU)")
    parser.add_argument("--batch", type=flags.count, default=50, help="inputs per forward pass")
    parser.add_argument("--figure", type=flags.output_file,
                        help="a PNG of frames, flow and top classes")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        if (args.model is None) == (args.spatial is None and args.temporal is None):
            raise BundleError("give a model: --model BUNDLE, or --spatial RUN and/or "
                              "--temporal RUN.")
        bundle = read_bundle(args.model) if args.model else runs_bundle(args.spatial,
                                                                       args.temporal)
        results = []
        for result in classify_videos(bundle, args.videos, args.gpu, args.batch,
                                      not args.quiet, strip=args.figure is not None):
            results.append(result)
            if args.figure:
                classified_figure(result, bundle.classes, bundle.fusion, figure_path(
                    args.figure, result.video, len(args.videos) > 1), args.top)
            if not args.json:
                print(table(result, bundle, args.top), flush=True)
    except REFUSALS as error:
        print(f"classify_video: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(dict(model=str(bundle.folder or bundle.name), fusion=bundle.fusion,
                              classes=bundle.classes,
                              videos=[as_json(r, bundle, args.top) for r in results]),
                         indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
