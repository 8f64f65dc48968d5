"""The paper's measures of a net's scores (Sect. 6): accuracy, mean class accuracy and the
confusion matrix, from scikit-learn's metrics. Every other module measures through these."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """The share of videos whose highest score is their class."""
    return float(accuracy_score(labels, scores.argmax(1)))


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """The recall of each class that has test videos, averaged (classes weigh alike)."""
    with warnings.catch_warnings():
        # A class predicted but never true has no recall; it is left out, as intended.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return float(balanced_accuracy_score(labels, scores.argmax(1)))


def confusion(scores: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """Row-normalised confusion matrix: row = true class, column = predicted; a class without
    test videos is a row of zeros."""
    matrix = confusion_matrix(labels, scores.argmax(1), labels=np.arange(classes)).astype(float)
    return matrix / np.maximum(matrix.sum(1, keepdims=True), 1)


def paired_difference(ours: np.ndarray, other: np.ndarray, labels: np.ndarray,
                      resamples: int = 10000, seed: int = 0) -> tuple[float, float, float]:
    """Accuracy of `ours` minus that of `other` on the same videos (rows aligned), with the 95%
    interval of a paired bootstrap: the videos are drawn with replacement `resamples` times and
    both accuracies measured on each draw. A fixed seed makes the interval the same everywhere."""
    gain = (ours.argmax(1) == labels).astype(np.float64) - (other.argmax(1) == labels)
    draws = np.random.default_rng(seed).integers(0, len(gain), size=(resamples, len(gain)))
    low, high = np.percentile(gain[draws].mean(1), [2.5, 97.5])
    return float(gain.mean()), float(low), float(high)
