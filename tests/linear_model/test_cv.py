"""ClassWiseRegularizationCV: global = LogisticRegressionCV, hypergradients, agreement."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from sklearn_classreg import ClassWiseRegularizationCV as CV
from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
from sklearn_classreg._solvers import LBFGS, NewtonCG, solve_certified
from sklearn_classreg.datasets import make_class_blocks, make_frozen_features
from sklearn_classreg.linear_model._engine import Engine, validate_problem
from sklearn_classreg.linear_model._hypergradient import FoldProblem, hypergradient


def solve_exactly(problem):
    """Solve the fold's training problem to the last digits: Newton steps until
    none decreases the loss (tol 0), certified within 1e-13."""
    result = NewtonCG(tol=0.0, max_iter=60).solve(problem.train, problem.x)
    assert result.gap <= 1e-13, result.message
    problem.x = result.x


def data(seed=0, n=600, n_classes=4, **kwargs):
    return make_frozen_features(n, 10, n_classes, class_sep=0.4, random_state=seed, **kwargs)


@pytest.mark.parametrize("scoring, sk_scoring", [(None, "neg_log_loss"), ("accuracy", "accuracy")])
def test_global_strategy_matches_logistic_regression_cv(scoring, sk_scoring):
    X, y = data()
    X = X.astype(np.float64)
    Cs = np.logspace(-3, 2, 8)
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))
    ours = CV(Cs=Cs, cv=folds, scoring=scoring, strategy="global", tol=1e-13, max_iter=5000)
    ours.fit(X, y)
    theirs = LogisticRegressionCV(
        Cs=Cs, cv=folds, scoring=sk_scoring, tol=1e-13, max_iter=5000, solver="newton-cholesky"
    ).fit(X, y)
    assert ours.C_global_ == pytest.approx(theirs.C_[0])
    np.testing.assert_allclose(ours.C_, np.full(4, theirs.C_[0]))
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-6)
    sk_scores = theirs.scores_[theirs.classes_[0]]  # (n_folds, n_Cs)
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], sk_scores.mean(axis=0), atol=1e-7
    )


def _fold_problem(X, y, C, train, test):
    model = Model(C=C, tol=1e-12, max_iter=10_000)
    classes = np.unique(y)
    train_problem = validate_problem(model, X[train], y[train], None)
    validation_model = Model(C=np.inf)
    validation_problem = validate_problem(validation_model, X[test], y[test], None)
    objective = Engine.of(model).objective(
        train_problem, np.broadcast_to(C, len(classes)).copy()
    )
    validation = Engine.of(validation_model).objective(
        validation_problem, np.full(len(classes), np.inf)
    )
    return FoldProblem(objective, validation, objective.zeros())


@pytest.mark.parametrize("n_classes", [2, 4])
def test_hypergradient_matches_finite_differences(n_classes):
    X, y = data(1, n=400, n_classes=n_classes)
    X = X.astype(np.float64)
    train, test = np.arange(300), np.arange(300, 400)
    C = np.geomspace(0.05, 2.0, n_classes)
    problem = _fold_problem(X, y, C if n_classes > 2 else 0.3, train, test)
    n_outputs = problem.train.n_outputs
    theta = np.log(C[:n_outputs]) if n_classes > 2 else np.log([0.3])

    def validation_loss(theta):
        problem.train.set_C(np.exp(theta))
        solve_exactly(problem)
        return problem.validation.loss(problem.x)

    validation_loss(theta)
    _, gradient, n_products, _ = hypergradient(problem, cg_tol=1e-12, cg_max_iter=2000)
    assert n_products > 0
    h = 1e-4
    for k in range(n_outputs):
        step = np.zeros(n_outputs)
        step[k] = h
        finite = (validation_loss(theta + step) - validation_loss(theta - step)) / (2 * h)
        assert gradient[k] == pytest.approx(finite, rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_adjoint_correction_gives_the_loss_at_the_exact_inner_solution(dtype, seed):
    """Inner solves certified at 1e-3 and 1e-4 leave the validation loss off by
    1e-5..2e-4 here (C up to 1e3); the corrected loss is within a twentieth of
    that of the deviance at the exact solution (Newton to the last digits, in
    float64), and the correction is that error. Measured: at most 0.02 of it."""
    X, y = data(seed, n=500, n_classes=4)
    C = np.array([0.1, 1.0, 100.0, 1000.0])
    train, test = np.arange(350), np.arange(350, 500)
    reference = _fold_problem(X.astype(np.float64), y, C, train, test)
    solve_exactly(reference)
    exact = reference.validation.loss(reference.x)
    for tol in [1e-3, 1e-4]:
        problem = _fold_problem(X.astype(dtype), y, C, train, test)
        result = solve_certified(LBFGS(tol=tol, max_iter=10_000), problem.train, problem.x)
        assert result.success
        problem.x = result.x
        raw_error = problem.validation.loss(problem.x) - exact
        assert abs(raw_error) > 1e-6  # the inexact solve is visible in the loss
        loss, _, _, correction = hypergradient(problem, cg_tol=1e-8, cg_max_iter=2000)
        assert abs(loss - exact) <= 0.05 * abs(raw_error)
        assert correction == pytest.approx(raw_error, rel=0.05)


def test_strategies_agree_when_classes_are_alike():
    """Classes equal up to a symmetry: the answer is known, one C for all.

    Class k is one cloud (mean on the first axis) with its coordinates rolled
    by k, and every fold holds the same base points of every class: rolling
    the coordinates and the classes together maps the data and the folds onto
    themselves, so every class has the same curve and the same best C.
    """
    rng = np.random.default_rng(0)
    n_base, K = 120, 3
    base = rng.standard_normal((n_base, K)) + np.array([1.2, 0.0, 0.0])
    X = np.vstack([np.roll(base, k, axis=1) for k in range(K)])
    y = np.repeat(np.arange(K), n_base)
    fold_of_base = np.arange(n_base) % 3
    folds = []
    for fold in range(3):
        test = np.concatenate(
            [np.flatnonzero(fold_of_base == fold) + k * n_base for k in range(K)]
        )
        folds.append((np.setdiff1d(np.arange(len(y)), test), test))
    Cs = np.logspace(-3, 1, 9)
    kwargs = dict(Cs=Cs, cv=folds, tol=1e-9, max_iter=2000, random_state=0)
    fits = {
        s: CV(strategy=s, **kwargs).fit(X, y) for s in ("global", "per_class", "hypergradient")
    }
    global_C = fits["global"].C_global_
    np.testing.assert_allclose(fits["per_class"].C_, global_C)
    np.testing.assert_allclose(fits["per_class"].class_results_.gain, 0.0, atol=1e-12)
    hyper = fits["hypergradient"].C_
    np.testing.assert_allclose(hyper, hyper[0], rtol=1e-3)  # the symmetry is kept
    history = fits["hypergradient"].hypergradient_history_
    accepted = [h["loss"] for h in history if h["accepted"]]
    assert not accepted or accepted[-1] <= history[0]["loss"] + 1e-12


def test_per_class_strategy_moves_classes_with_strong_evidence():
    """Unequal classes (sizes and separations): some leave the global C, all with evidence."""
    X, y = unequal_classes()
    model = CV(Cs=np.logspace(-4, 2, 13), cv=4, random_state=0, max_iter=500).fit(X, y)
    results = model.class_results_
    moved = results.C != model.C_global_
    assert (results.gain_low[moved] > 0).all()
    assert (results.C[~moved] == model.C_global_).all()
    np.testing.assert_array_equal(model.C_, results.C.to_numpy())


def unequal_classes():
    return make_frozen_features(
        3000, 16, 5, class_sep=[0.1, 0.2, 0.5, 1.0, 2.0], weights=[10, 5, 2, 1, 1], random_state=0
    )


def test_per_class_moves_are_validated_together_on_held_out_folds():
    """Each fold scores the moves chosen on the other half, at every fraction t."""
    from sklearn_classreg.linear_model._cv import _FRACTIONS, _moved
    from sklearn_classreg.linear_model._records import cross_validated_records
    from sklearn_classreg.linear_model._selection import select

    X, y = make_class_blocks(1200, 6, random_state=0)  # classes 2 and 5 want less C
    grid = np.logspace(-4, 1, 6)
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))
    settings = dict(tol=1e-8, max_iter=2000)
    model = CV(Cs=grid, cv=folds, random_state=0, **settings).fit(X, y)
    assert model.shrinkage_ in _FRACTIONS
    results = model.shrinkage_results_
    np.testing.assert_array_equal(results["param_t"], _FRACTIONS)
    best = np.argmax(results["mean_test_score"])
    assert model.shrinkage_ == _FRACTIONS[best]

    classes, records = cross_validated_records(
        Model(**settings), X, y, param_name="C", param_range=list(grid), cv=folds
    )
    selection = select(records, 6, metric="deviance", global_metric="deviance")
    leave = model.class_results_.gain_low.to_numpy() > 0
    assert (model.class_results_.best_C[leave] != model.C_global_).any()
    for fold, ((train, test), (g, per_class)) in enumerate(
        zip(folds, selection.fold_choices, strict=True)
    ):
        for i, t in enumerate(_FRACTIONS):
            C = _moved(grid[g], grid[per_class], leave, t)
            # the reference is exact (tol 1e-12): two fits certified at 1e-8 may
            # each stand ~5e-6 of the held-out deviance from it, on either side
            fitted = Model(C=C, tol=1e-12, max_iter=20_000).fit(X[train], y[train])
            proba = fitted.predict_proba(X[test])[np.arange(len(test)), y[test]]
            expected = np.log(proba).mean()  # the negated held-out deviance
            assert results[f"split{fold}_test_score"][i] == pytest.approx(expected, rel=1e-5)
    best_C = model.class_results_.best_C.to_numpy()
    np.testing.assert_allclose(model.C_, _moved(model.C_global_, best_C, leave, model.shrinkage_))


def test_moved_is_exact_at_both_ends():
    from sklearn_classreg.linear_model._cv import _moved

    per_class = np.array([1e-3, 0.7, 30.0])
    leave = np.array([True, False, True])
    np.testing.assert_array_equal(_moved(0.1, per_class, leave, 0.0), [0.1, 0.1, 0.1])
    np.testing.assert_array_equal(_moved(0.1, per_class, leave, 1.0), [1e-3, 0.1, 30.0])
    np.testing.assert_allclose(_moved(0.1, per_class, leave, 0.5), [0.01, 0.1, np.sqrt(3.0)])


def test_no_evidence_means_no_move_and_no_validation():
    X, y = data(6)
    model = CV(Cs=[0.1], cv=3, random_state=0).fit(X, y)  # one value: nowhere to move
    assert model.shrinkage_ == 0.0 and model.shrinkage_results_ == {}
    np.testing.assert_array_equal(model.C_, 0.1)
    assert np.isnan(CV(Cs=[0.1, 1.0], cv=3, strategy="global").fit(X, y).shrinkage_)


def test_a_fold_without_some_class_keeps_the_moves_with_a_warning():
    X, y = make_class_blocks(1200, 6, random_state=0)
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))
    # class 5 only in fold 0's test part: fold 0 trains without it
    keep = np.setdiff1d(np.arange(len(y)), np.setdiff1d(np.flatnonzero(y == 5), folds[0][1]))
    position = np.full(len(y), -1)
    position[keep] = np.arange(len(keep))
    folds = [
        (position[np.intersect1d(a, keep)], position[np.intersect1d(b, keep)]) for a, b in folds
    ]
    X, y = X[keep], y[keep]
    # tight fits: whether a class's gain is significant must not depend on where
    # a solver within the default 1e-4 stopped (the extrapolated path starts
    # changed that for class 5 here)
    with pytest.warns(UserWarning, match="lacks some class"):
        model = CV(Cs=np.logspace(-4, 2, 7), cv=folds, random_state=0, tol=1e-8).fit(X, y)
    moved = model.class_results_.C != model.C_global_
    assert moved.any() and (model.class_results_.gain_low[moved] > 0).all()
    assert model.shrinkage_ == 1.0 and model.shrinkage_results_ == {}


def test_refit_false_and_cv_results_are_dataframe_ready():
    import pandas as pd

    X, y = data(2)
    model = CV(Cs=4, cv=3, refit=False, strategy="global").fit(X, y)
    assert not hasattr(model, "coef_") and model.C_.shape == (4,)
    frame = pd.DataFrame(model.cv_results_)
    assert list(frame.columns[:3]) == ["param_C", "mean_test_score", "std_test_score"]
    assert frame.rank_test_score.min() == 1
    assert frame.param_C[frame.rank_test_score.idxmin()] == model.C_global_


def test_sample_weight_and_custom_scorer():
    from sklearn_classreg.metrics import worst_class_accuracy_scorer

    X, y = data(3)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    model = CV(
        Cs=[0.01, 0.1, 1.0], cv=3, scoring=worst_class_accuracy_scorer, strategy="global"
    ).fit(X, y, sample_weight=weights)
    assert model.C_global_ in (0.01, 0.1, 1.0)
    assert np.isfinite(model.cv_results_["mean_test_score"]).all()


def _scores_with(scorer_request, *, routing, **fit_params):
    import sklearn

    from sklearn_classreg.metrics import make_classwise_scorer, worst_class_accuracy

    X, y = data(3)
    scorer = make_classwise_scorer(worst_class_accuracy)
    with sklearn.config_context(enable_metadata_routing=routing):
        if scorer_request is not None:
            scorer.set_score_request(sample_weight=scorer_request)
        model = CV(Cs=[0.01, 0.1, 1.0], cv=3, scoring=scorer, strategy="global")
        return model.fit(X, y, **fit_params).cv_results_["mean_test_score"]


def test_metadata_routing_gives_the_scorer_weights_only_when_it_asks():
    from sklearn.exceptions import UnsetMetadataPassedError

    X, y = data(3)
    weights = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    legacy = _scores_with(None, routing=False, sample_weight=weights)  # fits and scorer
    asked = _scores_with(True, routing=True, sample_weight=weights)
    declined = _scores_with(False, routing=True, sample_weight=weights)  # fits only
    np.testing.assert_allclose(asked, legacy)
    assert not np.allclose(declined, legacy)
    fits_only = _scores_with(None, routing=False)  # scorer unweighted, fits unweighted
    assert not np.allclose(declined, fits_only)  # the fits were weighted
    with pytest.raises(UnsetMetadataPassedError, match=r"ClasswiseScorer\.score"):
        _scores_with(None, routing=True, sample_weight=weights)


def test_metadata_routing_gives_groups_to_the_splitter():
    import sklearn
    from sklearn.model_selection import GroupKFold

    X, y = data(3)
    groups = np.arange(len(y)) % 7
    with pytest.raises(ValueError, match="only supported if enable_metadata_routing=True"):
        CV(Cs=[0.1, 1.0], cv=GroupKFold(3)).fit(X, y, groups=groups)
    with sklearn.config_context(enable_metadata_routing=True):
        model = CV(Cs=[0.1, 1.0], cv=GroupKFold(3), strategy="global").fit(X, y, groups=groups)
    expected = CV(Cs=[0.1, 1.0], cv=list(GroupKFold(3).split(X, y, groups)), strategy="global")
    np.testing.assert_array_equal(
        model.cv_results_["mean_test_score"], expected.fit(X, y).cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize("strategy", ["per_class", "hypergradient"])
def test_binary_problems_reduce_to_one_C(strategy):
    X, y = data(4, n_classes=2)
    model = CV(Cs=[0.01, 1.0], cv=3, strategy=strategy, max_outer_iter=3).fit(X, y)
    assert model.C_[0] == model.C_[1] and model.coef_.shape == (1, 10)
    if strategy == "per_class":
        assert model.C_[0] == model.C_global_


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(Cs=[1.0, -1.0]), "Cs must be positive"),
        (dict(Cs=[]), "non-empty"),
        (dict(strategy="bayes"), "'strategy' parameter"),
        (dict(scoring="f1"), "'scoring' parameter"),
    ],
)
def test_bad_parameters_are_clear_errors(kwargs, message):
    X, y = data()
    with pytest.raises(ValueError, match=message):
        CV(cv=2, **kwargs).fit(X, y)


def test_convergence_warnings_pass_through():
    X, y = data(5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CV(Cs=[1e3], cv=2, strategy="global", max_iter=1, tol=1e-12).fit(X, y)
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_sparsify_and_densify():
    X, y = data(5)
    cv = CV(Cs=[0.1, 1.0], cv=2, strategy="global").fit(X, y)
    proba = cv.predict_proba(X)
    np.testing.assert_allclose(cv.sparsify().predict_proba(X), proba, rtol=1e-5)  # float32
    assert isinstance(cv.densify().coef_, np.ndarray)


def test_per_sample_deviance_of_float32_probabilities_is_finite():
    from sklearn_classreg.linear_model._selection import per_sample_score

    proba = np.array([0.0, 1e-40, 0.5], dtype=np.float32)
    scores = per_sample_score("deviance", None, proba, None)
    assert np.all(np.isfinite(scores)) and scores[0] == pytest.approx(-np.log(1e-300))


def test_the_move_validation_starts_from_the_sweep_and_answers_as_from_zero(monkeypatch):
    """The sweep's fold solutions at the global C start the validation paths (and
    give t = 0 its scores): the same scores as cold paths, to the precision of a
    1e-9 gap (parameters within about sqrt(1e-9) of the optimum)."""
    from sklearn_classreg.linear_model import _cv

    X, y = make_class_blocks(1200, 6, random_state=0)
    kwargs = dict(Cs=np.logspace(-4, 1, 6), cv=3, tol=1e-9, max_iter=5000, random_state=0)
    started = CV(**kwargs).fit(X, y)
    monkeypatch.setattr(_cv, "PATH_MEMORY", 0)  # no path kept: every path from zero
    cold = CV(**kwargs).fit(X, y)
    assert started.shrinkage_ == cold.shrinkage_ and started.shrinkage_results_
    for key, value in cold.shrinkage_results_.items():
        np.testing.assert_allclose(started.shrinkage_results_[key], value, rtol=1e-5)
    np.testing.assert_array_equal(started.C_, cold.C_)


def test_the_hypergradient_starts_from_the_sweep(monkeypatch):
    """Its first inner solves start at the sweep's certified solutions (few iterations);
    the descent then converges to the held-out deviance it reaches from zero, and to
    the same C. Measured (outer_tol 1e-5, the bounds a decade beyond the grid): the
    deviances agreed to 1e-8 and log10 C to 0.005; at outer_tol 1e-3, to 1e-4 and
    0.7 (the deviance is flat in the C of the most regularized classes). Within the
    grid, the descent from the sweep stops at a stationarity of 1.02e-5 (no decrease
    within a radius of 1e-4: the precision floor), hence outer_tol 3e-5 here."""
    from sklearn_classreg.linear_model import _cv

    X, y = make_class_blocks(1200, 6, random_state=0)
    kwargs = dict(Cs=np.logspace(-4, 1, 6), cv=3, strategy="hypergradient", tol=1e-9)

    def fit(**more):
        return CV(max_iter=5000, random_state=0, **kwargs, **more)

    with pytest.warns(ConvergenceWarning, match="max_outer_iter=0 steps reached"):
        first = [model.n_iter_[0] for model in fit(max_outer_iter=0).fit(X, y)._fold_solutions]
    converged = dict(outer_tol=3e-5, max_outer_iter=100)
    started = fit(**converged).fit(X, y)
    monkeypatch.setattr(_cv, "PATH_MEMORY", 0)
    with pytest.warns(ConvergenceWarning):
        cold_fit = fit(max_outer_iter=0).fit(X, y)
    cold_first = [model.n_iter_[0] for model in cold_fit._fold_solutions]
    cold = fit(**converged).fit(X, y)
    # The starts are the sweep's certified solutions. Re-certifying one may take a
    # few iterations: the restart's first certificate is made along the
    # preconditioned gradient, without the sweep's curvature pairs (measured:
    # 0, 3 and 0 iterations with the truncated eigenbasis of this 800 x 365 fold,
    # against 24 or 25 from zero).
    assert max(first) <= 5 and min(cold_first) >= 4 * max(max(first), 1)
    assert started.hypergradient_converged_ and cold.hypergradient_converged_
    for model in (started, cold):
        _assert_steps_compared_at_equal_precision(model.hypergradient_history_)
    losses = [model.hypergradient_history_[-1]["loss"] for model in (started, cold)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    np.testing.assert_allclose(np.log10(started.C_), np.log10(cold.C_), atol=0.1)


def test_the_hypergradient_starts_where_the_folds_deviance_is_lowest():
    """The descent starts from the grid's best value for its own objective, the folds'
    mean held-out deviance, even when the global choice is another metric's. Separable
    blobs: the accuracy is 1 at every C (its tie goes to the first value, 1e-3), the
    deviance falls with C (lowest at 100); computed here by refits and log_loss."""
    X, y = make_blobs(240, n_features=4, centers=3, cluster_std=1.0, random_state=0)
    Cs = np.logspace(-3, 2, 6)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))

    def held_out_deviance(C, train, test):
        model = Model(C=C, tol=1e-10).fit(X[train], y[train])
        return log_loss(y[test], model.predict_proba(X[test]))

    deviance = [np.mean([held_out_deviance(C, *fold) for fold in folds]) for C in Cs]
    kwargs = dict(Cs=Cs, cv=folds, strategy="hypergradient", refit=False, tol=1e-8)
    model = CV(scoring="accuracy", **kwargs).fit(X, y)
    np.testing.assert_allclose(model.cv_results_["mean_test_score"], 1.0)
    assert model.C_global_ == Cs[0]
    assert model.hypergradient_start_C_ == Cs[np.argmin(deviance)] == Cs[-1]
    # there, at the grid's largest value, the deviance still falls: converged at the bound
    assert model.hypergradient_converged_
    np.testing.assert_allclose(model.C_, Cs[-1])
    # its first loss is the folds' deviance there (inner solves at 10 tol)
    assert model.hypergradient_history_[0]["loss"] == pytest.approx(min(deviance), rel=1e-4)
    other = CV(Cs=Cs, cv=folds, strategy="per_class").fit(X, y)
    assert np.isnan(other.hypergradient_start_C_)


def test_an_unconverged_descent_says_so():
    """Stopped by max_outer_iter: a ConvergenceWarning naming the fix, the
    stationarity where it stopped, and the study's verdict says the bound may be
    higher. Converged at the start: no step, no warning."""
    X, y = make_class_blocks(600, 4, random_state=1)
    kwargs = dict(Cs=np.logspace(-3, 1, 5), cv=3, strategy="hypergradient", random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"did not converge.*max_outer_iter=1 "):
        short = CV(max_outer_iter=1, **kwargs).fit(X, y)
    assert not short.hypergradient_converged_
    assert short.hypergradient_stationarity_ > 1e-3
    assert short.hypergradient_history_[-1]["stationarity"] == pytest.approx(
        short.hypergradient_stationarity_
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        loose = CV(outer_tol=1e3, **kwargs).fit(X, y)
    assert loose.hypergradient_converged_ and len(loose.hypergradient_history_) == 1
    # the scoring is the deviance: the descent's start is the global choice
    np.testing.assert_allclose(loose.C_, loose.C_global_)
    assert loose.hypergradient_start_C_ == loose.C_global_
    other = CV(strategy="per_class", cv=3, Cs=3, random_state=0).fit(X, y)
    assert not other.hypergradient_converged_ and np.isnan(other.hypergradient_stationarity_)
    # inner solves cut short by max_iter are counted and warned about, not used silently
    kwargs.update(max_iter=3, max_outer_iter=2, tol=1e-8)
    with pytest.warns(ConvergenceWarning, match=r"inner solves .* ended above tol=1e-08"):
        CV(**kwargs).fit(X, y)


def test_the_progress_bar_shows_where_the_descent_stands(capsys):
    """verbose=1: after each step the bar shows the folds' loss and the
    stationarity the descent stops at (a long descent is followed, not guessed)."""
    X, y = make_class_blocks(600, 4, random_state=1)
    kwargs = dict(Cs=np.logspace(-3, 1, 5), cv=3, strategy="hypergradient", random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = CV(max_outer_iter=2, verbose=1, **kwargs).fit(X, y)
    last = model.hypergradient_history_[-1]
    bar = capsys.readouterr().err.split("\r")
    steps = [line for line in bar if line.startswith("hypergradient steps")]
    assert f"loss={last['theta_loss']:.5g}" in steps[-1]
    assert f"stationarity={last['stationarity']:.2g}" in steps[-1]
    assert "2/2" in steps[-1]


@pytest.mark.parametrize("radius", [0.01, 0.5, 3.0])
def test_a_trust_region_step_keeps_to_its_radius_and_bounds(radius):
    """Entries a bound holds stay; the others descend, by at most the radius;
    the steepest descent without pairs, the L-BFGS direction with them."""
    from sklearn_classreg.linear_model._hypergradient import _add_pair, _trust_region_step

    rng = np.random.default_rng(0)
    bounds = (-2.0, 2.0)
    theta = np.array([-2.0, 2.0, 0.0, 1.9, -1.0, 0.5])
    gradient = np.array([1.0, -1.0, 0.3, -0.8, -0.1, 0.05])
    step = _trust_region_step(theta, gradient, [], bounds, radius)
    free = np.array([0, 0, 1, 1, 1, 1])  # the first two are held at their bounds
    expected = np.clip(theta - free * gradient * radius / 0.8, *bounds) - theta
    np.testing.assert_allclose(step, expected, rtol=1e-12)
    assert gradient @ step < 0 and np.abs(step).max() <= radius * (1 + 1e-12)
    # pairs of a quadratic along conjugate directions: the Newton step, cut to the radius
    A = np.diag(rng.uniform(1, 3, size=6))
    pairs = []
    for s in [rng.normal(size=6) for _ in range(3)] + list(np.diag(rng.uniform(0.5, 2, 6))):
        _add_pair(pairs, s, A @ s, 6)
    assert len(pairs) == 6
    theta = np.zeros(6)
    step = _trust_region_step(theta, gradient, pairs, bounds, radius)
    newton = -gradient / np.diag(A)
    if np.abs(newton).max() <= radius:
        np.testing.assert_allclose(step, newton, rtol=1e-6)
    else:
        np.testing.assert_allclose(step, newton * radius / np.abs(newton).max(), rtol=1e-6)


def test_records_keep_their_paths_within_the_memory_given():
    from sklearn_classreg.linear_model._records import cross_validated_records, path_start

    X, y = data(0, n=300)
    grid = [0.01, 0.1, 1.0]
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    fit = dict(param_name="C", param_range=grid, cv=folds)
    classes, kept = cross_validated_records(Model(tol=1e-8), X, y, path_memory=2**20, **fit)
    _, dropped = cross_validated_records(Model(), X, y, **fit)
    assert all(r.path is None for r in dropped) and path_start(dropped[0], 1, classes) is None
    for record, (train, _) in zip(kept, folds, strict=True):
        start = path_start(record, 1, classes)
        np.testing.assert_array_equal(start.C_, 0.1)
        alone = Model(C=0.1, tol=1e-8).fit(X[train], y[train])
        np.testing.assert_allclose(start.predict_proba(X), alone.predict_proba(X), atol=1e-4)
    with pytest.raises(ValueError, match="starts has 2 entries for 3 folds"):
        cross_validated_records(Model(), X, y, starts=[None, None], **fit)


def _assert_steps_compared_at_equal_precision(history):
    """Each trial is compared with the loss at theta certified at its own inner
    tolerance, and an accepted one lowers it; the precision only tightens; a
    rejected trial leaves theta (and, at equal precision, its loss up to that
    precision: solving again from a certified point may take a few iterations)."""
    start = history[0]
    assert start["accepted"] and start["loss"] == start["theta_loss"]
    assert start["inner_tol"] == start["theta_inner_tol"]
    for before, step in zip(history[:-1], history[1:], strict=True):
        assert step["inner_tol"] == before["theta_inner_tol"]
        assert step["theta_inner_tol"] <= step["inner_tol"]
        if not step["judged"]:  # undone, radius kept, tried again more precisely
            assert not step["accepted"] and step["radius"] == before["radius"]
            assert step["theta_inner_tol"] < step["inner_tol"]
        if step["accepted"]:
            assert step["loss"] < before["theta_loss"]
            if step["theta_inner_tol"] == step["inner_tol"]:
                assert step["theta_loss"] == step["loss"]
        elif step["theta_inner_tol"] == before["theta_inner_tol"]:
            assert step["theta_loss"] == pytest.approx(before["theta_loss"], rel=1e-6)
    # what the descent returns is certified at its final precision, not the coarse one
    assert history[-1]["theta_inner_tol"] < history[0]["inner_tol"] or len(history) == 1


def test_the_descent_reaches_the_minimum_of_an_independent_reference():
    """Tight inner solves: the descent converges (stationarity 1e-5) to the held-out
    deviance SciPy's L-BFGS-B finds on the same function (exact inner solves by
    Newton), to 2e-6. Measured: 4.9e-7 above it after 13 steps. Two classes go to
    the bound C = 1e3 and a third wanders where the deviance is flat in its log C
    (its C is ill-determined, so only the loss is compared). The gradient descent
    this replaced was 1.0e-5 above it after 200 steps; with three rejected steps
    counted as a stall, 2e-4."""
    from scipy.optimize import minimize

    from sklearn_classreg.linear_model._hypergradient import optimise_log_C

    X, y = data(2, n=500, n_classes=4)
    X = X.astype(np.float64)
    train, test = np.arange(350), np.arange(350, 500)
    problem = _fold_problem(X, y, 0.1, train, test)
    bounds = (np.log(1e-4), np.log(1e3))
    result = optimise_log_C(
        [problem],
        np.full(4, np.log(0.1)),
        bounds=bounds,
        tol=1e-11,
        max_iter=10_000,
        max_outer_iter=200,
        outer_tol=1e-5,
        cg_tol=1e-10,
        cg_max_iter=500,
    )
    reference = _fold_problem(X, y, 0.1, train, test)

    def loss_and_gradient(theta):
        reference.train.set_C(np.exp(theta))
        solve_exactly(reference)
        loss, gradient, _, _ = hypergradient(reference, cg_tol=1e-12, cg_max_iter=2000)
        return loss, gradient

    found = minimize(
        loss_and_gradient,
        np.full(4, np.log(0.1)),
        jac=True,
        method="L-BFGS-B",
        bounds=[bounds] * 4,
        options=dict(ftol=1e-14, gtol=1e-10),
    )
    assert result.converged, result.message
    assert result.loss == min(h["loss"] for h in result.history if h["accepted"])
    assert result.loss == result.history[-1]["theta_loss"]
    _assert_steps_compared_at_equal_precision(result.history)
    assert found.fun <= result.loss <= found.fun * (1 + 2e-6)
    assert len(result.history) <= 30
    # the loss is the deviance at x less its adjoint correction (one fold: its size)
    correction = result.history[-1]["theta_loss_correction"]
    assert abs(problem.validation.loss(problem.x) - result.loss) == pytest.approx(
        correction, rel=1e-6, abs=1e-15
    )


def test_a_step_is_judged_only_where_the_corrections_are_below_its_predicted_decrease():
    """Loose inner solves (tol 1e-2): the adjoint corrections at theta and at the
    trial exceed the decrease some steps predict; those are tried again at a
    tighter precision, radius kept, and every accepted step above the finest
    precision had corrections below its predicted decrease. The descent still
    converges, to the deviance of one with tight solves (1e-11) within 1e-5.
    Measured: 2 such steps, 8e-8 apart (relative)."""
    from sklearn_classreg.linear_model._hypergradient import optimise_log_C

    X, y = data(2, n=500, n_classes=4)
    X = X.astype(np.float64)
    train, test = np.arange(350), np.arange(350, 500)
    settings = dict(bounds=(np.log(1e-4), np.log(1e3)), max_iter=10_000, max_outer_iter=60)
    results = {}
    for tol in (1e-2, 1e-11):
        problem = _fold_problem(X, y, 0.1, train, test)
        results[tol] = optimise_log_C(
            [problem], np.full(4, np.log(0.1)), tol=tol, outer_tol=1e-4, **settings
        )
    loose, tight = results[1e-2], results[1e-11]
    assert loose.converged and tight.converged, (loose.message, tight.message)
    history = loose.history
    _assert_steps_compared_at_equal_precision(history)
    assert sum(not step["judged"] for step in history) >= 1
    for before, step in zip(history[:-1], history[1:], strict=True):
        finest = step["inner_tol"] <= 1e-3 * 1e-2
        if step["accepted"] and step["theta_inner_tol"] == step["inner_tol"] and not finest:
            corrections = max(before["theta_loss_correction"], step["theta_loss_correction"])
            assert corrections <= -step["predicted"]
    assert loose.loss == pytest.approx(tight.loss, rel=1e-5)


def test_the_torch_backend_descends_as_numba_does():
    """The descent (corrected losses, judged steps) on torch tensors: the same
    steps, losses within 1e-6 and C within 1e-3 decades of numba's. Measured
    on CPU torch: 5 steps each, 2e-7 and 7e-5 decades apart."""
    pytest.importorskip("torch")
    X, y = make_class_blocks(600, 4, random_state=1)
    kwargs = dict(Cs=np.logspace(-3, 1, 5), cv=3, strategy="hypergradient", random_state=0)
    fits = {}
    for backend in ("numba", "torch"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # 5 steps: unconverged
            fits[backend] = CV(backend=backend, tol=1e-8, max_outer_iter=5, **kwargs).fit(X, y)
    numba, torch = (fits[b].hypergradient_history_ for b in ("numba", "torch"))
    assert [s["accepted"] for s in numba] == [s["accepted"] for s in torch]
    assert torch[-1]["theta_loss"] == pytest.approx(numba[-1]["theta_loss"], abs=1e-6)
    np.testing.assert_allclose(np.log10(fits["torch"].C_), np.log10(fits["numba"].C_), atol=1e-3)


def test_truncated_conjugate_gradients_are_counted():
    """A product budget too small for cg_tol is reported, never silently used."""
    from sklearn_classreg.linear_model._hypergradient import optimise_log_C

    X, y = data(2, n=300, n_classes=4)
    problem = _fold_problem(X.astype(np.float64), y, 0.1, np.arange(200), np.arange(200, 300))
    settings = dict(bounds=(np.log(1e-4), np.log(1e3)), tol=1e-8, max_iter=1000)
    short = optimise_log_C([problem], np.full(4, np.log(0.1)), cg_max_iter=1, **settings)
    assert short.n_truncated >= 1 and short.n_uncertified == 0
    assert all(entry["cg_products"] >= 1 for entry in short.history)
    problem = _fold_problem(X.astype(np.float64), y, 0.1, np.arange(200), np.arange(200, 300))
    enough = optimise_log_C([problem], np.full(4, np.log(0.1)), **settings)
    assert enough.n_truncated == 0


def test_the_hypergradient_scores_a_held_out_fold_of_one_class():
    # a small class can leave a test fold with one class (or without some):
    # the held-out deviance is still defined, on the training classes
    X, y = data(n=240, n_classes=3)
    order = np.argsort(y, kind="stable")
    first, rest = order[:20], order[20:]  # the first 20 samples of class 0
    folds = [(rest, first), (first[:10].tolist() + rest[::2].tolist(), rest[1::2])]
    model = CV(Cs=[0.1, 1.0], cv=folds, strategy="hypergradient", max_outer_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert np.all(np.isfinite(model.C_)) and model.C_.shape == (3,)
    assert np.isfinite(model.hypergradient_history_[0]["loss"])
