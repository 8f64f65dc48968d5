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
