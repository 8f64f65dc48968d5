"""The Makefile: `make help` is made from the targets' own "## " lines and names every target a
user runs; the train-%, score-% (and its eval-% aliases) and bench-% pattern rules reach the tools
with the right flags."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INTERNAL = {"system", "venv", "caffe", "ready"}  # steps of `make setup`, and its check


def make(*args: str) -> str:
    result = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def phony_targets() -> set[str]:
    database = make("-pn", "help")
    line = next(line for line in database.splitlines() if line.startswith(".PHONY:"))
    return set(line.split(":", 1)[1].split()) - INTERNAL


def test_help_names_every_target_a_user_runs():
    listed = set(re.findall(r"(?:make |\| )([a-z]+(?:-[a-z]+)?)", make("help")))
    targets = phony_targets()
    assert {"demo", "test", "train-temporal", "score-multitask", "bench-flow", "fuse"} <= targets
    assert targets - listed == set()


def test_pattern_rules_pass_the_stream_and_the_bench_name():
    assert "tools/train_net.py --dataset hmdb51 --split 2" in make("-n", "train-multitask",
                                                                   "DATASET=hmdb51", "SPLIT=2")
    assert make("-n", "train-multitask", "DATASET=hmdb51").rstrip().endswith("--stream multitask")
    assert make("-n", "score-spatial").rstrip().endswith("--subset test     --stream spatial")
    assert make("-n", "bench-train").rstrip().endswith("tools/bench/bench_train.py")


def test_export_and_classify_pass_both_runs_and_the_model():
    def commands(*args):  # the recipes, continued lines joined, spaces collapsed
        return " ".join(make("-n", *args).replace("\\\n", " ").split())
    export = commands("export", "RUN=runs/a", "RUN_TEMPORAL=runs/b", "FUSION=svm")
    assert export.endswith("tools/export_model.py --run runs/a --run runs/b --fusion svm")
    classify = commands("classify", "VIDEO=clip.mp4", "MODEL=runs/bundles/m", "FIGURE=f.png")
    assert classify.endswith("tools/classify_video.py clip.mp4 --model runs/bundles/m "
                             "--figure f.png")


def test_the_fast_lane_leaves_out_only_the_end_to_end_tests_and_make_test_runs_them_all():
    assert make("-n", "test-fast").split("pytest", 1)[1].split() == ["-m", '"not', 'slow"']
    assert make("-n", "test").split("pytest", 1)[1].split() == []

    def collected(*args):
        result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                                 "-p", "no:cacheprovider", *args, "tests"], cwd=ROOT,
                                capture_output=True, text=True)
        return {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    fast = collected("-m", "not slow")
    for whole_run in ("tests/tools/test_demo.py", "tests/tools/test_reviewer_sequence.py",
                      "tests/models/bundle/test_bundle.py", "tests/models/train/test_recipe.py",
                      "tests/workflow/test_paper.py"):
        assert whole_run not in fast
    assert {"tests/test_makefile.py", "tests/models/input/test_mean_image.py",
            "tests/models/train/test_loop.py", "tests/workflow/test_dry_run.py"} <= fast


def test_clean_removes_what_set_up_regenerates_and_never_results_or_stores():
    removed = make("-n", "clean").split("\n")[0].split()
    assert removed[:2] == ["rm", "-rf"] and {".venv", "gpu-kit"} <= set(removed)
    assert not {"runs", "data", "runs/", "data/"} & set(removed)
    # one meaning a variable: OUT is a store folder, BUNDLE the exported bundle's
    export = make("-n", "export", "RUN=runs/a", "BUNDLE=b", "OUT=store").split()
    assert export[-2:] == ["--out", "b"]


def test_fuse_and_report_run_no_apt_check_where_the_environment_is_complete():
    for target, tool in (("fuse", "tools/fuse_scores.py"), ("report", "tools/report.py")):
        commands = make("-n", target)
        assert "install_system_packages" not in commands and "build_caffe" not in commands
        assert commands.split("\n", 1)[1].split()[1] == tool
    assert "install_system_packages" in make("-n", "test")


def test_make_paper_hands_its_variables_to_the_workflow():
    def paper(*variables):  # the snakemake command line, its continuations joined
        return " ".join(make("-n", "paper", *variables).replace("\\\n", " ").split(
            "-m snakemake")[1].split())
    command = paper("TINY=1", "TABLES=1a,3", "GPUS=0,1", "UCF101=/d/u", "WEIGHTS=/w.caffemodel",
                    "DRYRUN=1")
    assert command.startswith("--snakefile workflow/Snakefile --profile workflow/profiles/local")
    assert "--configfile workflow/tiny.yaml" in command
    assert "--config tables=1a,3 ucf101_root=/d/u weights=/w.caffemodel gpus=0,1" in command
    assert "--resources gpu=2" in command and command.endswith("--dry-run")
    cluster = paper("CLUSTER=slurm")
    assert "--profile workflow/profiles/slurm" in cluster and "cluster=slurm" in cluster
