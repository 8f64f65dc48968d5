"""Accuracy, mean class accuracy and the confusion matrix (models/evaluate/metrics.py)."""
import warnings

import numpy as np

from models.evaluate.metrics import accuracy, confusion, mean_class_accuracy

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
