"""Every numeric flag of every tool is range-checked where it enters (tools/flags.py): the
walk takes each tool's own parser, feeds each flag values out of its range and expects argparse's
refusal (exit 2, the flag named); a count of 0 is never read as "not given". Library callers of
the training are held to the same ranges by RunConfig."""
import argparse
import importlib
from pathlib import Path
from unittest import mock

import pytest

from tools import flags

ROOT = Path(__file__).resolve().parents[2]
# Tools whose flags are not parsed by argparse (gpu_facts: a mode word) or that hold none, and
# the flags they share (flags.py, walked through its tools).
NOT_ARGPARSE = {"__init__", "benchlib", "flags", "gpu_facts"}
OUT_OF_RANGE = {flags.count: ["0", "-3"], flags.index: ["-1"], flags.positive: ["0", "-0.5"],
                flags.fraction: ["1", "-0.1"], flags.width: ["0", "1.5"],
                flags.share: ["0", "1.5"]}
# Plain ints that may be negative, each for its reason.
PLAIN = {("gpu.check_gpu", "--gpu"): "-1 is the CPU against itself",
         ("gpu.bench_gpu", "--gpu"): "-1 is the CPU (the rehearsal)"}
# Tools by module name, those in tools/'s purpose folders (bench/, gpu/) included.
TOOLS = sorted(".".join(p.relative_to(ROOT / "tools").with_suffix("").parts)
               for p in (ROOT / "tools").rglob("*.py") if p.stem not in NOT_ARGPARSE)


class Parsed(Exception):
    pass


def parser_of(tool: str) -> argparse.ArgumentParser:
    """The parser the tool's main() builds, caught as it parses."""
    module = importlib.import_module(f"tools.{tool}")
    caught = []

    def catch(self, args=None, namespace=None):
        caught.append(self)
        raise Parsed

    with mock.patch.object(argparse.ArgumentParser, "parse_args", catch):
        with pytest.raises(Parsed):
            module.main([])
    return caught[0]


def numeric_actions(parser):
    return [a for a in parser._actions if a.option_strings and
            (a.type in (int, float) or (getattr(a.type, "__module__", "") == flags.__name__ and
                                        a.type.__qualname__.startswith("_ranged.")))]


def test_the_walk_sees_every_tool_and_the_flags_that_matter():
    assert len(TOOLS) >= 20
    flags = {(t, a.option_strings[-1]) for t in TOOLS for a in numeric_actions(parser_of(t))}
    assert {("train_net", "--iters"), ("train_net", "--batch-size"), ("extract", "--jobs"),
            ("score_net", "--batch"), ("classify_video", "--top"), ("make_synthetic", "--frames"),
            ("train_net", "--dropout"), ("recipe_losses", "--width")} <= flags


@pytest.mark.parametrize("tool", TOOLS)
def test_every_numeric_flag_refuses_values_out_of_its_range(tool, capsys):
    for action in numeric_actions(parser_of(tool)):
        flag = action.option_strings[-1]
        if action.type in (int, float):
            assert action.choices or (tool, flag) in PLAIN, f"{tool} {flag} is not range-checked"
            continue
        assert action.type in OUT_OF_RANGE, f"{tool} {flag}: unknown type {action.type}"
        for value in OUT_OF_RANGE[action.type]:
            with pytest.raises(SystemExit) as exit_:
                parser_of(tool).parse_known_args([flag, value])
            assert exit_.value.code == 2
            err = capsys.readouterr().err
            assert f"argument {'/'.join(action.option_strings)}: " in err and "must be" in err


def test_a_range_refusal_says_what_the_range_is():
    with pytest.raises(argparse.ArgumentTypeError, match="^0 must be greater than 0$"):
        flags.count("0")
    with pytest.raises(argparse.ArgumentTypeError, match="^-1 must be 0 or more$"):
        flags.index("-1")
    with pytest.raises(argparse.ArgumentTypeError, match=r"^1.0 must be in \[0, 1\)$"):
        flags.fraction("1")
    with pytest.raises(argparse.ArgumentTypeError, match="^'nan' is not a finite number$"):
        flags.positive("nan")
    with pytest.raises(argparse.ArgumentTypeError, match="^'5x' is not an integer$"):
        flags.count("5x")
    assert (flags.count("3"), flags.index("0"), flags.fraction("0.9"), flags.width("1")) == \
        (3, 0, 0.9, 1.0)


def test_train_net_refuses_iters_0_before_any_work(capsys):
    from tools import train_net
    with pytest.raises(SystemExit) as exit_:
        train_net.main(["--stream", "temporal", "--iters", "0"])
    assert exit_.value.code == 2
    assert "argument --iters: 0 must be greater than 0" in capsys.readouterr().err


@pytest.mark.parametrize("name, value, sentence", [
    ("iters", 0, "iters must be greater than 0, not 0."),
    ("batch_size", -4, "batch_size must be greater than 0, not -4."),
    ("workers", -1, "workers must be 0 or more, not -1."),
    ("width", 0.0, "width must be in (0, 1], not 0.0."),
    ("base_lr", 0.0, "base_lr must be greater than 0, not 0.0.")])
def test_a_run_config_out_of_range_is_refused(name, value, sentence):
    from models.nets.paper_nets import paper_nets
    from models.train.run_config import RunConfig
    net = next(n for n in paper_nets() if n.name.startswith("ucf101_temporal_flow-L10"))
    with pytest.raises(ValueError) as error:
        RunConfig(net=net, split=1, stores={"ucf101": "s"}, splits={"ucf101": 1},
                  **{name: value})
    assert str(error.value) == sentence
