"""Late fusion of the two streams (Sect. 2, 6), as pure functions over score files
(models/evaluate/score_file.py).

Fusion matches videos by id, never by position, checks that each file plays its role (the
spatial stream's and the temporal stream's scores of the same split's test videos, and for the
SVM the same nets' scores of its training videos), and refuses files that disagree.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from models.evaluate.metrics import accuracy, mean_class_accuracy
from models.evaluate.score_file import ScoreError, Scores, named_path, read_scores
from models.nets.paper_nets import fused_nets

# Sect. 2: "a multi-class linear SVM [Crammer & Singer] ... trained on the softmax scores"; the
# paper does not give C: chosen by cross-validation on the training videos' scores.
SVM_C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
SVM_FOLDS = 5


def check_roles(roles: dict[str, Scores]) -> None:
    """roles: {"spatial test": ..., "temporal test": ..., optionally "spatial train", "temporal
    train"}; each file must be of its stream and subset, all of one dataset and split, and a
    stream's training scores from the same net and weights as its test scores."""
    for role, scores in roles.items():
        stream, subset = role.split()
        i = scores.identity
        if i.stream != stream:
            raise ScoreError(f"{scores.path} holds {i.stream} scores ({i.net}) but is given as the "
                             f"{role} scores; give a {stream} net's file.")
        if i.subset != subset:
            leak = "; training the SVM on test scores would leak the test set into fusion" \
                if subset == "train" else ""
            raise ScoreError(f"{scores.path} holds {i.subset} videos' scores but is given as the "
                             f"{role} scores{leak}: give the file `score_net --subset {subset}` "
                             "wrote.")
    first = next(iter(roles.values()))
    for role, scores in roles.items():
        a, b = first.identity, scores.identity
        if (a.dataset, a.split) != (b.dataset, b.split):
            raise ScoreError(f"{first.path} is {a.dataset} split {a.split} but {scores.path} is "
                             f"{b.dataset} split {b.split}; fuse files of one dataset and split.")
    for stream in ("spatial", "temporal"):
        test, train = roles.get(f"{stream} test"), roles.get(f"{stream} train")
        if train is not None and (train.identity.net, train.identity.weights_sha1) != (
                test.identity.net, test.identity.weights_sha1):
            raise ScoreError(f"{train.path} ({train.identity.net}) and {test.path} "
                             f"({test.identity.net}) were made by different nets or weights; the "
                             f"SVM must be trained on the scores of the {stream} net it fuses.")


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


def svm_weights(svm, C: float) -> dict:
    """A trained SVM as JSON holds it (a model bundle's fusion_svm.json): what `svm_decision`
    needs, never a pickle."""
    return {"C": C, "labels": svm.classes_.tolist(), "coef": svm.coef_.tolist(),
            "intercept": svm.intercept_.tolist(),
            "features": "the L2-normalised spatial softmax scores, then the temporal ones"}


def svm_weights_problem(weights, num_classes: int) -> str | None:
    """What makes `weights` unusable by `svm_decision` over `num_classes` classes (its features:
    both streams' scores), or None."""
    try:
        labels = [int(c) for c in weights["labels"]]
        coef, intercept = np.float64(weights["coef"]), np.float64(weights["intercept"])
    except (KeyError, TypeError, ValueError) as error:
        return f"it lacks or garbles labels, coef or intercept ({error})"
    rows = 1 if len(labels) == 2 else len(labels)
    if coef.shape not in {(rows, 2 * num_classes), (len(labels), 2 * num_classes)}:
        return (f"its coef is {coef.shape}, but {len(labels)} labels over both streams' "
                f"{num_classes} classes need ({rows}, {2 * num_classes})")
    if intercept.shape != (coef.shape[0],):
        return f"its intercept is {intercept.shape}, its coef has {coef.shape[0]} rows"
    if len(set(labels)) != len(labels) or not all(0 <= c < num_classes for c in labels):
        return f"its labels are not distinct classes in 0..{num_classes - 1}"
    return None


def svm_decision(weights: dict, spatial: np.ndarray, temporal: np.ndarray,
                 num_classes: int) -> np.ndarray:
    """[N, C] the SVM's score of each class (`svm_weights`' SVM predicts the largest); a class it
    never saw in training scores -inf."""
    features = svm_features(np.atleast_2d(spatial), np.atleast_2d(temporal))
    decision = features @ np.float64(weights["coef"]).T + np.float64(weights["intercept"])
    if decision.shape[1] == 1:  # two classes: one hyperplane, its sign the class
        decision = np.hstack([-decision, decision])
    scores = np.full((len(features), num_classes), -np.inf)
    scores[:, weights["labels"]] = decision
    return scores


def fuse_files(spatial_test, temporal_test, spatial_train=None, temporal_train=None) -> dict:
    """`fuse` on score files; the SVM only when both training files are given."""
    train = (read_scores(spatial_train), read_scores(temporal_train)) \
        if spatial_train and temporal_train else ()
    return fuse(read_scores(spatial_test), read_scores(temporal_test), *train)


@dataclass
class Fused:
    """Each method's scores on the test videos, in the spatial file's video order (the SVM's as
    one-hot rows of its predictions), their labels, and the SVM's C, convergence and weights
    (`svm_weights`)."""

    scores: dict[str, np.ndarray]
    labels: np.ndarray
    svm_C: float | None = None
    svm_converged: bool | None = None
    svm: dict | None = None


def averaged(spatial: np.ndarray, temporal: np.ndarray) -> np.ndarray:
    """Fusion by averaging the two streams' softmax scores (Sect. 2), each weighted 1/2."""
    return (spatial + temporal) / 2


def fused_scores(spatial_test: Scores, temporal_test: Scores, spatial_train: Scores | None = None,
                 temporal_train: Scores | None = None) -> Fused:
    """The two streams, their average and (given training scores) the SVM on the test videos."""
    roles = {"spatial test": spatial_test, "temporal test": temporal_test}
    if spatial_train is not None and temporal_train is not None:
        roles.update({"spatial train": spatial_train, "temporal train": temporal_train})
    check_roles(roles)
    spatial, temporal, labels, _ = aligned(spatial_test, temporal_test)
    fused = Fused({"spatial": spatial, "temporal": temporal, "average": averaged(spatial, temporal)},
                  labels)
    if spatial_train is not None and temporal_train is not None:
        train_s, train_t, train_labels, _ = aligned(spatial_train, temporal_train)
        if train_s.shape[1] != spatial.shape[1]:
            raise ScoreError(f"{spatial_train.path} has {train_s.shape[1]} classes but "
                             f"{spatial_test.path} has {spatial.shape[1]}.")
        svm, fused.svm_C, fused.svm_converged = train_svm(svm_features(train_s, train_t),
                                                          train_labels)
        fused.svm = svm_weights(svm, fused.svm_C)
        # predict, not argmax of decision_function: with two classes the latter is 1-D.
        predicted = svm.predict(svm_features(spatial, temporal))
        fused.scores["svm"] = np.eye(spatial.shape[1])[predicted]
    return fused


def fuse(spatial_test: Scores, temporal_test: Scores, spatial_train: Scores | None = None,
         temporal_train: Scores | None = None) -> dict:
    """Accuracy of each stream, of their average, and (given training scores) of the SVM;
    `nets` names the nets fused."""
    fused = fused_scores(spatial_test, temporal_test, spatial_train, temporal_train)
    result = {method: accuracy(scores, fused.labels) for method, scores in fused.scores.items()}
    result.update({"videos": int(len(fused.labels)),
                   "nets": {"spatial": spatial_test.identity.net,
                            "temporal": temporal_test.identity.net},
                   "mean_class_accuracy": {method: mean_class_accuracy(scores, fused.labels)
                                           for method, scores in fused.scores.items()}})
    if "svm" in fused.scores:
        result["svm_C"], result["svm_converged"] = fused.svm_C, fused.svm_converged
    return result


def fuse_splits(scores_dir, dataset: str, splits, spatial_net: str | None = None,
                temporal_net: str | None = None, svm: bool = False) -> tuple[dict, dict]:
    """Fusion of two nets on each split, their score files found by name (default Table 4's
    nets); (per split's result, the results with their mean over the splits)."""
    default_spatial, default_temporal = fused_nets(dataset)
    nets = (spatial_net or default_spatial, temporal_net or default_temporal)
    per_split = {}
    for k in splits:
        files = [named_path(scores_dir, dataset, net, k, subset)
                 for subset in ("test", "train") for net in nets]
        per_split[k] = fuse_files(*(files if svm else files[:2]))
    first = next(iter(per_split.values()))
    results = {"splits": {str(k): r for k, r in per_split.items()}, "nets": first["nets"],
               **{c: float(np.mean([r[c] for r in per_split.values()]))
                  for c in ("spatial", "temporal", "average", "svm") if c in first}}
    return per_split, results


def split_table(per_split: dict) -> str:
    """Accuracy per split and their mean, as Tables 3-4, then the mean class accuracy."""
    columns = ["spatial", "temporal", "average"] + (["svm"] if "svm" in next(
        iter(per_split.values())) else [])
    lines = []
    for title, pick in (("accuracy", lambda r, c: r[c]),
                        ("mean class accuracy", lambda r, c: r["mean_class_accuracy"][c])):
        lines += [title, "split  " + "  ".join(f"{c:>9}" for c in columns)]
        for split, result in per_split.items():
            lines.append(f"{split:<5}  " + "  ".join(f"{100 * pick(result, c):8.1f}%"
                                                     for c in columns))
        if len(per_split) > 1:
            lines.append("mean   " + "  ".join(
                f"{100 * np.mean([pick(r, c) for r in per_split.values()]):8.1f}%"
                for c in columns))
    return "\n".join(lines)
