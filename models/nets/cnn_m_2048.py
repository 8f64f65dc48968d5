"""CNN-M-2048 (Chatfield et al. 2014), the ConvNet of both streams (paper Sect. 5, Fig. 1).

One builder, `cnn_m_2048(config, phase)`, makes every net the paper trains: spatial, temporal and
multi-task, train/val and deploy. The nets differ only in a `NetConfig`. Layer names follow the
Caffe Model Zoo's VGG_CNN_M_2048 so that its ImageNet weights load by name; classifiers are named
per dataset (`fc8_ucf101`) so that they start fresh.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

import caffe
from caffe import layers as L
from caffe import params as P

# ---- The architecture, as the paper gives it (Sect. 5, Fig. 1) ----------------------------------
# (name, filters, kernel, stride, pad): Fig. 1 and Chatfield et al.'s CNN-M.
CONV_LAYERS = (
    ("conv1", 96, 7, 2, 0),
    ("conv2", 256, 5, 2, 1),
    ("conv3", 512, 3, 1, 1),
    ("conv4", 512, 3, 1, 1),
    ("conv5", 512, 3, 1, 1),
)
POOLED_AFTER = {"conv1": "pool1", "conv2": "pool2", "conv5": "pool5"}
NORMALISED_AFTER = {"conv1": "norm1", "conv2": "norm2"}
# Fig. 1's "full6" and "full7".
FC_LAYERS = (("fc6", 4096), ("fc7", 2048))
# Sect. 5: "max-pooling is performed over 3x3 spatial windows with stride 2".
POOL = dict(pool=P.Pooling.MAX, kernel_size=3, stride=2)
# Sect. 5: LRN "uses the same settings as [15]" (Krizhevsky): n = 5, alpha = 1e-4, beta = 0.75,
# k = 2. Krizhevsky's alpha multiplies the plain sum of squares; Caffe's is divided by the
# window size first, so Caffe needs 5 * 1e-4 (as the Model Zoo's VGG_CNN_M_2048 has).
LRN = dict(local_size=5, alpha=5e-4, beta=0.75, k=2)
# Sect. 5: 224x224 crops.
INPUT_SIZE = 224
# Sect. 5 (Training): mini-batches of 256 samples.
BATCH_SIZE = 256
# Sect. 4: each head's loss "operates only on the videos coming from the respective dataset";
# a sample of the other dataset carries this label for that head.
IGNORE_LABEL = -1
# Crops a deploy net takes at once: the 10 inputs of one test frame (Sect. 5, Testing).
DEPLOY_BATCH = 10

# ---- Choices the paper leaves open, in one place (Sect. 5) ---------------------------------
# The paper does not say how it initialised. Three schemes, by name (NetConfig.init):
# - "gaussian": Caffe's reference AlexNet/CaffeNet, as Krizhevsky [15]: weights N(0, 0.01),
#   fc6/fc7 N(0, 0.005), biases 0.1 on conv2, conv4, conv5, fc6, fc7. The pre-trained nets keep
#   it (their conv1-fc7 load, so it never acts and their prototxts read as the reference nets').
# - "he": He et al. (2015) fillers, biases 0; a spatial net from scratch takes its 0-255 RGB
#   input times rgb_scale (1/64), a Power layer, since He's derivation assumes unit-scale inputs.
# - "lsuv": "he", then each layer rescaled on the run's first batch (models/train/lsuv.py), the
#   default from scratch: the only one measured to start every net of Tables 1-2 at ln C and
#   learn at lr 1e-2, at the paper's size and the demo's (docs/recipe.md).
REFERENCE_BIASED = ("conv2", "conv4", "conv5", "fc6", "fc7")
INITIALISATIONS = {
    "gaussian": dict(conv=dict(type="gaussian", std=0.01), fc=dict(type="gaussian", std=0.005),
                     bias=dict(type="constant", value=0.1), biased=REFERENCE_BIASED),
    "he": dict(conv=dict(type="msra"), fc=dict(type="msra"),
               bias=dict(type="constant", value=0), biased=(), rgb_scale=1 / 64),
    # He's fillers, then rescaled on the run's first batch (models/train/lsuv.py).
    "lsuv": dict(conv=dict(type="msra"), fc=dict(type="msra"),
                 bias=dict(type="constant", value=0), biased=(), rgb_scale=1 / 64,
                 data_dependent=True),
}


def default_init(stream: str, setting: str) -> str:
    """The initialisation a net takes when none is named: "lsuv" for every net trained from
    scratch, "gaussian" for the pre-trained ones (see above)."""
    return "lsuv" if setting == "scratch" else "gaussian"


# The classifier starts small, as in Krizhevsky's and the Model Zoo's nets.
CLASSIFIER_FILLER = dict(type="gaussian", std=0.01)
BIAS_FILLER = dict(type="constant", value=0)
# Caffe's reference nets: weights learn at the base rate with weight decay, biases at twice
# the rate without it. Frozen layers (pre-trained + last layer only) neither learn nor decay.
LEARNED = [dict(lr_mult=1, decay_mult=1), dict(lr_mult=2, decay_mult=0)]
FROZEN = [dict(lr_mult=0, decay_mult=0), dict(lr_mult=0, decay_mult=0)]

# The Power layer that scales a train net's RGB input (rgb_scale); Caffe saves it, scale and
# all, in every caffemodel of the net, which is how a loader tells the weights' input scale.
RGB_SCALE_LAYER = "data_scaled"
# The Python data layers that feed the train/val nets (models/input/data_layers.py).
DATA_LAYER_MODULE = "models.input.data_layers"
DATA_LAYERS = {"spatial": "SpatialDataLayer", "temporal": "TemporalDataLayer"}

STREAMS = ("spatial", "temporal")
SETTINGS = ("scratch", "finetune", "lastlayer")
STACKINGS = ("flow", "trajectory", "bidirectional")
PHASES = ("trainval", "deploy")
SOURCES = ("python", "dummy", "input")


@dataclass(frozen=True)
class Head:
    """One classifier on fc7: `fc8_<name>` with a softmax over `num_classes`."""

    name: str
    num_classes: int


@dataclass(frozen=True)
class NetConfig:
    """Everything that tells one of the paper's nets from another.

    stream: "spatial" (RGB frames) or "temporal" (optical flow volumes).
    heads: one classifier, or two for the multi-task net of Sect. 4.
    setting: "scratch", "finetune" (pre-trained, all layers learn) or "lastlayer" (pre-trained,
        every layer below the classifier frozen).
    new_length: L. Temporal: flows stacked, 2L input channels. Spatial: RGB frames stacked, 3L
        channels (L = 1 is the paper's spatial net; L = 11 its "slow fusion" comparison).
    stacking, mean_subtraction: the temporal input configuration of Sect. 3.1; they change only
        the data layer's parameters, never the net.
    borrowed_classes: Table 2's extra classes from another dataset, e.g. {"ucf101": 78}; they
        are part of the single head's classes.
    input_size, width: 224 and 1.0 are the paper's; smaller values give the same net, scaled
        down, for tests and the demo.
    init: the weight initialisation, a key of INITIALISATIONS; None (the default) is the
        stream's and setting's own, default_init's.
    batch_size: the total batch; the training tool divides it among GPUs.
    """

    stream: str
    heads: tuple[Head, ...]
    setting: str = "scratch"
    dropout: float = 0.9
    new_length: int = 1
    stacking: str = "flow"
    mean_subtraction: bool = True
    borrowed_classes: dict = field(default_factory=dict)
    input_size: int = INPUT_SIZE
    width: float = 1.0
    batch_size: int = BATCH_SIZE
    init: str | None = None

    def __post_init__(self):
        if self.init is None:
            object.__setattr__(self, "init", default_init(self.stream, self.setting))
        checks = [
            (self.stream in STREAMS, f"stream must be one of {STREAMS}"),
            (self.setting in SETTINGS, f"setting must be one of {SETTINGS}"),
            (self.stacking in STACKINGS, f"stacking must be one of {STACKINGS}"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (self.init in INITIALISATIONS, f"init must be one of {tuple(INITIALISATIONS)}"),
            (len(self.heads) in (1, 2), "a net has one head, or two for multi-task"),
            (self.new_length >= 1, "new_length must be at least 1"),
            # Below 48 pixels pool5 has no output left (Caffe would abort building the net).
            (self.input_size >= 48, "input_size must be at least 48"),
            (not (self.stacking == "bidirectional" and self.new_length % 2),
             "bi-directional stacking needs an even L (L/2 flows each way)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"NetConfig: {message}")

    @property
    def scales_rgb(self) -> bool:
        """Whether the net multiplies its RGB input by its initialisation's rgb_scale (a
        spatial net from scratch under "he" or "lsuv"), in its train/val net only."""
        return (self.stream == "spatial" and self.setting == "scratch"
                and bool(INITIALISATIONS[self.init].get("rgb_scale")))

    @property
    def channels(self) -> int:
        """Sect. 3.1: a flow volume has 2L channels (d^x, d^y of L flows); RGB has 3."""
        return (2 if self.stream == "temporal" else 3) * self.new_length

    @property
    def norm2(self) -> bool:
        """Sect. 5: the temporal net drops norm2 "to reduce memory consumption"."""
        return self.stream == "spatial"

    @property
    def multitask(self) -> bool:
        return len(self.heads) > 1

    def data_params(self) -> dict:
        """The data layer's parameters (param_str); sorted-key JSON when written."""
        params = dict(batch_size=self.batch_size, crop_size=self.input_size,
                      datasets=[h.name for h in self.heads], flip=True, new_length=self.new_length)
        if self.stream == "spatial":
            params["colour_jitter"] = True
        else:
            params.update(stacking=self.stacking, mean_subtraction=self.mean_subtraction)
        if self.multitask:
            params["ignore_label"] = IGNORE_LABEL
        if self.borrowed_classes:
            params["borrowed_classes"] = dict(self.borrowed_classes)
        return params

    def describe(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def scaled(n: int, width: float) -> int:
    return max(1, int(round(n * width)))


def label_tops(config: NetConfig) -> list[str]:
    return ["label"] if not config.multitask else [f"label_{h.name}" for h in config.heads]


def add_inputs(n: caffe.NetSpec, config: NetConfig, phase: str, source: str) -> None:
    """The data blob and, for train/val nets, one label blob per head."""
    size = config.input_size
    if phase == "deploy":
        n.data = L.Input(shape=dict(dim=[DEPLOY_BATCH, config.channels, size, size]))
        return
    labels = label_tops(config)
    batch = config.batch_size
    if source == "python":
        python_param = dict(module=DATA_LAYER_MODULE, layer=DATA_LAYERS[config.stream],
                            param_str=json.dumps(config.data_params(), sort_keys=True))
        tops = L.Python(python_param=python_param, ntop=1 + len(labels))
    elif source == "dummy":  # a stand-in with the same tops, for timing and tests
        shapes = [dict(dim=[batch, config.channels, size, size])] + [dict(dim=[batch])] * len(labels)
        fillers = [dict(type="gaussian", std=1)] + [dict(type="constant", value=0)] * len(labels)
        tops = L.DummyData(shape=shapes, data_filler=fillers, ntop=1 + len(labels))
    else:  # "input": blobs the caller fills
        tops = [L.Input(shape=dict(dim=[batch, config.channels, size, size]))]
        tops += [L.Input(shape=dict(dim=[batch])) for _ in labels]
    n.data = tops[0]
    for name, top in zip(labels, tops[1:]):
        setattr(n, name, top)


def add_trunk(n: caffe.NetSpec, config: NetConfig, deploy: bool):
    """conv1 ... fc7 with their ReLUs, LRNs, poolings and dropouts; returns fc7's top.

    A deploy net has no learning parameters, fillers or dropouts (Caffe's dropout is the
    identity at test time), and takes the paper's input (0-255 minus the mean) whatever the
    train net's rgb_scale (a run's weights are converted as they load: models/nets/weights.py),
    so one deploy net serves every setting and dropout ratio.
    """
    init = INITIALISATIONS[config.init]

    def learning(layer: str):
        if deploy:
            return {}
        return dict(param=FROZEN if config.setting == "lastlayer" else LEARNED,
                    weight_filler=init["fc" if layer.startswith("fc") else "conv"],
                    bias_filler=init["bias"] if layer in init["biased"] else BIAS_FILLER)
    top = n.data
    if config.scales_rgb and not deploy:
        top = n[RGB_SCALE_LAYER] = L.Power(n.data, power_param=dict(scale=init["rgb_scale"]))
    for name, filters, kernel, stride, pad in CONV_LAYERS:
        n[name] = L.Convolution(top, num_output=scaled(filters, config.width), kernel_size=kernel,
                                stride=stride, pad=pad, **learning(name))
        n[f"relu{name[-1]}"] = L.ReLU(n[name], in_place=True)
        top = n[name]
        if name in NORMALISED_AFTER and (name != "conv2" or config.norm2):
            top = n[NORMALISED_AFTER[name]] = L.LRN(top, **LRN)
        if name in POOLED_AFTER:
            top = n[POOLED_AFTER[name]] = L.Pooling(top, **POOL)
    for name, outputs in FC_LAYERS:
        n[name] = L.InnerProduct(top, num_output=scaled(outputs, config.width),
                                 **learning(name))
        n[f"relu{name[-1]}"] = L.ReLU(n[name], in_place=True)
        if not deploy:
            n[f"drop{name[-1]}"] = L.Dropout(n[name], dropout_ratio=config.dropout, in_place=True)
        top = n[name]
    return top


# The heads' blob names, made here and read by name elsewhere through these.
CLASSIFIER = "fc8_"  # every head's classifier: fc8_<dataset>


def classifier_blob(dataset: str) -> str:
    """A head's classifier, `fc8_<dataset>`: named per dataset so that it starts fresh."""
    return f"{CLASSIFIER}{dataset}"


def output_blob(config: NetConfig, dataset: str) -> str:
    """The deploy net's softmax over `dataset`'s classes (a multi-task net has one a head)."""
    return "prob" if not config.multitask else f"prob_{dataset}"


def net_loss(net) -> float:
    """A train/val net's loss after a forward pass: the sum of its heads' `loss*` outputs."""
    return float(sum(net.blobs[name].data.sum() for name in net.outputs
                     if name.startswith("loss")))


def add_heads(n: caffe.NetSpec, config: NetConfig, phase: str, fc7) -> None:
    """fc8_<dataset> per head; losses and accuracies (train/val) or softmax (deploy)."""
    test_only = dict(phase=caffe.TEST)
    for head, label in zip(config.heads, label_tops(config)):
        suffix = "" if not config.multitask else f"_{head.name}"
        if phase == "deploy":
            fc8 = n[classifier_blob(head.name)] = L.InnerProduct(fc7, num_output=head.num_classes)
            n[output_blob(config, head.name)] = L.Softmax(fc8)
            continue
        fc8 = n[classifier_blob(head.name)] = L.InnerProduct(
            fc7, num_output=head.num_classes, param=LEARNED,
            weight_filler=CLASSIFIER_FILLER, bias_filler=BIAS_FILLER)
        if config.multitask:
            # VALID: each head averages over its own dataset's samples only; the net's loss
            # is the sum of the heads' losses (Sect. 4).
            loss_param = dict(ignore_label=IGNORE_LABEL, normalization=P.Loss.VALID)
            n[f"loss{suffix}"] = L.SoftmaxWithLoss(fc8, n[label], loss_param=loss_param)
            n[f"accuracy{suffix}"] = L.Accuracy(fc8, n[label], include=test_only,
                                                accuracy_param=dict(ignore_label=IGNORE_LABEL))
        else:
            n[f"loss{suffix}"] = L.SoftmaxWithLoss(fc8, n[label])
            n[f"accuracy{suffix}"] = L.Accuracy(fc8, n[label], include=test_only)


def net_config_from(raw: dict) -> NetConfig:
    """A NetConfig from its dict as JSON holds it (a run's record, a model bundle's)."""
    raw = dict(raw, heads=tuple(Head(**h) for h in raw["heads"]))
    return NetConfig(**{f.name: raw[f.name] for f in fields(NetConfig) if f.name in raw})


def cnn_m_2048(config: NetConfig, phase: str = "trainval", source: str = "python"):
    """The NetParameter of one net.

    phase: "trainval" (data layer, losses, accuracy in the TEST phase) or "deploy" (an Input
        layer of DEPLOY_BATCH crops, softmax outputs).
    source: the train/val net's input: "python" (the project's data layer, as committed),
        "dummy" (Caffe's DummyData with the same tops: timing, tests), "input" (Input blobs
        the caller fills: tests).
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, not {phase!r}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    n = caffe.NetSpec()
    add_inputs(n, config, phase, source)
    add_heads(n, config, phase, add_trunk(n, config, deploy=phase == "deploy"))
    return n.to_proto()
