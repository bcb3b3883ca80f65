"""ClassWiseStudy: best global vs best per-class strength, the oracle gap, honestly."""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, check_random_state, get_tags, indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _check_feature_names, _check_n_features

from .._utils._params import parameter_label
from .._utils._validation import check_targets
from ..linear_model import ClassWiseRegularizedLogisticRegression
from ..linear_model._engine import ignore_binary_C_warning
from ..linear_model._records import (
    PATH_MEMORY,
    cross_validated_records,
    float64_proba,
    uses_fast_path,
)
from ..linear_model._selection import (
    bootstrap_intervals,
    class_means,
    per_sample_score,
    select,
)
from ..metrics._classwise import global_scores
from ..metrics._names import CLASS_METRIC_INFO, CLASS_METRICS, GLOBAL_METRICS, SAMPLE_METRICS
from ._chance import chance_level, split_half_agreement
from ._coupled import STRATEGIES, coupled_gain, tuned_choices
from ._validation_curve import curve_frame
from ._verdict import verdict

__all__ = ["ClassWiseStudy"]

class ClassWiseStudy(BaseEstimator):
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
    * the chance level of that spread and of the oracle gap: their null
      distributions when all classes share one optimum (a bootstrap of the
      out-of-fold predictions), with p-values, and the agreement of the
      per-class optima chosen on the two halves of the folds;
    * when the parameter is the C of this library's estimator (alone or as a
      pipeline's last step), the **coupled oracle**: the per-class C vector
      tuned by hypergradient on the folds' held-out deviance, from the global
      optimum, scored on those same folds. Through the softmax each class's C
      moves every class's scores; this is what a per-class vector gains at
      most on this held-out data once that is accounted for, where the
      oracle gap above (each class at its own best of a sweep in which all
      classes shared C) is not reachable by any single model;
    * the realised gains, when test data is given and the parameter is one
      the estimator takes per class (C or label_smoothing): the models
      refitted with per-class vectors against the one refitted with the
      global value, scored on that data with paired bootstrap intervals. For
      label smoothing only the naive transfer is refitted. The
      vectors are those of `ClassWiseRegularizationCV`'s strategies
      ``"per_class"`` and ``"hypergradient"`` (chosen from this study's
      sweep, without a second one), and the **naive transfer**: each class's
      own optimum of the sweep, refitted together. The naive transfer shows
      what the coupling does to the classes' own optima; it is neither an
      achievable gain nor a bound.

    Parameters
    ----------
    estimator : classifier, default=None
        By default ``ClassWiseRegularizedLogisticRegression(max_iter=1000)``.
    param_name : str, default="C"
    param_range : array-like, default=None
        For C, by default 20 values from 1e-4 to 1e4 (log-spaced).
    cv : int or cross-validation generator, default=5
        At least 2 folds (the honest selection needs two halves).
    metric : {"recall", "deviance", "one_vs_all_accuracy"}, default="recall"
        The per-class metric: class accuracy (recall), the mean negative
        log-likelihood of the class's samples (lower is better), or the
        one-vs-all accuracy of Balestriero et al. (2022): the share of all
        samples on which the model is right about "is it class k?".
    global_metric : str, default=None
        Chooses the best global value: by default "accuracy" for recall and
        one-vs-all accuracy, "deviance" for deviance.
    selection : {"split", "oracle"}, default="split"
        "split": gains are cross-fitted as described above (the default).
        "oracle": the choices are made and scored on the same folds (an
        optimistic bound); intervals are then those of the oracle gains.
    n_bootstrap : int, default=1000
    confidence_level : float, default=0.95
    worst_k : int, default=5
        k of the worst-k-classes recall.
    tuned : tuple of {"per_class", "hypergradient"}, default=("per_class", "hypergradient")
        The strategies whose per-class C vectors are refitted for the realised
        gains (with test data). An empty tuple refits only the naive transfer.
    coupled_oracle : bool, default=True
        Tune the coupled oracle (hypergradient on the folds) and score it on
        the folds. It is the "hypergradient" choice, so that strategy's
        realised gain then costs only its refit.
    max_outer_iter : int, default=30
        Most outer steps of the hypergradient descent (coupled oracle and
        "hypergradient" choice), as in `ClassWiseRegularizationCV`.
    outer_tol : float, default=1e-3
        Its convergence tolerance (a first-order stationarity), as in
        `ClassWiseRegularizationCV`. A descent that stops short raises a
        ConvergenceWarning, and the verdict says the coupled oracle may be
        higher.
    chance : bool, default=True
        Compute the chance level of the spread and of the oracle gap
        (`n_bootstrap` replicates; no refits).
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
        The best global value (the best mean over folds of the global metric;
        the first in `param_range` on exact ties, as GridSearchCV).
    global_plateau_ : list
        The values of `param_range` whose global metric is indistinguishable
        from the best's at `confidence_level` (a paired test on the
        out-of-fold samples, McNemar's for the accuracy; equal values only
        for the worst-class metrics), `best_global_` included. On a flat top
        the best is decided by a few predictions, which fits certified to
        the same gap may differ in: this is the answer that does not depend
        on them.
    best_per_class_ : pandas.Series
        The best value of each class.
    summary_ : pandas.DataFrame
        One row per class: support, best value, metric at the best and at the
        global value, oracle loss under the global choice, honest gain with
        its interval and significance, and realised gain when computed.
    totals_ : pandas.Series
        Totals: oracle gap (mean over classes and support-weighted), honest
        gain with interval, number of significant classes, the spread of the
        optima (``iqr_log10_optimum``, ``iqr_optimum`` and its
        ``spread_scale``), worst-class metrics, the largest certified relative
        duality gap of the sweep's fits (``largest_gap``: every point of the
        curve is within it of its optimum); the coupled oracle gap with its
        interval, and its descent's start (``coupled_oracle_start``: the
        value with the lowest held-out deviance of the folds), steps,
        convergence and stationarity;
        the chance level (``spread_null_median``, ``spread_null_high``,
        ``spread_p_value``, the same for ``oracle_gap``, and
        ``split_half_spearman`` with its ``split_half_p_value``); the realised
        gains ``realised_gain_<choice>`` with intervals, choice in "naive",
        "per_class", "hypergradient", and the test scores of each model; the
        number of classes whose only best value is the grid's smallest and
        largest value (``n_classes_at_grid_low``, ``n_classes_at_grid_high``;
        a class tied there with other values is not counted); the smallest
        and largest value of `global_plateau_` (``global_plateau_low``,
        ``global_plateau_high``, NaN for non-numbers).
    grid_warnings_ : list of str
        Optima at an end of the grid, where it may be too short: the global
        optimum better than every other value beyond noise
        (`global_plateau_` holds the end only), or more than max(2, 5 %) of
        the classes strictly best at one end. Each is also raised as a
        UserWarning and opens the report.
    grid_short_ends_ : frozenset of {"low", "high"}
        The ends of the grid those warnings are about (the smallest and the
        largest value; the first and last for non-numbers): where the main
        job extends the grid.
    tuned_C_ : pandas.DataFrame
        Per class, the C of each tuned choice (columns "naive", "per_class",
        "hypergradient"; those computed); for a label-smoothing study, the
        naive transfer's per-class label smoothing.
    coupled_oracle_ : ClassWiseRegularizationCV
        The hypergradient choice (its ``C_`` and ``hypergradient_history_``),
        when the coupled oracle was computed.
    chance_ : ChanceLevel
        The null distributions (``spread_null``, ``oracle_gap_null``), when
        computed.
    models_ : dict of estimator
        The refitted models, by choice ("global", "naive", "per_class",
        "hypergradient"), when the realised gains were computed.

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

    _subject = "regularization"  # what the swept value controls, for the verdict

    # The metric (and the global metric, which depends on it) and the tuned
    # strategies are checked in `_check_settings`, whose messages say what else
    # there is; everything else here.
    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "get_params"]), None],
        "param_name": [str],
        "param_range": ["array-like", None],
        "cv": ["cv_object"],
        "metric": [str],
        "global_metric": [str, None],
        "selection": [StrOptions({"split", "oracle"})],
        "n_bootstrap": [Interval(Integral, 1, None, closed="left")],
        "confidence_level": [Interval(Real, 0, 1, closed="neither")],
        "worst_k": [Interval(Integral, 1, None, closed="left")],
        "tuned": [str, tuple, list],
        "coupled_oracle": ["boolean"],
        "max_outer_iter": [Interval(Integral, 0, None, closed="left")],
        "outer_tol": [Interval(Real, 0, None, closed="left")],
        "chance": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

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
        tuned=STRATEGIES,
        coupled_oracle=True,
        max_outer_iter=30,
        outer_tol=1e-3,
        chance=True,
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
        self.tuned = tuned
        self.coupled_oracle = coupled_oracle
        self.max_outer_iter = max_outer_iter
        self.outer_tol = outer_tol
        self.chance = chance
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # what X can be is what the studied estimator takes
        tags.input_tags.sparse = get_tags(self._studied()).input_tags.sparse
        tags.target_tags.required = True
        return tags

    def _studied(self):
        """The estimator whose parameter is swept (this library's by default)."""
        if self.estimator is None:
            return ClassWiseRegularizedLogisticRegression(max_iter=1000)
        return self.estimator

    # ------------------------------------------------------------------ fit
    def get_metadata_routing(self):
        """How `fit`'s metadata is routed: to the splitter (``groups``).

        Returns
        -------
        sklearn.utils.metadata_routing.MetadataRouter
        """
        return MetadataRouter(owner=type(self).__name__).add(
            splitter=check_cv(self.cv, classifier=True),
            method_mapping=MethodMapping().add(caller="fit", callee="split"),
        )

    def _split_params(self, groups, params):
        """The splitter's keyword arguments: `groups`, or what routing gives it."""
        if not _routing_enabled():
            return {"groups": groups}
        if groups is not None:
            params = {**params, "groups": groups}
        return process_routing(self, "fit", **params).splitter.split

    def _check_params(self):
        """(estimator, param_range, global_metric, tuned strategies), checked."""
        global_metric = self._check_settings()
        tuned = (self.tuned,) if isinstance(self.tuned, str) else tuple(self.tuned)
        unknown = [strategy for strategy in tuned if strategy not in STRATEGIES]
        if unknown:
            raise ValueError(
                f"tuned={self.tuned!r}: unknown strategies {unknown}; use a tuple of "
                f"{list(STRATEGIES)} (or () for the naive transfer only)."
            )
        estimator = self._studied()
        param_range = self.param_range
        if param_range is None:
            if self.param_name != "C" and not uses_fast_path(estimator, self.param_name):
                raise ValueError(f"param_range is needed for param_name={self.param_name!r}.")
            param_range = np.logspace(-4, 4, 20)
        return estimator, list(param_range), global_metric, tuned

    def _check_settings(self):
        """The metric and the global metric checked (the constraints hold the rest);
        the global metric."""
        if self.metric not in SAMPLE_METRICS:
            raise ValueError(
                f"metric={self.metric!r}: the study selects per class by one of "
                f"{list(SAMPLE_METRICS)} (classwise_validation_curve gives the others)."
            )
        global_metric = self.global_metric or CLASS_METRIC_INFO[self.metric].partner
        if global_metric not in GLOBAL_METRICS or global_metric == "score":
            raise ValueError(
                f"global_metric={global_metric!r} is not one of "
                f"{[m for m in GLOBAL_METRICS if m != 'score']}."
            )
        return global_metric

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, X_test=None, y_test=None, groups=None, **params):
        """Run the cross-validated sweep and the analysis.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        X_test, y_test : array-like, default=None
            Held-out data for the realised gain (when the parameter is C of
            this library's estimator). Without them, no realised gain.
        groups : array-like of shape (n_samples,), default=None
            For group-aware splitters (e.g. ``GroupKFold``); with metadata
            routing enabled, given to the splitter if it asks for it.
        **params : dict
            Only with ``sklearn.set_config(enable_metadata_routing=True)``:
            metadata for the splitter. The study weighs no samples (its
            bootstrap intervals, oracles and held-out refits are unweighted),
            so ``sample_weight`` is an error rather than silently dropped.

        Returns
        -------
        self
        """
        if "sample_weight" in params:
            raise ValueError(
                "ClassWiseStudy weighs no samples: its bootstrap intervals, oracles and "
                "held-out refits are unweighted. Drop sample_weight (or study a resampled "
                "dataset)."
            )
        _raise_for_params(params, self, "fit")
        estimator, param_range, global_metric, tuned = self._check_params()
        if (X_test is None) != (y_test is None):
            raise ValueError("Give both X_test and y_test, or neither.")
        X, y = indexable(X, y)  # sparse matrices as CSR, which folds can index
        y_checked = check_targets(X, y)
        _check_n_features(self, X, reset=True)  # where X has a number of features
        _check_feature_names(self, X, reset=True)
        splitter = check_cv(self.cv, y_checked, classifier=True)
        folds = list(splitter.split(X, y_checked, **self._split_params(groups, params)))
        grid = _numeric_C_grid(estimator, self.param_name, param_range)
        testing = X_test is not None
        strategies = [
            s
            for s in STRATEGIES
            if (s in tuned and testing) or (s == "hypergradient" and self.coupled_oracle)
        ]
        tuning = grid is not None and bool(strategies)
        self.classes_, records = cross_validated_records(
            estimator,
            X,
            y,
            param_name=self.param_name,
            param_range=param_range,
            cv=folds,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            path_memory=PATH_MEMORY if tuning else 0,  # the tuned choices start there
        )
        rng, generator = self._summarise(records, param_range, global_metric)
        tuners = {}
        if tuning:
            tuners = tuned_choices(
                estimator,
                X,
                y_checked,
                folds,
                self.classes_,
                records,
                grid,
                strategies=strategies,
                metric=self.metric,
                global_metric=global_metric,
                n_bootstrap=self.n_bootstrap,
                confidence_level=self.confidence_level,
                random_state=rng.randint(2**31),
                n_jobs=self.n_jobs,
                max_outer_iter=self.max_outer_iter,
                outer_tol=self.outer_tol,
                verbose=self.verbose,
            )
        if "hypergradient" in tuners and self.coupled_oracle:
            self._coupled_oracle(estimator, X, y_checked, folds, records, tuners, generator)
        if testing:
            chosen = {s: tuners[s].C_ for s in tuned if s in tuners}
            self._realise(estimator, X, y, X_test, y_test, chosen, rng)
        return self

    # ------------------------------------------------------------ analysis
    def _summarise(self, records, param_range, global_metric):
        """The curve, the choices and gains, and their chance level, from the records.

        Returns the random states of what follows: (RandomState, Generator).
        """
        if len(records) < 2:
            raise ValueError("The study needs at least 2 folds.")
        self.param_values_ = param_range
        self.global_metric_ = global_metric
        metrics = list(CLASS_METRICS) + [
            m for m in GLOBAL_METRICS if m not in CLASS_METRICS and m != "score"
        ]
        self.curve_ = curve_frame(self.classes_, records, self.param_name, param_range, metrics)
        rng = check_random_state(self.random_state)
        generator = np.random.default_rng(rng.randint(2**31))
        self._analyse(records, rng)
        if self.chance:
            self._chance_level(records, generator)
        return rng, generator

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
        self._fold_choices = selection.fold_choices
        best_global, per_class = selection.best_global, selection.per_class
        self.best_global_index_ = best_global
        self.best_global_ = self.param_values_[best_global]
        self.global_plateau_ = [
            self.param_values_[index] for index in np.flatnonzero(selection.global_tied)
        ]
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
        optimum_values, scale = self._spread_values(per_class)
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
                "global_plateau_low": _numeric_end(self.global_plateau_, min),
                "global_plateau_high": _numeric_end(self.global_plateau_, max),
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
                "largest_gap": _largest(record.gaps for record in records),
                "iqr_log10_optimum": _iqr(optimum_values) if scale == "log10" else np.nan,
                "iqr_optimum": _iqr(self._spread_values(per_class, log=False)[0]),
                "spread_scale": scale,
                "worst_class_accuracy_global": float(np.nanmin(recall_global)),
                "worst_class_accuracy_per_class": float(np.nanmin(recall_per_class)),
                f"worst_{worst_k}_recall_global": float(np.sort(recall_global)[:worst_k].mean()),
                f"worst_{worst_k}_recall_per_class": float(
                    np.sort(recall_per_class)[:worst_k].mean()
                ),
            },
            name="totals",
        )
        self.grid_warnings_ = self._grid_edges(selection)
        for message in self.grid_warnings_:
            warnings.warn(message, UserWarning, stacklevel=4)

    def _grid_edges(self, selection):
        """Sentences for the optima that sit at an end of the grid (where it may be too short).

        An optimum sits at an end when the end is better than every other
        value: the global optimum beyond noise (no other value is in
        `global_plateau_`), a class's strictly (a class tied there with
        other values is not counted: its optimum is reached inside the grid).
        The global optimum at an end is always reported; the classes' optima
        when more than max(2, 5 % of the classes) sit at one end. On a flat
        top, which value is nominally best is decided by a few predictions,
        which fits certified to the same gap may differ in: these rules keep
        the verdict on the grid from following them. The ends are the
        smallest and largest values of `_edge_values` (the first and last for
        non-numbers); an end that is a bound of the parameter
        (`_domain_bounds`) is never short. Also sets the totals
        "n_classes_at_grid_low" and "n_classes_at_grid_high", and
        `grid_short_ends_`.
        """
        per_class, best_global = selection.per_class, selection.best_global
        name, values, grid_name = self._edge_values()
        try:
            numbers = np.asarray(values, dtype=float)
            order = np.argsort(numbers, kind="stable")
            ends = {"smallest": numbers[order[0]], "largest": numbers[order[-1]]}
        except (TypeError, ValueError):
            numbers = np.asarray(values, dtype=object)
            ends = {"first": numbers[0], "last": numbers[-1]}
        bounds = dict(zip(("low", "high"), self._domain_bounds(), strict=True))
        chosen = numbers[np.asarray(per_class)]
        sides = zip(("low", "high"), ends.values(), strict=True)
        at_end = {side: (chosen == value) & selection.unique_best for side, value in sides}
        self.totals_["n_classes_at_grid_low"] = int(np.sum(at_end["low"]))
        self.totals_["n_classes_at_grid_high"] = int(np.sum(at_end["high"]))
        self.grid_short_ends_ = frozenset()
        if len(np.unique(numbers.astype(str))) < 3:
            return []
        K = len(self.classes_)
        few = max(2, int(np.ceil(0.05 * K)))
        messages, short = [], set()
        for side, (end, value) in zip(("low", "high"), ends.items(), strict=True):
            if bounds[side] is not None and value == bounds[side]:
                continue  # the end of what the parameter can be: nothing lies beyond
            n_classes = int(np.sum(at_end[side]))
            global_at_end = numbers[best_global] == value and selection.global_tied.sum() == 1
            if global_at_end or n_classes > few:
                short.add(side)
            if global_at_end:
                messages.append(
                    f"The best global {name} is the {end} value of {grid_name} "
                    f"({_shown(value)}): the grid may be too short on that side; extend it."
                )
            if n_classes > few:
                messages.append(
                    f"{n_classes} of {K} classes have their best {name} at the {end} value "
                    f"of {grid_name} ({_shown(value)}): their optima may lie beyond it, "
                    "and the spread of optima and the oracle gap are then understated; "
                    "extend the grid."
                )
        self.grid_short_ends_ = frozenset(short)
        return messages

    def _edge_values(self):
        """(name, value at each grid point, the grid's name): what the ends are judged on."""
        return self.param_name, self.param_values_, "param_range"

    def _domain_bounds(self):
        """(lowest, highest) value the swept parameter can take, None where unbounded.

        An optimum there is an answer (label smoothing 0: none is best), not
        a sign that the grid is too short.
        """
        if self.param_name.rsplit("__", 1)[-1] == "label_smoothing":
            return 0.0, None
        return None, None

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

    def _spread_values(self, indices, *, log=True):
        """(the swept values at `indices` on the spread's scale, that scale).

        The scale is "log10" when every swept value is positive (C), else
        "linear" (a grid with 0, such as label smoothing's); (None, "") when
        the values are not numbers.
        """
        try:
            grid = np.asarray(self.param_values_, dtype=object).astype(float)
        except (TypeError, ValueError):
            return None, ""
        values = grid[np.asarray(list(indices), dtype=np.intp)]
        if log and np.all(grid > 0):
            return np.log10(values), "log10"
        return values, "linear"

    # ---------------------------------------------------------- chance level
    def _chance_level(self, records, rng):
        """Null distributions of the spread and the oracle gap; split-half agreement."""
        K = len(self.classes_)
        log_values, _ = self._spread_values(range(len(self.param_values_)))
        self.chance_ = chance_level(
            records,
            K,
            metric=self.metric,
            log_values=log_values,
            n_bootstrap=self.n_bootstrap,
            rng=rng,
        )
        positions = np.arange(len(records))
        correlation, p_value = split_half_agreement(
            self._fold_choices,
            (positions[0::2], positions[1::2]),
            log_values,
            self.n_bootstrap,
            rng,
        )
        alpha = 1 - self.confidence_level
        chance = self.chance_
        totals = {"chance_spread": chance.spread, "chance_oracle_gap": chance.oracle_gap}
        for name, null in (("spread", chance.spread_null), ("oracle_gap", chance.oracle_gap_null)):
            null = null[np.isfinite(null)]  # no spread of non-numeric values
            totals[f"{name}_null_median"] = float(np.median(null)) if len(null) else np.nan
            totals[f"{name}_null_high"] = (
                float(np.quantile(null, 1 - alpha)) if len(null) else np.nan
            )
        totals["spread_p_value"] = chance.spread_p_value
        totals["oracle_gap_p_value"] = chance.oracle_gap_p_value
        totals["split_half_spearman"] = correlation
        totals["split_half_p_value"] = p_value
        self._add_totals(totals)

    # --------------------------------------------------------- coupled oracle
    def _coupled_oracle(self, estimator, X, y, folds, records, tuners, rng):
        """The hypergradient's per-class C scored on the folds it was tuned on."""
        tuner = tuners["hypergradient"]
        self.coupled_oracle_ = tuner
        coupled = coupled_gain(
            estimator,
            X,
            y,
            folds,
            records,
            self.param_name,
            tuner.C_,
            self.best_global_index_,
            n_classes=len(self.classes_),
            metric=self.metric,
            n_bootstrap=self.n_bootstrap,
            confidence_level=self.confidence_level,
            rng=rng,
            n_jobs=self.n_jobs,
            starts=getattr(tuner, "_fold_solutions", None),
        )
        self.summary_["coupled_oracle_C"] = tuner.C_
        self.summary_["coupled_oracle_gain"] = coupled["gain"]
        self.summary_["coupled_oracle_gain_low"] = coupled["low"]
        self.summary_["coupled_oracle_gain_high"] = coupled["high"]
        self._add_totals(
            {
                "coupled_oracle_gap": coupled["total"],
                "coupled_oracle_gap_low": coupled["total_low"],
                "coupled_oracle_gap_high": coupled["total_high"],
                "coupled_oracle_deviance_gain": float(np.nanmean(coupled["deviance_gain"])),
                "coupled_oracle_start": float(tuner.hypergradient_start_C_),
                "coupled_oracle_outer_iter": len(tuner.hypergradient_history_) - 1,
                "coupled_oracle_converged": bool(tuner.hypergradient_converged_),
                "coupled_oracle_stationarity": float(tuner.hypergradient_stationarity_),
            }
        )

    # -------------------------------------------------------- realised gains
    def _realise(self, estimator, X, y, X_test, y_test, tuned, rng):
        """Refit with each per-class vector and with the global value; score on test data.

        The parameter is one the estimator takes per class: C, or label
        smoothing (whose tuned strategies do not exist: only the naive
        transfer is refitted).
        """
        if not _takes_per_class_values(estimator, self.param_name):
            warnings.warn(
                f"The realised gains need a parameter that {type(estimator).__name__} takes "
                "per class (C or label_smoothing of a ClassWiseRegularizedLogisticRegression, "
                f"or of a Pipeline's last step); they are not computed for "
                f"{self.param_name!r}.",
                UserWarning,
            )
            return
        choices = {
            "global": self.best_global_,
            "naive": np.array(
                [self.param_values_[i] for i in self.best_per_class_index_], dtype=float
            ),
            **tuned,
        }
        self.tuned_C_ = pd.DataFrame(
            {name: C for name, C in choices.items() if name != "global"},
            index=pd.Index(self.classes_, name="class"),
        )
        self.models_ = {}
        with warnings.catch_warnings():
            ignore_binary_C_warning()  # binary: per-class C collapses
            for name, C in choices.items():
                if name == "global":
                    model = clone(estimator).set_params(**{self.param_name: C}).fit(X, y)
                else:
                    model = _warm_refit(self.models_["global"], self.param_name, C, X, y)
                self.models_[name] = model
        totals = self._score_held_out(X_test, y_test, rng)
        global_log_C = np.log(float(self.best_global_))
        for name, C in tuned.items():
            moved = np.abs(np.log(np.asarray(C, dtype=float)) - global_log_C) > 1e-9
            totals[f"n_classes_moved_{name}"] = int(moved.sum())
        self._add_totals(totals)

    def _score_held_out(self, X_test, y_test, rng):
        """Score `models_` on held-out data: each choice against "global", paired.

        Adds the per-class realised gains and their bootstrap intervals to
        `summary_` (with the held-out support) and returns their totals and
        each model's held-out scores (``test_<score>_<choice>``). Held-out
        samples of a class the training data lacked are left out.
        """
        K = len(self.classes_)
        y_test = np.asarray(y_test)
        y_index = np.searchsorted(self.classes_, y_test)
        known = (y_index < K) & (self.classes_[np.minimum(y_index, K - 1)] == y_test)
        y_index, y_test_known = y_index[known], y_test[known]
        sign = CLASS_METRICS[self.metric]
        per_sample, scores = {}, {}
        for name, model in self.models_.items():
            proba = float64_proba(model, _rows(X_test, known))
            proba_of_true = proba[np.arange(len(y_index)), y_index]
            per_sample[name] = per_sample_score(
                self.metric, np.argmax(proba, axis=1), proba_of_true, y_index, K
            )
            scores[name] = global_scores(y_test_known, proba, labels=self.classes_, k=self.worst_k)
        self.summary_["test_support"] = np.bincount(y_index, minlength=K)
        alpha = 1 - self.confidence_level
        totals = {}
        for name in self.models_:
            if name == "global":
                continue
            differences = sign * (per_sample[name] - per_sample["global"])
            gain = class_means(differences, y_index, K)
            low, high, total_replicates = bootstrap_intervals(
                differences, y_index, K, self.n_bootstrap, rng, self.confidence_level
            )
            key = f"realised_gain_{name}"
            self.summary_[key] = gain
            self.summary_[f"{key}_low"] = low
            self.summary_[f"{key}_high"] = high
            totals[key] = float(np.nanmean(gain))
            totals[f"{key}_low"] = float(np.nanquantile(total_replicates, alpha / 2))
            totals[f"{key}_high"] = float(np.nanquantile(total_replicates, 1 - alpha / 2))
        for name in self.models_:
            for key, value in scores[name].items():
                totals[f"test_{key}_{name}"] = value
        return totals

    def verdict(self):
        """The study's answer in plain words, as (heading, sentence) pairs.

        What per-class values could win at most (the coupled oracle), what
        choosing per class wins on held-out data (with intervals), and how far
        the spread of the per-class optima is from chance; a part that was not
        computed is left out or said in other words.

        Returns
        -------
        list of (str, str)
        """
        return verdict(
            self.totals_,
            metric=self.metric,
            param_label=parameter_label(self.param_name),
            alpha=1 - self.confidence_level,
            subject=self._subject,
        )

    def _add_totals(self, totals):
        self.totals_ = pd.concat([self.totals_, pd.Series(totals, dtype=object)])
        self.totals_.name = "totals"


def _largest(arrays):
    """The largest finite value of some arrays (NaN when there is none)."""
    values = np.concatenate([np.ravel(a) for a in arrays if a is not None] or [[np.nan]])
    values = values[np.isfinite(values)]
    return float(values.max()) if len(values) else np.nan


def _shown(value):
    """A swept value as a person writes it: 10.0 rather than np.float64(10.0)."""
    if isinstance(value, np.generic):
        value = value.item()
    return f"{value:g}" if isinstance(value, float) else repr(value)


def _numeric_end(values, end):
    """`end` (min or max) of the values as a float, or NaN when they are not numbers."""
    try:
        numbers = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return np.nan
    return float(end(numbers)) if numbers.ndim == 1 else np.nan  # not pairs of a joint grid


def _iqr(values):
    """Interquartile range (NaN for no values)."""
    if values is None or not len(values):
        return np.nan
    return float(np.subtract(*np.nanpercentile(values, [75, 25])))


def _numeric_C_grid(estimator, param_name, param_range):
    """The swept values as C floats, when per-class C vectors can be refitted."""
    if not uses_fast_path(estimator, param_name):
        return None
    try:
        grid = np.asarray(param_range, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return grid if grid.ndim == 1 else None


def _takes_per_class_values(estimator, param_name):
    """Whether `param_name` is C or label_smoothing of this library's estimator
    (itself, or the last step of a Pipeline)."""
    step, _, name = param_name.rpartition("__")
    if name not in ("C", "label_smoothing"):
        return False
    return uses_fast_path(estimator, f"{step}__C" if step else "C")


def _warm_refit(fitted, param_name, C, X, y):
    """A copy of the fitted model refitted with C (or another per-class value),
    starting from its solution.

    Each fit still stops on its own certified gap (the start only saves
    iterations: the per-class vectors lie near the global value). The copy
    keeps the estimator's own ``warm_start`` setting.
    """
    step = param_name.rpartition("__")[0]
    warm_start = f"{step}__warm_start" if step else "warm_start"
    model = copy.deepcopy(fitted)
    setting = model.get_params()[warm_start]
    model.set_params(**{param_name: C, warm_start: True}).fit(X, y)
    return model.set_params(**{warm_start: setting})


def _rows(X, mask):
    """Rows of X (array, DataFrame, sparse matrix) where `mask` is True."""
    return _safe_indexing(X, np.flatnonzero(mask))
