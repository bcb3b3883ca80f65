"""Choosing one value per class from out-of-fold records, honestly.

Shared by `ClassWiseRegularizationCV` (strategy "per_class") and
`model_selection.ClassWiseStudy`. From the per-fold records of a path
(`_records.py`):

* the global choice: the best mean over folds of a global metric (first best
  on ties, as GridSearchCV), and the values within noise of it (a paired test
  on the out-of-fold samples: on a flat top, which value is best is decided
  by a few predictions, which fits certified to the same gap may differ in);
* the per-class choices: each class's best mean over folds of its metric
  (ties broken toward the global choice), and whether it is the class's only
  best value;
* cross-fitted gains: choices made on one half of the folds, scored on the
  samples of the other half, per class, with Poisson-bootstrap intervals.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ..metrics._classwise import scores_from_counts
from ..metrics._names import CLASS_METRICS, GLOBAL_METRIC_INFO, GLOBAL_METRICS

__all__ = [
    "bootstrap_intervals",
    "global_contributions",
    "global_ties",
    "Selection",
    "class_means",
    "fold_counts",
    "per_class_choice_score",
    "per_sample_score",
    "poisson_bootstrap",
    "select",
]

def fold_counts(record, n_classes):
    """Per-class weighted counts of a fold at every value, shape (n_values, n_classes).

    Returns support, predicted count, true positives, summed negative log-likelihood.
    """
    n_values = record.predicted.shape[0]
    weights = record.weights
    offsets = (np.arange(n_values) * n_classes)[:, None]
    true_flat = (offsets + record.y_index[None, :]).ravel()
    size = n_values * n_classes
    tiled = np.tile(weights, n_values)
    support = np.tile(
        np.bincount(record.y_index, weights=weights, minlength=n_classes), (n_values, 1)
    )
    predicted = np.bincount((offsets + record.predicted).ravel(), weights=tiled, minlength=size)
    hits = (record.predicted == record.y_index[None, :]).ravel()
    true_positive = np.bincount(true_flat[hits], weights=tiled[hits], minlength=size)
    nll = -np.log(np.maximum(record.proba_of_true, 1e-300)).ravel()
    summed_nll = np.bincount(true_flat, weights=tiled * nll, minlength=size)
    shape = (n_values, n_classes)
    return (
        support,
        predicted.reshape(shape),
        true_positive.reshape(shape),
        summed_nll.reshape(shape),
    )


def per_sample_score(metric, predicted, proba_of_true, y_index, n_classes=None):
    """The per-sample quantity whose class mean is `metric`.

    Recall: 1 when correct; deviance: -log p of the true class; both of shape
    (n,), averaged over each class's own samples. One-vs-all accuracy: shape
    (n, n_classes), 1 where the sample is right about "is it class k?"
    (a misclassified sample is wrong for its true and its predicted class),
    averaged over all samples.
    """
    if metric == "recall":
        return (predicted == y_index).astype(float)
    if metric == "one_vs_all_accuracy":
        scores = np.ones((len(y_index), n_classes))
        wrong = np.flatnonzero(predicted != y_index)
        scores[wrong, y_index[wrong]] = 0.0
        scores[wrong, predicted[wrong]] = 0.0
        return scores
    # in float64: 1e-300 would round to 0 in float32 (a float32 model's probabilities)
    return -np.log(np.maximum(np.asarray(proba_of_true, dtype=np.float64), 1e-300))


def per_class_choice_score(metric, record, choices, n_classes):
    """Per-sample scores of a record when class k takes the value index choices[k].

    Own-class metrics use each sample's own class's choice; the one-vs-all
    accuracy of class k uses every sample's prediction at choices[k].
    """
    rows = np.arange(len(record.y_index))
    if metric != "one_vs_all_accuracy":
        own = choices[record.y_index]
        return per_sample_score(
            metric, record.predicted[own, rows], record.proba_of_true[own, rows], record.y_index
        )
    scores = np.empty((len(rows), n_classes))
    for value in np.unique(choices):
        columns = choices == value
        at_value = per_sample_score(
            metric, record.predicted[value], None, record.y_index, n_classes
        )
        scores[:, columns] = at_value[:, columns]
    return scores


def class_means(values, y_index, n_classes, weights=None, replicate_weights=None):
    """Weighted mean of `values` per class.

    `values` of shape (n,) are averaged over each class's own samples; of
    shape (n, n_classes) (one-vs-all), each column over all samples.
    `replicate_weights` (B, n) multiply `weights` for bootstrap replicates;
    the result then has shape (B, n_classes).
    """
    if np.ndim(values) == 2:
        weights = np.ones(len(values)) if weights is None else weights
        if replicate_weights is not None:
            weights = replicate_weights * weights
        with np.errstate(invalid="ignore", divide="ignore"):
            return (weights @ values) / np.sum(weights, axis=-1)[..., None]
    one_hot = sparse.csr_matrix(
        (np.ones(len(y_index)), (np.arange(len(y_index)), y_index)),
        shape=(len(y_index), n_classes),
    )
    weights = np.ones(len(y_index)) if weights is None else weights
    if replicate_weights is not None:
        weights = replicate_weights * weights
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((weights * values) @ one_hot) / (weights @ one_hot)


def poisson_bootstrap(values, y_index, n_classes, n_bootstrap, rng, weights=None, batch=100):
    """Bootstrap replicates of per-class weighted means (Poisson resampling).

    Each sample gets an independent Poisson(1) weight per replicate, the
    standard large-sample bootstrap, vectorised over replicates and classes.

    Returns
    -------
    ndarray of shape (n_bootstrap, n_classes)
    """
    replicates = []
    for start in range(0, n_bootstrap, batch):
        size = min(batch, n_bootstrap - start)
        draws = rng.poisson(1.0, size=(size, len(values))).astype(float)
        replicates.append(class_means(values, y_index, n_classes, weights, draws))
    return np.vstack(replicates)


def bootstrap_intervals(
    values, y_index, n_classes, n_bootstrap, rng, confidence_level, weights=None
):
    """Per-class bootstrap intervals of `values`' class means, and the mean's replicates.

    Returns
    -------
    low, high : ndarray of shape (n_classes,)
        Quantiles (1 -+ confidence_level) / 2 of each class's replicates.
    total_replicates : ndarray of shape (n_bootstrap,)
        Replicates of the mean over classes (for the interval of the mean).
    """
    replicates = poisson_bootstrap(values, y_index, n_classes, n_bootstrap, rng, weights)
    alpha = 1 - confidence_level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # classes without samples
        low, high = np.nanquantile(replicates, [alpha / 2, 1 - alpha / 2], axis=0)
        total_replicates = np.nanmean(replicates, axis=1)
    return low, high, total_replicates


@dataclass
class Selection:
    """Choices and gains from `select` (indices refer to the grid of values)."""

    best_global: int
    per_class: np.ndarray  # (K,) chosen value index per class, on all folds
    class_metric: np.ndarray  # (n_values, K) mean over folds, in the metric's units
    global_metric: np.ndarray  # (n_values,) mean over folds
    oracle_loss: np.ndarray  # (K,) >= 0: what the global choice costs each class
    honest_gain: np.ndarray  # (K,) cross-fitted gain of the per-class choice (> 0: better)
    honest_low: np.ndarray
    honest_high: np.ndarray
    total_replicates: np.ndarray  # (n_bootstrap,) mean over classes of the gain
    support: np.ndarray  # (K,) out-of-fold weight per class
    # (n_values,) values whose global metric is within noise of the best's (`global_ties`)
    global_tied: np.ndarray = None
    # (K,) the class's chosen value is better than every other (no tie)
    unique_best: np.ndarray = None
    # per record: the (global index, per-class indices) its gains were scored
    # with, chosen on the other half of the folds (or on all folds without split)
    fold_choices: list = field(default_factory=list)


def _fold_metrics(records, n_classes, metric, global_metric):
    """Per-fold class metric (n_folds, n_values, K) and global metric (n_folds, n_values)."""
    class_values, global_values = [], []
    for record in records:
        with np.errstate(invalid="ignore", divide="ignore"):
            class_values.append(scores_from_counts(*fold_counts(record, n_classes))[metric])
        global_values.append([s[global_metric] for s in record.global_scores])
    return np.array(class_values), np.array(global_values, dtype=float)


def global_contributions(records, n_classes, global_metric):
    """Each out-of-fold sample's share of the global metric's mean over folds, or None.

    For the global metrics that are weighted sums over samples (accuracy,
    balanced accuracy, deviance), the mean over folds of the fold's metric is
    the sum over all out-of-fold samples of these shares: a sample of fold f
    weighing w counts w / W_f / F (balanced accuracy: w / W_fk / K_f / F,
    with W_fk its class's weight in the fold and K_f the classes present
    there). None for the others (worst-class ones and a user's score).

    Returns
    -------
    ndarray of shape (n_values, n_samples) or None
        Samples in the order of the records.
    """
    info = GLOBAL_METRIC_INFO[global_metric]
    if not info.by_sample:
        return None
    shares = []
    for record in records:
        weights, y_index = record.weights, record.y_index
        if global_metric == "balanced_accuracy":
            support = np.bincount(y_index, weights=weights, minlength=n_classes)
            weight = weights / support[y_index] / np.count_nonzero(support)
        else:
            weight = weights / weights.sum()
        per_sample = per_sample_score(
            info.partner, record.predicted, record.proba_of_true, y_index
        )  # at every value: (n_values, n_test)
        shares.append(per_sample * weight / len(records))
    return np.concatenate(shares, axis=1)


def global_ties(records, n_classes, global_metric, best, mean_global, confidence_level):
    """The values whose global metric is indistinguishable from the best value's.

    A value is tied with the best when their difference in the mean over
    folds is within `confidence_level` of zero by a paired test on the
    out-of-fold samples (their shares, `global_contributions`: the sum of
    the differences against its standard error under resampling of the
    samples; for the accuracy, McNemar's test). Global metrics that are not
    sums over samples are tied only when equal.

    Returns
    -------
    ndarray of bool, shape (n_values,)
        True at `best`.
    """
    from scipy.stats import norm

    sign = GLOBAL_METRICS[global_metric]
    equal = np.isclose(mean_global, mean_global[best], rtol=1e-12, atol=1e-12)
    shares = global_contributions(records, n_classes, global_metric)
    if shares is None:
        return equal
    differences = sign * (shares[best][None, :] - shares)  # >= 0 in sum: the best is better
    total = differences.sum(axis=1)
    centred = differences - differences.mean(axis=1, keepdims=True)
    spread = np.sqrt(np.sum(centred**2, axis=1))  # of the sum, samples drawn again
    return equal | (total <= norm.ppf(0.5 + confidence_level / 2) * spread)


def _choose(class_values, global_values, folds, metric, global_metric):
    """Global index and per-class indices chosen on `folds`.

    Also the means over those folds, and per class whether its choice is its
    only best value.
    """
    global_sign = GLOBAL_METRICS[global_metric]
    mean_global = global_values[folds].mean(axis=0)
    best_global = int(np.argmax(global_sign * mean_global))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a class absent from these folds
        mean_class = np.nanmean(class_values[folds], axis=0)  # (values, K)
    signed = CLASS_METRICS[metric] * mean_class
    signed = np.where(np.isnan(signed), -np.inf, signed)
    best = signed.max(axis=0)
    tied = np.isclose(signed, best[None, :], rtol=1e-12, atol=1e-12)
    distance = np.abs(np.arange(len(mean_global)) - best_global)[:, None]
    per_class = np.argmin(np.where(tied, distance, np.inf), axis=0)
    return best_global, per_class, mean_class, mean_global, tied.sum(axis=0) == 1


def select(
    records,
    n_classes,
    *,
    metric,
    global_metric,
    split=True,
    n_bootstrap=1000,
    confidence_level=0.95,
    rng=None,
):
    """Global and per-class choices, oracle losses and cross-fitted gains.

    Parameters
    ----------
    records : list of FoldRecords
    n_classes : int
    metric : {"recall", "deviance", "one_vs_all_accuracy"}
    global_metric : str
        A key of the records' global scores.
    split : bool, default=True
        Cross-fit the gains (choices on one half of the folds, scored on the
        other); otherwise score the choices on the folds that made them.
    n_bootstrap : int
    confidence_level : float
    rng : numpy Generator

    Returns
    -------
    Selection
    """
    rng = np.random.default_rng() if rng is None else rng
    sign = CLASS_METRICS[metric]
    class_values, global_values = _fold_metrics(records, n_classes, metric, global_metric)
    folds = np.arange(len(records))
    best_global, per_class, mean_class, mean_global, unique_best = _choose(
        class_values, global_values, folds, metric, global_metric
    )
    columns = np.arange(n_classes)
    oracle_loss = sign * (mean_class[per_class, columns] - mean_class[best_global])

    if split:
        halves = (folds[0::2], folds[1::2])
        choice = {}
        for chosen_on, scored_on in ((halves[0], halves[1]), (halves[1], halves[0])):
            g, pc, *_ = _choose(class_values, global_values, chosen_on, metric, global_metric)
            choice.update(dict.fromkeys(scored_on, (g, pc)))
    else:
        choice = dict.fromkeys(folds, (best_global, per_class))
    differences, y_index, weights = [], [], []
    for position, record in enumerate(records):
        g, pc = choice[position]
        per_class_score = per_class_choice_score(metric, record, pc, n_classes)
        global_score = per_sample_score(
            metric, record.predicted[g], record.proba_of_true[g], record.y_index, n_classes
        )
        differences.append(sign * (per_class_score - global_score))
        y_index.append(record.y_index)
        weights.append(record.weights)
    differences, y_index = np.concatenate(differences), np.concatenate(y_index)
    weights = np.concatenate(weights)
    honest_gain = class_means(differences, y_index, n_classes, weights)
    low, high, total_replicates = bootstrap_intervals(
        differences, y_index, n_classes, n_bootstrap, rng, confidence_level, weights
    )
    return Selection(
        best_global=best_global,
        per_class=per_class,
        class_metric=mean_class,
        global_metric=mean_global,
        oracle_loss=oracle_loss,
        honest_gain=honest_gain,
        honest_low=low,
        honest_high=high,
        total_replicates=total_replicates,
        support=np.bincount(y_index, weights=weights, minlength=n_classes),
        fold_choices=[choice[position] for position in range(len(records))],
        global_tied=global_ties(
            records, n_classes, global_metric, best_global, mean_global, confidence_level
        ),
        unique_best=unique_best,
    )
