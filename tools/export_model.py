"""Exports a trained two-stream model as a Caffe Model Zoo bundle: each stream's deploy.prototxt
and caffemodel, the class list, the extraction settings the temporal stream needs, the fusion.

    python tools/export_model.py --spatial runs/ucf101/NET_split1 \
        --temporal runs/ucf101/NET_split1 [--fusion average|svm] [--scores runs/scores] \
        [--out runs/bundles/NAME] [--license L] [--caffemodel-url URL]
    python tools/export_model.py --run RUN [--run RUN]   # each run's record says its stream

The bundle's layout and its readme: models/bundle/bundle.py. Accuracy is quoted from the score
files tools/score_net.py wrote for exactly these weights; --fusion svm trains the SVM on the
training videos' score files (score_net --subset train), as tools/fuse_scores.py does.

Exit code: 0 exported, 2 refused (nothing written).
"""
from __future__ import annotations

import argparse
import os
import sys

# Loading the weights into the deploy net (to check them) would print Caffe's net set-up;
# glog reads this when libcaffe loads (below).
os.environ.setdefault("GLOG_minloglevel", "2")
from data_prep.store import StoreError  # noqa: E402
from models.bundle.bundle import BundleError  # noqa: E402
from models.bundle.export import ExportRequest, export  # noqa: E402
from models.evaluate.score_file import ScoreError  # noqa: E402
from models.nets.weights import WeightsError  # noqa: E402
from models.train.run_record import RunError  # noqa: E402
from tools.flags import add_export_arguments, request  # noqa: E402

REFUSALS = (BundleError, RunError, ScoreError, StoreError, WeightsError)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_export_arguments(parser)
    try:
        bundle = export(request(ExportRequest, parser.parse_args(argv)))
    except REFUSALS as error:
        print(f"export_model: {error}", file=sys.stderr)
        return 2
    fused = bundle.accuracy.get("fused")
    measured = f"; fused accuracy {100 * fused['accuracy']:.1f}% on {fused['videos']} test " \
        "videos" if fused else ""
    print(f"export_model: {bundle.name} ({', '.join(bundle.streams)}, fusion {bundle.fusion}"
          f"{measured}) -> {bundle.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
