"""Small real datasets on disk: video files written with OpenCV, split files in the official
formats."""
import cv2
import numpy as np
import pytest

from data_prep.datasets.synthetic import write_video


def moving_square(n_frames, seed, size=(48, 64)):
    """A textured background with a square moving 2 px right per frame."""
    rng = np.random.default_rng(seed)
    background = cv2.GaussianBlur(rng.integers(0, 255, (*size, 3)).astype(np.uint8), (0, 0), 1.5)
    frames = []
    for t in range(n_frames):
        frame = background.copy()
        x = 8 + 2 * t
        frame[16:32, x:x + 16] = (40, 200, 240)
        frames.append(frame)
    return frames


@pytest.fixture
def make_video():
    """Writes an MJPG .avi of a square moving over a texture: make_video(path, frames, seed)."""
    return lambda path, n_frames, seed=0: write_video(path, moving_square(n_frames, seed))


@pytest.fixture
def tiny_ucf101(tmp_path):
    """A UCF-101-layout dataset of 2 classes x 3 clips of 6 frames (48x64)."""
    root = tmp_path / "ucf"
    classes = ["Alpha", "Beta"]
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 Alpha\n2 Beta\n")
    clips = []
    for c, cls in enumerate(classes):
        for g in (1, 2, 3):
            clip = f"{cls}/v_{cls}_g0{g}_c01.avi"
            write_video(root / "UCF-101" / clip, moving_square(6, seed=10 * c + g))
            clips.append((clip, c + 1, g))
    for k in (1, 2, 3):
        (lists / f"trainlist0{k}.txt").write_text(
            "".join(f"{clip} {label}\n" for clip, label, g in clips if g != k))
        (lists / f"testlist0{k}.txt").write_text(
            "".join(f"{clip}\n" for clip, _, g in clips if g == k))
    return root
