"""A trained two-stream model exported as a Model Zoo bundle and used on videos: real synthetic
clips through the real extraction, tiny real Caffe nets, the scores compared with the ones
tools/score_net.py and tools/fuse_scores.py gave the same test videos."""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from data_prep.flow import flow_method
from models.bundle.bundle import front_matter
from models.evaluate.fusion import fused_scores, svm_decision
from models.evaluate.score_file import named_path, read_scores
from models.nets.weights import stored_weights

pytestmark = pytest.mark.slow  # end to end: `make test-fast` leaves it out

ROOT = Path(__file__).resolve().parents[3]
SPATIAL = "ucf101_spatial_scratch_drop0.5"
TEMPORAL = "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"
TINY = ["--iters", "2", "--width", "0.125", "--input-size", "48", "--batch-size", "4",
        "--workers", "0", "--test-interval", "100"]
VIDEOS = ("ShiverSideways/v_ShiverSideways_g01_c01.avi", "Spin/v_Spin_g05_c01.avi")


def tool(name, *args):
    return subprocess.run([sys.executable, f"tools/{name}.py", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)


def ok(result):
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def refused(result, tool_name):
    assert result.returncode == 2, result.stderr[-2000:]
    message = result.stderr.strip()
    assert message.startswith(f"{tool_name}: ") and "\n" not in message, message
    assert result.stdout == ""
    return message


@pytest.fixture(scope="module")
def trained(synthetic_store, tmp_path_factory, mean_writer):
    """Both streams trained on the synthetic store, scored on their test and training videos,
    exported averaged and with the SVM."""
    work = tmp_path_factory.mktemp("bundle")
    runs, scores = work / "runs", work / "scores"
    # The spatial net learns with a mean image in place of the mean pixel, as the Zoo's does.
    mean = work / "VGG_mean.binaryproto"
    mean_writer(mean, np.random.default_rng(5).uniform(60, 160, (3, 56, 56)))
    folders = {}
    for kind, net in (("spatial", SPATIAL), ("temporal", TEMPORAL)):
        ok(tool("train_net", "--net", net, "--store", f"ucf101={synthetic_store}", "--method",
                "farneback", "--runs", runs, *TINY, *(["--mean", mean] if kind == "spatial"
                                                       else [])))
        folders[kind] = runs / "ucf101" / f"{net}_split1"
        for subset in ("test", "train"):
            ok(tool("score_net", "--run", folders[kind], "--subset", subset, "--out", scores,
                    "--quiet"))
    bundles = {}
    for fusion in ("average", "svm"):
        bundles[fusion] = work / "bundles" / fusion
        ok(tool("export_model", "--spatial", folders["spatial"], "--temporal",
                folders["temporal"], "--fusion", fusion, "--scores", scores, "--out",
                bundles[fusion], "--license", "CC-BY-4.0"))
    clips = synthetic_store.parents[1] / "ucf101" / "UCF-101"
    return dict(work=work, runs=folders, scores=scores, bundles=bundles, clips=clips, mean=mean,
                store=synthetic_store)


def score_rows(trained, subset="test"):
    files = {k: read_scores(named_path(trained["scores"], "ucf101", net, 1, subset))
             for k, net in (("spatial", SPATIAL), ("temporal", TEMPORAL))}
    return files


def classified(trained, bundle, *extra):
    result = ok(tool("classify_video", *[trained["clips"] / v for v in VIDEOS], "--model",
                     bundle, "--json", "--quiet", "--top", "10", *extra))
    return json.loads(result.stdout)


def test_a_bundles_video_scores_are_the_ones_score_net_and_fuse_scores_gave(trained):
    files = score_rows(trained)
    out = classified(trained, trained["bundles"]["average"])
    assert out["fusion"] == "average" and len(out["classes"]) == 10
    for video, result in zip(VIDEOS, out["videos"]):
        rows = {k: f.scores[f.video_ids.index(video)] for k, f in files.items()}
        for kind in ("spatial", "temporal"):
            np.testing.assert_allclose(result["scores"][kind], rows[kind], atol=1e-6)
        np.testing.assert_allclose(result["scores"]["fused"],
                                   (rows["spatial"] + rows["temporal"]) / 2, atol=1e-6)
        assert result["frames"] == 12 and len(result["top"]) == 10
        assert [t["fused"] for t in result["top"]] == sorted(
            (t["fused"] for t in result["top"]), reverse=True)


def test_the_svm_bundle_predicts_as_fuse_scores_svm_did(trained):
    test, train = score_rows(trained), score_rows(trained, "train")
    fused = fused_scores(test["spatial"], test["temporal"], train["spatial"], train["temporal"])
    weights = json.loads((trained["bundles"]["svm"] / "fusion_svm.json").read_text())
    assert weights["C"] == fused.svm_C and np.shape(weights["coef"])[1] == 20
    out = classified(trained, trained["bundles"]["svm"])
    for video, result in zip(VIDEOS, out["videos"]):
        i = test["spatial"].video_ids.index(video)
        expected = svm_decision(weights, test["spatial"].scores[i], test["temporal"].scores[i],
                                10)[0]
        np.testing.assert_allclose(result["scores"]["fused"], expected, atol=1e-5)
        assert result["top"][0]["label"] == int(fused.scores["svm"][i].argmax())


def test_each_stream_folder_is_a_model_zoo_entry_whose_sha1_is_its_caffemodels(trained):
    bundle = trained["bundles"]["svm"]
    manifest = json.loads((bundle / "bundle.json").read_text())
    for kind in ("spatial", "temporal"):
        fields = front_matter(bundle / kind / "readme.md")
        assert sorted(fields) == ["caffemodel", "caffemodel_url", "license", "name", "sha1"]
        model = bundle / kind / fields["caffemodel"]
        assert fields["sha1"] == hashlib.sha1(model.read_bytes()).hexdigest()
        assert fields["license"] == "CC-BY-4.0"
        assert manifest["streams"][kind]["sha1"] == fields["sha1"]
        # The weights it came from: the run's snapshot, named by its own sha1.
        trained_on = manifest["streams"][kind]["trained_on"]
        assert trained_on["weights_sha1"] == hashlib.sha1(
            Path(trained_on["weights"]).read_bytes()).hexdigest()
        # In the paper's convention: the spatial run's snapshot scaled its input by 1/64,
        # the bundle's caffemodel has it folded into conv1 (the scores match: test above).
        saved_scale = stored_weights(trained_on["weights"])[2]
        assert (kind, saved_scale, stored_weights(model)[2]) == (
            kind, 1 / 64 if kind == "spatial" else 1.0, 1.0)
        assert (fields["sha1"] != trained_on["weights_sha1"]) == (kind == "spatial")
    flow = manifest["streams"]["temporal"]["flow"]
    assert (flow["method"], flow["short_side"], flow["bound"]) == ("farneback", 64, None)
    config = manifest["streams"]["temporal"]["net_config"]
    assert (config["new_length"], config["stacking"], config["mean_subtraction"]) == \
        (10, "flow", True)
    assert (bundle / "classes.txt").read_text().splitlines()[:2] == ["ShiverSideways",
                                                                    "ShuffleSideways"]
    top = front_matter(bundle / "readme.md")
    assert top["temporal_sha1"] == manifest["streams"]["temporal"]["sha1"]
    measured = manifest["accuracy"]
    files = score_rows(trained)
    assert measured["temporal"]["accuracy"] == pytest.approx(
        float((files["temporal"].scores.argmax(1) == files["temporal"].labels).mean()))
    assert measured["fused"]["method"] == "svm" and measured["fused"]["videos"] == 20


def test_the_mean_image_a_spatial_net_learnt_with_is_the_one_it_is_tested_and_shipped_with(
        trained, tmp_path, mean_writer):
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format
    from data_prep.store import FrameReader, read_index
    from models.evaluate.protocol import video_inputs, video_score
    from models.input.mean_image import read_mean
    from models.nets.cnn_m_2048 import cnn_m_2048
    from models.nets.weights import trained_net
    from models.train.run_record import latest_snapshot, read_record
    run, mean = trained["runs"]["spatial"], trained["mean"]
    sha1 = hashlib.sha1(mean.read_bytes()).hexdigest()
    record = read_record(run)
    assert (record.mean, record.mean_sha1) == (mean, sha1)
    trainval = text_format.Parse((run / "trainval.prototxt").read_text(),
                                 caffe_pb2.NetParameter())
    assert json.loads(trainval.layer[0].python_param.param_str)["mean_file"] == str(mean)
    # score_net's scores are the deploy net's on crops minus the mean image, not the pixel
    deploy = tmp_path / "deploy.prototxt"
    deploy.write_text(str(cnn_m_2048(record.net_config, "deploy")))
    net = trained_net(deploy, latest_snapshot(run).with_suffix(".caffemodel"))
    index, reader = read_index(trained["store"]), FrameReader(trained["store"])
    scored = score_rows(trained)["spatial"]
    video = scored.video_ids[0]
    count = int(index.counts[index.ids.index(video)])
    by_image, by_pixel = (video_score(net, video_inputs(reader, video, count, record.net_config,
                                                        48, m), "prob", 50)
                          for m in (read_mean(mean, 48), None))
    np.testing.assert_allclose(scored.scores[0], by_image, atol=1e-6)
    assert np.abs(by_pixel - by_image).max() > 1e-4
    # the bundle ships the file, named with its sha1 (classify's scores: the test above)
    bundle = trained["bundles"]["average"]
    stream = json.loads((bundle / "bundle.json").read_text())["streams"]["spatial"]
    assert (stream["mean"], stream["mean_sha1"]) == ("spatial/mean.binaryproto", sha1)
    assert (bundle / "spatial" / "mean.binaryproto").read_bytes() == mean.read_bytes()
    assert "minus the centre 48x48 of the mean image `spatial/mean.binaryproto`" in \
        (bundle / "readme.md").read_text()
    copy = tmp_path / "other_mean"
    shutil.copytree(bundle, copy)
    mean_writer(copy / "spatial" / "mean.binaryproto", np.full((3, 56, 56), 100.0))
    assert "mean.binaryproto has sha1" in refused(
        tool("classify_video", trained["clips"] / VIDEOS[0], "--model", copy), "classify_video")


def test_a_mean_image_is_refused_for_flow_for_another_run_and_once_changed(trained, tmp_path,
                                                                            mean_writer):
    mean, run = trained["mean"], trained["runs"]["spatial"]
    runs = run.parents[1]
    assert "--mean is a mean image for RGB input" in refused(tool(
        "train_net", "--net", TEMPORAL, "--store", f"ucf101={trained['store']}", "--method",
        "farneback", "--runs", tmp_path, *TINY, "--mean", mean), "train_net")
    other = tmp_path / "other.binaryproto"
    mean_writer(other, np.full((3, 56, 56), 100.0))
    message = refused(tool("train_net", "--net", SPATIAL, "--store",
                           f"ucf101={trained['store']}", "--method", "farneback", "--runs", runs,
                           *TINY, "--mean", other, "--resume"), "train_net")
    assert message.startswith(f"train_net: {run} was trained with mean_sha1 = ")
    original = mean.read_bytes()
    try:
        mean.write_bytes(other.read_bytes())
        message = refused(tool("score_net", "--run", run, "--out", tmp_path / "scores",
                               "--quiet"), "score_net")
        assert message == (f"score_net: {mean} is not the mean image the run {run} was trained "
                           f"with (sha1 {hashlib.sha1(other.read_bytes()).hexdigest()[:10]}, the "
                           f"net's {hashlib.sha1(original).hexdigest()[:10]}): put that file back.")
    finally:
        mean.write_bytes(original)


def test_a_bundle_loads_in_plain_pycaffe_from_its_own_folder_as_its_readme_says(trained,
                                                                                tmp_path):
    copy = tmp_path / "elsewhere"
    shutil.copytree(trained["bundles"]["average"], copy)
    readme = (copy / "readme.md").read_text().splitlines()
    start = readme.index("    import caffe")
    code = [line[4:] for line in readme[start:start + 3]]
    code += ["print(spatial.blobs['data'].data.shape, temporal.blobs['data'].data.shape,",
             "      temporal.blobs['prob'].data.shape)"]
    run = subprocess.run([sys.executable, "-c", "\n".join(code)], cwd=copy, capture_output=True,
                         text=True, env={"PYTHONPATH": "", "GLOG_minloglevel": "2",
                                         "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-1500:]
    assert run.stdout.split("\n")[0] == "(10, 3, 48, 48) (10, 20, 48, 48) (10, 10)"


def test_classify_straight_from_the_runs_and_draw_the_figure(trained, tmp_path):
    figure = tmp_path / "clip.png"
    result = ok(tool("classify_video", trained["clips"] / VIDEOS[0], "--spatial",
                     trained["runs"]["spatial"], "--temporal", trained["runs"]["temporal"],
                     "--figure", figure, "--quiet"))
    lines = result.stdout.splitlines()
    assert lines[0].endswith("v_ShiverSideways_g01_c01.avi: 12 frames; top 5 of 10 classes "
                             "(fusion: average)")
    assert lines[1].split() == ["fused", "spatial", "temporal", "class"] and len(lines) == 7
    image = cv2.imread(str(figure))
    assert image is not None and image.shape[1] > 2 * image.shape[0]


def test_a_caffemodel_that_is_not_its_readmes_is_refused(trained, tmp_path):
    copy = tmp_path / "damaged"
    shutil.copytree(trained["bundles"]["average"], copy)
    model = next((copy / "temporal").glob("*.caffemodel"))
    model.write_bytes(model.read_bytes() + b"\0")
    message = refused(tool("classify_video", trained["clips"] / VIDEOS[0], "--model", copy),
                      "classify_video")
    stated = front_matter(copy / "temporal" / "readme.md")["sha1"]
    actual = hashlib.sha1(model.read_bytes()).hexdigest()
    assert message == (f"classify_video: {model} has sha1 {actual}, but {copy}/temporal/readme.md "
                       f"gives {stated}: the file is damaged or not this bundle's; download it "
                       "again.")


def test_a_bundle_missing_a_file_is_refused(trained, tmp_path):
    copy = tmp_path / "incomplete"
    shutil.copytree(trained["bundles"]["svm"], copy)
    (copy / "fusion_svm.json").unlink()
    message = refused(tool("classify_video", trained["clips"] / VIDEOS[0], "--model", copy),
                      "classify_video")
    assert message == (f"classify_video: {copy}/fusion_svm.json is missing: the bundle is "
                       "incomplete; copy or download the whole folder again.")


def test_flow_this_version_would_compute_otherwise_is_refused(trained, tmp_path):
    # A bundle whose temporal net learnt from Farneback flow of other parameters: its scores
    # from this version's flow would be silently wrong.
    copy = tmp_path / "other-flow"
    shutil.copytree(trained["bundles"]["average"], copy)
    manifest = json.loads((copy / "bundle.json").read_text())
    manifest["streams"]["temporal"]["flow"]["parameters"]["winsize"] = 9
    (copy / "bundle.json").write_text(json.dumps(manifest))
    recorded = manifest["streams"]["temporal"]["flow"]["parameters"]
    ours = flow_method("farneback").parameters()
    message = refused(tool("classify_video", trained["clips"] / VIDEOS[0], "--model", copy),
                      "classify_video")
    assert message == (f"classify_video: the bundle's {TEMPORAL} learnt from input made with "
                       f"parameters = {recorded!r}, this version makes {ours!r}; "
                       "its scores would be wrong: use the version that exported it.")


def test_an_unreadable_or_too_short_video_is_refused_before_any_work(trained, tmp_path):
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video")
    message = refused(tool("classify_video", trained["clips"] / VIDEOS[0], broken, "--model",
                           trained["bundles"]["average"]), "classify_video")
    assert message == (f"classify_video: {broken}: OpenCV cannot open it (missing, unreadable, "
                       "or not a video); give a video OpenCV can decode.")
    short = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(short), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    for i in range(8):
        writer.write(np.full((120, 160, 3), 30 * i, np.uint8))
    writer.release()
    message = refused(tool("classify_video", short, "--model", trained["bundles"]["average"]),
                      "classify_video")
    assert message == (f"classify_video: {short} has 8 frames, too few for the temporal stream "
                       "(L = 10, flow stacking); give a longer clip.")


def test_export_refuses_an_existing_bundle_a_swapped_stream_and_an_svm_without_scores(
        trained, tmp_path):
    runs = trained["runs"]
    message = refused(tool("export_model", "--spatial", runs["spatial"], "--temporal",
                           runs["temporal"], "--scores", trained["scores"], "--out",
                           trained["bundles"]["svm"]), "export_model")
    assert message == (f"export_model: {trained['bundles']['svm']} already exists; give another "
                       "--out, or delete it to export again.")
    message = refused(tool("export_model", "--spatial", runs["temporal"], "--out",
                           tmp_path / "b"), "export_model")
    assert message == (f"export_model: {runs['temporal']} trained a temporal net ({TEMPORAL}), "
                       "not a spatial one; give it as --temporal.")
    message = refused(tool("export_model", "--spatial", runs["spatial"], "--temporal",
                           runs["temporal"], "--fusion", "svm", "--scores", tmp_path / "none",
                           "--out", tmp_path / "b"), "export_model")
    assert message == (f"export_model: --fusion svm needs both streams' score files of these "
                       f"weights in {tmp_path / 'none'}, and the spatial stream's train scores "
                       f"are not there: run `tools/score_net.py --run {runs['spatial']} --subset "
                       f"train --out {tmp_path / 'none'}`.")
    assert not (tmp_path / "b").exists() and not (tmp_path / "b.writing").exists()


def test_export_loads_the_weights_it_publishes_and_names_the_flag_that_gives_them(trained,
                                                                                 tmp_path):
    runs, out = trained["runs"], tmp_path / "b"
    spatial = next((runs["spatial"] / "snapshots").glob("*.caffemodel"))
    temporal = next((runs["temporal"] / "snapshots").glob("*.caffemodel"))
    cut = tmp_path / "cut.caffemodel"
    cut.write_bytes(spatial.read_bytes()[:-1000])  # a copy cut short
    message = refused(tool("export_model", "--spatial", runs["spatial"], "--spatial-weights", cut,
                           "--out", out), "export_model")
    assert message == (f"export_model: weights file {cut} is not a Caffe .caffemodel (Error "
                       "parsing message with type 'caffe.NetParameter': Wire format was "
                       "corrupt); download it again.")
    # The temporal net's weights given as the spatial net's: conv1 takes 2L = 20 channels.
    message = refused(tool("export_model", "--spatial", runs["spatial"], "--spatial-weights",
                           temporal, "--out", out), "export_model")
    assert message == (f"export_model: weights file {temporal}: layer conv1 has blobs of shape "
                       "[(12, 20, 7, 7), (12,)] there but [(12, 3, 7, 7), (12,)] in the net; the "
                       "file was trained for another input or class count (a temporal net's "
                       "conv1 has 2L channels, an RGB net's 3).")
    untrained = tmp_path / "untrained"
    shutil.copytree(runs["spatial"], untrained, ignore=shutil.ignore_patterns("snapshots"))
    message = refused(tool("export_model", "--spatial", untrained, "--out", out), "export_model")
    assert message == (f"export_model: {untrained} holds no snapshot yet (none complete in its "
                       "snapshots/): train it first (tools/train_net.py), or give the weights "
                       "with --spatial-weights.")
    assert not out.exists() and not out.with_name("b.writing").exists()


def test_a_damaged_manifest_or_svm_file_is_refused_before_any_flow(trained, tmp_path):
    copy = tmp_path / "damaged"
    shutil.copytree(trained["bundles"]["svm"], copy)
    clip = trained["clips"] / VIDEOS[0]
    for name in ("bundle.json", "fusion_svm.json"):
        whole = (copy / name).read_text()
        (copy / name).write_text(whole[:len(whole) // 2])  # a copy cut short
        message = refused(tool("classify_video", clip, "--model", copy), "classify_video")
        assert message.startswith(f"classify_video: {copy / name} is not whole JSON (")
        assert message.endswith("); the bundle is damaged: copy or download it again.")
        (copy / name).write_text(whole)
    weights = json.loads((copy / "fusion_svm.json").read_text())
    weights["coef"] = [row[:10] for row in weights["coef"]]  # one stream's features only
    (copy / "fusion_svm.json").write_text(json.dumps(weights))
    message = refused(tool("classify_video", clip, "--model", copy), "classify_video")
    assert message == (f"classify_video: {copy / 'fusion_svm.json'} cannot fuse this bundle's "
                       "streams: its coef is (10, 10), but 10 labels over both streams' 10 "
                       "classes need (10, 20); the bundle is damaged: copy or download it again.")


def argparse_refused(result, flag: str, sentence: str) -> None:
    assert result.returncode == 2 and result.stdout == "", result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(f"error: argument {flag}: {sentence}")


def test_outputs_that_cannot_be_written_are_refused_before_any_work(trained, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    message = refused(tool("export_model", "--spatial", trained["runs"]["spatial"], "--out",
                           blocker / "bundle"), "export_model")
    assert message == (f"export_model: cannot write the bundle to {blocker / 'bundle'}: {blocker} "
                       "is a file, not a folder; give an --out you can write to.")
    files = score_rows(trained)
    argparse_refused(tool("fuse_scores", "--spatial", files["spatial"].path, "--temporal",
                          files["temporal"].path, "--json", tmp_path), "--json",
                     f"{tmp_path} is a folder; give a path you can write to")
    argparse_refused(tool("classify_video", trained["clips"] / VIDEOS[0], "--model",
                          trained["bundles"]["average"], "--figure", blocker / "clip.png"),
                     "--figure", f"{blocker} is a file, not a folder; give a path you can write "
                     "to")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_one_frame_video_is_called_too_short_not_undecodable(trained, tmp_path):
    one = tmp_path / "one.avi"
    writer = cv2.VideoWriter(str(one), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    writer.write(np.full((120, 160, 3), 90, np.uint8))
    writer.release()
    message = refused(tool("classify_video", one, "--model", trained["bundles"]["average"]),
                      "classify_video")
    assert message == (f"classify_video: {one}: decoded 1 frame(s); optical flow needs at least "
                       "2; give a longer clip.")
