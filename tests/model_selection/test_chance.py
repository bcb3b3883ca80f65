"""Chance level of class dependence: calibrated under one shared optimum, powerful without."""

import numpy as np
import pytest

from sklearn_classreg.linear_model._records import FoldRecords
from sklearn_classreg.model_selection._chance import chance_level, split_half_agreement

N_VALUES, N_CLASSES, PER_CLASS = 10, 20, 30
LOG_VALUES = np.linspace(-3, 3, N_VALUES)


def _records(peaks, rng, n_folds=4):
    """Out-of-fold recall records whose class k truly peaks at value index peaks[k].

    Each sample is correct at value c when its latent u < accuracy_k(c), so that
    a sample's outcomes along the grid are coupled as a real model's are.
    """
    y_index = np.repeat(np.arange(N_CLASSES), PER_CLASS)
    values = np.arange(N_VALUES)
    accuracy = 0.75 - 0.04 * np.abs(values[:, None] - np.asarray(peaks)[None, :])
    u = rng.uniform(size=len(y_index))
    correct = u[None, :] < accuracy[:, y_index]  # (n_values, n_samples)
    predicted = np.where(correct, y_index[None, :], (y_index[None, :] + 1) % N_CLASSES)
    proba = np.where(correct, 0.8, 0.1)
    folds = np.array_split(rng.permutation(len(y_index)), n_folds)
    return [
        FoldRecords(
            fold,
            index,
            y_index[index],
            np.ones(len(index)),
            predicted[:, index],
            proba[:, index],
            [],
            np.zeros(N_VALUES),
        )
        for fold, index in enumerate(folds)
    ]


def test_one_shared_optimum_gives_uniform_p_values():
    """Under the null, p-values are not small more often than their level says."""
    p_spread, p_gap = [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        chance = chance_level(
            _records(np.full(N_CLASSES, 5), rng),
            N_CLASSES,
            metric="recall",
            log_values=LOG_VALUES,
            n_bootstrap=200,
            rng=rng,
        )
        p_spread.append(chance.spread_p_value)
        p_gap.append(chance.oracle_gap_p_value)
    for p_values in (np.array(p_spread), np.array(p_gap)):
        assert np.mean(p_values < 0.05) <= 0.15
        assert np.median(p_values) > 0.2


def test_classes_with_their_own_optima_are_far_from_chance():
    rng = np.random.default_rng(0)
    peaks = np.where(np.arange(N_CLASSES) % 2 == 0, 0, 9)  # two groups, nine values apart
    chance = chance_level(
        _records(peaks, rng),
        N_CLASSES,
        metric="recall",
        log_values=LOG_VALUES,
        n_bootstrap=300,
        rng=rng,
    )
    assert chance.spread_p_value < 0.01 and chance.oracle_gap_p_value < 0.01
    assert chance.spread > np.quantile(chance.spread_null, 0.99)


def test_deviance_metric_and_non_numeric_values():
    rng = np.random.default_rng(1)
    records = _records(np.full(N_CLASSES, 5), rng)
    chance = chance_level(
        records, N_CLASSES, metric="deviance", log_values=None, n_bootstrap=50, rng=rng
    )
    assert np.isnan(chance.spread) and np.all(np.isnan(chance.spread_null))
    assert chance.oracle_gap >= 0 and np.all(chance.oracle_gap_null >= 0)
    assert 0 < chance.oracle_gap_p_value <= 1


def test_observed_statistics_are_the_curves_own():
    """The observed spread and gap are those of the pooled per-class curves."""
    rng = np.random.default_rng(2)
    peaks = rng.integers(0, N_VALUES, N_CLASSES)
    records = _records(peaks, rng)
    chance = chance_level(
        records, N_CLASSES, metric="recall", log_values=LOG_VALUES, n_bootstrap=10, rng=rng
    )
    y = np.concatenate([r.y_index for r in records])
    hits = np.concatenate([r.predicted == r.y_index for r in records], axis=1)
    curves = np.stack([hits[:, y == k].mean(axis=1) for k in range(N_CLASSES)], axis=1)
    g = np.argmax(curves.mean(axis=1))  # equal supports: the accuracy curve
    best = curves.max(axis=0)
    assert chance.oracle_gap == pytest.approx(np.mean(best - curves[g]))
    optimum = []
    for k in range(N_CLASSES):  # ties go to the value nearest the global one
        tied = np.flatnonzero(np.isclose(curves[:, k], best[k]))
        optimum.append(LOG_VALUES[tied[np.argmin(np.abs(tied - g))]])
    assert chance.spread == pytest.approx(np.subtract(*np.percentile(optimum, [75, 25])))


def test_split_half_agreement():
    rng = np.random.default_rng(0)
    log_values = np.linspace(-2, 2, 9)
    first = rng.integers(0, 9, 40)
    # records 0, 2 were scored with choices made on half 1, records 1, 3 on half 0
    same = [(4, first), (4, first), (4, first), (4, first)]
    rho, p = split_half_agreement(same, (np.array([0, 2]), np.array([1, 3])), log_values, 200, rng)
    assert rho == pytest.approx(1.0) and p < 0.01
    unrelated = [(4, rng.integers(0, 9, 40)), (4, first), (4, rng.integers(0, 9, 40)), (4, first)]
    rho, p = split_half_agreement(
        unrelated, (np.array([0, 2]), np.array([1, 3])), log_values, 200, rng
    )
    assert abs(rho) < 0.5 and p > 0.01
    constant = [(4, np.full(40, 3)), (4, first)]
    assert np.isnan(
        split_half_agreement(constant, (np.array([0]), np.array([1])), log_values, 10, rng)[0]
    )
    assert np.isnan(split_half_agreement(same, (np.arange(4), np.array([])), None, 10, rng)[0])
