"""Choices from out-of-fold records: the global metric's sample shares and its ties."""

import numpy as np
import pytest

from sklearn_classreg.linear_model._records import FoldRecords
from sklearn_classreg.linear_model._selection import (
    global_contributions,
    global_ties,
    select,
)
from sklearn_classreg.metrics import global_scores

N_CLASSES = 4


def record(fold, y_index, predicted, proba_of_true, weights):
    """A fold's records whose global scores are `metrics.global_scores`' own."""
    scores = []
    for at_value, proba in zip(predicted, proba_of_true, strict=True):
        # probabilities that give these predictions and these probabilities of the truth
        y_proba = np.full((len(y_index), N_CLASSES), 1e-3)
        y_proba[np.arange(len(y_index)), at_value] = 0.9
        y_proba[np.arange(len(y_index)), y_index] = np.where(at_value == y_index, 0.9, proba)
        y_proba /= y_proba.sum(axis=1, keepdims=True)
        scores.append(
            global_scores(y_index, y_proba, labels=np.arange(N_CLASSES), sample_weight=weights)
        )
        proba[:] = y_proba[np.arange(len(y_index)), y_index]
    return FoldRecords(
        fold=fold,
        test_index=np.arange(len(y_index)),
        y_index=y_index,
        weights=weights,
        predicted=predicted,
        proba_of_true=proba_of_true,
        global_scores=scores,
        n_iter=np.full(len(predicted), -1),
    )


def random_records(seed, n_values=3, sizes=(23, 31, 17)):
    """Folds of unequal size and weights; the last fold lacks class 3."""
    rng = np.random.default_rng(seed)
    records = []
    for fold, size in enumerate(sizes):
        y_index = rng.integers(0, N_CLASSES - (fold == len(sizes) - 1), size)
        predicted = np.where(
            rng.random((n_values, size)) < 0.7, y_index, rng.integers(0, N_CLASSES, size)
        )
        proba = rng.uniform(0.05, 0.5, (n_values, size))
        records.append(record(fold, y_index, predicted, proba, rng.uniform(0.5, 2.0, size)))
    return records


@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "deviance"])
def test_sample_shares_sum_to_the_mean_over_folds_of_the_global_metric(metric):
    """Unequal folds, weights and a class missing from a fold: the shares add up to the
    folds' mean of metrics.global_scores, value by value."""
    records = random_records(0)
    shares = global_contributions(records, N_CLASSES, metric)
    assert shares.shape == (3, sum(len(r.y_index) for r in records))
    expected = np.mean([[s[metric] for s in r.global_scores] for r in records], axis=0)
    np.testing.assert_allclose(shares.sum(axis=1), expected, rtol=1e-12)


def test_worst_class_metrics_have_no_sample_shares():
    assert global_contributions(random_records(0), N_CLASSES, "worst_class_accuracy") is None


def mcnemar_records(right_only_best, right_only_other, n=400):
    """One fold, two values: the best is right alone on `right_only_best` samples, the
    other value alone on `right_only_other`; both right on half of the rest."""
    y_index = np.arange(n) % N_CLASSES
    wrong = (y_index + 1) % N_CLASSES
    predicted = np.tile(y_index, (2, 1))
    start = right_only_best
    predicted[1, :start] = wrong[:start]
    predicted[0, start : start + right_only_other] = wrong[start : start + right_only_other]
    both_wrong = slice(start + right_only_other, start + right_only_other + n // 4)
    predicted[:, both_wrong] = wrong[both_wrong]
    proba = np.full((2, n), 0.3)
    return [record(0, y_index, predicted, proba, np.ones(n))]


@pytest.mark.parametrize(
    "right_only_best, right_only_other, tied",
    [
        (0, 0, True),  # the same predictions
        (3, 1, True),  # McNemar: z = 2 / sqrt(4) = 1
        (12, 4, False),  # z = 8 / sqrt(16 - 0.16) = 2.01: just beyond 1.96
        (30, 0, False),  # z = 5.5
        (60, 30, False),  # z = 30 / sqrt(90) = 3.2
        (40, 30, True),  # z = 10 / sqrt(70) = 1.2
    ],
)
def test_accuracy_ties_are_mcnemars_test(right_only_best, right_only_other, tied):
    """For the accuracy the paired test is McNemar's: z = (b - c) / sqrt(b + c), up to
    the (b - c)^2 / n of resampling the samples."""
    records = mcnemar_records(right_only_best, right_only_other)
    b, c, n = right_only_best, right_only_other, 400
    z = (b - c) / np.sqrt(max(b + c - (b - c) ** 2 / n, 1e-300))
    assert (z <= 1.959963984540054) == tied
    mean = np.array([s["accuracy"] for s in records[0].global_scores])
    ties = global_ties(records, N_CLASSES, "accuracy", 0, mean, 0.95)
    assert ties[0]
    assert ties[1] == (z <= 1.959963984540054)


def test_a_wider_confidence_level_ties_more_values():
    records = mcnemar_records(12, 2)  # z = 10 / sqrt(14 - 0.25) = 2.70
    mean = np.array([s["accuracy"] for s in records[0].global_scores])
    assert not global_ties(records, N_CLASSES, "accuracy", 0, mean, 0.95)[1]
    assert global_ties(records, N_CLASSES, "accuracy", 0, mean, 0.995)[1]


def test_worst_class_metrics_tie_only_equal_values():
    records = random_records(1)
    mean = np.array([0.5, 0.5, 0.4])
    ties = global_ties(records, N_CLASSES, "worst_class_accuracy", 0, mean, 0.95)
    np.testing.assert_array_equal(ties, [True, True, False])


def test_selection_says_which_classes_have_a_single_best_value():
    """unique_best is False exactly where another value reaches the class's best mean."""
    records = random_records(2, n_values=4)
    selection = select(
        records, N_CLASSES, metric="recall", global_metric="accuracy", n_bootstrap=20,
        rng=np.random.default_rng(0),
    )  # fmt: skip
    best = selection.class_metric.max(axis=0)
    n_best = np.sum(np.isclose(selection.class_metric, best, rtol=1e-12, atol=1e-12), axis=0)
    np.testing.assert_array_equal(selection.unique_best, n_best == 1)
    assert selection.global_tied[selection.best_global]
