"""Out-of-fold predictions along a parameter grid: the raw material of the study.

For every fold and every value of the swept parameter, the test samples'
predicted class and probability of their true class are kept (two small
arrays per fold), with the fold's global scores. Per-class curves, honest
(cross-fitted) gains and bootstrap intervals are all computed from these.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.metadata_routing import _routing_enabled, process_routing
from sklearn.utils.parallel import Parallel, delayed  # carries the config (routing) to workers
from tqdm.auto import tqdm

from .._utils._validation import check_targets
from ..metrics._classwise import global_scores
from ._logistic import ClassWiseRegularizedLogisticRegression
from ._path import regularization_path

__all__ = [
    "PATH_MEMORY",
    "FoldRecords",
    "cross_validated_records",
    "fast_fold",
    "float64_proba",
    "gap_of",
    "path_start",
    "score_fold",
    "uses_fast_path",
]

# What the tuned choices may keep of the sweep's paths (all folds, bytes): the
# Omniglot sample of the main job (242 classes, 1,280 features, 20 values of C,
# 5 folds) needs 124 MB
PATH_MEMORY = 512 * 2**20


@dataclass
class FoldRecords:
    """Out-of-fold predictions of one fold along the grid.

    Attributes
    ----------
    fold : int
    test_index : ndarray of shape (n_test,)
        Rows of X in the fold's test part.
    y_index : ndarray of shape (n_test,)
        Class index (in ``classes`` order) of each test sample.
    weights : ndarray of shape (n_test,)
        Sample weights of the test samples (ones by default).
    predicted : ndarray of shape (n_values, n_test)
        Predicted class index at each value of the parameter.
    proba_of_true : ndarray of shape (n_values, n_test)
        Predicted probability of the true class at each value.
    global_scores : list of dict
        `metrics.global_scores` of the fold at each value (weighted), plus
        "score" when a scorer was given.
    n_iter : ndarray of shape (n_values,)
        Solver iterations (fast path), or -1.
    path : RegularizationPath or None
        The fold's solutions at every value (fast path), when kept
        (`cross_validated_records`'s `path_memory`): later fits on the same
        fold start from them.
    gaps : ndarray of shape (n_values,) or None
        Certified relative duality gap of each fit (the path's ``gaps``, or
        the fitted models' ``gap_``); NaN where the model reports none.
    """

    fold: int
    test_index: np.ndarray
    y_index: np.ndarray
    weights: np.ndarray
    predicted: np.ndarray
    proba_of_true: np.ndarray
    global_scores: list
    n_iter: np.ndarray
    path: object = None
    gaps: np.ndarray = None


def uses_fast_path(estimator, param_name):
    """Whether `param_name` is the C of a ClassWiseRegularizedLogisticRegression.

    The estimator itself, or the last step of a Pipeline (``<step>__C``).
    """
    if isinstance(estimator, ClassWiseRegularizedLogisticRegression):
        return param_name == "C"
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        return isinstance(last, ClassWiseRegularizedLogisticRegression) and (
            param_name == f"{name}__C"
        )
    return False


def path_start(record, index, classes):
    """The fold's fitted model at value `index` of its kept path, or None.

    None when the path was not kept or its training part lacked a class.
    """
    path = record.path
    if path is None or not np.array_equal(path.classes, classes):
        return None
    return path.estimator(index)


def float64_proba(model, X):
    """predict_proba in float64, from predict_log_proba where the model has it.

    A float32 model's probabilities underflow to 0 below about 1e-38 (logits
    some 88 apart, common at weak regularization); -log p would then read as
    the 1e-300 floor's 690 nats instead of the model's own value.
    """
    if hasattr(model, "predict_log_proba"):
        return np.exp(np.asarray(model.predict_log_proba(X), dtype=np.float64))
    return np.asarray(model.predict_proba(X), dtype=np.float64)


def _aligned_proba(model, X, classes):
    """predict_proba with one column per class of the whole data (zeros if unseen)."""
    proba = float64_proba(model, X)
    if len(model.classes_) == len(classes) and np.array_equal(model.classes_, classes):
        return proba
    aligned = np.zeros((proba.shape[0], len(classes)))
    aligned[:, np.searchsorted(classes, model.classes_)] = proba
    return aligned


def fast_fold(estimator, X_train, y_train, X_test, param_range, sample_weight, start):
    """Warm-started path on the fold (from `start`); the pipeline's earlier steps fitted once.

    Returns the (model, X_test) pairs of the points and the path.
    """
    if isinstance(estimator, Pipeline):
        preprocessing = Pipeline(clone(estimator).steps[:-1])
        preprocessing_params, sample_weight = _pipeline_weights(estimator, sample_weight)
        X_train = preprocessing.fit_transform(X_train, y_train, **preprocessing_params)
        X_test = preprocessing.transform(X_test)
        final = estimator.steps[-1][1]
    else:
        final = estimator
    params = {k: v for k, v in final.get_params().items() if k not in ("C", "warm_start")}
    params["verbose"] = 0
    path = regularization_path(
        X_train, y_train, list(param_range), sample_weight=sample_weight, start=start, **params
    )
    return [(path.estimator(i), X_test) for i in range(len(path))], path


def _pipeline_weights(pipeline, sample_weight):
    """(fit params of the earlier steps, weights of the last step) for a weighted fit.

    Under metadata routing the Pipeline's requests decide: the earlier steps
    are fitted with the weights if one of them asked, the last step's path
    is weighted if it asked. Without routing, only the last step is weighted.
    """
    if sample_weight is None or not _routing_enabled():
        return {}, sample_weight
    routed = process_routing(pipeline, "fit", sample_weight=sample_weight)
    earlier = any(
        routed[name].get("fit_transform") or routed[name].get("fit")
        for name, _ in pipeline.steps[:-1]
    )
    last = routed[pipeline.steps[-1][0]].get("fit", {}).get("sample_weight")
    return ({"sample_weight": sample_weight} if earlier else {}), last


def _fold_records(
    estimator,
    X,
    y,
    classes,
    fold,
    train,
    test,
    param_name,
    param_range,
    fast,
    sample_weight,
    scorer,
    scorer_weight,
    start,
    path_memory,
):
    X_train, y_train = _safe_indexing(X, train), y[train]
    X_test, y_test = _safe_indexing(X, test), y[test]
    train_weight = None if sample_weight is None else sample_weight[train]
    test_weight = np.ones(len(test)) if sample_weight is None else sample_weight[test]
    path = None
    if fast:
        models, path = fast_fold(
            estimator, X_train, y_train, X_test, param_range, train_weight, start
        )
        n_iter, gaps = path.n_iter, path.gaps
        if path.coefs.nbytes + path.intercepts.nbytes > path_memory:
            path = None
    else:
        models = []
        fit_params = {} if train_weight is None else {"sample_weight": train_weight}
        for value in param_range:
            model = clone(estimator).set_params(**{param_name: value})
            models.append((model.fit(X_train, y_train, **fit_params), X_test))
        n_iter = np.full(len(param_range), -1)
        gaps = np.array([gap_of(model) for model, _ in models])
    return score_fold(
        fold,
        test,
        y_test,
        classes,
        models,
        n_iter=n_iter,
        gaps=gaps,
        path=path,
        test_weight=test_weight,
        scorer=scorer,
        scorer_weight=None if scorer_weight is None else scorer_weight[test],
    )


def score_fold(
    fold,
    test,
    y_test,
    classes,
    models,
    *,
    n_iter,
    gaps,
    path=None,
    test_weight=None,
    scorer=None,
    scorer_weight=None,
):
    """The FoldRecords of fitted models on a fold's test part.

    Parameters
    ----------
    fold : int
    test : ndarray of shape (n_test,)
        Rows of the fold's test part.
    y_test : ndarray of shape (n_test,)
    classes : ndarray of shape (n_classes,)
    models : list of (model, X_test)
        One per value of the grid: the fitted model and the test part as it
        takes it.
    n_iter, gaps : array-like of shape (n_values,)
    path : RegularizationPath, default=None
    test_weight, scorer_weight : ndarray of shape (n_test,), default=None
    scorer : callable, default=None

    Returns
    -------
    FoldRecords
    """
    test_weight = np.ones(len(test)) if test_weight is None else test_weight
    y_index = np.searchsorted(classes, y_test)
    predicted = np.empty((len(models), len(test)), dtype=np.intp)
    proba_of_true = np.empty((len(models), len(test)))
    scores = []
    for i, (model, X_eval) in enumerate(models):
        proba = _aligned_proba(model, X_eval, classes)
        predicted[i] = np.argmax(proba, axis=1)
        proba_of_true[i] = proba[np.arange(len(test)), y_index]
        score = global_scores(y_test, proba, labels=classes, sample_weight=test_weight)
        if scorer is not None:
            score["score"] = _score(scorer, model, X_eval, y_test, scorer_weight)
        scores.append(score)
    return FoldRecords(
        fold,
        np.asarray(test),
        y_index,
        test_weight,
        predicted,
        proba_of_true,
        scores,
        np.asarray(n_iter),
        path,
        np.asarray(gaps, dtype=float),
    )


def gap_of(model):
    """The certified gap of a fitted model (a Pipeline's last step), or NaN."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    return float(getattr(final, "gap_", np.nan))


def _score(scorer, model, X, y, sample_weight):
    """scorer(model, X, y), with the scorer's test weights when it has any."""
    if sample_weight is None:
        return float(scorer(model, X, y))
    return float(scorer(model, X, y, sample_weight=sample_weight))


def cross_validated_records(
    estimator,
    X,
    y,
    *,
    param_name,
    param_range,
    cv=5,
    groups=None,
    sample_weight=None,
    scorer=None,
    scorer_weight=None,
    n_jobs=None,
    verbose=0,
    starts=None,
    path_memory=0,
):
    """Fit along the grid on each fold, in parallel over folds; keep out-of-fold records.

    `sample_weight` weights the training fits and the test scores; `scorer`
    (``scorer(estimator, X, y)``, greater is better) adds a "score" to each
    fold's global scores, called with ``sample_weight=`` the test part of
    `scorer_weight` when that is given (metadata routing decides whether a
    scorer takes weights, so they are passed apart).

    When `param_name` is the C of this library's estimator (the fast path:
    one warm-started `regularization_path` per fold), `starts` gives, per
    fold, a fitted estimator to start the fold's path from (or None), and
    each fold keeps its path (`FoldRecords.path`) when all the folds' paths
    together fit in `path_memory` bytes.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
    records : list of FoldRecords, in fold order
    """
    if not is_classifier(estimator):
        raise TypeError(f"estimator must be a classifier; got {estimator!r}.")
    param_range = list(param_range)
    if not param_range:
        raise ValueError("param_range is empty: give at least one value to try.")
    if param_name not in estimator.get_params():
        raise ValueError(
            f"param_name={param_name!r} is not a parameter of {type(estimator).__name__}; "
            f"it has: {', '.join(sorted(estimator.get_params()))}."
        )
    y = check_targets(X, y)
    classes = np.unique(y)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != y.shape:
            raise ValueError(f"sample_weight has shape {sample_weight.shape} but y has {y.shape}.")
    if scorer_weight is not None:
        scorer_weight = np.asarray(scorer_weight, dtype=np.float64)
        if scorer_weight.shape != y.shape:
            raise ValueError(
                f"The scorer's sample_weight has shape {scorer_weight.shape} but y has {y.shape}."
            )
    splitter = check_cv(cv, y, classifier=True)
    folds = list(splitter.split(X, y, groups))
    fast = uses_fast_path(estimator, param_name)
    starts = [None] * len(folds) if starts is None else list(starts)
    if len(starts) != len(folds):
        raise ValueError(f"starts has {len(starts)} entries for {len(folds)} folds.")
    jobs = (
        delayed(_fold_records)(
            estimator,
            X,
            y,
            classes,
            fold,
            train,
            test,
            param_name,
            param_range,
            fast,
            sample_weight,
            scorer,
            scorer_weight,
            start,
            path_memory / len(folds),
        )
        for fold, ((train, test), start) in enumerate(zip(folds, starts, strict=True))
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    records = list(
        tqdm(results, total=len(folds), disable=verbose < 1, desc=f"folds ({param_name})")
    )
    return classes, sorted(records, key=lambda record: record.fold)
