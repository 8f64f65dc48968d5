"""Accuracy, mean class accuracy and the confusion matrix (models/evaluate/metrics.py)."""
import warnings

import numpy as np

from models.evaluate.metrics import accuracy, confusion, mean_class_accuracy, paired_difference

# Six videos of classes 0, 0, 0, 1, 2, 2 (class 3 has none), predicted 0, 1, 0, 1, 3, 2.
LABELS = np.array([0, 0, 0, 1, 2, 2])
SCORES = np.eye(4)[[0, 1, 0, 1, 3, 2]]


def test_accuracy_is_the_share_of_videos_right():
    assert accuracy(SCORES, LABELS) == 4 / 6


def test_mean_class_accuracy_weighs_the_classes_with_videos_alike():
    # recalls 2/3, 1, 1/2; class 3 is predicted once but has no videos, so no recall
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mean_class_accuracy(SCORES, LABELS) == (2 / 3 + 1 + 1 / 2) / 3


def test_confusion_rows_are_true_classes_normalised():
    np.testing.assert_allclose(confusion(SCORES, LABELS, 4),
                               [[2 / 3, 1 / 3, 0, 0], [0, 1, 0, 0], [0, 0, .5, .5], [0, 0, 0, 0]])


def test_a_paired_difference_carries_the_bootstrap_interval_of_its_videos():
    labels = np.zeros(40, dtype=int)
    right, wrong = np.eye(2)[0], np.eye(2)[1]
    ours = np.tile(right, (40, 1))
    other = np.vstack([np.tile(right, (20, 1)), np.tile(wrong, (20, 1))])
    difference, low, high = paired_difference(ours, other, labels)
    # 20 of 40 videos differ, all in our favour: +0.5, give or take 1.96 x 0.5 / sqrt(40)
    assert difference == 0.5 and 0.3 < low < 0.4 and 0.6 < high < 0.7
    assert paired_difference(ours, other, labels) == (difference, low, high)
    assert paired_difference(ours, ours, labels) == (0.0, 0.0, 0.0)
    one_video = np.vstack([np.tile(right, (39, 1)), wrong])
    difference, low, high = paired_difference(ours, one_video, labels)
    assert difference == 0.025 and low == 0.0 and high == 0.075
