"""The paper's SGD schedules (Sect. 5) as Caffe SolverParameter messages."""
from __future__ import annotations

from caffe.proto import caffe_pb2

# ---- The paper's training schedule (Sect. 5) ----------------------------------------------------
# Sect. 5: "mini-batch stochastic gradient descent with momentum (set to 0.9)".
MOMENTUM = 0.9
# Sect. 5: "The learning rate is initially set to 10^-2, and then decreased according to a fixed
# schedule": from scratch 10^-3 after 50K, 10^-4 after 70K, stop at 80K; fine-tuning 10^-3
# after 14K, stop at 20K. Each step divides by 10.
BASE_LR = 1e-2
GAMMA = 0.1
SCHEDULES = {
    "scratch": dict(stepvalue=[50_000, 70_000], max_iter=80_000),
    "finetune": dict(stepvalue=[14_000], max_iter=20_000),
}
# A net whose lower layers come from ImageNet ("finetune", "lastlayer") follows the paper's
# fine-tuning schedule; one trained from scratch the other.
SCHEDULE_OF_SETTING = {"scratch": "scratch", "finetune": "finetune", "lastlayer": "finetune"}

# ---- Choices the paper leaves open, in one place (Sect. 5) --------------------------------------
# Sect. 5 calls its training "an adaptation of that of [15]"; [15] (Krizhevsky) used weight
# decay 5e-4.
WEIGHT_DECAY = 5e-4
# A snapshot every 5K iterations: a killed run loses at most 1/16 of a from-scratch schedule,
# and 16 snapshots of a 400 MB net stay within a laptop's disk.
SNAPSHOT_EVERY = 5_000
# Validation on a held-out slice of training videos (the data layer's TEST phase): 10 batches
# of 256 every 1K iterations. The loss shown is averaged over the last 20 iterations.
TEST_INTERVAL = 1_000
TEST_ITER = 10
DISPLAY = 20


def sgd_solver(net_path: str, setting: str, snapshot_prefix: str) -> caffe_pb2.SolverParameter:
    """The solver for a train/val net of the given setting ("scratch", "finetune", "lastlayer")."""
    schedule = SCHEDULES[SCHEDULE_OF_SETTING[setting]]
    return caffe_pb2.SolverParameter(
        net=net_path, type="SGD", base_lr=BASE_LR, lr_policy="multistep", gamma=GAMMA,
        stepvalue=schedule["stepvalue"], max_iter=schedule["max_iter"], momentum=MOMENTUM,
        weight_decay=WEIGHT_DECAY, test_iter=[TEST_ITER], test_interval=TEST_INTERVAL,
        test_initialization=False, display=DISPLAY, average_loss=DISPLAY,
        snapshot=SNAPSHOT_EVERY, snapshot_prefix=snapshot_prefix)
