r"""Chance level for class dependence: what one shared optimum would look like.

The per-class optima of a sweep spread out, and the oracle gap is positive,
even when every class has the same best value: each class's curve is a mean
over its few held-out samples, and picking the best of many noisy values
finds noise. Two checks tell a real class dependence from that:

**A null distribution** (a bootstrap of the out-of-fold predictions, in the
spirit of Tsamardinos et al.'s bootstrap bias-corrected CV, 2018). The null
curves share one shape: class k's curve is its own level plus the
support-weighted mean curve M of all classes,

    m0_k(c) = m_k(g) + M(c) - M(g),

so that all classes peak where M peaks. Each replicate adds the sampling noise
of the class's own held-out samples (Poisson resampling of the per-sample
out-of-fold scores, m*_k(c) - m_k(c)) and recomputes the per-class optima,
their spread (IQR of log10 optimum) and the oracle gap. The p-value is the
share of replicates at least as large as the observed value, computed the
same way. The noise is that of the evaluation samples only: the refits'
variability is not resampled, so the null can be narrower than a study with
refitted folds would show.

**Split-half agreement.** The study already chooses per class on each half
of the folds (for the honest gain). If classes truly differ, the two halves'
optima agree beyond chance: the Spearman correlation of the halves' log
optima over classes, with a permutation p-value (the halves' class labels
shuffled). The halves use different fitted models, so this check includes
the refits' variability.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.stats import spearmanr

from ..linear_model._selection import per_sample_score
from ..metrics._names import CLASS_METRICS

__all__ = ["ChanceLevel", "chance_level", "split_half_agreement"]


@dataclass
class ChanceLevel:
    """Observed spread and oracle gap against their null distributions."""

    spread: float  # IQR of the optima on log_values' scale, on the pooled curves
    spread_null: np.ndarray  # (n_replicates,)
    oracle_gap: float  # mean over classes, pooled curves
    oracle_gap_null: np.ndarray

    @property
    def spread_p_value(self):
        return _p_value(self.spread, self.spread_null)

    @property
    def oracle_gap_p_value(self):
        return _p_value(self.oracle_gap, self.oracle_gap_null)


def _p_value(observed, null):
    """Share of the null at least as large as `observed` (NaN without numbers)."""
    null = null[np.isfinite(null)]
    if not np.isfinite(observed) or len(null) == 0:
        return np.nan
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + len(null)))


def chance_level(records, n_classes, *, metric, log_values, n_bootstrap, rng, batch=50):
    """Null distributions of the spread of per-class optima and of the oracle gap.

    Parameters
    ----------
    records : list of FoldRecords
        The sweep's out-of-fold predictions.
    n_classes : int
    metric : {"recall", "deviance", "one_vs_all_accuracy"}
    log_values : ndarray of shape (n_values,) or None
        The swept values on the spread's scale: log10 of positive values (C),
        the values themselves when the grid has 0 (label smoothing); None when
        they are not numbers (the spread is NaN).
    n_bootstrap : int
    rng : numpy Generator
    batch : int
        Replicates computed together.

    Returns
    -------
    ChanceLevel
    """
    sign = CLASS_METRICS[metric]
    y_index = np.concatenate([r.y_index for r in records])
    weights = np.concatenate([r.weights for r in records])
    predicted = np.concatenate([r.predicted for r in records], axis=1)  # (n_values, n)
    n_values = len(predicted)
    one_hot = sparse.csr_matrix(
        (np.ones(len(y_index)), (np.arange(len(y_index)), y_index)),
        shape=(len(y_index), n_classes),
    )
    support = weights @ one_hot
    present = support > 0
    if metric == "one_vs_all_accuracy":
        # a wrong prediction is an error for the true and for the predicted class
        wrong = predicted != y_index[None, :]
        offsets = (np.arange(n_values) * n_classes)[:, None]
        error_bins = np.concatenate(
            [(offsets + y_index[None, :])[wrong], (offsets + predicted)[wrong]]
        )
        sample_of_error = np.concatenate([np.nonzero(wrong)[1]] * 2)

        def curves(sample_weights):  # (B, n) -> (B, n_values, K), signed
            errors = np.stack(
                [
                    np.bincount(error_bins, w[sample_of_error], n_values * n_classes)
                    for w in sample_weights
                ]
            ).reshape(-1, n_values, n_classes)
            return 1.0 - errors / sample_weights.sum(axis=1)[:, None, None]

    else:
        scores = np.concatenate(
            [
                per_sample_score(metric, r.predicted, r.proba_of_true, r.y_index[None, :])
                for r in records
            ],
            axis=1,
        )  # (n_values, n_samples)

        def curves(sample_weights):  # (B, n) -> (B, n_values, K), signed: larger is better
            totals = sample_weights @ one_hot  # (B, K)
            sums = np.stack([(scores * w) @ one_hot for w in sample_weights])
            with np.errstate(invalid="ignore", divide="ignore"):
                return sign * sums / totals[:, None, :]

    observed = curves(weights[None, :])[0]  # (n_values, K)
    mean_curve = observed[:, present] @ support[present] / support[present].sum()
    g = int(np.argmax(mean_curve))
    null_curves = observed[g][None, :] + (mean_curve - mean_curve[g])[:, None]
    spread, gap = _statistics(observed[None], support, log_values)
    spreads, gaps = [], []
    for start in range(0, n_bootstrap, batch):
        size = min(batch, n_bootstrap - start)
        draws = rng.poisson(1.0, size=(size, len(y_index))) * weights[None, :]
        noise = curves(draws) - observed[None]
        s, o = _statistics(null_curves[None] + noise, support, log_values)
        spreads.append(s)
        gaps.append(o)
    return ChanceLevel(
        spread=float(spread[0]),
        spread_null=np.concatenate(spreads),
        oracle_gap=float(gap[0]),
        oracle_gap_null=np.concatenate(gaps),
    )


def _statistics(curves, support, log_values):
    """Spread of per-class optima and oracle gap of signed curves (B, n_values, K).

    The global choice is the best support-weighted mean curve (accuracy for
    recall, the pooled deviance for deviance), as the study's default.
    """
    present = support > 0
    finite = np.isfinite(curves)
    mean_curve = np.where(finite, curves, 0.0) @ support / (finite @ support)
    g = np.argmax(np.nan_to_num(mean_curve, nan=-np.inf), axis=1)
    curves = np.where(finite, curves, -np.inf)
    best = curves.max(axis=1)  # (B, K)
    tied = np.isclose(curves, best[:, None, :], rtol=1e-12, atol=1e-12)
    distance = np.abs(np.arange(curves.shape[1])[None, :] - g[:, None])[:, :, None]
    per_class = np.argmin(np.where(tied, distance, np.inf), axis=1)  # (B, K)
    rows = np.arange(len(g))
    at_global = curves[rows, g]  # (B, K)
    valid = present[None, :] & np.isfinite(best) & np.isfinite(at_global)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gap = np.nanmean(np.where(valid, best - at_global, np.nan), axis=1)
        if log_values is None:
            spread = np.full(len(g), np.nan)
        else:
            optimum = np.where(valid, log_values[per_class], np.nan)
            q75, q25 = np.nanpercentile(optimum, [75, 25], axis=1)
            spread = q75 - q25
    return spread, gap


def split_half_agreement(fold_choices, halves, log_values, n_permutations, rng):
    """Spearman correlation of the two halves' per-class log optima, and its p-value.

    Parameters
    ----------
    fold_choices : list of (int, ndarray)
        Per record, the (global index, per-class indices) chosen on the other
        half of the folds (`Selection.fold_choices`).
    halves : (ndarray, ndarray)
        Record positions of the two halves.
    log_values : ndarray of shape (n_values,) or None
    n_permutations : int
    rng : numpy Generator

    Returns
    -------
    (float, float)
        The correlation and its one-sided permutation p-value; NaN for both
        without numeric values or when a half's optima do not vary.
    """
    if log_values is None or len(halves[1]) == 0:
        return np.nan, np.nan
    # the choices scored on half 1 were made on half 0, and the other way round
    made_on_first = log_values[np.asarray(fold_choices[halves[1][0]][1])]
    made_on_second = log_values[np.asarray(fold_choices[halves[0][0]][1])]
    if np.ptp(made_on_first) == 0 or np.ptp(made_on_second) == 0:
        return np.nan, np.nan
    observed = spearmanr(made_on_first, made_on_second).statistic
    null = np.array(
        [
            spearmanr(made_on_first, rng.permutation(made_on_second)).statistic
            for _ in range(n_permutations)
        ]
    )
    return float(observed), float((1 + np.sum(null >= observed - 1e-12)) / (1 + n_permutations))
