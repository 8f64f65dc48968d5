"""A training as asked for (models/train/request.py): the net its choice names, the run's
settings, and what is refused."""
from pathlib import Path

import pytest

from models.nets.choice import NetChoice, select_net
from models.train.request import TrainRequest, run_config, run_folder


def test_a_borrowed_class_list_for_a_net_without_borrowed_classes_is_refused(tmp_path):
    (tmp_path / "classes.txt").write_text("Archery\n")
    request = TrainRequest(stream="temporal", borrowed_classes=tmp_path / "classes.txt")
    with pytest.raises(ValueError) as caught:
        run_config(request)
    assert str(caught.value) == (
        "--borrowed-classes is for Table 2's net with UCF-101 classes added "
        "(hmdb51_temporal_flow-L10-meansub_plus-ucf101-78_scratch_drop0.9), not "
        "ucf101_temporal_flow-L10-meansub_scratch_drop0.9.")


def test_the_choice_s_defaults_are_the_paper_s_nets():
    assert select_net(NetChoice()).name == "ucf101_temporal_flow-L10-meansub_scratch_drop0.9"
    assert select_net(NetChoice(stream="spatial")).name == "ucf101_spatial_lastlayer_drop0.5"
    assert select_net(NetChoice(stream="multitask", dataset="hmdb51")).name == \
        "multitask_temporal_flow-L10-meansub_scratch_drop0.9"
    assert run_folder(NetChoice(stream="temporal", length=1, split=2, runs=Path("r"))) == \
        Path("r/ucf101/ucf101_temporal_flow-L1-meansub_scratch_drop0.9_split2")


@pytest.mark.parametrize("given, sentence", [
    (dict(split=4), "split 4 is not one of 1, 2, 3, all."),
    (dict(stream="optical"), "stream 'optical' is not one of spatial, temporal, multitask."),
    (dict(dropout=1.0), "dropout 1.0 must be in [0, 1)."),
    (dict(length=0), "length 0 must be greater than 0."),
    (dict(resume=True, fresh=True), "resume and fresh exclude each other: give one."),
])
def test_a_request_out_of_range_is_refused_where_it_is_made(given, sentence):
    with pytest.raises(ValueError) as caught:
        TrainRequest(**given)
    assert str(caught.value) == sentence
