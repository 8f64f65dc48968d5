"""tools/gpu_slot.py: the workflow's local jobs get one GPU each, never the same one at once."""
import subprocess
import sys
from pathlib import Path

from tools.gpu_slot import hold_free_gpu

ROOT = Path(__file__).resolve().parents[2]


def test_each_holder_gets_a_gpu_no_other_holds(tmp_path):
    first, held = hold_free_gpu(["0", "1"], tmp_path)
    second, also = hold_free_gpu(["0", "1"], tmp_path)
    assert (first, second) == ("0", "1")
    held.close()  # the first job ends: its GPU is free again
    third, _ = hold_free_gpu(["0", "1"], tmp_path)
    assert third == "0"
    also.close()


def test_the_command_sees_its_gpu_alone_and_its_exit_code_is_the_tool_s(tmp_path):
    script = "import os, sys; print(os.environ['CUDA_VISIBLE_DEVICES']); sys.exit(3)"
    result = subprocess.run([sys.executable, "tools/gpu_slot.py", "--gpus", "5,6", "--locks",
                             str(tmp_path), "--", sys.executable, "-c", script], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 3
    assert result.stdout.splitlines() == [f"gpu_slot: GPU 5 for {Path(sys.executable).name}",
                                          "5"]
