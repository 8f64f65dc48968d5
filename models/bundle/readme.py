"""The words of a bundle's readmes (below their front matter): what the model was trained on,
with which net and settings, how accurate it measured, and how to use it with nothing but its
folder."""
from __future__ import annotations

from models.bundle.bundle import DEPLOY, MEAN, SVM_FILE, Bundle, Stream
from models.input.volumes import IMAGENET_MEAN_BGR

STACKINGS = {"flow": "optical flow stacking", "trajectory": "trajectory stacking",
             "bidirectional": "bi-directional optical flow stacking"}


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def net_line(kind: str, s: Stream) -> str:
    c = s.net_config
    trained = f"{s.trained_on['iteration']} iterations" if s.trained_on["iteration"] else \
        "its weights"
    line = (f"- **{kind}**: `{s.net}` (CNN-M-2048 at width {c.width:g}, {c.input_size}-px "
            f"crops, {c.setting}, dropout {c.dropout:g}), {trained} of run "
            f"`{s.trained_on['run']}`")
    if s.flow:
        f = s.flow
        bound = f"bound {f['bound']:g} px" if f["bound"] is not None else \
            "each field's own min/max range"
        line += (f"; input: {STACKINGS[c.stacking]}, L = {c.new_length}, mean flow "
                 f"{'subtracted' if c.mean_subtraction else 'kept'}; flow `{f['method']}` "
                 f"({', '.join(f'{k} {v}' for k, v in sorted(f['parameters'].items()))}) on "
                 f"frames rescaled to a short side of {f['short_side']} px, stored as JPEG "
                 f"quality {f['jpeg_quality']} over {bound}")
    else:
        line += (f"; input: frames rescaled to a short side of {s.frames['short_side']} px, "
                 f"stored as JPEG quality {s.frames['jpeg_quality']}")
    return line + "."


def accuracy_lines(bundle: Bundle) -> list[str]:
    a = bundle.accuracy
    if not a:
        return ["Not measured: no score file of these weights was found when it was exported "
                "(`tools/score_net.py`, then export again)."]
    videos = max(v["videos"] for v in a.values())
    columns = [k for k in ("spatial", "temporal") if k in a] + (["fused"] if "fused" in a else [])
    heads = [f"fused ({a['fused']['method']})" if k == "fused" else k for k in columns]
    return [f"On {bundle.dataset} split {bundle.split}'s {videos} test videos, 25 frames x 10 "
            "crops a video (Sect. 5), as `tools/score_net.py` and `tools/fuse_scores.py` measured "
            "them:", "", "| " + " | ".join(heads) + " |", "|" + "---|" * len(columns),
            "| " + " | ".join(percent(a[k]["accuracy"]) for k in columns) + " |"]


def input_lines(bundle: Bundle) -> list[str]:
    lines = []
    for kind, s in bundle.streams.items():
        c, size = s.net_config, s.net_config.input_size
        if s.flow:
            what = (f"[N, {2 * c.new_length}, {size}, {size}]: d^x, d^y in pixels of each of the "
                    f"{c.new_length} fields in turn" + (", each minus its field's mean vector"
                                                        if c.mean_subtraction else ""))
        elif s.mean:
            what = (f"[N, {3 * c.new_length}, {size}, {size}]: BGR 0-255 minus the centre "
                    f"{size}x{size} of the mean image `{kind}/{MEAN}` (before a crop is "
                    "flipped)")
        else:
            what = (f"[N, {3 * c.new_length}, {size}, {size}]: BGR 0-255 minus the mean pixel "
                    f"{[round(float(x), 3) for x in IMAGENET_MEAN_BGR]}")
        # Table 2's borrowed classes follow the dataset's own in the head.
        borrowed = f" (its first {len(bundle.classes)} columns, renormalised)" \
            if c.borrowed_classes else ""
        lines.append(f"- `{kind}/{DEPLOY}`: blob `data` {what}; output `{s.output}`, the "
                     f"softmax over `classes.txt`{borrowed}.")
    return lines


def fusion_line(bundle: Bundle) -> str:
    if bundle.fusion == "average":
        return "- **fusion**: the two streams' softmax scores averaged (Sect. 2)."
    if bundle.fusion == "svm":
        return (f"- **fusion**: a linear SVM (Crammer & Singer, C = {bundle.svm['C']:g}) on the "
                f"stacked L2-normalised softmax scores (Sect. 2); its weights in `{SVM_FILE}`: "
                "class scores = features x coef^T + intercept.")
    return "- **fusion**: none (one stream)."


def readme_body(bundle: Bundle) -> str:
    stores = sorted({v for s in bundle.streams.values() for v in s.trained_on["stores"].values()})
    deploys = "\n".join(
        f'{kind} = caffe.Net("{kind}/{DEPLOY}", caffe.TEST, weights="{kind}/'
        f'{s.caffemodel.name}")' for kind, s in bundle.streams.items())
    return "\n".join([
        f"# {bundle.name}", "",
        "A two-stream ConvNet (Simonyan & Zisserman, NIPS 2014) trained with the two-stream "
        "Caffe project's pipeline, exported by `tools/export_model.py`.", "",
        "## What it is", "",
        f"- **trained on** {bundle.dataset} split {bundle.split} "
        f"({len(bundle.classes)} classes, `classes.txt`), stores "
        f"{', '.join(f'`{v}`' for v in stores)}.",
        *[net_line(kind, s) for kind, s in bundle.streams.items()], fusion_line(bundle),
        "", "## Accuracy", "", *accuracy_lines(bundle), "",
        "## Classify a video", "",
        f"    python tools/classify_video.py VIDEO --model {bundle.folder}", "",
        "decodes the video, computes its flow with exactly the settings above, runs both "
        "streams over 25 frames x 10 crops and fuses them as above.", "",
        "## Load it in plain pycaffe", "",
        "Each stream's folder is a Caffe Model Zoo entry (`readme.md` with name, caffemodel, "
        "caffemodel_url, license, sha1; `deploy.prototxt`; the `.caffemodel`). From this "
        "folder:", "", "    import caffe",
        *[f"    {line}" for line in deploys.splitlines()], "",
        *input_lines(bundle), ""])


def stream_body(bundle: Bundle, kind: str) -> str:
    return "\n".join([
        f"# {bundle.name}: {kind} stream", "",
        net_line(kind, bundle.streams[kind]), "",
        "The model, its accuracy, its fusion and its inputs: `../readme.md`.", ""])
