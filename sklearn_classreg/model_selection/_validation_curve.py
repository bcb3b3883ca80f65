"""classwise_validation_curve: validation scores per class, as a tidy DataFrame."""

import numpy as np
import pandas as pd
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)

from ..linear_model._records import cross_validated_records
from ..linear_model._selection import fold_counts
from ..metrics._classwise import scores_from_counts
from ..metrics._names import CLASS_METRICS, GLOBAL_METRICS

__all__ = ["classwise_validation_curve"]

ALL = "all"  # the "class" of rows that hold global metrics


def curve_frame(classes, records, param_name, param_range, metrics):
    """The tidy DataFrame of the records (see `classwise_validation_curve`)."""
    global_metrics = [m for m in GLOBAL_METRICS if m != "score"]
    unknown = set(metrics) - set(CLASS_METRICS) - set(global_metrics)
    if unknown:
        raise ValueError(
            f"Unknown metrics {sorted(unknown)}; per-class metrics are {list(CLASS_METRICS)}, "
            f"global ones {global_metrics}."
        )
    n_values, n_classes = len(param_range), len(classes)
    values = np.empty(n_values, dtype=object)
    for i, value in enumerate(param_range):  # values may be tuples (a joint grid)
        values[i] = value
    frames = []
    for record in records:
        scores = scores_from_counts(*fold_counts(record, n_classes))
        support = scores["support"].ravel()
        for metric in (m for m in metrics if m in CLASS_METRICS):
            frames.append(
                pd.DataFrame(
                    {
                        param_name: np.repeat(values, n_classes),
                        "value_index": np.repeat(np.arange(n_values), n_classes),
                        "fold": record.fold,
                        "class": np.tile(classes.astype(object), n_values),
                        "metric": metric,
                        "value": scores[metric].ravel(),
                        "support": support,
                    }
                )
            )
        for metric in (m for m in metrics if m in global_metrics):
            frames.append(
                pd.DataFrame(
                    {
                        param_name: values,
                        "value_index": np.arange(n_values),
                        "fold": record.fold,
                        "class": ALL,
                        "metric": metric,
                        "value": [score[metric] for score in record.global_scores],
                        "support": float(len(record.y_index)),
                    }
                )
            )
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs.update(param_name=param_name, classes=classes.tolist())
    return frame


def classwise_validation_curve(
    estimator,
    X,
    y,
    *,
    param_name,
    param_range,
    cv=5,
    metrics=("recall", "deviance", "accuracy", "balanced_accuracy", "worst_class_accuracy"),
    groups=None,
    params=None,
    n_jobs=None,
    verbose=0,
):
    """Cross-validated scores per class along a parameter: a tidy DataFrame.

    Like :func:`sklearn.model_selection.validation_curve`, for any parameter of
    any classifier or Pipeline (an upstream augmentation strength too), but
    scored per class. When the parameter is the ``C`` of a
    `ClassWiseRegularizedLogisticRegression` (the estimator, or the last step
    of a Pipeline), each fold fits one warm-started `regularization_path`
    instead of one model per value, and a Pipeline's earlier steps once.

    Parameters
    ----------
    estimator : classifier
        Needs ``predict_proba``.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    param_name : str
        Parameter to sweep (``"C"``, ``"step__param"``...).
    param_range : array-like
        Values to try, in this order.
    cv : int, cross-validation generator or iterable, default=5
        Stratified k-fold for an int, as in scikit-learn.
    metrics : sequence of str
        Per-class metrics among "recall", "precision", "one_vs_all_accuracy",
        "deviance"; global ones among "accuracy", "balanced_accuracy",
        "deviance", "worst_class_accuracy", "worst_k_recall" (k=5),
        "worst_pairwise_accuracy". "deviance" gives both.
    groups : array-like of shape (n_samples,), default=None
        For group-aware splitters.
    params : dict, default=None
        Metadata for the fits, as in :func:`sklearn.model_selection.validation_curve`.
        The one the records use is ``sample_weight``: it weights the training
        fits and the held-out metrics (and "support" is then the held-out
        weight). Without metadata routing it is given to the estimator (for a
        Pipeline, enable routing). With ``enable_metadata_routing=True`` it
        goes where the estimator asked (``set_fit_request(sample_weight=True)``;
        unrequested weights raise), and `groups` goes to the splitter that
        asks for it.
    n_jobs : int, default=None
        Folds run in parallel with joblib (any joblib backend: Dask, Ray...).
    verbose : int, default=0
        A progress bar over folds when positive.

    Returns
    -------
    pandas.DataFrame
        One row per value x fold x class x metric, with columns
        ``[param_name, "value_index", "fold", "class", "metric", "value",
        "support"]`` ("value_index" is the position in `param_range`); rows
        whose "class" is "all" hold the global metrics. Scores are on each
        fold's held-out part; "support" is the number of held-out samples.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_classreg import ClassWiseRegularizedLogisticRegression
    >>> from sklearn_classreg.model_selection import classwise_validation_curve
    >>> X, y = load_iris(return_X_y=True)
    >>> curve = classwise_validation_curve(
    ...     ClassWiseRegularizedLogisticRegression(max_iter=1000), X, y,
    ...     param_name="C", param_range=[0.01, 1.0], cv=3, metrics=["recall", "accuracy"])
    >>> curve.columns.tolist()
    ['C', 'value_index', 'fold', 'class', 'metric', 'value', 'support']
    >>> recall = curve[curve.metric == "recall"].groupby(["C", "class"]).value.mean()
    >>> recall.unstack().round(2)
    class    0     1     2
    C
    0.01   1.0  0.64  0.98
    1.00   1.0  0.94  0.98
    """
    sample_weight, groups = _routed_fit_metadata(estimator, cv, y, groups, params)
    classes, records = cross_validated_records(
        estimator,
        X,
        y,
        param_name=param_name,
        param_range=param_range,
        cv=cv,
        groups=groups,
        sample_weight=sample_weight,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    return curve_frame(classes, records, param_name, list(param_range), list(metrics))


def _routed_fit_metadata(estimator, cv, y, groups, params):
    """(sample_weight, groups) for the records, from `params` and metadata routing."""
    params = {} if params is None else dict(params)
    if _routing_enabled():
        if groups is not None:
            params["groups"] = groups
        router = (
            MetadataRouter(owner="classwise_validation_curve")
            .add(
                estimator=estimator, method_mapping=MethodMapping().add(caller="fit", callee="fit")
            )
            .add(
                splitter=check_cv(cv, y, classifier=True),
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
        )
        routed = process_routing(router, "fit", **params)
        fit_params, groups = dict(routed.estimator.fit), routed.splitter.split.get("groups")
    else:
        fit_params = params
        if "sample_weight" in fit_params and isinstance(estimator, Pipeline):
            raise ValueError(
                "params={'sample_weight': ...} with a Pipeline needs metadata routing, to say "
                "which steps take the weights: sklearn.set_config(enable_metadata_routing=True) "
                "and set_fit_request(sample_weight=True) on those steps."
            )
    sample_weight = fit_params.pop("sample_weight", None)
    if fit_params:
        raise ValueError(
            f"params has {sorted(fit_params)}: the per-class records take sample_weight "
            "only (and groups, for the splitter)."
        )
    return sample_weight, groups
