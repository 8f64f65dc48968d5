"""UCF-101 and HMDB-51 as shipped: their video folders and official split files (Sect. 6).

    dataset = read_dataset("ucf101", "/data/ucf101")   # holds UCF-101/ and ucfTrainTestlist/
    dataset.split(1)["train"]                           # [Video, ...]

A video's id is its path relative to the video folder, exactly as the split files write it
("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi"); stores, score files and logs all use it.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SPLITS = (1, 2, 3)  # Sect. 6: three official train/test splits, accuracy is their mean
# Where each dataset's archives unpack: (video folder, split folder).
LAYOUTS = {"ucf101": ("UCF-101", "ucfTrainTestlist"),
           "hmdb51": ("hmdb51", "testTrainMulti_7030_splits")}
# HMDB-51's split files tag each clip: 1 train, 2 test, 0 not used in that split.
HMDB_TAGS = {"1": "train", "2": "test", "0": None}


class DatasetError(Exception):
    """A dataset on disk that does not match its split files; the message says how to fix it."""


@dataclass(frozen=True)
class Video:
    id: str  # path relative to the video folder, as in the split files
    path: Path
    class_name: str
    label: int  # 0-based


@dataclass
class Dataset:
    name: str
    root: Path
    classes: list[str]
    videos: dict[str, Video]
    # split -> {"train": [ids], "test": [ids]}
    splits: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # listed but absent (allow_missing)
    # split -> {"train": [ids], "test": [ids]} as the split files list them, found or not: what
    # a test of the split must score (stores and score files say how many they hold of it)
    listed: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    def split(self, k: int) -> dict[str, list[Video]]:
        return {subset: [self.videos[i] for i in ids] for subset, ids in self.splits[k].items()}


def read_lines(path: Path, fix: str) -> list[tuple[int, str]]:
    """(line number, text) of each non-blank line."""
    if not path.is_file():
        raise DatasetError(f"split file {path} is missing; {fix}")
    # utf-8-sig: a file saved with a byte-order mark reads as the same text without it.
    text = path.read_text(encoding="utf-8-sig")
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def line_fields(path: Path, number: int, line: str, counts: tuple[int, ...], form: str) -> list:
    """A split-file line's fields; a malformed line names its file and line number."""
    found = line.split()
    if len(found) not in counts:
        raise DatasetError(f"{path}, line {number}: {line!r} is not {form}; restore the file "
                           "from the official archive.")
    return found


def case_insensitive(names) -> dict[str, str]:
    return {name.lower(): name for name in names}


class VideoFinder:
    """Finds a listed video on disk; names are matched case-insensitively, as UCF-101 needs
    (its classInd.txt says HandstandPushups, its files v_HandStandPushups_*)."""

    def __init__(self, video_root: Path):
        self.root = video_root
        self.files = {p.relative_to(video_root).as_posix().lower(): p
                      for p in video_root.rglob("*") if p.is_file()}
        self.reported = set()

    def find(self, listed: str) -> Path | None:
        exact = self.root / listed
        if exact.is_file():
            return exact
        found = self.files.get(listed.lower())
        if found is not None and listed not in self.reported:
            self.reported.add(listed)
            log.info("matched %s to %s on disk (names differ only in case)", listed,
                     found.relative_to(self.root).as_posix())
        return found


def plain_name(name: str) -> bool:
    """A name that stays inside its folder when it becomes a path."""
    return bool(name) and name not in (".", "..") and not {"/", "\\", "\0"} & set(name)


def add_video(dataset: Dataset, finder: VideoFinder, listed: str, class_name: str,
              allow_missing: bool) -> str | None:
    """Registers a listed video; returns its id, or None if it is missing and may be."""
    if listed in dataset.videos:
        return listed
    parts = listed.split("/")
    if len(parts) != 2 or not all(plain_name(p) for p in parts):
        raise DatasetError(f"the split files list {listed!r}, which is not <class>/<video> "
                           f"inside {finder.root}; restore the files from the official archive.")
    path = finder.find(listed)
    if path is None:
        if not allow_missing:
            raise DatasetError(f"{finder.root / listed} is listed in the split files but not on "
                               "disk; unpack the whole archive there, or pass --allow-missing "
                               "to skip missing videos.")
        if listed not in dataset.missing:
            dataset.missing.append(listed)
        return None
    dataset.videos[listed] = Video(listed, path, class_name, dataset.classes.index(class_name))
    return listed


def read_ucf101(root: Path, allow_missing: bool = False) -> Dataset:
    video_dir, split_dir = (root / part for part in LAYOUTS["ucf101"])
    fix = f"unpack UCF101TrainTestSplits-RecognitionTask.zip into {root} (it makes {split_dir.name}/)."
    classes = []
    class_file = split_dir / "classInd.txt"
    for number, line in read_lines(class_file, fix):
        index, name = line_fields(class_file, number, line, (2,), "'<index> <class name>'")
        if not index.isdigit():
            raise DatasetError(f"{class_file}, line {number}: {line!r} does not start with a class "
                               "index; restore the file from the official archive.")
        if int(index) > len(classes) + 1:
            raise DatasetError(f"{class_file}: class {len(classes) + 1} is missing (line "
                               f"{number} is class {index} {name}); restore the file from the "
                               "official archive.")
        if int(index) != len(classes) + 1:
            raise DatasetError(f"{class_file}: class {index} {name} is out of "
                               "order; restore the file from the official archive.")
        if not plain_name(name):
            raise DatasetError(f"{class_file}, line {number}: {name!r} is not a folder name "
                               "(no '/', '\\', '.' or '..'); restore the file from the "
                               "official archive.")
        classes.append(name)
    known = case_insensitive(classes)
    dataset = Dataset("ucf101", root, classes, {})
    finder = VideoFinder(video_dir)
    for k in SPLITS:
        split, dataset.listed[k] = {}, {}
        for subset in ("train", "test"):
            listed_file = split_dir / f"{subset}list0{k}.txt"
            ids, seen = [], set()
            dataset.listed[k][subset] = listed_ids = []
            for number, line in read_lines(listed_file, fix):
                listed = line_fields(listed_file, number, line, (1, 2),
                                     "'<Class/video.avi> [<label>]'")[0]
                folder = listed.split("/")[0]
                if folder.lower() not in known:
                    raise DatasetError(f"{listed_file}: {listed} is in class {folder}, which "
                                       f"{split_dir / 'classInd.txt'} does not list.")
                if listed in seen:
                    raise DatasetError(f"{listed_file} lists {listed} twice; restore the file "
                                       "from the official archive.")
                seen.add(listed)
                listed_ids.append(listed)
                if known[folder.lower()] != folder:
                    log.info("class folder %s matched to classInd.txt's %s (case differs)",
                             folder, known[folder.lower()])
                video = add_video(dataset, finder, listed, known[folder.lower()], allow_missing)
                if video is not None:
                    ids.append(video)
            split[subset] = ids
        both = sorted(set(split["train"]) & set(split["test"]))
        if both:
            raise DatasetError(f"{split_dir / f'trainlist0{k}.txt'} and testlist0{k}.txt both "
                               f"list {both[0]} ({len(both)} such): a video is trained on or "
                               "tested on, not both; restore the files from the official "
                               "archive.")
        dataset.splits[k] = split
    return dataset


HMDB_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<k>[123])\.txt$")


def read_hmdb51(root: Path, allow_missing: bool = False) -> Dataset:
    video_dir, split_dir = (root / part for part in LAYOUTS["hmdb51"])
    fix = f"unpack test_train_splits.rar into {root} (it makes {split_dir.name}/)."
    if not split_dir.is_dir():
        raise DatasetError(f"split folder {split_dir} is missing; {fix}")
    files = {}
    for path in split_dir.iterdir():
        match = HMDB_SPLIT_FILE.match(path.name)
        if match:
            files[(match["cls"], int(match["k"]))] = path
    classes = sorted({cls for cls, _ in files})
    if not classes:
        raise DatasetError(f"split folder {split_dir} holds no <class>_test_split<k>.txt "
                           f"files; {fix}")
    dataset = Dataset("hmdb51", root, classes, {})
    finder = VideoFinder(video_dir)
    for k in SPLITS:
        split = {"train": [], "test": []}
        dataset.listed[k] = {"train": [], "test": []}
        for cls in classes:
            listed_file = files.get((cls, k))
            if listed_file is None:
                raise DatasetError(f"split file {split_dir / f'{cls}_test_split{k}.txt'} is "
                                   f"missing; {fix}")
            seen = set()
            for number, line in read_lines(listed_file, fix):
                clip, tag = line_fields(listed_file, number, line, (2,), "'<clip.avi> <0|1|2>'")
                if tag not in HMDB_TAGS:
                    raise DatasetError(f"{listed_file}: {clip} has tag {tag}; tags are 0, 1, 2.")
                if clip in seen:
                    raise DatasetError(f"{listed_file} lists {clip} twice; restore the file from "
                                       "the official archive.")
                seen.add(clip)
                subset = HMDB_TAGS[tag]
                if subset is None:
                    continue
                dataset.listed[k][subset].append(f"{cls}/{clip}")
                video = add_video(dataset, finder, f"{cls}/{clip}", cls, allow_missing)
                if video is not None:
                    split[subset].append(video)
        dataset.splits[k] = split
    return dataset


READERS = {"ucf101": read_ucf101, "hmdb51": read_hmdb51}


def read_dataset(name: str, root, allow_missing: bool = False) -> Dataset:
    if name not in READERS:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(READERS)}.")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist; set ROOT= to where "
                           f"{name}'s archives are unpacked.")
    dataset = READERS[name](root, allow_missing)
    if dataset.missing:
        log.warning("%d listed videos are missing on disk and skipped: %s", len(dataset.missing),
                    ", ".join(dataset.missing[:10]) + (" ..." if len(dataset.missing) > 10 else ""))
    return dataset
