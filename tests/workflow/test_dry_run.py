"""The paper's workflow (workflow/Snakefile) read over the real datasets' layout: a dry run
lists every job of Tables 1-4 once, with what it asks of a cluster."""
import re
import subprocess
import sys
from pathlib import Path


from models.evaluate.paper_jobs import paper_jobs

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "workflow" / "Snakefile")]


def real_layout(root: Path) -> dict:
    """The datasets as downloaded (split files as shipped, empty videos), the Zoo's files and
    Table 2's class list: what the workflow reads before any job runs."""
    ucf, hmdb = root / "ucf101", root / "hmdb51"
    lists = ucf / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Archery\n")
    for k in (1, 2, 3):
        (lists / f"trainlist0{k}.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n")
        (lists / f"testlist0{k}.txt").write_text("Archery/v_Archery_g01_c01.avi\n")
    for video in ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", "Archery/v_Archery_g01_c01.avi"):
        (ucf / "UCF-101" / video).parent.mkdir(parents=True, exist_ok=True)
        (ucf / "UCF-101" / video).write_bytes(b"")
    splits = hmdb / "testTrainMulti_7030_splits"
    splits.mkdir(parents=True)
    for k in (1, 2, 3):
        (splits / f"brush_hair_test_split{k}.txt").write_text("a.avi 1\nb.avi 2\n")
    (hmdb / "hmdb51" / "brush_hair").mkdir(parents=True)
    for video in ("a.avi", "b.avi"):
        (hmdb / "hmdb51" / "brush_hair" / video).write_bytes(b"")
    files = {"weights": root / "VGG_CNN_M_2048.caffemodel", "mean": root / "VGG_mean.binaryproto",
             "borrowed_classes": root / "my_78_classes.txt"}
    for path in files.values():
        path.write_text("Archery\n")
    return {"ucf101_root": ucf, "hmdb51_root": hmdb, **files}


def dry_run(work: Path, config: dict, profile: str = "local") -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "--profile", str(ROOT / "workflow" / "profiles" / profile),
                           "--directory", str(work), "--dry-run", "--config",
                           *(f"{k}={v}" for k, v in config.items())],
                          cwd=ROOT, capture_output=True, text=True)


def jobs_of(output: str) -> list[dict]:
    """Each job a dry run lists: its rule, output and resources."""
    jobs = []
    for block in re.split(r"\n(?=\[.*\]\nrule )", output):
        rule = re.search(r"^rule (\w+):", block, re.M)
        if rule:
            out = re.search(r"^\s+output: (.*)$", block, re.M)
            res = re.search(r"^\s+resources: (.*)$", block, re.M)
            jobs.append({"rule": rule[1], "output": out[1] if out else None,
                         "resources": dict(kv.split("=", 1) for kv in res[1].split(", "))
                         if res else {}})
    return jobs


def test_a_dry_run_over_the_real_layout_lists_every_job_of_tables_1_to_4_once(tmp_path):
    config = real_layout(tmp_path / "datasets")
    result = dry_run(tmp_path / "work", {**config, "cluster": "slurm"})
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = jobs_of(result.stdout + result.stderr)
    rules = [j["rule"] for j in jobs]
    assert {r: rules.count(r) for r in set(rules)} == {
        "extract": 2, "train": 29, "score": 40, "report": 1, "paper": 1}
    outputs = [j["output"] for j in jobs if j["output"]]
    assert len(outputs) == len(set(outputs)) == 72
    plan = paper_jobs(borrowed=True)
    assert sorted(j["output"] for j in jobs if j["rule"] == "train") == sorted(
        str(t.last_snapshot(Path("runs"))) for t in plan.trainings)
    assert sorted(j["output"] for j in jobs if j["rule"] == "score") == sorted(
        str(s.path(Path("runs/scores"))) for s in plan.scorings)
    # Each job's resources, as a cluster is asked for them (workflow/config.yaml).
    by_output = {j["output"]: j["resources"] for j in jobs}
    net = "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"
    scratch = by_output[f"runs/ucf101/{net}_split1/snapshots/{net}_iter_80000.caffemodel"]
    assert (scratch["gpu"], scratch["runtime"], scratch["mem_mb"]) == ("4", "1440", "64000")
    net = "hmdb51_spatial_lastlayer_drop0.5"
    tuned = by_output[f"runs/hmdb51/{net}_split3/snapshots/{net}_iter_20000.caffemodel"]
    assert (tuned["gpu"], tuned["runtime"]) == ("4", "360")
    score = by_output[f"runs/scores/hmdb51/{net}_split3_train.h5"]
    assert (score["gpu"], score["runtime"]) == ("1", "60")
    assert by_output["runs/paper/stores/ucf101.done"]["runtime"] == "240"


def test_tables_choose_their_jobs_and_a_missing_weights_file_is_one_sentence(tmp_path):
    config = real_layout(tmp_path / "datasets")
    result = dry_run(tmp_path / "work", {**config, "tables": "1b"})
    assert result.returncode == 0, result.stderr[-3000:]
    rules = [j["rule"] for j in jobs_of(result.stdout + result.stderr)]
    assert (rules.count("extract"), rules.count("train"), rules.count("score")) == (1, 8, 8)
    del config["weights"]
    refused = dry_run(tmp_path / "work", {**config, "tables": "1a,1b"})
    assert refused.returncode == 1
    assert ("Tables 1a, 1b train spatial nets from the Model Zoo's ImageNet weights: give them "
            "with WEIGHTS=VGG_CNN_M_2048.caffemodel (and MEAN=VGG_mean.binaryproto), or choose "
            "other TABLES.") in refused.stdout + refused.stderr
