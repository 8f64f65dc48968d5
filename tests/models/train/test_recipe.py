"""The first losses of a run, read from the solver step by step (models/train/recipe.py)."""
import math

from models.nets.paper_nets import paper_nets
from models.train.loop import RunConfig
from models.train.recipe import first_losses

TEMPORAL = next(n for n in paper_nets()
                if n.name == "ucf101_temporal_flow-L5-meansub_scratch_drop0.9")


def test_each_step_s_loss_is_returned_and_kept_in_the_file(synthetic_store, tmp_path):
    config = RunConfig(net=TEMPORAL, split=1, stores={"ucf101": synthetic_store},
                       splits={"ucf101": 1}, runs=tmp_path / "runs", method="farneback",
                       width=0.125, input_size=48, batch_size=8, workers=0)
    path = tmp_path / "losses.txt"
    losses = first_losses(config, 3, path)
    assert len(losses) == 3 and all(math.isfinite(x) and x > 0 for x in losses)
    assert [float(x) for x in path.read_text().split()] == losses
    assert (config.folder / "solver.prototxt").is_file()
