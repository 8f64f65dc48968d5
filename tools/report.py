"""The paper's Tables 1-4 with our numbers beside the paper's, and Figs. 4-6, from the runs.

    python tools/report.py [--scores runs/scores] [--runs runs] [--out runs/report]

Every row comes from the score file of its own net, dataset and split (SCORES); the runs' folders
give the temporal nets' conv1 filters. Writes OUT/report.md and its PNG figures; a table cell
with no run says so.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from models.report import (class_names, confusion, draw_figures, draw_filters, find_runs,
                           tables, worst_classes)
from models.run_record import latest_snapshot, run_folder
from models.score_file import read_scores


def conv1_filters(run, runs: Path, out: Path) -> Path | None:
    folder = run_folder(runs, run.net, run.dataset, run.split)
    snapshot, deploy = latest_snapshot(folder), folder / "deploy.prototxt"
    if snapshot is None or not deploy.exists():
        return None
    import caffe
    caffe.set_mode_cpu()
    net = caffe.Net(str(deploy), str(snapshot.with_suffix(".caffemodel")), caffe.TEST)
    return draw_filters(net.params["conv1"][0].data, out / f"{run.name}_conv1.png")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=Path, default=Path("runs/scores"),
                        help="the score files' folder (tools/test_net.py --out)")
    parser.add_argument("--runs", type=Path, default=Path("runs"),
                        help="the training runs' folder (for the conv1 filters)")
    parser.add_argument("--out", type=Path, default=Path("runs/report"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = find_runs(args.scores)
    lines = ["# Two-stream ConvNets: our runs beside the paper", "",
             f"{len(runs)} tested net(s) under `{args.scores}`.", "", tables(runs)]
    for run in runs:
        scores = read_scores(run.test)
        names = class_names(scores)
        matrix = confusion(scores.scores, scores.labels, scores.scores.shape[1])
        figures = draw_figures(run, matrix, names, args.out)
        lines += [f"## {run.net} on {run.dataset}, split {run.split}", "",
                  f"Scores: `{run.test}`.", "", "Worst classes:", ""]
        lines += [f"- {line}" for line in worst_classes(matrix, names)]
        lines += [""] + [f"![{p.stem}]({p.relative_to(args.out)})" for p in figures]
        if "temporal" in run.net:
            filters = conv1_filters(run, args.runs, args.out)
            if filters is not None:
                lines += [f"![first-layer filters (Fig. 4)]({filters.relative_to(args.out)})"]
        lines.append("")
    (args.out / "report.md").write_text("\n".join(lines))
    print(f"report: {len(runs)} run(s) -> {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
