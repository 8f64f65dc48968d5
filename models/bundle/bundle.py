"""A trained two-stream model as Caffe users share models: named, written and read here and
nowhere else.

    {bundle}/
        readme.md               front matter (name, license, each stream's caffemodel and sha1),
                                then what it was trained on, how, its accuracy, how to load it
        bundle.json             what tools/classify_video.py reads: classes, each stream's net,
                                input and extraction settings, the fusion, the accuracy
        classes.txt             the class names, one a line, in label order
        fusion_svm.json         the linear SVM's weights, as JSON (fusion "svm" only)
        {stream}/readme.md      a Model Zoo entry of its own (name, caffemodel, caffemodel_url,
                                license, sha1): Caffe's scripts/download_model_binary.py takes
                                one caffemodel a folder
        {stream}/deploy.prototxt
        {stream}/mean.binaryproto   the mean image the net was trained with, if it was given one
                                (else the input is minus the mean pixel)
        {stream}/{net}_iter_{N}.caffemodel   for the deploy net: the paper's input, 0-255 minus
                                the mean (a scaled train net's 1/64 folded into conv1)

A bundle is written into a temporary folder and renamed, so it is whole or absent, and never
over another. Reading it checks that every file is there and that each caffemodel's sha1 is the
one its readme gives, before anything runs.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from data_prep.outputs import unwritable
from data_prep.video import file_sha1
from models.evaluate.fusion import svm_weights_problem
from models.nets.cnn_m_2048 import NetConfig, cnn_m_2048, net_config_from, output_blob
from models.nets.weights import stored_weights, trained_net

FORMAT = "two-stream bundle 1"
STREAMS = ("spatial", "temporal")
MANIFEST = "bundle.json"
CLASSES = "classes.txt"
SVM_FILE = "fusion_svm.json"
README = "readme.md"
DEPLOY = "deploy.prototxt"
MEAN = "mean.binaryproto"


class BundleError(Exception):
    """A bundle that cannot be written or used; the message names the file and what to do."""


@dataclass(frozen=True)
class Stream:
    """One stream of a bundle: its net, weights, and the input its store was made with."""

    net: str
    net_config: NetConfig  # as trained (width, crop size, L, stacking, mean subtraction)
    caffemodel: Path  # the file in the bundle (read), or the snapshot to copy (to write)
    sha1: str
    frames: dict  # the frame store's settings (short side, JPEG quality)
    flow: dict | None  # the flow store's settings (temporal): method, parameters, bound, ...
    trained_on: dict  # where it came from: run folder, stores, splits, iteration
    mean: Path | None = None  # the mean image it was trained with (in the bundle, or the run's)
    mean_sha1: str | None = None

    @property
    def output(self) -> str:
        """The deploy net's softmax over this bundle's dataset (a multi-task net has two)."""
        return output_blob(self.net_config, self.trained_on["dataset"])


@dataclass(frozen=True)
class Bundle:
    folder: Path | None  # None: runs used as they are, not exported
    name: str
    dataset: str
    split: int
    classes: list[str]
    streams: dict[str, Stream]  # "spatial" and/or "temporal"
    fusion: str  # "average", "svm", or "none" (one stream)
    svm: dict | None = None  # models/evaluate/fusion.py's svm_weights
    accuracy: dict = field(default_factory=dict)  # measured on the split's test videos
    license: str = "unspecified"
    caffemodel_url: str = ""  # where the caffemodels will be downloadable, a folder's URL


def front_matter(path: Path) -> dict:
    """The `key: value` lines between a readme's first two `---` lines."""
    lines = path.read_text().splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in [x.strip() for x in lines[1:]]:
        raise BundleError(f"{path} has no front matter (--- lines); the bundle is damaged: "
                          "export it again.")
    end = [x.strip() for x in lines].index("---", 1)
    return {k.strip(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:end])}


def zoo_readme(fields: dict, body: str) -> str:
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()) + "---\n\n" + body


def stream_zoo_fields(bundle: Bundle, kind: str) -> dict:
    stream = bundle.streams[kind]
    name = stream.caffemodel.name
    url = bundle.caffemodel_url.rstrip("/") + f"/{kind}/{name}" if bundle.caffemodel_url else ""
    return {"name": f"{bundle.name}: {kind} stream", "caffemodel": name,
            "caffemodel_url": url, "license": bundle.license, "sha1": stream.sha1}


def manifest(bundle: Bundle) -> dict:
    streams = {}
    for kind, s in bundle.streams.items():
        streams[kind] = dict(net=s.net, net_config=asdict(s.net_config), output=s.output,
                             deploy=f"{kind}/{DEPLOY}", caffemodel=f"{kind}/{s.caffemodel.name}",
                             sha1=s.sha1, frames=s.frames, flow=s.flow, trained_on=s.trained_on,
                             mean=f"{kind}/{MEAN}" if s.mean else None, mean_sha1=s.mean_sha1)
    return dict(format=FORMAT, name=bundle.name, dataset=bundle.dataset, split=bundle.split,
                classes=CLASSES, num_classes=len(bundle.classes), streams=streams,
                fusion=dict(method=bundle.fusion, **({"svm": SVM_FILE} if bundle.svm else {}),
                            **({"weights": {k: 0.5 for k in STREAMS}}
                               if bundle.fusion == "average" else {})),
                accuracy=bundle.accuracy, license=bundle.license,
                caffemodel_url=bundle.caffemodel_url)


def free_folder(out: Path) -> Path:
    """`out`, refused if something is there already: a bundle is never written over."""
    if Path(out).exists():
        raise BundleError(f"{out} already exists; give another --out, or delete it to export "
                          "again.")
    problem = unwritable(out, folder=True)
    if problem:
        raise BundleError(f"cannot write the bundle to {out}: {problem}; give an --out you can "
                          "write to.")
    return Path(out)


def place_caffemodel(stream: Stream, folder: Path) -> Path:
    """The stream's weights in `folder` (which holds its deploy net), in the paper's convention
    whoever reads them: a snapshot of a train net that scaled its RGB input is loaded into the
    deploy net, which folds the scale into conv1, and saved; any other is copied as it is."""
    target = folder / stream.caffemodel.name
    if stored_weights(stream.caffemodel)[2] == 1:
        shutil.copyfile(stream.caffemodel, target)
    else:
        trained_net(folder / DEPLOY, stream.caffemodel).save(str(target))
    return target


def write_bundle(bundle: Bundle, body: str, stream_bodies: dict[str, str]) -> Path:
    """Writes `bundle` to bundle.folder (refused if it exists): each stream's deploy.prototxt
    generated by the one net builder, its caffemodel placed (place_caffemodel; the sha1 of the
    weights it came from kept as trained_on's weights_sha1), readmes with `body` below their
    front matter."""
    out = free_folder(bundle.folder)
    partial = out.with_name(out.name + ".writing")
    if partial.exists():
        shutil.rmtree(partial)  # a killed export's leftovers: never read as a bundle
    partial.mkdir(parents=True)
    placed = {}
    for kind, stream in bundle.streams.items():
        (partial / kind).mkdir()
        (partial / kind / DEPLOY).write_text(str(cnn_m_2048(stream.net_config, "deploy")))
        weights = place_caffemodel(stream, partial / kind)
        mean = shutil.copyfile(stream.mean, partial / kind / MEAN) if stream.mean else None
        placed[kind] = replace(stream, caffemodel=weights, sha1=file_sha1(weights), mean=mean,
                               trained_on={**stream.trained_on, "weights_sha1": stream.sha1})
    bundle = replace(bundle, streams=placed)
    for kind in bundle.streams:
        (partial / kind / README).write_text(zoo_readme(stream_zoo_fields(bundle, kind),
                                                        stream_bodies[kind]))
    top = {"name": bundle.name, "license": bundle.license}
    for kind, stream in bundle.streams.items():
        top.update({f"{kind}_caffemodel": f"{kind}/{stream.caffemodel.name}",
                    f"{kind}_sha1": stream.sha1})
    (partial / README).write_text(zoo_readme(top, body))
    (partial / CLASSES).write_text("".join(f"{c}\n" for c in bundle.classes))
    if bundle.svm is not None:
        (partial / SVM_FILE).write_text(json.dumps(bundle.svm, indent=1, sort_keys=True) + "\n")
    (partial / MANIFEST).write_text(json.dumps(manifest(bundle), indent=2, sort_keys=True) + "\n")
    partial.rename(out)
    return out


def required(folder: Path, name: str) -> Path:
    path = Path(folder) / name
    if not path.is_file():
        raise BundleError(f"{path} is missing: the bundle is incomplete; copy or download the "
                          "whole folder again.")
    return path


def read_json(path: Path):
    """A JSON file of the bundle; one that does not parse (a truncated copy) is refused."""
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise BundleError(f"{path} is not whole JSON ({error}); the bundle is damaged: copy or "
                          "download it again.") from None


def read_stream(folder: Path, kind: str, raw: dict) -> Stream:
    """One stream, its caffemodel's sha1 checked against its readme and the manifest."""
    required(folder, raw["deploy"])
    caffemodel = required(folder, raw["caffemodel"])
    readme = required(folder, f"{kind}/{README}")
    stated = front_matter(readme).get("sha1", "")
    actual = file_sha1(caffemodel)
    if actual != stated or actual != raw["sha1"]:
        raise BundleError(f"{caffemodel} has sha1 {actual}, but {readme} gives {stated}: the "
                          "file is damaged or not this bundle's; download it again.")
    mean = None
    if raw.get("mean"):
        mean = required(folder, raw["mean"])
        if (mean_sha1 := file_sha1(mean)) != raw["mean_sha1"]:
            raise BundleError(f"{mean} has sha1 {mean_sha1}, but {folder / MANIFEST} gives "
                              f"{raw['mean_sha1']}: the file is damaged or not this bundle's; "
                              "download it again.")
    return Stream(raw["net"], net_config_from(raw["net_config"]), caffemodel, actual,
                  raw["frames"], raw["flow"], raw["trained_on"], mean, raw.get("mean_sha1"))


def read_bundle(folder: Path) -> Bundle:
    """The bundle in `folder`, every file checked before anything runs."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"{folder} is not a folder; give a bundle that tools/export_model.py "
                          "wrote.")
    if not (folder / MANIFEST).is_file():
        raise BundleError(f"{folder} has no {MANIFEST}: it is not a bundle that "
                          "tools/export_model.py wrote (or it is incomplete).")
    raw = read_json(folder / MANIFEST)
    form = raw.get("format") if isinstance(raw, dict) else None
    if form != FORMAT:
        raise BundleError(f"{folder / MANIFEST} is of format {form!r}, this version "
                          f"reads {FORMAT!r}; export the model again with this version.")
    try:
        return read_manifest(folder, raw)
    except (KeyError, TypeError, AttributeError) as error:
        raise BundleError(f"{folder / MANIFEST} lacks or garbles {error}; the bundle is damaged: "
                          "copy or download it again.") from None


def read_manifest(folder: Path, raw: dict) -> Bundle:
    """The bundle bundle.json describes, each file it names checked."""
    classes = required(folder, raw["classes"]).read_text().splitlines()
    if len(classes) != raw["num_classes"]:
        raise BundleError(f"{folder / raw['classes']} lists {len(classes)} classes, the bundle "
                          f"has {raw['num_classes']}; the bundle is damaged: export it again.")
    streams = {kind: read_stream(folder, kind, s)
               for kind, s in raw["streams"].items()}
    svm = None
    if raw["fusion"]["method"] == "svm":
        path = required(folder, raw["fusion"]["svm"])
        svm = read_json(path)
        problem = svm_weights_problem(svm, len(classes))
        if problem:
            raise BundleError(f"{path} cannot fuse this bundle's streams: {problem}; the bundle "
                              "is damaged: copy or download it again.")
    return Bundle(folder, raw["name"], raw["dataset"], int(raw["split"]), classes, streams,
                  raw["fusion"]["method"], svm, raw["accuracy"], raw["license"],
                  raw["caffemodel_url"])
