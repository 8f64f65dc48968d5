"""Score files and late fusion of the two streams (Sect. 2, 6), as pure functions.

A score file (HDF5) holds one stream's video-level softmax scores on one subset of one split:

    scores      float32 [N, C]   mean softmax over a video's 25 frames x 10 crops
    labels      int64   [N]
    video_ids   UTF-8   [N]      the video's path as the split files write it
    attributes  dataset, stream, split, subset ("train" / "test"), class_names, net, weights

Fusion matches videos by id, never by position, and refuses files that disagree.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

# Sect. 2: "a multi-class linear SVM [Crammer & Singer] ... trained on the softmax scores"; the
# paper does not give C: chosen by cross-validation on the training videos' scores.
SVM_C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
SVM_FOLDS = 5


class ScoreError(ValueError):
    """Score files that cannot be fused; the message names them and says why."""


@dataclass(frozen=True)
class Scores:
    path: str
    scores: np.ndarray
    labels: np.ndarray
    video_ids: list[str]
    attrs: dict


def write_scores(path, scores, labels, video_ids, **attrs) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f["scores"] = np.asarray(scores, np.float32)
        f["labels"] = np.asarray(labels, np.int64)
        f["video_ids"] = np.array(video_ids, dtype=object).astype(h5py.string_dtype())
        for key, value in attrs.items():
            f.attrs[key] = value
    return path


def read_scores(path) -> Scores:
    path = Path(path)
    if not path.is_file():
        raise ScoreError(f"score file {path} does not exist; run tools/test_net.py first.")
    try:
        with h5py.File(path, "r") as f:
            scores = Scores(str(path), f["scores"][:], f["labels"][:],
                            [v.decode() if isinstance(v, bytes) else v for v in f["video_ids"][:]],
                            dict(f.attrs))
    except (OSError, KeyError) as error:
        raise ScoreError(f"{path} is not a score file ({error}); it needs scores, labels and "
                         "video_ids.") from None
    n = len(scores.video_ids)
    if scores.scores.ndim != 2 or scores.scores.shape[0] != n or scores.labels.shape != (n,):
        raise ScoreError(f"{path}: scores {scores.scores.shape}, labels {scores.labels.shape} and "
                         f"{n} video ids do not agree.")
    if not np.all(np.isfinite(scores.scores)):
        raise ScoreError(f"{path} holds non-finite scores; the net that made it diverged.")
    if len(set(scores.video_ids)) != n:
        raise ScoreError(f"{path} lists a video twice.")
    return scores


def aligned(first: Scores, second: Scores) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Both files' scores in the first file's video order, and the labels they agree on."""
    if set(first.video_ids) != set(second.video_ids):
        only = sorted(set(first.video_ids) ^ set(second.video_ids))
        raise ScoreError(f"{first.path} and {second.path} hold different videos ({len(only)} in "
                         f"one only, e.g. {only[0]}); give files of the same split and subset.")
    if first.scores.shape[1] != second.scores.shape[1]:
        raise ScoreError(f"{first.path} has {first.scores.shape[1]} classes but {second.path} "
                         f"has {second.scores.shape[1]}; give files of the same dataset.")
    order = {video: i for i, video in enumerate(second.video_ids)}
    index = np.array([order[v] for v in first.video_ids])
    disagree = np.flatnonzero(first.labels != second.labels[index])
    if disagree.size:
        video = first.video_ids[disagree[0]]
        raise ScoreError(f"{first.path} and {second.path} give {video} different labels "
                         f"({first.labels[disagree[0]]} and {second.labels[index][disagree[0]]}).")
    return first.scores, second.scores[index], first.labels, first.video_ids


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(scores.argmax(1) == labels))


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    predicted = scores.argmax(1)
    return float(np.mean([np.mean(predicted[labels == c] == c) for c in np.unique(labels)]))


def l2_normalised(scores: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(scores, axis=1, keepdims=True)
    return scores / np.maximum(norms, 1e-12)


def svm_features(spatial: np.ndarray, temporal: np.ndarray) -> np.ndarray:
    """Sect. 2: the stacked, L2-normalised softmax scores of the two streams."""
    return np.hstack([l2_normalised(spatial), l2_normalised(temporal)])


def train_svm(features: np.ndarray, labels: np.ndarray, seed: int = 0):
    """Crammer & Singer's multi-class linear SVM, C by cross-validation on the training set."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.svm import LinearSVC
    folds = min(SVM_FOLDS, int(np.bincount(labels).min()))
    svm = LinearSVC(multi_class="crammer_singer", max_iter=20_000, random_state=seed)
    # Near-uniform scores (an untrained stream) can keep liblinear from converging within its
    # iterations; the result is still used, and fuse() says so once instead of per fit.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if folds < 2:  # too few training videos per class to cross-validate: the default C
            svm.fit(features, labels)
            best, c = svm, 1.0
        else:
            search = GridSearchCV(svm, {"C": SVM_C_GRID}, cv=StratifiedKFold(
                folds, shuffle=True, random_state=seed))
            search.fit(features, labels)
            best, c = search.best_estimator_, float(search.best_params_["C"])
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return best, c, converged


def fuse_files(spatial_test, temporal_test, spatial_train=None, temporal_train=None) -> dict:
    """`fuse` on score files; the SVM only when both training files are given."""
    train = (read_scores(spatial_train), read_scores(temporal_train)) \
        if spatial_train and temporal_train else ()
    return fuse(read_scores(spatial_test), read_scores(temporal_test), *train)


def fuse(spatial_test: Scores, temporal_test: Scores, spatial_train: Scores | None = None,
         temporal_train: Scores | None = None) -> dict:
    """Accuracy of each stream, of their average, and (given training scores) of the SVM."""
    spatial, temporal, labels, _ = aligned(spatial_test, temporal_test)
    average = (spatial + temporal) / 2
    result = {"spatial": accuracy(spatial, labels), "temporal": accuracy(temporal, labels),
              "average": accuracy(average, labels), "videos": int(len(labels)),
              "mean_class_accuracy": {"spatial": mean_class_accuracy(spatial, labels),
                                      "temporal": mean_class_accuracy(temporal, labels),
                                      "average": mean_class_accuracy(average, labels)}}
    if spatial_train is not None and temporal_train is not None:
        train_s, train_t, train_labels, _ = aligned(spatial_train, temporal_train)
        if train_s.shape[1] != spatial.shape[1]:
            raise ScoreError(f"{spatial_train.path} has {train_s.shape[1]} classes but "
                             f"{spatial_test.path} has {spatial.shape[1]}.")
        svm, c, converged = train_svm(svm_features(train_s, train_t), train_labels)
        decision = svm.decision_function(svm_features(spatial, temporal))
        predicted = svm.classes_[decision.argmax(1)]
        one_hot = np.eye(spatial.shape[1])[predicted]
        result["svm"] = accuracy(one_hot, labels)
        result["svm_C"] = c
        result["svm_converged"] = converged
        result["mean_class_accuracy"]["svm"] = mean_class_accuracy(one_hot, labels)
    return result
