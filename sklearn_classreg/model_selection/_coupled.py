r"""Per-class C chosen with the softmax coupling in view: tuned choices, coupled oracle.

Each class's curve in a sweep is measured while all classes share one C.
Through the softmax, a class's C moves every class's scores, so the vector of
the classes' own optima is not what the best per-class vector is: refitted,
it can lose to the global C even where each class's own curve said it gains.

Two choices take the coupling into account, both made from the study's own
sweep (its folds and out-of-fold records; no second sweep):

* ``"per_class"``: `ClassWiseRegularizationCV`'s strategy, where classes move
  only with cross-fitted evidence, and the moves are validated together;
* ``"hypergradient"``: the per-class log C that minimise the summed held-out
  deviance of the folds, by implicit differentiation, from the grid's best
  value for that deviance.

The second, scored on the very folds it was tuned on, is the **coupled
oracle**: the most a per-class C vector gains on this held-out data, found
with every class's C acting on every class. It is the softmax model's upper
bound (a local one: the descent stops at the first optimum it finds), where
the uncoupled oracle gap (each class's best value of the shared sweep) can be
far from anything a single model reaches.
"""

import warnings
from dataclasses import replace

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array

from ..linear_model._cv import MODEL_PARAMS, ClassWiseRegularizationCV, Sweep
from ..linear_model._engine import ignore_binary_C_warning
from ..linear_model._records import cross_validated_records
from ..linear_model._selection import bootstrap_intervals, class_means, per_sample_score
from ..metrics._names import CLASS_METRICS

__all__ = ["coupled_gain", "tuned_choices"]

STRATEGIES = ("per_class", "hypergradient")


def _final_step(estimator, X):
    """The estimator whose C is tuned, the pipeline around it (or None), and X.

    X is the pipeline's input (each fold fits the earlier steps on its own
    training part, as the sweep did), or the estimator's, as its own fit
    would see it (DataFrames and lists as one array).
    """
    if isinstance(estimator, Pipeline):
        return estimator.steps[-1][1], estimator, X
    return estimator, None, check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32])


def tuned_choices(
    estimator,
    X,
    y,
    folds,
    classes,
    records,
    grid,
    *,
    strategies,
    metric,
    global_metric,
    n_bootstrap,
    confidence_level,
    random_state,
    n_jobs,
    max_outer_iter=30,
    outer_tol=1e-3,
    verbose=0,
):
    """The C vector each strategy of `ClassWiseRegularizationCV` picks from the records.

    Parameters
    ----------
    estimator : ClassWiseRegularizedLogisticRegression or Pipeline ending in one
    X, y : the study's training data
    folds : list of (train, test)
        The folds of `records`.
    classes : ndarray
    records : list of FoldRecords
        The sweep over `grid` on `folds`.
    grid : ndarray of float
    strategies : iterable of {"per_class", "hypergradient"}
    metric, global_metric : str
        The study's per-class and global metrics.
    n_bootstrap, confidence_level, random_state, n_jobs, max_outer_iter, outer_tol
        As in the study.
    verbose : int, default=0
        A progress bar over the hypergradient's outer steps when positive.

    Returns
    -------
    dict
        strategy -> the fitted-choice `ClassWiseRegularizationCV` (``refit``
        off): ``C_``, ``class_results_``, ``hypergradient_history_``...
    """
    final, pipeline, X_seen = _final_step(estimator, X)
    settings = {name: final.get_params()[name] for name in MODEL_PARAMS}
    sweep = Sweep(X_seen, y, folds, grid, classes, records, global_metric, metric)
    sweep = replace(sweep, pipeline=pipeline)
    chosen = {}
    for strategy in strategies:
        tuner = ClassWiseRegularizationCV(
            Cs=grid,
            strategy=strategy,
            cv=folds,
            refit=False,
            n_bootstrap=n_bootstrap,
            confidence_level=confidence_level,
            random_state=random_state,
            n_jobs=n_jobs,
            max_outer_iter=max_outer_iter,
            outer_tol=outer_tol,
            verbose=verbose,
            **settings,
        )
        with warnings.catch_warnings():
            ignore_binary_C_warning()  # binary: per-class C collapses
            chosen[strategy] = tuner._choose(sweep)
    return chosen


def coupled_gain(
    estimator,
    X,
    y,
    folds,
    records,
    param_name,
    C,
    global_index,
    *,
    n_classes,
    metric,
    n_bootstrap,
    confidence_level,
    rng,
    n_jobs,
    starts=None,
):
    """Per-class gain of the C vector `C` over the global value, on the sweep's folds.

    The folds are refitted at `C` (each from its fitted model in `starts`,
    e.g. the hypergradient's fold solutions, or from zero); each class's
    metric is averaged over folds as the study's curves are, against the
    records at `global_index`.

    Returns
    -------
    dict
        "gain" (K,), "deviance_gain" (K,), "total", "total_low", "total_high",
        "records" (the refitted folds' records).
    """
    _, refitted = cross_validated_records(
        estimator,
        X,
        y,
        param_name=param_name,
        param_range=[C],
        cv=folds,
        n_jobs=n_jobs,
        starts=starts,
    )
    out = {"records": refitted}
    for name, score in (("gain", metric), ("deviance_gain", "deviance")):
        sign = CLASS_METRICS[score]
        per_fold, differences = [], []
        for old, new in zip(records, refitted, strict=True):
            difference = sign * (
                per_sample_score(
                    score, new.predicted[0], new.proba_of_true[0], new.y_index, n_classes
                )
                - per_sample_score(
                    score,
                    old.predicted[global_index],
                    old.proba_of_true[global_index],
                    old.y_index,
                    n_classes,
                )
            )
            per_fold.append(class_means(difference, old.y_index, n_classes, old.weights))
            differences.append(difference)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a class absent from a fold
            out[name] = np.nanmean(per_fold, axis=0)
        if name == "gain":
            y_index = np.concatenate([r.y_index for r in records])
            weights = np.concatenate([r.weights for r in records])
            low, high, totals = bootstrap_intervals(
                np.concatenate(differences),
                y_index,
                n_classes,
                n_bootstrap,
                rng,
                confidence_level,
                weights,
            )
            alpha = 1 - confidence_level
            out.update(
                total=float(np.nanmean(out["gain"])),
                total_low=float(np.nanquantile(totals, alpha / 2)),
                total_high=float(np.nanquantile(totals, 1 - alpha / 2)),
                low=low,
                high=high,
            )
    return out
