"""ClassWiseRegularizationCV: choose one C per class by cross-validation, then refit."""

import warnings
from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _check_sample_weight, validate_data
from tqdm.auto import tqdm

from .._objective._penalty import check_C
from .._utils._validation import check_label_types
from ..metrics._names import GLOBAL_METRIC_INFO, GLOBAL_METRICS, SCORING_METRICS
from ._engine import C_used, Engine, ignore_binary_C_warning, validate_problem
from ._hypergradient import FoldProblem, optimise_log_C
from ._logistic import (
    ClassWiseRegularizedLogisticRegression,
    ProbabilisticLinearClassifierMixin,
    dense_coef,
)
from ._records import PATH_MEMORY, cross_validated_records, path_start
from ._selection import select

__all__ = ["ClassWiseRegularizationCV", "MODEL_PARAMS", "Sweep"]

MODEL_PARAMS = (
    "fit_intercept",
    "class_weight",
    "label_smoothing",
    "logit_penalty",
    "solver",
    "tol",
    "max_iter",
    "backend",
    "device",
)


class ClassWiseRegularizationCV(ProbabilisticLinearClassifierMixin, BaseEstimator):
    """Class-wise regularized logistic regression with C chosen by cross-validation.

    Like :class:`sklearn.linear_model.LogisticRegressionCV`, with three ways of
    choosing C:

    * ``"global"``: one C for all classes, the best mean held-out score over
      the folds (as LogisticRegressionCV and GridSearchCV choose it);
    * ``"per_class"``: each class takes the value of the grid that is best for
      its own held-out metric (its deviance, or its recall for accuracy-type
      scorings), where the evidence is strong: when the cross-fitted gain of
      that choice over the global one (chosen on one half of the folds, scored
      on the other) has a bootstrap interval above zero. Elsewhere the class
      keeps the global C (shrinkage toward the global choice). A class's own
      metric does not see what its C does to the other classes (the softmax
      couples them), so the moves are then validated together: on each fold,
      the model with the moves chosen on the other half of the folds, taken
      a fraction ``t`` of the way in log C (``t`` in 0, 1/4, 1/2, 1), is
      scored with the global metric, and the best mean ``t`` is applied
      (``shrinkage_``; ties go to the smaller move);
    * ``"hypergradient"``: the K values log C_k are optimised on the summed
      held-out deviance of the folds by implicit differentiation (HOAG),
      starting from the grid's best value for that deviance (the global
      optimum when ``scoring`` is the deviance; ``hypergradient_start_C_``).

    With two classes, per-class C has no class-specific effect (it acts only
    through C_0 + C_1, see `ClassWiseRegularizedLogisticRegression`):
    "per_class" then keeps the global choice and "hypergradient" tunes one C.

    Each fold fits one warm-started regularization path over `Cs`; the model
    is then refitted on all the data with the chosen C.

    Parameters
    ----------
    Cs : int or array-like of float, default=10
        The grid: an int n gives n values log-spaced from 1e-4 to 1e4.
    strategy : {"per_class", "global", "hypergradient"}, default="per_class"
    cv : int, cross-validation generator or iterable, default=None
        5-fold stratified by default.
    scoring : str or callable, default=None
        None (the held-out deviance, i.e. "neg_log_loss"), "accuracy",
        "balanced_accuracy", "worst_class_accuracy", "worst_k_recall",
        "worst_pairwise_accuracy", or a scorer ``scorer(estimator, X, y)``
        (used for the global choice; classes then use their recall).
        "hypergradient" always descends the deviance.
    refit : bool, default=True
        Refit on all the data with the chosen C. Without it, ``C_`` is set
        but no model is fitted.
    confidence_level : float, default=0.95
        Of the intervals that decide, per class, whether to leave the global C.
    n_bootstrap : int, default=1000
    max_outer_iter : int, default=30
        Most outer steps of the hypergradient descent (each solves every fold).
    outer_tol : float, default=1e-3
        The hypergradient descent is converged when no change of every C
        within a factor e (inside the range of the grid, which bounds it)
        lowers the folds' mean held-out deviance by more than this fraction of
        it, to first order (``hypergradient_stationarity_``). A descent that
        stops short of it (``max_outer_iter`` reached, or no decrease found)
        raises a ConvergenceWarning.
    fit_intercept : bool, default=True
        As in `ClassWiseRegularizedLogisticRegression`, for every fit.
    class_weight : dict or "balanced", default=None
        As in `ClassWiseRegularizedLogisticRegression`.
    label_smoothing : float, array-like of shape (n_classes,) or dict, default=0.0
        As in `ClassWiseRegularizedLogisticRegression`.
    logit_penalty : float, default=0.0
        As in `ClassWiseRegularizedLogisticRegression`.
    solver : {"lbfgs", "newton-cg"}, default="lbfgs"
        As in `ClassWiseRegularizedLogisticRegression`.
    tol : float, default=1e-4
        The relative duality gap of every fit (see
        `ClassWiseRegularizedLogisticRegression`).
    max_iter : int, default=1000
        As in `ClassWiseRegularizedLogisticRegression`.
    backend : {"numba", "torch"}, default="numba"
        As in `ClassWiseRegularizedLogisticRegression`.
    device : str or torch.device, default=None
        As in `ClassWiseRegularizedLogisticRegression`.
    n_jobs : int, default=None
        Folds in parallel (joblib).
    verbose : int, default=0
        Progress bars when positive.
    random_state : int, RandomState instance or None, default=None
        For the bootstrap.

    Attributes
    ----------
    C_ : ndarray of shape (n_classes,)
        The C chosen for each class.
    C_global_ : float
        The best single C (the "global" strategy's choice).
    cv_results_ : dict of ndarray
        DataFrame-ready: per value of the grid, the mean, standard deviation
        and per-fold held-out scores ("param_C", "mean_test_score",
        "std_test_score", "split0_test_score"...), scores being larger-is-
        better (the deviance is negated, as in scikit-learn).
    class_results_ : pandas.DataFrame
        Per class: its best C on the grid, the cross-fitted gain over the
        global C with its interval, and the C chosen.
    shrinkage_ : float
        "per_class": the fraction ``t`` of the per-class moves (in log C)
        kept after their joint validation (0: the global C for all; 1: the
        moves in full). NaN for the other strategies.
    shrinkage_results_ : dict of ndarray
        "per_class": per value of ``t`` ("param_t"), the mean and per-fold
        held-out scores of the joint validation (larger is better); empty
        when no class had evidence to move.
    hypergradient_history_ : list of dict
        Outer iterations of the "hypergradient" strategy (the start is
        iteration 0): held-out deviance (adjoint-corrected to the exact inner
        solutions) and the size of its correction, stationarity, trust radius,
        inner tolerance, predicted decrease, and whether the step was judged
        and accepted (keys as in ``optimise_log_C``'s ``LogCResult.history``).
    hypergradient_converged_ : bool
        Whether the descent reached ``outer_tol`` (False for the other
        strategies).
    hypergradient_stationarity_ : float
        Where it stopped (NaN for the other strategies).
    hypergradient_start_C_ : float
        The value of the grid every class started the descent from: the one
        with the lowest mean held-out deviance over the folds, the descent's
        own objective, which may differ from ``C_global_`` when ``scoring``
        is not the deviance (NaN for the other strategies).
    classes_, coef_, intercept_, n_iter_, n_features_in_, feature_names_in_
        Of the refitted model.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_classreg import ClassWiseRegularizationCV
    >>> X, y = load_digits(return_X_y=True)
    >>> model = ClassWiseRegularizationCV(Cs=[0.01, 0.1, 1.0], strategy="global", cv=3)
    >>> model = model.fit(X / 16, y)
    >>> model.C_global_
    1.0
    >>> model.C_.shape
    (10,)
    """

    _parameter_constraints: dict = {
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "strategy": [StrOptions({"per_class", "global", "hypergradient"})],
        "cv": ["cv_object"],
        "scoring": [StrOptions({k for k in SCORING_METRICS if k}), callable, None],
        "refit": ["boolean"],
        "confidence_level": [Interval(Real, 0, 1, closed="neither")],
        "n_bootstrap": [Interval(Integral, 1, None, closed="left")],
        "max_outer_iter": [Interval(Integral, 0, None, closed="left")],
        "outer_tol": [Interval(Real, 0, None, closed="left")],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        **{
            name: ClassWiseRegularizedLogisticRegression._parameter_constraints[name]
            for name in MODEL_PARAMS
        },
    }

    def __init__(
        self,
        Cs=10,
        *,
        strategy="per_class",
        cv=None,
        scoring=None,
        refit=True,
        confidence_level=0.95,
        n_bootstrap=1000,
        max_outer_iter=30,
        outer_tol=1e-3,
        fit_intercept=True,
        class_weight=None,
        label_smoothing=0.0,
        logit_penalty=0.0,
        solver="lbfgs",
        tol=1e-4,
        max_iter=1000,
        backend="numba",
        device=None,
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        self.Cs = Cs
        self.strategy = strategy
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.confidence_level = confidence_level
        self.n_bootstrap = n_bootstrap
        self.max_outer_iter = max_outer_iter
        self.outer_tol = outer_tol
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.logit_penalty = logit_penalty
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.backend = backend
        self.device = device
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _model(self, **params):
        """The estimator this CV tunes, with this CV's settings."""
        settings = {name: getattr(self, name) for name in MODEL_PARAMS}
        return ClassWiseRegularizedLogisticRegression(**{**settings, **params})

    def _grid(self):
        if isinstance(self.Cs, Integral):
            return np.logspace(-4, 4, self.Cs)
        grid = np.asarray(self.Cs, dtype=np.float64)
        if grid.ndim != 1 or grid.size == 0:
            raise ValueError(f"Cs must be an int or a non-empty 1-d array; got {self.Cs!r}.")
        bad = ~(grid > 0)
        if bad.any():
            raise ValueError(f"Cs must be positive; got {grid[bad].tolist()}.")
        return grid

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, **params):
        """Choose C by cross-validation, then refit on all the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the training fits and of the held-out scores. A
            callable `scoring` is given them too, unless metadata routing is
            enabled: then it gets them only if it asked
            (``scorer.set_score_request(sample_weight=True)``), as in
            scikit-learn's ``LogisticRegressionCV``.
        **params : dict
            Only with ``sklearn.set_config(enable_metadata_routing=True)``:
            metadata routed to the splitter (``groups``) and to a callable
            `scoring`.

        Returns
        -------
        self
        """
        _raise_for_params(params, self, "fit")
        check_label_types(y)
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32])
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True, allow_all_zero_weights=True
            )
            if not np.sum(sample_weight, dtype=np.float64) > 0:
                raise ValueError(
                    "sample_weight sums to zero: at least one sample needs a positive weight."
                )
        grid = self._grid()
        # the global metric of the records, and the one classes are chosen by
        global_metric = "score" if callable(self.scoring) else SCORING_METRICS[self.scoring]
        class_metric = GLOBAL_METRIC_INFO[global_metric].partner
        split_params, scorer_weight = self._routed(sample_weight, params)
        cv = check_cv(self.cv, y, classifier=True)
        folds = list(cv.split(X, y, **split_params))
        model = self._model(warm_start=False, verbose=0)
        classes, records = cross_validated_records(
            model,
            X,
            y,
            param_name="C",
            param_range=list(grid),
            cv=folds,
            sample_weight=sample_weight,
            scorer=self.scoring if callable(self.scoring) else None,
            scorer_weight=scorer_weight,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            path_memory=0 if self.strategy == "global" else PATH_MEMORY,
        )
        sweep = Sweep(X, y, folds, grid, classes, records, global_metric, class_metric)
        self._choose(replace(sweep, sample_weight=sample_weight, scorer_weight=scorer_weight))
        if self.refit:
            with warnings.catch_warnings():
                ignore_binary_C_warning()  # warned below
                fitted = self._model(C=self.C_).fit(X, y, sample_weight=sample_weight)
            for name in ("coef_", "intercept_", "n_iter_", "classes_"):
                setattr(self, name, getattr(fitted, name))
        return self

    def _routed(self, sample_weight, params):
        """(the splitter's metadata, the callable scoring's weights) for `fit`.

        Without metadata routing the scorer gets `sample_weight`, as in
        scikit-learn's ``LogisticRegressionCV``; with it, what it asked for.
        """
        if not _routing_enabled():
            return {}, sample_weight
        routed = process_routing(self, "fit", sample_weight=sample_weight, **params)
        scorer_weight = routed.scorer.score.get("sample_weight") if "scorer" in routed else None
        return routed.splitter.split, scorer_weight

    def get_metadata_routing(self):
        """How `fit`'s metadata is routed (scikit-learn's metadata routing).

        ``sample_weight`` is the fit's own; ``groups`` goes to the splitter;
        a callable `scoring` gets what it asks for.

        Returns
        -------
        sklearn.utils.metadata_routing.MetadataRouter
        """
        router = MetadataRouter(owner=type(self).__name__).add_self_request(self)
        router.add(
            splitter=check_cv(self.cv, classifier=True),
            method_mapping=MethodMapping().add(caller="fit", callee="split"),
        )
        if callable(self.scoring):
            router.add(
                scorer=self.scoring,
                method_mapping=MethodMapping().add(caller="fit", callee="score"),
            )
        return router

    def _choose(self, sweep):
        """Choose C from a `Sweep`'s records by `strategy`; sets ``C_`` and the results.

        `ClassWiseStudy` calls this with its own sweep's records, so that a
        tuned choice costs no second sweep. Where the records kept their
        paths, the tuned choices' fits start from the sweep's solutions on
        the same folds.
        """
        grid, classes = sweep.grid, sweep.classes
        self.classes_ = classes
        rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31))
        selection = select(
            sweep.records,
            len(classes),
            metric=sweep.class_metric,
            global_metric=sweep.global_metric,
            split=len(sweep.folds) >= 2,
            n_bootstrap=self.n_bootstrap,
            confidence_level=self.confidence_level,
            rng=rng,
        )
        self.C_global_ = float(grid[selection.best_global])
        self.cv_results_ = self._cv_results(grid, sweep.records, sweep.global_metric)
        self.shrinkage_, self.shrinkage_results_ = np.nan, {}
        self.hypergradient_history_ = []
        self.hypergradient_converged_ = False
        self.hypergradient_stationarity_ = np.nan
        self.hypergradient_start_C_ = np.nan
        chosen = getattr(self, _STRATEGY_STEPS[self.strategy])(sweep, selection)
        self.class_results_ = pd.DataFrame(
            {
                "best_C": grid[selection.per_class],
                "gain": selection.honest_gain,
                "gain_low": selection.honest_low,
                "gain_high": selection.honest_high,
                "metric": sweep.class_metric,
                "C": chosen,
            },
            index=pd.Index(classes, name="class"),
        )
        self.C_ = C_used(chosen, classes)
        return self

    # The strategies: (sweep, selection) -> the per-class C vector.
    def _global_choice(self, sweep, selection):
        """The best single value of the grid, for every class."""
        return np.full(len(sweep.classes), self.C_global_)

    def _per_class_choice(self, sweep, selection):
        """The classes whose honest gain is certain move to their own best value,
        a fraction ``shrinkage_`` of the way (validated together, `_validate_moves`).

        Two classes: per-class C acts only through C_0 + C_1, so this is the
        global choice.
        """
        if len(sweep.classes) <= 2:
            return self._global_choice(sweep, selection)
        leave = selection.honest_low > 0
        self.shrinkage_ = 0.0
        if leave.any():
            self.shrinkage_, self.shrinkage_results_ = self._validate_moves(
                sweep, selection, leave
            )
        grid = sweep.grid
        return _moved(
            grid[selection.best_global], grid[selection.per_class], leave, self.shrinkage_
        )

    def _hypergradient_choice(self, sweep, selection):
        """The descent of `_hypergradient`, from the sweep's solutions at its start.

        The start is the grid's value with the lowest mean held-out deviance,
        the descent's own objective: from the global choice of another metric
        (the accuracy's, on a flat top at weak regularization), the descent
        would first walk every class to it. On the bundled Omniglot sample
        the accuracy's best C was 100 and the deviance's 0.07; from 100, 40
        steps of the descent took 102 minutes and ended with most classes'
        C between 0.01 and 1.
        """
        start = _descent_start(sweep.records)
        starts = [path_start(r, start, sweep.classes) for r in sweep.records]
        return self._hypergradient(sweep, start_C=float(sweep.grid[start]), starts=starts)

    def _cv_results(self, grid, records, global_metric):
        scores = _signed_scores(records, global_metric)
        results = {
            "param_C": grid,
            "mean_test_score": scores.mean(axis=0),
            "std_test_score": scores.std(axis=0),
        }
        for fold, row in enumerate(scores):
            results[f"split{fold}_test_score"] = row
        results["rank_test_score"] = (
            pd.Series(-results["mean_test_score"]).rank(method="min").astype(int).to_numpy()
        )
        return results

    def _validate_moves(self, sweep, selection, leave):
        """Score the per-class moves together, at fractions t of the way; pick the best t.

        Each fold is scored with the choices made on the other half of the
        folds (`selection.fold_choices`), so that the moves are judged on
        samples that did not choose them. At t = 0 (the global C of that
        half, a value of the grid) the fold's score is the sweep's; one
        warm-started path per fold over t = 1/4, 1/2, 1, from the sweep's
        solution at that C where the records kept it.
        """
        X, y, folds, grid, records = sweep.X, sweep.y, sweep.folds, sweep.grid, sweep.records
        pipeline, global_metric = sweep.pipeline, sweep.global_metric
        if any(len(np.unique(y[train])) < len(selection.support) for train, _ in folds):
            warnings.warn(
                "A training fold lacks some class, so the per-class moves are kept in full "
                "without their joint validation (use fewer folds to validate them).",
                UserWarning,
                stacklevel=3,
            )
            return 1.0, {}
        scorer = self.scoring if callable(self.scoring) else None
        model, param_name = self._model(warm_start=False, verbose=0), "C"
        if pipeline is not None:
            model, param_name = pipeline, f"{pipeline.steps[-1][0]}__C"
        scores = np.empty((len(folds), len(_FRACTIONS)))
        groups = {}  # folds that share their choices share one call
        for position, (g, per_class) in enumerate(selection.fold_choices):
            groups.setdefault((g, tuple(per_class)), []).append(position)
        swept = _signed_scores(records, global_metric)
        classes = self.classes_
        for (g, per_class), positions in groups.items():
            per_class = grid[np.array(per_class)]
            _, moved = cross_validated_records(
                model,
                X,
                y,
                param_name=param_name,
                param_range=[_moved(grid[g], per_class, leave, t) for t in _FRACTIONS[1:]],
                cv=[folds[p] for p in positions],
                sample_weight=sweep.sample_weight,
                scorer=scorer,
                scorer_weight=sweep.scorer_weight,
                n_jobs=self.n_jobs,
                starts=[path_start(records[p], g, classes) for p in positions],
            )
            scores[positions, 0] = swept[positions, g]
            scores[positions, 1:] = _signed_scores(moved, global_metric)
        mean = scores.mean(axis=0)
        best = int(np.flatnonzero(mean >= mean.max() - 1e-12 * abs(mean.max()))[0])
        results = {"param_t": _FRACTIONS.copy(), "mean_test_score": mean}
        for fold, row in enumerate(scores):
            results[f"split{fold}_test_score"] = row
        return float(_FRACTIONS[best]), results

    def _hypergradient(self, sweep, *, start_C, starts=None):
        """Optimise log C per class on the folds' summed held-out deviance, from `start_C`.

        Each fold's inner solves start from `starts` (a fitted model per fold
        at `start_C`, e.g. the sweep's, or None: zero). The folds' final
        solutions are kept as fitted models in ``_fold_solutions``, for fits
        at the chosen C on the same folds to start from.
        """
        self.hypergradient_start_C_ = start_C
        problems = self._fold_problems(sweep, start_C, starts)
        theta0 = np.full(problems[0].train.n_outputs, np.log(start_C))
        # the grid's range: the one the classes' own optima (the uncoupled oracle) are
        # taken from, so the two oracles search the same values (the study warns when
        # optima sit at its ends)
        bounds = (np.log(sweep.grid.min()), np.log(sweep.grid.max()))
        progress = tqdm(
            total=self.max_outer_iter, disable=self.verbose < 1, desc="hypergradient steps"
        )
        result = optimise_log_C(
            problems,
            theta0,
            bounds=bounds,
            tol=self.tol,
            max_iter=self.max_iter,
            max_outer_iter=self.max_outer_iter,
            outer_tol=self.outer_tol,
            callback=lambda record: _show_step(progress, record),
        )
        progress.close()
        self.hypergradient_history_ = result.history
        self.hypergradient_converged_ = result.converged
        self.hypergradient_stationarity_ = result.stationarity
        self._warn_about_the_descent(result)
        classes = sweep.classes
        C = np.exp(result.theta)
        C = np.full(len(classes), C[0]) if len(classes) == 2 else C
        self._fold_solutions = [
            self._model(C=C)._set_solution(
                classes, C, *Engine.solution(problem.train, problem.x), problem.n_iter
            )
            for problem in problems
        ]
        return C

    def _fold_problems(self, sweep, C, starts=None):
        """One `FoldProblem` per fold: the training objective at C (one value), the
        held-out deviance, and where the inner solves start."""
        X, y, sample_weight, classes = sweep.X, sweep.y, sweep.sample_weight, sweep.classes
        starts = [None] * len(sweep.folds) if starts is None else starts
        model = self._model(C=C, verbose=0)
        validation_model = self._model(
            C=np.inf, label_smoothing=0.0, logit_penalty=0.0, class_weight=None, verbose=0
        )
        engine, validation_engine = Engine.of(model), Engine.of(validation_model)
        problems = []
        for (train, test), start in tqdm(
            list(zip(sweep.folds, starts, strict=True)),
            disable=self.verbose < 1,
            desc="hypergradient folds",
        ):
            train_weight = None if sample_weight is None else sample_weight[train]
            test_weight = None if sample_weight is None else sample_weight[test]
            X_train, X_test = _fold_inputs(X, y, train, test, sweep.pipeline)
            train_problem = validate_problem(model, X_train, y[train], train_weight)
            if not np.array_equal(train_problem.classes, classes):
                raise ValueError(
                    "strategy='hypergradient' needs every class in every training fold; "
                    "use fewer folds or another strategy."
                )
            objective = engine.objective(train_problem, check_C(C, classes))
            validation_problem = validate_problem(
                validation_model, X_test, y[test], test_weight, classes=classes
            )
            validation = validation_engine.objective(
                validation_problem, np.full(len(classes), np.inf)
            )
            x0 = (
                objective.zeros()
                if start is None
                else objective.pack(dense_coef(start), start.intercept_)
            )
            problems.append(FoldProblem(objective, validation, x0))
        return problems

    def _warn_about_the_descent(self, result):
        """ConvergenceWarnings for a descent that stopped short or ran on imprecise parts."""
        if not result.converged:
            warnings.warn(
                f"The hypergradient descent did not converge: {result.message}; its "
                f"stationarity is {result.stationarity:.3g} > outer_tol={self.outer_tol:g}. "
                "Increase max_outer_iter, or lower tol for tighter inner solves.",
                ConvergenceWarning,
            )
        if result.n_truncated:
            warnings.warn(
                f"{result.n_truncated} conjugate-gradient solves of the hypergradient "
                "descent stopped at their product budget above their tolerance; its "
                "hypergradients there are less precise.",
                ConvergenceWarning,
            )
        if result.n_uncertified:
            warnings.warn(
                f"{result.n_uncertified} inner solves of the hypergradient descent ended "
                f"above tol={self.tol:g} after max_iter={self.max_iter} iterations; its "
                "losses and hypergradients there are less precise. Increase max_iter.",
                ConvergenceWarning,
            )


_FRACTIONS = np.array([0.0, 0.25, 0.5, 1.0])
_STRATEGY_STEPS = {
    "global": "_global_choice",
    "per_class": "_per_class_choice",
    "hypergradient": "_hypergradient_choice",
}


@dataclass(frozen=True)
class Sweep:
    """What a choice of C is made from: the folds' records of one sweep of the grid.

    Attributes
    ----------
    X, y
        The data the folds index (with `pipeline`, the pipeline's input: each
        fold fits the earlier steps on its own training part, as the sweep did).
    folds : list of (train, test)
    grid : ndarray of shape (n_values,)
    classes : ndarray of shape (n_classes,)
    records : list of FoldRecords
        The sweep's, one per fold (`cross_validated_records`).
    global_metric, class_metric : str
        What the global value and the classes' values are chosen by.
    sample_weight : ndarray of shape (n_samples,), default=None
    pipeline : Pipeline, default=None
        Whose last step is the tuned model.
    scorer_weight : ndarray of shape (n_samples,), default=None
        What a callable scoring is given.
    """

    X: object
    y: np.ndarray
    folds: list
    grid: np.ndarray
    classes: np.ndarray
    records: list
    global_metric: str
    class_metric: str
    sample_weight: np.ndarray = None
    pipeline: object = None
    scorer_weight: np.ndarray = None


def _signed_scores(records, global_metric):
    """Global scores of the records, (n_folds, n_values), larger is better (as scikit-learn)."""
    scores = np.array([[s[global_metric] for s in r.global_scores] for r in records])
    return GLOBAL_METRICS[global_metric] * scores


def _show_step(progress, record):
    """One outer step on the progress bar, with where the descent stands after it:
    the folds' mean held-out deviance and the stationarity it stops at."""
    progress.set_postfix(
        loss=f"{record['theta_loss']:.5g}",
        stationarity=f"{record['stationarity']:.2g}",
        accepted=record["accepted"],
        refresh=record["iteration"] == 0,  # a step's update refreshes the bar
    )
    progress.update(record["iteration"] > 0)


def _descent_start(records):
    """Index of the grid value with the lowest mean held-out deviance over the folds.

    The deviance the hypergradient descends (each fold's weighted mean over
    its held-out samples, averaged over the folds), chosen by the rule of the
    global choice (`select`: the first on exact ties), so that with the
    deviance as scoring the start is ``C_global_``.
    """
    return int(np.argmax(_signed_scores(records, "deviance").mean(axis=0)))


def _moved(global_C, per_class_C, leave, t):
    """The C vector with the classes in `leave` moved a fraction t of the way (log C).

    Exact at the ends: t = 0 gives `global_C` everywhere, t = 1 the grid values.
    """
    if t == 0:
        return np.full(len(per_class_C), float(global_C))
    if t == 1:
        return np.where(leave, per_class_C, global_C)
    between = np.exp((1 - t) * np.log(global_C) + t * np.log(per_class_C))
    return np.where(leave, between, global_C)


def _fold_inputs(X, y, train, test, pipeline):
    """A fold's training and test X, through the pipeline's earlier steps fitted on it."""
    X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
    if pipeline is None:
        return X_train, X_test
    preprocessing = Pipeline(clone(pipeline).steps[:-1]).fit(X_train, y[train])
    return preprocessing.transform(X_train), preprocessing.transform(X_test)
