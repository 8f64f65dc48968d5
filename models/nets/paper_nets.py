"""Every net the paper's Tables 1-4 train, as NetConfigs with the names of their files.

tools/make_prototxts.py writes each one's train/val net and solver, and the deploy nets they
share, under prototxt/{group}/ and solvers/.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from models.nets.cnn_m_2048 import Head, NetConfig

# Sect. 6: the datasets' class counts.
UCF101 = Head("ucf101", 101)
HMDB51 = Head("hmdb51", 51)
# Table 2, row 3: "adding 78 classes from UCF-101, which are manually selected so that there is
# no intersection between these classes and the native HMDB-51 classes".
BORROWED_UCF101_CLASSES = 78

# Sect. 5: dropout 0.9 for nets trained from scratch (Table 1b); the spatial nets of
# Table 1a try both ratios, and the chosen spatial net is pre-trained + last layer, dropout 0.5.
SCRATCH_DROPOUT = 0.9
DROPOUTS = (0.5, 0.9)
CHOSEN_SPATIAL = dict(setting="lastlayer", dropout=0.5)
# Sect. 6, Table 4: the temporal nets of Tables 2-4 use "uni-directional optical flow stacking
# with mean subtraction" and L = 10 (Sect. 3.1's default).
TEMPORAL = dict(stream="temporal", new_length=10, stacking="flow", mean_subtraction=True,
                dropout=SCRATCH_DROPOUT)


@dataclass(frozen=True)
class PaperNet:
    group: str  # prototxt/ subfolder: a dataset, or "multitask"
    config: NetConfig
    used_in: str  # where the paper reports it

    @property
    def name(self) -> str:
        return net_name(self.group, self.config)

    @property
    def deploy_name(self) -> str:
        return deploy_name(self.group, self.config)


def input_part(config: NetConfig) -> str:
    if config.stream == "spatial":
        return "spatial" if config.new_length == 1 else f"rgbstack-L{config.new_length}"
    mean = "meansub" if config.mean_subtraction else "nomeansub"
    return f"temporal_{config.stacking}-L{config.new_length}-{mean}"


def borrowed_part(config: NetConfig) -> str:
    return "".join(f"_plus-{name}-{count}" for name, count in sorted(config.borrowed_classes.items()))


def net_name(group: str, config: NetConfig) -> str:
    """e.g. ucf101_temporal_flow-L10-meansub_scratch_drop0.9"""
    return (f"{group}_{input_part(config)}{borrowed_part(config)}"
            f"_{config.setting}_drop{config.dropout:g}")


def deploy_name(group: str, config: NetConfig) -> str:
    """A deploy net depends only on the input's channels and the heads (every deploy net takes
    the paper's input: cnn_m_2048.add_trunk): e.g. ucf101_temporal-L10, ucf101_spatial."""
    stream = input_part(config) if config.stream == "spatial" else f"temporal-L{config.new_length}"
    return f"{group}_{stream}{borrowed_part(config)}"


def single(head: Head, **fields) -> NetConfig:
    return NetConfig(heads=(head,), **fields)


def paper_nets() -> list[PaperNet]:
    nets = []
    # Table 1a: the spatial net on UCF-101, three settings x two dropout ratios.
    for setting in ("scratch", "finetune", "lastlayer"):
        for dropout in DROPOUTS:
            config = single(UCF101, stream="spatial", setting=setting, dropout=dropout)
            tables = "Table 1a, 3, 4" if dict(setting=setting, dropout=dropout) == CHOSEN_SPATIAL \
                else "Table 1a"
            nets.append(PaperNet("ucf101", config, tables))
    # Sect. 6: "slow fusion" comparison, a ConvNet on a stack of 11 RGB frames, from scratch.
    nets.append(PaperNet("ucf101", single(UCF101, stream="spatial", new_length=11,
                                          dropout=SCRATCH_DROPOUT), "Sect. 6 (slow fusion)"))
    # Table 1b: the temporal net's input configurations on UCF-101.
    temporal = single(UCF101, **TEMPORAL)
    for length in (1, 5):
        nets.append(PaperNet("ucf101", replace(temporal, new_length=length), "Table 1b"))
    nets.append(PaperNet("ucf101", temporal, "Table 1b, 3"))
    nets.append(PaperNet("ucf101", replace(temporal, mean_subtraction=False), "Table 1b"))
    for mean_subtraction in (False, True):
        nets.append(PaperNet("ucf101", replace(temporal, stacking="trajectory",
                                               mean_subtraction=mean_subtraction), "Table 1b"))
    nets.append(PaperNet("ucf101", replace(temporal, stacking="bidirectional"), "Table 1b, 3"))
    # Table 4: the chosen spatial net on HMDB-51.
    nets.append(PaperNet("hmdb51", single(HMDB51, stream="spatial", **CHOSEN_SPATIAL), "Table 4"))
    # Table 2: the temporal net on HMDB-51 alone, fine-tuned from UCF-101, and with 78 UCF-101
    # classes added.
    hmdb_temporal = single(HMDB51, **TEMPORAL)
    nets.append(PaperNet("hmdb51", hmdb_temporal, "Table 2"))
    nets.append(PaperNet("hmdb51", single(HMDB51, **{**TEMPORAL, "setting": "finetune"}),
                         "Table 2"))
    borrowed = single(Head(HMDB51.name, HMDB51.num_classes + BORROWED_UCF101_CLASSES),
                      borrowed_classes={UCF101.name: BORROWED_UCF101_CLASSES}, **TEMPORAL)
    nets.append(PaperNet("hmdb51", borrowed, "Table 2"))
    # Sect. 4, Tables 2-4: the multi-task temporal net, one head per dataset on fc7.
    multitask = NetConfig(heads=(HMDB51, UCF101), **TEMPORAL)
    nets.append(PaperNet("multitask", multitask, "Table 2, 3, 4"))
    return nets


def fused_nets(dataset: str) -> tuple[str, str]:
    """Table 4's two-stream model on `dataset`: the chosen spatial net (pre-trained + last layer,
    dropout 0.5) and the multi-task temporal net (Table 3's best, Sect. 6)."""
    head = {UCF101.name: UCF101, HMDB51.name: HMDB51}[dataset]
    spatial = net_name(dataset, single(head, stream="spatial", **CHOSEN_SPATIAL))
    return spatial, net_name("multitask", NetConfig(heads=(HMDB51, UCF101), **TEMPORAL))
