"""A test is over the split's test set: a test video that could not be extracted is named and
the test refused (it had silently shrunk the test set), or, with --allow-missing, the score file
says how many of the split's videos it holds and the report marks the row."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data_prep.datasets.synthetic import SyntheticConfig, make_synthetic
from models.evaluate.score_file import read_scores
from models.evaluate.tables import find_runs, tables

pytestmark = pytest.mark.slow  # end to end: `make test-fast` leaves it out

ROOT = Path(__file__).resolve().parents[2]
NET = "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"


def run(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True)


def test_a_test_video_missing_from_the_store_is_named_and_the_test_refused(tmp_path):
    make_synthetic(tmp_path / "synthetic", SyntheticConfig(ucf_clips_per_group=1,
                                                           hmdb_clips_per_class=3))
    root = tmp_path / "synthetic" / "ucf101"
    lost = (root / "ucfTrainTestlist" / "testlist01.txt").read_text().split()[0]
    (root / "UCF-101" / lost).write_bytes(b"not a video")
    store = tmp_path / "store"
    extracted = run("tools/extract.py", "--dataset", "ucf101", "--root", str(root), "--out",
                    str(store), "--short-side", "64", "--method", "farneback", "--quiet")
    assert extracted.returncode == 1  # the corrupt video reported, the rest stored
    runs = tmp_path / "runs"
    trained = run("tools/train_net.py", "--stream", "temporal", "--method", "farneback",
                  "--store", f"ucf101={store}", "--runs", str(runs), "--iters", "2", "--width",
                  "0.125", "--input-size", "48", "--batch-size", "4", "--workers", "0")
    assert trained.returncode == 0, trained.stderr[-1500:]
    folder = runs / "ucf101" / f"{NET}_split1"
    scores = tmp_path / "scores"
    refused = run("tools/score_net.py", "--run", str(folder), "--out", str(scores), "--quiet")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"score_net: 1 of split 1's 20 test videos cannot be scored from {store.resolve()} (not "
        "on disk, or not extracted): extract them, or pass --allow-missing to score the 19 it "
        "holds (the score file says so). They are:", lost]
    assert not list(scores.rglob("*.h5"))
    allowed = run("tools/score_net.py", "--run", str(folder), "--out", str(scores), "--quiet",
                  "--allow-missing")
    assert allowed.returncode == 0, allowed.stderr[-1500:]
    assert f"{NET}, 19 (of the split's 20) test videos of ucf101 split 1" in allowed.stdout
    path = scores / "ucf101" / f"{NET}_split1_test.h5"
    written = read_scores(path)
    assert (len(written.video_ids), written.split_videos) == (19, 20)
    assert lost not in written.video_ids
    report = tables(find_runs(scores)[0])
    row = next(line for line in report.splitlines() if "(on 19 of the split's 20 videos)" in line)
    assert row.startswith("| ")
    # The score file cut short (a copy, say): testing into it again is one sentence, not an
    # HDF5 traceback; a partial file whose first line a kill cut short is begun again.
    path.write_bytes(path.read_bytes()[:3000])
    damaged = run("tools/score_net.py", "--run", str(folder), "--out", str(scores), "--quiet",
                  "--allow-missing")
    assert damaged.returncode == 2 and "Traceback" not in damaged.stderr
    assert damaged.stderr.startswith(f"score_net: {path} is not a whole HDF5 file (")
    assert damaged.stderr.endswith("); it is damaged (a copy cut short?): delete it and score "
                                   "the run again with tools/score_net.py.\n")
    path.unlink()
    path.with_name(path.stem + ".partial.jsonl").write_text('{"identity": {"da')
    again = run("tools/score_net.py", "--run", str(folder), "--out", str(scores), "--quiet",
                "--allow-missing")
    assert again.returncode == 0, again.stderr[-1500:]
    assert read_scores(path).video_ids == written.video_ids
