"""ClassWiseStudy: best global vs best per-class strength, the oracle gap, honestly."""

import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils import _safe_indexing, check_random_state

from ..linear_model import ClassWiseRegularizedLogisticRegression
from ..linear_model._records import cross_validated_records, uses_fast_path
from ..linear_model._selection import (
    CLASS_METRICS,
    GLOBAL_METRICS,
    SAMPLE_METRICS,
    class_means,
    per_sample_score,
    poisson_bootstrap,
    select,
)
from ..metrics._classwise import global_scores
from ._validation_curve import curve_frame

__all__ = ["ClassWiseStudy"]

_DEFAULT_GLOBAL = {"recall": "accuracy", "deviance": "deviance"}


class ClassWiseStudy:
    """Best global vs best per-class strength of a regularization (or augmentation).

    Sweeps a parameter with cross-validation (`classwise_validation_curve`),
    then measures, per class and in total:

    * the best global value (by the global metric, averaged over folds, as
      GridSearchCV would choose it) and the best value for each class (by the
      class's metric; ties broken toward the global best);
    * the oracle gap: what each class loses under the global choice;
    * the honest gain: per-class and global choices made on one half of the
      folds and scored on the other (cross-fitted), with bootstrap confidence
      intervals per class and in total, and the number of classes whose gain
      is significant (interval above zero);
    * the spread of the per-class optima (IQR of log10) and worst-class
      metrics under the global and per-class choices;
    * the realised gain, when the parameter is the C of this library's
      estimator and test data is given: the model refitted with the per-class
      C vector against the one refitted with the global C, on that data.

    Parameters
    ----------
    estimator : classifier, default=None
        By default ``ClassWiseRegularizedLogisticRegression(max_iter=1000)``.
    param_name : str, default="C"
    param_range : array-like, default=None
        For C, by default 20 values from 1e-4 to 1e4 (log-spaced).
    cv : int or cross-validation generator, default=5
        At least 2 folds (the honest selection needs two halves).
    metric : {"recall", "deviance"}, default="recall"
        The per-class metric: class accuracy, or the mean negative
        log-likelihood of the class's samples (lower is better).
    global_metric : str, default=None
        Chooses the best global value: by default "accuracy" for recall and
        "deviance" for deviance.
    selection : {"split", "oracle"}, default="split"
        "split": gains are cross-fitted as described above (the default).
        "oracle": the choices are made and scored on the same folds (an
        optimistic bound); intervals are then those of the oracle gains.
    n_bootstrap : int, default=1000
    confidence_level : float, default=0.95
    worst_k : int, default=5
        k of the worst-k-classes recall.
    random_state : int, RandomState instance or None, default=None
        For the bootstrap.
    n_jobs : int, default=None
        Folds in parallel (joblib).
    verbose : int, default=0

    Attributes
    ----------
    curve_ : pandas.DataFrame
        The tidy validation curve (see `classwise_validation_curve`).
    classes_ : ndarray of shape (n_classes,)
    param_values_ : list
    best_global_ : object
        The best global value.
    best_per_class_ : pandas.Series
        The best value of each class.
    summary_ : pandas.DataFrame
        One row per class: support, best value, metric at the best and at the
        global value, oracle loss under the global choice, honest gain with
        its interval and significance, and realised gain when computed.
    totals_ : pandas.Series
        Totals: oracle gap (mean over classes and support-weighted), honest
        gain with interval, number of significant classes, IQR of log10
        optima, worst-class metrics, realised gain.
    per_class_model_, global_model_ : estimator
        The refitted models, when the realised gain was computed.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_classreg.model_selection import ClassWiseStudy
    >>> X, y = load_digits(return_X_y=True)
    >>> study = ClassWiseStudy(param_range=[1e-3, 1e-2, 1e-1, 1.0], cv=4, random_state=0)
    >>> study = study.fit(X / 16, y)
    >>> study.best_global_
    1.0
    >>> study.summary_.columns[:4].tolist()
    ['support', 'best_value', 'metric_at_best', 'metric_at_global']
    """

    def __init__(
        self,
        estimator=None,
        *,
        param_name="C",
        param_range=None,
        cv=5,
        metric="recall",
        global_metric=None,
        selection="split",
        n_bootstrap=1000,
        confidence_level=0.95,
        worst_k=5,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.param_name = param_name
        self.param_range = param_range
        self.cv = cv
        self.metric = metric
        self.global_metric = global_metric
        self.selection = selection
        self.n_bootstrap = n_bootstrap
        self.confidence_level = confidence_level
        self.worst_k = worst_k
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _check_params(self):
        if self.metric not in SAMPLE_METRICS:
            raise ValueError(
                f"metric={self.metric!r}: the study selects per class by one of "
                f"{list(SAMPLE_METRICS)} (classwise_validation_curve gives the others)."
            )
        global_metric = self.global_metric or _DEFAULT_GLOBAL[self.metric]
        if global_metric not in GLOBAL_METRICS or global_metric == "score":
            raise ValueError(
                f"global_metric={global_metric!r} is not one of {list(GLOBAL_METRICS)}."
            )
        if self.selection not in ("split", "oracle"):
            raise ValueError(f"selection must be 'split' or 'oracle'; got {self.selection!r}.")
        if not 0 < self.confidence_level < 1:
            raise ValueError(f"confidence_level must be in (0, 1); got {self.confidence_level!r}.")
        if not (isinstance(self.n_bootstrap, (int, np.integer)) and self.n_bootstrap >= 1):
            raise ValueError(f"n_bootstrap must be a positive integer; got {self.n_bootstrap!r}.")
        estimator = (
            ClassWiseRegularizedLogisticRegression(max_iter=1000)
            if self.estimator is None
            else self.estimator
        )
        param_range = self.param_range
        if param_range is None:
            if self.param_name != "C" and not uses_fast_path(estimator, self.param_name):
                raise ValueError(f"param_range is needed for param_name={self.param_name!r}.")
            param_range = np.logspace(-4, 4, 20)
        return estimator, list(param_range), global_metric

    def fit(self, X, y, *, X_test=None, y_test=None, groups=None):
        """Run the cross-validated sweep and the analysis.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        X_test, y_test : array-like, default=None
            Held-out data for the realised gain (when the parameter is C of
            this library's estimator). Without them, no realised gain.
        groups : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        estimator, param_range, global_metric = self._check_params()
        self.classes_, records = cross_validated_records(
            estimator,
            X,
            y,
            param_name=self.param_name,
            param_range=param_range,
            cv=self.cv,
            groups=groups,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        if len(records) < 2:
            raise ValueError("The study needs at least 2 folds.")
        self.param_values_ = param_range
        self.global_metric_ = global_metric
        metrics = list(CLASS_METRICS) + [
            m for m in GLOBAL_METRICS if m not in CLASS_METRICS and m != "score"
        ]
        self.curve_ = curve_frame(self.classes_, records, self.param_name, param_range, metrics)
        rng = check_random_state(self.random_state)
        self._analyse(records, rng)
        if X_test is not None and y_test is not None:
            self._realise(estimator, X, y, X_test, y_test, rng)
        elif (X_test is None) != (y_test is None):
            raise ValueError("Give both X_test and y_test, or neither.")
        return self

    # ------------------------------------------------------------ analysis
    def _analyse(self, records, rng):
        K = len(self.classes_)
        selection = select(
            records,
            K,
            metric=self.metric,
            global_metric=self.global_metric_,
            split=self.selection == "split",
            n_bootstrap=self.n_bootstrap,
            confidence_level=self.confidence_level,
            rng=rng,
        )
        best_global, per_class = selection.best_global, selection.per_class
        self.best_global_index_ = best_global
        self.best_global_ = self.param_values_[best_global]
        self.best_per_class_index_ = per_class
        self.best_per_class_ = pd.Series(
            [self.param_values_[i] for i in per_class],
            index=pd.Index(self.classes_, name="class"),
            name=f"best {self.param_name}",
        )
        columns = np.arange(K)
        low, high = selection.honest_low, selection.honest_high
        self.summary_ = pd.DataFrame(
            {
                "support": selection.support,
                "best_value": [self.param_values_[i] for i in per_class],
                "metric_at_best": selection.class_metric[per_class, columns],
                "metric_at_global": selection.class_metric[best_global],
                "oracle_loss": selection.oracle_loss,
                "honest_gain": selection.honest_gain,
                "honest_gain_low": low,
                "honest_gain_high": high,
                "significant": low > 0,
            },
            index=pd.Index(self.classes_, name="class"),
        )
        log_optimum = self._log_values(per_class)
        recall_global = self._pooled_recall(records, best_global)
        recall_per_class = self._pooled_recall(records, per_class)
        worst_k = min(self.worst_k, K)
        alpha = 1 - self.confidence_level
        support = selection.support
        self.totals_ = pd.Series(
            {
                "param_name": self.param_name,
                "metric": self.metric,
                "global_metric": self.global_metric_,
                "selection": self.selection,
                "best_global": self.best_global_,
                "global_metric_at_best": float(selection.global_metric[best_global]),
                "oracle_gap": float(np.nanmean(selection.oracle_loss)),
                "oracle_gap_weighted": float(
                    np.nansum(selection.oracle_loss * support) / support.sum()
                ),
                "honest_gain": float(np.nanmean(selection.honest_gain)),
                "honest_gain_low": float(np.nanquantile(selection.total_replicates, alpha / 2)),
                "honest_gain_high": float(
                    np.nanquantile(selection.total_replicates, 1 - alpha / 2)
                ),
                "n_significant": int(np.sum(low > 0)),
                "n_significantly_worse": int(np.sum(high < 0)),
                "n_classes": K,
                "iqr_log10_optimum": float(np.subtract(*np.nanpercentile(log_optimum, [75, 25])))
                if log_optimum is not None
                else np.nan,
                "worst_class_accuracy_global": float(np.nanmin(recall_global)),
                "worst_class_accuracy_per_class": float(np.nanmin(recall_per_class)),
                f"worst_{worst_k}_recall_global": float(np.sort(recall_global)[:worst_k].mean()),
                f"worst_{worst_k}_recall_per_class": float(
                    np.sort(recall_per_class)[:worst_k].mean()
                ),
            },
            name="totals",
        )

    def _pooled_recall(self, records, index):
        """Out-of-fold recall of each class at a value index (or one index per class)."""
        K = len(self.classes_)
        index = np.broadcast_to(np.asarray(index), (K,))
        y_index = np.concatenate([r.y_index for r in records])
        weights = np.concatenate([r.weights for r in records])
        predicted = np.concatenate(
            [r.predicted[index[r.y_index], np.arange(len(r.y_index))] for r in records]
        )
        correct = per_sample_score("recall", predicted, None, y_index)
        return class_means(correct, y_index, K, weights)

    def _log_values(self, indices):
        values = np.asarray([self.param_values_[i] for i in indices], dtype=object)
        try:
            numeric = values.astype(float)
        except (TypeError, ValueError):
            return None
        if np.all(numeric > 0):
            return np.log10(numeric)
        return numeric

    # -------------------------------------------------------- realised gain
    def _realise(self, estimator, X, y, X_test, y_test, rng):
        """Refit with the per-class C vector and with the global C; score on test data."""
        if not uses_fast_path(estimator, self.param_name):
            warnings.warn(
                f"The realised gain needs param_name='C' of a "
                "ClassWiseRegularizedLogisticRegression (a per-class value can only be "
                f"refitted for C); it is not computed for {self.param_name!r}.",
                UserWarning,
            )
            return
        K = len(self.classes_)
        per_class_C = np.array(
            [self.param_values_[i] for i in self.best_per_class_index_], dtype=float
        )
        models = {}
        for name, C in (("global", self.best_global_), ("per_class", per_class_C)):
            model = clone(estimator).set_params(**{self.param_name: C})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # binary: per-class C collapses
                models[name] = model.fit(X, y)
        self.global_model_, self.per_class_model_ = models["global"], models["per_class"]
        y_test = np.asarray(y_test)
        y_index = np.searchsorted(self.classes_, y_test)
        known = (y_index < K) & (self.classes_[np.minimum(y_index, K - 1)] == y_test)
        y_index, y_test_known = y_index[known], y_test[known]
        sign = CLASS_METRICS[self.metric]
        per_sample, scores = {}, {}
        for name, model in models.items():
            proba = model.predict_proba(_rows(X_test, known))
            proba_of_true = proba[np.arange(len(y_index)), y_index]
            per_sample[name] = per_sample_score(
                self.metric, np.argmax(proba, axis=1), proba_of_true, y_index
            )
            scores[name] = global_scores(y_test_known, proba, labels=self.classes_, k=self.worst_k)
        differences = sign * (per_sample["per_class"] - per_sample["global"])
        gain = class_means(differences, y_index, K)
        replicates = poisson_bootstrap(differences, y_index, K, self.n_bootstrap, rng)
        alpha = 1 - self.confidence_level
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = np.nanquantile(replicates, [alpha / 2, 1 - alpha / 2], axis=0)
            total_replicates = np.nanmean(replicates, axis=1)
        self.summary_["test_support"] = np.bincount(y_index, minlength=K)
        self.summary_["realised_gain"] = gain
        self.summary_["realised_gain_low"] = low
        self.summary_["realised_gain_high"] = high
        totals = {
            "realised_gain": float(np.nanmean(gain)),
            "realised_gain_low": float(np.nanquantile(total_replicates, alpha / 2)),
            "realised_gain_high": float(np.nanquantile(total_replicates, 1 - alpha / 2)),
        }
        for name in ("global", "per_class"):
            for key, value in scores[name].items():
                totals[f"test_{key}_{name}"] = value
        self.totals_ = pd.concat([self.totals_, pd.Series(totals)])
        self.totals_.name = "totals"


def _rows(X, mask):
    """Rows of X (array, DataFrame, sparse matrix) where `mask` is True."""
    return _safe_indexing(X, np.flatnonzero(mask))
