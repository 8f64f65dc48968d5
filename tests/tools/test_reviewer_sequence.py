"""A reviewer's sequence, end to end, through the README's make targets on tiny settings: the
nets of Tables 1a, 1b, 2, 3 and 4 trained, tested on their test and training videos, fused and
reported, all in one folder. No two artifacts may share a path, and every row must come from its
own run."""
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from models.evaluate.score_file import read_identity, read_scores

pytestmark = pytest.mark.slow  # end to end: `make test-fast` leaves it out

ROOT = Path(__file__).resolve().parents[2]
MULTITASK = "multitask_temporal_flow-L10-meansub_scratch_drop0.9"
SCRATCH = "ucf101_spatial_scratch_drop0.5"
L1 = "ucf101_temporal_flow-L1-meansub_scratch_drop0.9"
L10 = "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"
TINY = "--iters 2 --width 0.125 --input-size 48 --batch-size 4 --workers 0 --test-interval 100"


def make(target: str, *variables: str, args: str = "") -> subprocess.CompletedProcess:
    result = subprocess.run(["make", "--no-print-directory", target, *variables,
                             f"ARGS={args}"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"make {target} {variables}:\n{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def reviewer(tmp_path_factory, store_writer):
    write_store = store_writer
    root = tmp_path_factory.mktemp("reviewer")
    stores = {"ucf101": write_store(root / "stores" / "ucf101", "ucf101", {
        f"C{c}/v{c}_{i}.avi": (c, 14, "test" if i < 2 else "train")
        for c in range(3) for i in range(5)}, size=(56, 64)),
              "hmdb51": write_store(root / "stores" / "hmdb51", "hmdb51", {
        f"h{c}/h{c}_{i}.avi": (c, 14, "test" if i < 2 else "train")
        for c in range(2) for i in range(5)}, size=(56, 64))}
    runs, scores = root / "runs", root / "runs" / "scores"
    store_flags = " ".join(f"--store {d}={s}" for d, s in stores.items())
    train = f"{TINY} {store_flags} --runs {runs}"
    test = f"--runs {runs} --out {scores} --quiet"
    outputs = {}
    # Table 1a (one row), its weights standing in for ImageNet's in the chosen spatial net.
    make("train-spatial", "DATASET=ucf101", "SETTING=scratch", f"NET={SCRATCH}", args=train)
    make("score-spatial", "DATASET=ucf101", f"NET={SCRATCH}", args=test)
    weights = runs / "ucf101" / f"{SCRATCH}_split1" / "snapshots" / f"{SCRATCH}_iter_2.caffemodel"
    # Table 1b: two temporal nets of one stream, into one score folder.
    for net in (L10, L1):
        make("train-temporal", "DATASET=ucf101", f"NET={net}", args=train)
        make("score-temporal", "DATASET=ucf101", f"NET={net}", args=test)
    # Tables 3 and 4 (split 1): the chosen spatial net and the multi-task net on both datasets.
    for d in ("ucf101", "hmdb51"):
        make("train-spatial", f"DATASET={d}", f"WEIGHTS={weights}", args=train)
        make("train-multitask", f"DATASET={d}", args=train)
        for s in ("test", "train"):
            make("score-spatial", f"DATASET={d}", f"SUBSET={s}", args=test)
            make("score-multitask", f"DATASET={d}", f"SUBSET={s}", args=test)
        outputs[f"fuse {d}"] = make("fuse", f"DATASET={d}", "SVM=1",
                                    args=f"--scores {scores} --splits 1").stdout
    outputs["report"] = make("report", args=f"--scores {scores} --runs {runs} --out "
                                            f"{root / 'report'}").stdout
    return root, runs, scores, outputs


def test_every_run_has_its_own_folder_named_by_net_dataset_and_split(reviewer):
    _, runs, _, _ = reviewer
    records = {p.parent.relative_to(runs).as_posix(): json.loads(p.read_text())
               for p in runs.glob("*/*/config.json")}
    assert sorted(records) == sorted([
        f"ucf101/{SCRATCH}_split1", f"ucf101/{L10}_split1", f"ucf101/{L1}_split1",
        "ucf101/ucf101_spatial_lastlayer_drop0.5_split1", f"ucf101/{MULTITASK}_split1",
        "hmdb51/hmdb51_spatial_lastlayer_drop0.5_split1", f"hmdb51/{MULTITASK}_split1"])
    for folder, record in records.items():
        assert folder == f"{record['dataset']}/{record['net']}_split{record['split']}"
    # The multi-task runs: each takes its own dataset's split and the other dataset whole.
    assert records[f"ucf101/{MULTITASK}_split1"]["splits"] == {"ucf101": 1, "hmdb51": "all"}
    assert records[f"hmdb51/{MULTITASK}_split1"]["splits"] == {"hmdb51": 1, "ucf101": "all"}


def test_every_score_file_has_its_own_path_and_says_what_it_is(reviewer):
    _, _, scores, _ = reviewer
    files = sorted(scores.glob("*/*.h5"))
    assert len(files) == 11 and not list(scores.glob("*/*.partial.jsonl"))
    for path in files:
        i = read_identity(path)
        assert path.relative_to(scores).as_posix() == \
            f"{i.dataset}/{i.net}_split{i.split}_{i.subset}.h5"
    # The L = 1 and L = 10 nets no longer share a file, nor do the two multi-task tests.
    l1, l10 = (read_scores(scores / "ucf101" / f"{n}_split1_test.h5") for n in (L1, L10))
    assert l1.identity.net == L1 and l10.identity.net == L10
    assert l1.identity.weights_sha1 != l10.identity.weights_sha1
    ucf, hmdb = (read_scores(scores / d / f"{MULTITASK}_split1_test.h5")
                 for d in ("ucf101", "hmdb51"))
    assert (ucf.scores.shape, hmdb.scores.shape) == ((6, 3), (4, 2))
    assert ucf.video_ids[0].startswith("C0/") and hmdb.video_ids[0].startswith("h0/")


def test_fusion_names_the_nets_it_fused(reviewer):
    _, _, _, outputs = reviewer
    for d in ("ucf101", "hmdb51"):
        assert f"fused spatial {d}_spatial_lastlayer_drop0.5 + temporal {MULTITASK}" in \
            outputs[f"fuse {d}"]


def accuracy(path: Path) -> str:
    s = read_scores(path)
    return f"{100 * np.mean(s.scores.argmax(1) == s.labels):.1f}%"


def test_every_report_row_comes_from_its_own_run(reviewer):
    root, _, scores, _ = reviewer
    report = (root / "report" / "report.md").read_text()
    rows = {m[1]: m[2] for m in re.finditer(r"^\| (.+?) \| [\d.]+% \| (.+?) \|$", report, re.M)}
    assert rows["from scratch, dropout 0.5"] == accuracy(scores / "ucf101" /
                                                         f"{SCRATCH}_split1_test.h5")
    assert rows["single-frame flow (L = 1)"] == accuracy(scores / "ucf101" / f"{L1}_split1_test.h5")
    assert rows["flow stacking, L = 10"] == accuracy(scores / "ucf101" / f"{L10}_split1_test.h5")
    assert rows["multi-task"] == accuracy(scores / "hmdb51" / f"{MULTITASK}_split1_test.h5")
    assert rows["from scratch, dropout 0.9"] == "no run"
    for d in ("ucf101", "hmdb51"):
        assert f"## {MULTITASK} on {d}, split 1" in report
        assert (root / "report" / d / f"{MULTITASK}_split1_confusion.png").stat().st_size > 1000
