"""Tests a trained net as the paper does (25 frames x 10 crops a video) and writes its score file.

    python tools/score_net.py \
        --run runs/ucf101/ucf101_temporal_flow-L10-meansub_scratch_drop0.9_split1 \
        [--subset test|train] [--weights X.caffemodel] [--gpu 0] [--out runs/scores]

The score file is {out}/{dataset}/{net}_split{k}_{subset}.h5 (models/evaluate/score_file.py), carrying the
net, dataset, split, subset, stream and the sha1 of the weights; an interrupted test resumes from
its .partial.jsonl, which only the same net and weights may continue.

Exit code: 0 scored (or already scored by these weights), 1 some videos could not be read (the
others are kept for the next run), 2 refused before any work.
"""
from __future__ import annotations

import argparse
import sys

from models.evaluate.score_run import REFUSALS, ScoreRequest, Unreadable, score_run
from tools.flags import add_score_arguments, request


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_score_arguments(parser)
    try:
        score_run(request(ScoreRequest, parser.parse_args(argv)))
    except Unreadable as error:
        print(f"score_net: {error}", file=sys.stderr)
        return 1
    except (*REFUSALS, ValueError) as error:
        print(f"score_net: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
