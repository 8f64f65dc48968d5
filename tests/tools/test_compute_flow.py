"""tools/compute_flow.py on Middlebury Grove3, run as users run it."""
import subprocess
import sys
from pathlib import Path

import cv2

from data_prep.flow.middlebury import endpoint_error, read_flo

ROOT = Path(__file__).resolve().parents[2]


def test_writes_a_flo_and_a_colour_picture(tmp_path, grove3_files, grove3):
    truth = grove3[2]
    frames = grove3_files[:2]
    result = subprocess.run([sys.executable, "tools/compute_flow.py", "--method", "brox",
                             *map(str, frames), "-o", str(tmp_path / "g.flo"),
                             "--png", str(tmp_path / "g.png")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "brox flow 640x480" in result.stderr
    assert endpoint_error(read_flo(tmp_path / "g.flo"), truth) <= 0.80
    assert cv2.imread(str(tmp_path / "g.png")).shape == (480, 640, 3)


def test_an_unreadable_frame_is_one_clear_sentence(tmp_path):
    (tmp_path / "a.png").write_bytes(b"garbage")
    result = subprocess.run([sys.executable, "-m", "tools.compute_flow", str(tmp_path / "a.png"),
                             str(tmp_path / "a.png"), "-o", str(tmp_path / "o.flo")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == f"compute_flow: cannot read image {tmp_path / 'a.png'}; " \
                                    "give a PNG or JPEG file."
