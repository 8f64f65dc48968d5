"""The paper's Tables 1-4 with our numbers beside the paper's, and Figs. 4-6, from the runs.

    python tools/report.py [--runs runs] [--out runs/report]

Writes OUT/report.md and its PNG figures; a table cell with no run says so.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from models.fusion import read_scores
from models.report import (class_names, confusion, draw_figures, draw_filters, find_runs,
                           tables, worst_classes)
from models.training import latest_snapshot


def conv1_filters(run, out: Path) -> Path | None:
    snapshot, deploy = latest_snapshot(run.folder), run.folder / "deploy.prototxt"
    if snapshot is None or not deploy.exists():
        return None
    import caffe
    caffe.set_mode_cpu()
    net = caffe.Net(str(deploy), str(snapshot.with_suffix(".caffemodel")), caffe.TEST)
    return draw_filters(net.params["conv1"][0].data, out / f"{run.folder.name}_conv1.png")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--out", type=Path, default=Path("runs/report"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = find_runs(args.runs)
    lines = ["# Two-stream ConvNets: our runs beside the paper", "",
             f"{len(runs)} tested run(s) under `{args.runs}`.", "", tables(runs)]
    for run in runs:
        scores = read_scores(run.folder / "scores_test.h5")
        names = class_names(scores)
        matrix = confusion(scores.scores, scores.labels, scores.scores.shape[1])
        figures = draw_figures(run, matrix, names, args.out)
        lines += [f"## {run.net}, split {run.split}", "", "Worst classes:", ""]
        lines += [f"- {line}" for line in worst_classes(matrix, names)]
        lines += [""] + [f"![{p.stem}]({p.name})" for p in figures]
        if "temporal" in run.net:
            filters = conv1_filters(run, args.out)
            if filters is not None:
                lines += [f"![first-layer filters (Fig. 4)]({filters.name})"]
        lines.append("")
    (args.out / "report.md").write_text("\n".join(lines))
    print(f"report: {len(runs)} run(s) -> {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
