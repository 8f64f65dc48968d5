"""The paper's workflow (workflow/Snakefile, `make paper`) run for real: the tiny synthetic
workflow runs to the report on this machine and, through Snakemake's SLURM executor, on a real single-node
SLURM (tests/workflow/conftest.py), where a second run submits nothing, a deleted score file is
made again with what depends on it alone, and a failed job stops only its dependants."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.evaluate.score_file import read_scores

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile",
             str(ROOT / "workflow" / "Snakefile")]
# One thread a process: the two runs' scores agree to the bit, whatever runs beside them.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def report_tables(folder: Path) -> str:
    """report.md's tables: everything before the first run's own section."""
    text = (folder / "runs" / "paper-tiny" / "report" / "report.md").read_text()
    return text.split("\n## ")[0]


def score_files(folder: Path) -> dict[str, Path]:
    scores = folder / "runs" / "paper-tiny" / "scores"
    return {p.relative_to(scores).as_posix(): p for p in sorted(scores.glob("*/*.h5"))}


@pytest.fixture(scope="module")
def local_paper(tmp_path_factory):
    """`make paper TINY=1` into a folder of its own."""
    work = tmp_path_factory.mktemp("paper-local")
    result = subprocess.run(["make", "--no-print-directory", "paper", "TINY=1",
                             f"ARGS=--directory {work}"], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, **ONE_THREAD})
    assert result.returncode == 0, result.stderr[-3000:]
    return work


def slurm_run(slurm_env: dict, work: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "--profile", str(ROOT / "workflow" / "profiles" / "slurm"),
                           "--configfile", str(ROOT / "workflow" / "tiny.yaml"), "--directory",
                           str(work), "--jobs", "4", "--slurm-status-command", "squeue",
                           "--slurm-no-account", "--slurm-init-seconds-before-status-checks", "2",
                           "--seconds-between-status-checks", "2", *extra],
                          cwd=ROOT, capture_output=True, text=True,
                          env={**slurm_env, **ONE_THREAD})


def submitted(slurm_env: dict) -> int:
    """Jobs the cluster has seen (finished ones stay listed: MinJobAge)."""
    out = subprocess.run(["squeue", "-h", "--states=all", "-o", "%i"], capture_output=True,
                         text=True, env=slurm_env, check=True).stdout
    return len(out.split())


def job_counts(output: str) -> dict[str, int]:
    """The "Job stats" table a run prints: {rule: jobs}."""
    table = output.split("Job stats:")[1].split("\n\n")[0]
    rows = [line.split() for line in table.splitlines()[3:] if line.strip()]
    return {rule: int(count) for rule, count in rows if rule != "total"}


@pytest.fixture(scope="module")
def slurm_paper(slurm, tmp_path_factory):
    work = tmp_path_factory.mktemp("paper-slurm")
    before = submitted(slurm)
    result = slurm_run(slurm, work)
    assert result.returncode == 0, result.stderr[-3000:]
    return work, before, submitted(slurm)


def test_the_tiny_workflow_reaches_the_report_with_every_table(local_paper):
    tables = report_tables(local_paper)
    for heading in ("### Table 1a", "### Table 1b", "### Table 2", "### Table 3", "### Table 4"):
        assert heading in tables
    assert "27 tested net(s)" in tables  # 28 runs; the one on all of UCF-101 has no test set
    assert len(score_files(local_paper)) == 39
    # Table 2's row without the user's classes is said to have no run, not made up.
    assert "| + 78 UCF-101 classes | 52.8% | no run |" in tables
    log = local_paper / "runs" / "paper-tiny" / "runs" / "ucf101" / \
        "ucf101_spatial_scratch_drop0.5_split1" / "workflow" / "train_to2.log"
    assert "stopped at iteration 2" in log.read_text()


def test_on_slurm_the_report_s_rows_equal_the_local_run_s(local_paper, slurm_paper):
    work, before, after = slurm_paper
    assert after - before == 71  # every job its own SLURM job: 2 + 1 + 28 + 39 + 1
    assert report_tables(work) == report_tables(local_paper)
    local, cluster = score_files(local_paper), score_files(work)
    assert sorted(local) == sorted(cluster)
    for name in local:
        assert np.array_equal(read_scores(local[name]).scores, read_scores(cluster[name]).scores)


def test_a_second_slurm_run_submits_nothing(slurm, slurm_paper):
    work, _, _ = slurm_paper
    before = submitted(slurm)
    again = slurm_run(slurm, work)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr
    assert submitted(slurm) == before


def test_a_deleted_score_file_is_made_again_with_the_report_alone(slurm, slurm_paper):
    work, _, _ = slurm_paper
    files = score_files(work)
    name = "ucf101/ucf101_temporal_flow-L1-meansub_scratch_drop0.9_split1_test.h5"
    old = read_scores(files[name]).scores
    others = {n: p.stat().st_mtime_ns for n, p in files.items() if n != name}
    files[name].unlink()
    again = slurm_run(slurm, work)
    assert again.returncode == 0, again.stderr[-3000:]
    assert job_counts(again.stdout + again.stderr) == {"score": 1, "report": 1, "paper": 1}
    assert np.array_equal(read_scores(files[name]).scores, old)
    assert {n: p.stat().st_mtime_ns for n, p in score_files(work).items() if n != name} == others


def test_a_failed_job_stops_only_its_dependants_and_the_next_run_resumes(slurm, slurm_paper):
    work, _, _ = slurm_paper
    files = score_files(work)
    broken = "ucf101/ucf101_temporal_flow-L5-meansub_scratch_drop0.9_split1_test.h5"
    fine = "ucf101/ucf101_temporal_flow-L10-nomeansub_scratch_drop0.9_split1_test.h5"
    report = work / "runs" / "paper-tiny" / "report" / "report.md"
    reported, tables = report.stat().st_mtime_ns, report_tables(work)
    files[broken].unlink()
    files[fine].unlink()
    # A folder where the scoring keeps its partial scores: it cannot write them, and fails.
    blocker = files[broken].with_name(files[broken].stem + ".partial.jsonl")
    blocker.mkdir()
    failed = slurm_run(slurm, work)
    assert failed.returncode == 1
    assert "Error in rule score" in failed.stderr
    assert files[fine].exists() and not files[broken].exists()
    assert report.stat().st_mtime_ns == reported  # the report waits for every score
    blocker.rmdir()
    resumed = slurm_run(slurm, work)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert job_counts(resumed.stdout + resumed.stderr) == {"score": 1, "report": 1, "paper": 1}
    assert files[broken].exists() and report.stat().st_mtime_ns > reported
    assert report_tables(work) == tables


pytestmark = pytest.mark.slow  # end to end: `make test-fast` leaves it out
