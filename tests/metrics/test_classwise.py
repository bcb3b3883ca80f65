"""Per-class and worst-class metrics against scikit-learn and brute force."""

import itertools

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, precision_score, recall_score
from sklearn.model_selection import GridSearchCV

from sklearn_classreg import ClassWiseRegularizedLogisticRegression
from sklearn_classreg.metrics import (
    class_deviance,
    class_one_vs_all_accuracy,
    class_precision,
    class_recall,
    classwise_scores,
    global_scores,
    neg_deviance_scorer,
    pairwise_accuracy,
    worst_class_accuracy,
    worst_class_accuracy_scorer,
    worst_k_recall,
    worst_k_recall_scorer,
    worst_pairwise_accuracy,
)


def random_predictions(n=300, K=6, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    y_proba = rng.dirichlet(np.ones(K) * 0.7, size=n)
    y_index = rng.integers(0, K, n)
    labels = np.arange(K) if labels is None else np.asarray(labels)
    return labels[y_index], y_proba, labels, rng.uniform(0.2, 2.0, n)


@pytest.mark.parametrize("weighted", [False, True])
def test_per_class_scores_match_sklearn(weighted):
    y_true, y_proba, labels, weights = random_predictions(labels=list("abcdef"))
    sample_weight = weights if weighted else None
    y_pred = labels[np.argmax(y_proba, axis=1)]
    kwargs = dict(labels=labels, sample_weight=sample_weight)
    np.testing.assert_allclose(
        class_recall(y_true, y_proba, **kwargs),
        recall_score(y_true, y_pred, average=None, **kwargs),
    )
    np.testing.assert_allclose(
        class_precision(y_true, y_proba, **kwargs),
        precision_score(y_true, y_pred, average=None, zero_division=np.nan, **kwargs),
    )
    w = np.ones(len(y_true)) if sample_weight is None else sample_weight
    for k, label in enumerate(labels):
        right = (y_true == label) == (y_pred == label)
        np.testing.assert_allclose(
            class_one_vs_all_accuracy(y_true, y_proba, **kwargs)[k], np.average(right, weights=w)
        )
        mine = y_true == label
        expected = -np.average(np.log(y_proba[mine, k]), weights=w[mine])
        np.testing.assert_allclose(class_deviance(y_true, y_proba, **kwargs)[k], expected)


def test_global_scores_match_sklearn_and_definitions():
    y_true, y_proba, labels, weights = random_predictions(seed=1)
    scores = global_scores(y_true, y_proba, labels=labels, sample_weight=weights, k=2)
    y_pred = np.argmax(y_proba, axis=1)
    recall = recall_score(y_true, y_pred, average=None, sample_weight=weights)
    assert scores["accuracy"] == pytest.approx(
        accuracy_score(y_true, y_pred, sample_weight=weights)
    )
    assert scores["deviance"] == pytest.approx(log_loss(y_true, y_proba, sample_weight=weights))
    assert scores["balanced_accuracy"] == pytest.approx(recall.mean())
    assert scores["worst_class_accuracy"] == pytest.approx(recall.min())
    assert scores["worst_k_recall"] == pytest.approx(np.sort(recall)[:2].mean())
    assert worst_class_accuracy(y_true, y_proba) == pytest.approx(
        recall_score(y_true, y_pred, average=None).min()
    )
    assert worst_k_recall(y_true, y_proba, k=100) == pytest.approx(
        recall_score(y_true, y_pred, average=None).mean()
    )


def test_pairwise_accuracy_matches_brute_force():
    y_true, y_proba, labels, weights = random_predictions(n=120, K=5, seed=2)
    y_proba[:5, :2] = 0.5  # ties count one half
    matrix = pairwise_accuracy(y_true, y_proba, labels=labels, sample_weight=weights)
    for a, b in itertools.combinations(range(5), 2):
        rows = np.flatnonzero((y_true == a) | (y_true == b))
        own = np.where(y_true[rows] == a, a, b)
        other = np.where(y_true[rows] == a, b, a)
        p_own, p_other = y_proba[rows, own], y_proba[rows, other]
        wins = (p_own > p_other) + 0.5 * (p_own == p_other)
        expected = np.average(wins, weights=weights[rows])
        assert matrix[a, b] == pytest.approx(expected) and matrix[b, a] == pytest.approx(expected)
    assert np.all(np.isnan(np.diag(matrix)))
    assert worst_pairwise_accuracy(y_true, y_proba, sample_weight=weights) == pytest.approx(
        np.nanmin(matrix)
    )


def test_classes_absent_from_y_true_are_nan_not_errors():
    y_proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
    scores = classwise_scores([0, 1, 1], y_proba, labels=[0, 1, 2])
    assert np.isnan(scores["recall"][2]) and np.isnan(scores["deviance"][2])
    assert np.isnan(scores["precision"][2])  # never predicted
    np.testing.assert_allclose(scores["recall"][:2], [1.0, 0.5])
    assert worst_class_accuracy([0, 1, 1], y_proba, labels=[0, 1, 2]) == 0.5


def test_many_classes_at_once():
    y_true, y_proba, labels, _ = random_predictions(n=20_000, K=1000, seed=3)
    recall = class_recall(y_true, y_proba, labels=labels)
    y_pred = np.argmax(y_proba, axis=1)
    np.testing.assert_allclose(
        recall, recall_score(y_true, y_pred, average=None, labels=labels, zero_division=np.nan)
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(y_true=[0, 1], y_proba=np.ones((2, 3)) / 3), "labels"),
        (dict(y_true=[0, 1], y_proba=np.ones(2)), r"shape \(n_samples, n_classes\)"),
        (dict(y_true=[0, 1, 1], y_proba=np.ones((2, 2)) / 2), "inconsistent numbers"),
        (dict(y_true=[0, 5], y_proba=np.ones((2, 2)) / 2, labels=[0, 1]), r"not in labels: \[5\]"),
        (dict(y_true=[0, 1], y_proba=np.array([[np.nan, 1.0], [0.5, 0.5]])), "NaN"),
        (dict(y_true=[], y_proba=np.ones((0, 2))), "empty"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        classwise_scores(**kwargs)


def test_worst_k_recall_rejects_bad_k():
    y_true, y_proba, _, _ = random_predictions()
    with pytest.raises(ValueError, match="k must be a positive integer"):
        worst_k_recall(y_true, y_proba, k=0)


def test_scorers_work_in_grid_search_and_with_missing_classes():
    y_true, _, _, _ = random_predictions(n=240, K=4, seed=4)
    X = np.random.default_rng(4).standard_normal((240, 5)) + y_true[:, None]
    model = ClassWiseRegularizedLogisticRegression(max_iter=500)
    grid = GridSearchCV(model, {"C": [0.01, 1.0]}, cv=3, scoring=worst_class_accuracy_scorer)
    grid.fit(X, y_true)
    best = grid.best_estimator_
    assert worst_class_accuracy_scorer(best, X, y_true) == pytest.approx(
        worst_class_accuracy(y_true, best.predict_proba(X), labels=best.classes_)
    )
    keep = y_true != 3  # test data without class 3: the scorer still aligns columns
    assert np.isfinite(worst_k_recall_scorer(best, X[keep], y_true[keep]))
    assert neg_deviance_scorer(best, X, y_true) == pytest.approx(
        -log_loss(y_true, best.predict_proba(X))
    )
