"""Two small synthetic datasets in exactly the UCF-101 and HMDB-51 layouts: the embedded default.

Every clip is a real video file (OpenCV's VideoWriter) of a textured object moving over a
textured background seen by a moving camera, and the split files are in the official formats, so
every later stage runs the code path of the real data. The classes are built so that the paper's
claims can be seen in them:

- motion-only pairs: same appearance (object, colours, textures, background), different motion
  (shaking sideways turning back every frame vs every second frame, spinning vs zooming,
  up-down vs side-to-side, zoom in vs out): the spatial stream cannot separate them, and the
  first pair's one flow field is alike too (a sideways shift of a few pixels either way), so
  only a stack of fields (L > 1) tells them apart. No pair is a mirror image of the other
  (leftwards vs rightwards, clockwise vs anticlockwise): training flips clips horizontally
  (Sect. 3.1), which would turn one class of such a pair into the other, as it never does to a
  real action class;
- appearance-only pairs: same motion, same object shape and kind of background texture,
  different colours: their flow is alike, so the temporal stream cannot separate them;
- every clip has random global camera motion (a pan plus jitter), so mean flow subtraction
  matters;
- the two datasets share some classes and differ in others, as UCF-101 and HMDB-51 do.

The class groups are written into each dataset's `synthetic.json`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

FRAME_SIZE = (120, 160)  # height, width
FRAMES = 24
FPS = 25
FOURCC = "MJPG"
MARKER = "synthetic.json"  # in a synthetic dataset's root: what made it, with which settings
CAMERA_PAN = 2.0  # px/frame, uniform in [-CAMERA_PAN, CAMERA_PAN] per axis and clip
CAMERA_JITTER = 0.4  # px, per frame and axis
UCF_GROUPS = 8  # UCF-101's g01..g25, scaled down; clips of a group share a scene
UCF_TEST_GROUP_PERIOD = 4  # split k tests the groups g with (g - 1) % 4 == k - 1

# Appearance: object shape, object colour (BGR), background texture, background colours.
APPEARANCES = {
    "red_disc": ("disc", (40, 40, 220), "stripes", ((60, 140, 60), (130, 210, 130))),
    "yellow_square": ("square", (30, 220, 230), "noise", ((150, 80, 40), (230, 160, 110))),
    "magenta_triangle": ("triangle", (200, 40, 200), "checker", ((90, 90, 90), (170, 170, 170))),
    "red_box": ("square", (50, 50, 200), "noise", ((60, 60, 60), (140, 140, 140))),
    "blue_box": ("square", (210, 90, 30), "noise", ((40, 130, 170), (110, 200, 230))),
    "green_square": ("square", (60, 200, 60), "stripes", ((120, 60, 120), (200, 140, 200))),
    "purple_square": ("square", (160, 40, 120), "stripes", ((40, 160, 160), (140, 230, 230))),
    "white_ring": ("ring", (235, 235, 235), "noise", ((30, 30, 60), (90, 90, 140))),
    "teal_triangle": ("triangle", (160, 160, 20), "stripes", ((40, 90, 150), (110, 170, 220))),
    "brown_triangle": ("triangle", (30, 70, 140), "stripes", ((150, 150, 40), (220, 220, 120))),
}
# Motion of the object in the world, per frame t: translation (px), rotation (deg), scale.
MOTIONS = {
    "left": dict(velocity=(-2.0, 0.0)),
    "up": dict(velocity=(0.0, -2.0)),
    # OpenCV turns positive angles anticlockwise on screen (y points down).
    "clockwise": dict(spin=-8.0),
    "vertical": dict(oscillate=(0.0, 12.0)),
    "horizontal": dict(oscillate=(12.0, 0.0)),
    "orbit": dict(orbit=14.0),
    "zoom_in": dict(zoom=(0.7, 1.5)),
    "zoom_out": dict(zoom=(1.5, 0.7)),
    # A step of `shake` px every frame, turning back every `turn_every` frames: one flow field
    # of either is the same sideways shift, left or right as often; only a run of fields shows
    # the rhythm. Neither drifts, so where the object is says nothing of which it is.
    "shiver": dict(shake=(4.0, 0.0), turn_every=1),
    "shuffle": dict(shake=(4.0, 0.0), turn_every=2),
    "wave": dict(velocity=(1.5, 0.0), oscillate=(0.0, 8.0)),
}
PERIOD = 12  # frames of one oscillation or orbit


@dataclass(frozen=True)
class SyntheticClass:
    name: str
    appearance: str
    motion: str


UCF_CLASSES = [
    SyntheticClass("ShiverSideways", "red_disc", "shiver"),
    SyntheticClass("ShuffleSideways", "red_disc", "shuffle"),
    SyntheticClass("Spin", "yellow_square", "clockwise"),
    SyntheticClass("ZoomSquare", "yellow_square", "zoom_in"),
    SyntheticClass("BounceVertical", "magenta_triangle", "vertical"),
    SyntheticClass("SwingHorizontal", "magenta_triangle", "horizontal"),
    SyntheticClass("RedBoxRise", "red_box", "up"),
    SyntheticClass("BlueBoxRise", "blue_box", "up"),
    SyntheticClass("GreenOrbit", "green_square", "orbit"),
    SyntheticClass("PurpleOrbit", "purple_square", "orbit"),
]
HMDB_CLASSES = [
    SyntheticClass("slide_sideways", "red_disc", "left"),
    SyntheticClass("spin", "yellow_square", "clockwise"),
    SyntheticClass("red_box_rise", "red_box", "up"),
    SyntheticClass("blue_box_rise", "blue_box", "up"),
    SyntheticClass("zoom_in", "white_ring", "zoom_in"),
    SyntheticClass("zoom_out", "white_ring", "zoom_out"),
    SyntheticClass("teal_wave", "teal_triangle", "wave"),
    SyntheticClass("brown_wave", "brown_triangle", "wave"),
]


def class_groups(classes: list[SyntheticClass]) -> dict[str, list[list[str]]]:
    """Pairs of classes that share their appearance (motion-only) or their motion
    (appearance-only)."""
    groups = {"motion_only": [], "appearance_only": []}
    for i, a in enumerate(classes):
        for b in classes[i + 1:]:
            if a.appearance == b.appearance:
                groups["motion_only"].append([a.name, b.name])
            elif a.motion == b.motion:
                groups["appearance_only"].append([a.name, b.name])
    return groups


def texture(kind: str, shape, colours, rng) -> np.ndarray:
    height, width = shape
    y, x = np.mgrid[:height, :width].astype(np.float32)
    if kind == "stripes":
        angle = rng.uniform(0, np.pi)
        pattern = 0.5 + 0.5 * np.sin((x * np.cos(angle) + y * np.sin(angle)) / rng.uniform(2, 4))
    elif kind == "checker":
        cell = rng.integers(6, 11)
        pattern = ((x // cell + y // cell) % 2).astype(np.float32)
    else:
        noise = rng.random((height, width)).astype(np.float32)
        pattern = cv2.GaussianBlur(noise, (0, 0), rng.uniform(1.5, 3.0))
        pattern = (pattern - pattern.min()) / max(float(np.ptp(pattern)), 1e-6)
    low, high = (np.float32(c) for c in colours)
    return low + pattern[..., None] * (high - low)


def sprite(shape: str, colour, size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """A textured object (float BGR) and its mask; the texture makes rotation visible."""
    mask = np.zeros((size, size), np.float32)
    c, r = size / 2, size / 2 - 1
    if shape == "disc":
        cv2.circle(mask, (int(c), int(c)), int(r), 1.0, -1, cv2.LINE_AA)
    elif shape == "ring":
        cv2.circle(mask, (int(c), int(c)), int(r), 1.0, max(3, size // 6), cv2.LINE_AA)
    elif shape == "triangle":
        points = np.int32([[c, 1], [size - 2, size - 2], [1, size - 2]])
        cv2.fillPoly(mask, [points], 1.0, cv2.LINE_AA)
    else:
        mask[2:-2, 2:-2] = 1.0
    detail = texture("stripes", (size, size), ((0.55,) * 3, (1.0,) * 3), rng)
    detail[: size // 3, : size // 3] *= 0.4  # an off-centre dark corner: orientation shows
    return detail * np.float32(colour), mask


def trajectory(motion: dict, frames: int, rng):
    """Per frame: offset (x, y) from the start, rotation (deg), scale."""
    t = np.arange(frames, dtype=np.float32)
    speed = rng.uniform(0.8, 1.2)
    offset = np.zeros((frames, 2), np.float32)
    if "velocity" in motion:
        offset += np.outer(t, motion["velocity"]) * speed
    phase = rng.uniform(0, 2 * np.pi)
    if "oscillate" in motion:
        offset += np.outer(np.sin(2 * np.pi * t / PERIOD + phase), motion["oscillate"])
    if "orbit" in motion:
        angle = 2 * np.pi * t / PERIOD + phase
        offset += motion["orbit"] * np.stack([np.cos(angle), np.sin(angle)], 1)
    if "shake" in motion:
        every = motion["turn_every"]
        first = int(phase / (2 * np.pi) * 2 * every)  # where in its rhythm the clip starts
        steps = np.where((np.arange(frames - 1) + first) // every % 2 == 0, 1.0, -1.0)
        offset[1:] += np.outer(np.cumsum(steps), motion["shake"]) * speed
    rotation = motion.get("spin", 0.0) * speed * t
    start, end = motion.get("zoom", (1.0, 1.0))
    scale = start + (end - start) * t / max(frames - 1, 1)
    return offset, rotation, scale


def render_clip(cls: SyntheticClass, rng, scene_rng, frames: int = FRAMES,
                frame_size=FRAME_SIZE) -> list[np.ndarray]:
    """One clip. `scene_rng` draws what the clips of a scene share (UCF-101's groups): the
    background, the object's colour, size and texture, the lighting; `rng` draws the clip's
    own: the motion's speed and phase, the camera, where the object starts, sensor noise."""
    height, width = frame_size
    shape, colour, bg_kind, bg_colours = APPEARANCES[cls.appearance]
    jitter = scene_rng.uniform(0.85, 1.15, 3)
    colour = np.clip(np.float32(colour) * jitter, 0, 255)
    size = int(scene_rng.integers(22, 31))
    obj, mask = sprite(shape, colour, size, scene_rng)
    brightness = scene_rng.uniform(0.9, 1.1)
    # Room for the farthest pan: the same background, whatever this clip's camera does.
    margin = int(np.ceil(CAMERA_PAN * (frames - 1) + 5 * CAMERA_JITTER)) + 2
    background = texture(bg_kind, (height + 2 * margin, width + 2 * margin), bg_colours,
                         scene_rng)
    offset, rotation, scale = trajectory(MOTIONS[cls.motion], frames, rng)
    camera = np.outer(np.arange(frames), rng.uniform(-CAMERA_PAN, CAMERA_PAN, 2)) \
        + np.clip(rng.normal(0, CAMERA_JITTER, (frames, 2)), -5 * CAMERA_JITTER,
                  5 * CAMERA_JITTER)
    # The start point keeps the object's whole path on screen inside the frame.
    on_screen = offset - camera
    reach = size * max(scale.max(), 1.0) / 2 + 2
    low = reach - on_screen.min(0)
    high = np.array([width, height]) - reach - on_screen.max(0)
    start = rng.uniform(np.minimum(low, high), np.maximum(low, high))
    clip = []
    for t in range(frames):
        cam = camera[t]
        view = cv2.warpAffine(background, np.float32([[1, 0, margin + cam[0]],
                                                      [0, 1, margin + cam[1]]]),
                              (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        centre = start + offset[t] - cam  # the object moves in the world; the camera moves too
        m = cv2.getRotationMatrix2D((size / 2, size / 2), float(rotation[t]), float(scale[t]))
        m[:, 2] += centre - size / 2
        placed = cv2.warpAffine(obj, m, (width, height), flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(mask, m, (width, height), flags=cv2.INTER_LINEAR)[..., None]
        frame = (view * (1 - alpha) + placed * alpha) * brightness
        frame += rng.normal(0, 2, frame.shape)  # sensor noise
        clip.append(np.clip(frame, 0, 255).astype(np.uint8))
    return clip


def write_video(path: Path, frames: list[np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC), FPS, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {FOURCC} video to {path}")
    for frame in frames:
        writer.write(frame)
    writer.release()


@dataclass(frozen=True)
class SyntheticConfig:
    seed: int = 0
    ucf_clips_per_group: int = 2  # x ucf_groups groups, per class
    hmdb_clips_per_class: int = 10  # 7 train / 3 test per split, as HMDB-51's 70/30
    frames: int = FRAMES
    ucf_groups: int = UCF_GROUPS  # at least UCF_TEST_GROUP_PERIOD, so each split tests some


def make_ucf_like(root: Path, config: SyntheticConfig) -> int:
    if config.ucf_groups < UCF_TEST_GROUP_PERIOD:
        raise ValueError(f"ucf_groups must be at least {UCF_TEST_GROUP_PERIOD}: each of the three "
                         f"splits tests every {UCF_TEST_GROUP_PERIOD}th group")
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_text(
        "".join(f"{i} {c.name}\r\n" for i, c in enumerate(UCF_CLASSES, 1)))
    rng = np.random.default_rng([config.seed, 101])
    clips = []
    for label, cls in enumerate(UCF_CLASSES, 1):
        for group in range(1, config.ucf_groups + 1):
            # A group is one scene (background, object, lighting), and the two classes of a
            # motion-only pair share their groups' scenes: a scene of their own would let the
            # spatial net learn "this stripe angle, this shade of red is ShiverSideways" from one
            # frame, and be confidently wrong on the test groups' new scenes.
            scene = [config.seed, 101, list(APPEARANCES).index(cls.appearance), group]
            for c in range(1, config.ucf_clips_per_group + 1):
                clip = f"{cls.name}/v_{cls.name}_g{group:02d}_c{c:02d}.avi"
                frames = render_clip(cls, rng, np.random.default_rng(scene), config.frames)
                write_video(root / "UCF-101" / clip, frames)
                clips.append((clip, label, group))
    for k in (1, 2, 3):
        test = [(clip, label) for clip, label, g in clips
                if (g - 1) % UCF_TEST_GROUP_PERIOD == k - 1]
        train = [(clip, label) for clip, label, g in clips
                 if (g - 1) % UCF_TEST_GROUP_PERIOD != k - 1]
        (lists / f"trainlist0{k}.txt").write_text("".join(f"{c} {l}\r\n" for c, l in train))
        (lists / f"testlist0{k}.txt").write_text("".join(f"{c}\r\n" for c, _ in test))
    write_metadata(root, "ucf101", UCF_CLASSES, config)
    return len(clips)


def make_hmdb_like(root: Path, config: SyntheticConfig) -> int:
    splits = root / "testTrainMulti_7030_splits"
    splits.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([config.seed, 51])
    n = config.hmdb_clips_per_class
    for cls in HMDB_CLASSES:
        names = [f"{cls.name}_v{i:02d}.avi" for i in range(n)]
        for name in names:
            frames = render_clip(cls, rng, np.random.default_rng(rng.integers(1 << 31)),
                                 config.frames)
            write_video(root / "hmdb51" / cls.name / name, frames)
        n_test = round(0.3 * n)
        for k in (1, 2, 3):
            order = rng.permutation(n)
            tags = np.ones(n, int)
            tags[order[:n_test]] = 2
            (splits / f"{cls.name}_test_split{k}.txt").write_text(
                "".join(f"{name} {tag} \n" for name, tag in zip(names, tags)))
    write_metadata(root, "hmdb51", HMDB_CLASSES, config)
    return n * len(HMDB_CLASSES)


def write_metadata(root: Path, layout: str, classes: list[SyntheticClass], config) -> None:
    meta = dict(generator="data_prep/datasets/synthetic.py", layout=layout, config=asdict(config),
                frame_size=list(FRAME_SIZE), fps=FPS, camera_pan_px_per_frame=CAMERA_PAN,
                camera_jitter_px=CAMERA_JITTER, classes=[asdict(c) for c in classes],
                groups=class_groups(classes))
    (root / MARKER).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def make_synthetic(out: Path, config: SyntheticConfig = SyntheticConfig()) -> dict[str, int]:
    """Writes out/ucf101 and out/hmdb51; returns the clips written per dataset."""
    return {"ucf101": make_ucf_like(Path(out) / "ucf101", config),
            "hmdb51": make_hmdb_like(Path(out) / "hmdb51", config)}
