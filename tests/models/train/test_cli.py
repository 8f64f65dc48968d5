"""tools/train_net.py's flags as models/train/cli.py reads them."""
import argparse

import pytest

from models.nets.cli import select_net
from models.train.cli import add_train_arguments, run_config


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    return parser.parse_args(argv)


def test_a_borrowed_class_list_for_a_net_without_borrowed_classes_is_refused(tmp_path):
    (tmp_path / "classes.txt").write_text("Archery\n")
    args = parse(["--stream", "temporal", "--borrowed-classes", str(tmp_path / "classes.txt")])
    with pytest.raises(ValueError) as caught:
        run_config(args, select_net(args))
    assert str(caught.value) == (
        "--borrowed-classes is for Table 2's net with UCF-101 classes added "
        "(hmdb51_temporal_flow-L10-meansub_plus-ucf101-78_scratch_drop0.9), not "
        "ucf101_temporal_flow-L10-meansub_scratch_drop0.9.")
