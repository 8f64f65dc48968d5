"""Draws one stored frame beside its flow, as the paper's Fig. 2: the frame, d^x, d^y and the
colour-coded flow.

    python tools/show_flow.py --store data/ucf101 --video ApplyEyeMakeup/v_..._c01.avi \
        [--frame 10] [--method brox] [-o flow.png]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first
import numpy as np  # noqa: E402

from data_prep.flow.middlebury import flow_to_colour  # noqa: E402
from data_prep.store import FlowReader, FrameReader, StoreError  # noqa: E402
from tools import flags  # noqa: E402


def figure(frame: np.ndarray, flow: np.ndarray, title: str):
    bound = max(float(np.abs(flow).max()), 1e-3)
    panels = [(frame[..., ::-1], "frame", {}),
              (flow[..., 0], "horizontal displacement $d^x$", dict(cmap="gray", vmin=-bound,
                                                                    vmax=bound)),
              (flow[..., 1], "vertical displacement $d^y$", dict(cmap="gray", vmin=-bound,
                                                                  vmax=bound)),
              (flow_to_colour(flow)[..., ::-1], "flow (Middlebury colours)", {})]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for ax, (image, name, style) in zip(axes, panels):
        ax.imshow(image, **style)
        ax.set_title(name)
        ax.axis("off")
    fig.suptitle(f"{title}  (grey: -{bound:.1f} px black .. +{bound:.1f} px white)")
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a dataset's store folder")
    parser.add_argument("--video", required=True, help="video id, as in the split files")
    parser.add_argument("--frame", type=flags.index, default=0,
                        help="frame i; its flow goes to i+1")
    parser.add_argument("--method", default="brox")
    parser.add_argument("-o", "--output", type=Path, default=Path("flow.png"))
    args = parser.parse_args(argv)
    try:
        frames, flows = FrameReader(args.store), FlowReader(args.store, args.method)
        if not 0 <= args.frame < flows.count(args.video):
            raise StoreError(f"{args.video} has flows 0 .. {flows.count(args.video) - 1}; "
                             f"--frame {args.frame} is outside them.")
        frame, flow = frames.frame(args.video, args.frame), flows.flow(args.video, args.frame)
    except StoreError as error:
        print(f"show_flow: {error}", file=sys.stderr)
        return 1
    fig = figure(frame, flow, f"{args.video}, frame {args.frame} -> {args.frame + 1}, "
                              f"{args.method}")
    fig.savefig(args.output, dpi=100)
    print(f"show_flow: wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
