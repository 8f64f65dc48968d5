"""The choice of one of the paper's nets by its parts (stream, setting, dropout, input), as
training and scoring take it: `NetChoice`, and the net it names."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.nets.cnn_m_2048 import NetConfig
from models.nets.paper_nets import HMDB51, UCF101, PaperNet, paper_nets

HEADS = {"ucf101": (UCF101,), "hmdb51": (HMDB51,), "multitask": (HMDB51, UCF101)}
DATASETS = ("ucf101", "hmdb51")
STREAMS = ("spatial", "temporal", "multitask")
SETTINGS = ("scratch", "finetune", "lastlayer")
STACKINGS = ("flow", "trajectory", "bidirectional")
SPLITS = (1, 2, 3)


@dataclass(frozen=True)
class NetChoice:
    """A net by name, or by the parts that describe it (None: the paper's default for the
    stream); the dataset and split it trains on and the runs folder it trains into. `split`
    "all" (training only): every video of the dataset, no test set (Table 2's pre-training)."""

    net: str | None = None
    dataset: str = "ucf101"  # multi-task: the dataset whose split is used
    stream: str = "temporal"
    setting: str | None = None
    dropout: float | None = None
    stacking: str = "flow"
    length: int | None = None  # L, flows stacked
    no_mean_subtraction: bool = False
    split: int | str = 1
    runs: Path = Path("runs")

    def __post_init__(self):
        for field, value, known in (("dataset", self.dataset, DATASETS),
                                    ("stream", self.stream, STREAMS),
                                    ("stacking", self.stacking, STACKINGS),
                                    ("split", self.split, (*SPLITS, "all"))):
            if value not in known:
                raise ValueError(f"{field} {value!r} is not one of {', '.join(map(str, known))}.")
        if self.setting is not None and self.setting not in SETTINGS:
            raise ValueError(f"setting {self.setting!r} is not one of {', '.join(SETTINGS)}.")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ValueError(f"dropout {self.dropout} must be in [0, 1).")
        if self.length is not None and self.length < 1:
            raise ValueError(f"length {self.length} must be greater than 0.")


def select_net(choice: NetChoice) -> PaperNet:
    """The named net, or the one the stream/setting/input describe (the paper's defaults:
    spatial pre-trained + last layer with dropout 0.5, temporal from scratch with 0.9, L = 10)."""
    known = {net.name: net for net in paper_nets()}
    if choice.net:
        if choice.net not in known:
            raise ValueError(f"--net {choice.net} is not one of the paper's nets: "
                             f"{', '.join(sorted(known))}")
        return known[choice.net]
    stream = "spatial" if choice.stream == "spatial" else "temporal"
    setting = choice.setting or ("lastlayer" if stream == "spatial" else "scratch")
    dropout = choice.dropout if choice.dropout is not None else (0.5 if setting == "lastlayer"
                                                                 else 0.9)
    length = choice.length or (1 if stream == "spatial" else 10)
    group = "multitask" if choice.stream == "multitask" else choice.dataset
    config = NetConfig(stream=stream, heads=HEADS[group], setting=setting, dropout=dropout,
                       new_length=length, stacking=choice.stacking,
                       mean_subtraction=not choice.no_mean_subtraction)
    candidate = PaperNet(group, config, "not in the paper")
    return known.get(candidate.name, candidate)
