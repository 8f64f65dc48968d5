"""The committed prototxt/ and solvers/ are exactly what tools/make_prototxts.py writes."""
import re
from pathlib import Path

import pytest
from caffe.proto import caffe_pb2
from google.protobuf import text_format
from tools.make_prototxts import HEADER, main

ROOT = Path(__file__).resolve().parents[2]


def committed_files():
    return {p.relative_to(ROOT) for folder in ("prototxt", "solvers")
            for p in (ROOT / folder).rglob("*.prototxt")}


def test_regenerating_gives_byte_identical_files(tmp_path):
    assert main(["--out", str(tmp_path)]) == 0
    generated = {p.relative_to(tmp_path) for p in tmp_path.rglob("*.prototxt")}
    assert generated == committed_files()
    assert len(generated) == 47  # 19 train/val nets, 19 solvers, 9 deploy nets
    for relative in sorted(generated):
        assert (tmp_path / relative).read_bytes() == (ROOT / relative).read_bytes(), relative


def test_every_file_says_it_is_generated_and_solvers_carry_the_papers_schedule():
    for relative in committed_files():
        assert (ROOT / relative).read_text().startswith(HEADER), relative
    solver = text_format.Parse(
        (ROOT / "solvers/ucf101_temporal_flow-L10-meansub_scratch_drop0.9_solver.prototxt")
        .read_text(), caffe_pb2.SolverParameter())
    # float32 fields in Caffe's proto
    assert (solver.base_lr, solver.lr_policy, solver.gamma, solver.momentum) == (
        pytest.approx(0.01), "multistep", pytest.approx(0.1), pytest.approx(0.9))
    assert solver.weight_decay == pytest.approx(5e-4)
    assert (list(solver.stepvalue), solver.max_iter) == ([50000, 70000], 80000)
    assert solver.net == "prototxt/ucf101/ucf101_temporal_flow-L10-meansub_scratch_drop0.9_trainval.prototxt"
    finetune = text_format.Parse(
        (ROOT / "solvers/ucf101_spatial_lastlayer_drop0.5_solver.prototxt").read_text(),
        caffe_pb2.SolverParameter())
    assert (finetune.base_lr, list(finetune.stepvalue), finetune.max_iter) == (
        pytest.approx(0.01), [14000], 20000)


def test_every_line_the_prototxt_readme_cites_says_what_the_readme_quotes():
    readme = (ROOT / "prototxt/README.md").read_text()
    citations = re.findall(r"`([\w./+-]+\.prototxt):(\d+)` `([^`]+)`", readme)
    assert len(citations) >= 50
    for path, line, text in citations:
        lines = (ROOT / path).read_text().splitlines()
        assert lines[int(line) - 1].strip() == text, f"{path}:{line}"
