"""The duality gap bounds the true suboptimality, against an independent tight optimum."""

import numpy as np
import pytest

from sklearn_classreg._objective._datafit import datafit_for
from sklearn_classreg._objective._duality import mixing
from sklearn_classreg._objective._logistic import LogisticObjective
from sklearn_classreg._solvers import LBFGS


def problem(n_classes, separable, seed=0, n=90, d=5):
    """Small data, linearly separable or not."""
    rng = np.random.default_rng(seed)
    centres = 4.0 * rng.standard_normal((n_classes, d))
    y = np.arange(n) % n_classes
    X = centres[y] + (0.3 if separable else 3.0) * rng.standard_normal((n, d))
    if separable:  # check: a fitted linear model separates it
        from sklearn.svm import LinearSVC

        assert LinearSVC(C=1e4, max_iter=100000).fit(X, y).score(X, y) == 1.0
    return X, y


def objective_of(
    X,
    y,
    C,
    *,
    backend="numba",
    dtype=np.float64,
    weights=None,
    smoothing=0.0,
    logit_penalty=0.0,
    fit_intercept=True,
):
    n_classes = len(np.unique(y))
    datafit = datafit_for(n_classes)
    n_outputs = datafit.n_outputs(n_classes)
    kwargs = dict(
        datafit=datafit,
        C=np.full(n_outputs, C),
        label_smoothing=np.full(n_classes, smoothing),
        logit_penalty=logit_penalty,
        fit_intercept=fit_intercept,
    )
    weights = np.ones(len(y)) if weights is None else weights
    X = X.astype(dtype)
    if backend == "torch":
        from sklearn_classreg._objective._torch import TorchLogisticObjective

        return TorchLogisticObjective(X, y, weights.astype(dtype), device="cpu", **kwargs)
    return LogisticObjective(X, y, weights.astype(dtype), **kwargs)


def gaps_along_the_solve(objective, iterations=(0, 2, 10, 60)):
    """(loss, gap) at a few iterates of L-BFGS from zero."""
    out = []
    for n_iter in iterations:
        x = LBFGS(tol=0.0, max_iter=n_iter).solve(objective, objective.zeros()).x
        loss, gradient = objective.loss_gradient(x)
        out.append((loss, objective.duality_gap(x, loss, gradient)))
    return out


OPTIONS = [
    dict(),
    dict(smoothing=0.1),
    dict(logit_penalty=0.3),
    dict(smoothing=0.05, logit_penalty=0.1, weights=True),
    dict(fit_intercept=False),
    dict(weights=True),
]


CASES = [
    *[
        (C, n_classes, separable, {})
        for C in (1e-4, 1.0, 1e4)
        for n_classes in (2, 4)
        for separable in (True, False)
    ],
    *[(1e2, n_classes, True, options) for n_classes in (2, 4) for options in OPTIONS[1:]],
]


def case(reference, backend, options, separable, n_classes, C):
    """The objective of one of CASES and its independent tight optimum."""
    if backend == "torch":
        pytest.importorskip("torch")
    X, y = problem(n_classes, separable)
    options = dict(options)
    weights = None
    if options.pop("weights", False):
        weights = np.random.default_rng(1).uniform(0.2, 3.0, len(y))
    objective = objective_of(X, y, C, backend=backend, weights=weights, **options)
    optimum = reference(
        X,
        y,
        C,
        sample_weight=weights,
        smoothing=options.get("smoothing", 0.0),
        logit_penalty=options.get("logit_penalty", 0.0),
        fit_intercept=options.get("fit_intercept", True),
    )
    return objective, optimum


# one decorator for every test that runs over all of CASES
each_case = pytest.mark.parametrize(
    "C, n_classes, separable, options",
    CASES,
    ids=[
        f"C{c:g}-K{k}-{'sep' if s else 'overlap'}-{'-'.join(o) or 'plain'}" for c, k, s, o in CASES
    ],
)


@pytest.mark.parametrize("backend", ["numba", "torch"])
@each_case
def test_gap_bounds_the_true_suboptimality(reference, backend, options, separable, n_classes, C):
    objective, optimum = case(reference, backend, options, separable, n_classes, C)
    best = optimum.value
    for loss, gap in gaps_along_the_solve(objective):
        assert gap >= loss - best - 1e-13 * abs(best), (loss, best, gap)
        assert gap >= 0.0
    # and it closes at the optimum (to the precision of float64)
    x = objective.pack(optimum.W, optimum.b)
    loss, gradient = objective.loss_gradient(x)
    floor = 1e-9
    assert objective.duality_gap(x, loss, gradient) <= floor * loss


@pytest.mark.parametrize("n_classes", [2, 5])
def test_gap_is_none_when_a_class_is_unpenalized(n_classes):
    X, y = problem(n_classes, separable=False)
    objective = objective_of(X, y, 1.0)
    C = np.ones(objective.n_outputs)
    C[-1] = np.inf
    objective.set_C(C)
    loss, gradient = objective.loss_gradient(objective.zeros())
    assert objective.duality_gap(objective.zeros(), loss, gradient) is None


def test_gap_is_infinite_where_the_loss_is():
    X, y = problem(3, separable=False)
    objective = objective_of(X, y, 1.0)
    x = objective.zeros()
    x[0] = np.inf
    loss, gradient = objective.loss_gradient(x)
    assert objective.duality_gap(x, loss, gradient) == np.inf


def test_mixing_makes_the_dual_point_feasible():
    rng = np.random.default_rng(0)
    for _ in range(100):
        tau = rng.dirichlet(np.ones(6))
        g = rng.standard_normal(6) * rng.uniform(1e-8, 0.3)
        g -= g.mean()
        theta, rho = mixing(g, tau)
        assert 0.0 <= theta < 1.0
        assert np.all(rho >= 0.0) and abs(rho.sum() - 1.0) < 1e-12
        # the mixed dual point's weighted sum: (1 - theta) g + theta (rho - tau) = 0
        np.testing.assert_allclose((1 - theta) * g + theta * (rho - tau), 0.0, atol=1e-12)
    theta, rho = mixing(np.zeros(3), np.full(3, 1 / 3))
    assert theta == 0.0


def test_float64_twin_evaluates_float32_data_exactly():
    X, y = problem(4, separable=False)
    X32 = X.astype(np.float32)
    objective = objective_of(X32, y, 1.0, dtype=np.float32)
    twin = objective.float64_twin()
    exact = objective_of(X32.astype(np.float64), y, 1.0)
    assert twin.dtype == np.float64 and twin.X is objective.X  # no float64 copy of X
    x = LBFGS(tol=1e-3).solve(objective, objective.zeros()).x
    loss, gradient = twin.loss_gradient(twin.cast(x))
    loss_ref, gradient_ref = exact.loss_gradient(exact.cast(x))
    assert loss == pytest.approx(loss_ref, rel=1e-14)
    np.testing.assert_allclose(gradient, gradient_ref, rtol=1e-12, atol=1e-16)
    objective.set_C(np.full(4, 3.0))
    assert np.all(objective.float64_twin().C == 3.0)  # the twin follows C


def newton_direction(objective, x, gradient, n_products=200):
    """H d = -gradient solved tightly by conjugate gradient."""
    from sklearn_classreg._solvers._conjugate_gradient import conjugate_gradient

    hessp = objective.loss_gradient_hessp(x)[2]
    return conjugate_gradient(
        hessp,
        gradient,
        rtol=1e-12,
        max_iter=n_products,
        precondition=objective.precondition,
        ops=objective.ops,
    )[0]


@pytest.mark.parametrize("backend", ["numba", "torch"])
@each_case
def test_refined_gap_bounds_the_true_suboptimality(
    reference, backend, options, separable, n_classes, C
):
    """Along a Newton direction, a random one and a few CG products: always a bound."""
    objective, optimum = case(reference, backend, options, separable, n_classes, C)
    best = optimum.value
    rng = np.random.default_rng(2)
    for n_iter in (0, 2, 10, 60):
        x = LBFGS(tol=0.0, max_iter=n_iter).solve(objective, objective.zeros()).x
        loss, gradient = objective.loss_gradient(x)
        directions = [
            newton_direction(objective, x, gradient),
            newton_direction(objective, x, gradient, n_products=3),
            objective.cast(rng.standard_normal(objective.n_params)),
        ]
        for direction in directions:
            refined = objective.refined_duality_gap(x, loss, gradient, direction)
            assert refined >= loss - best - 1e-13 * abs(best), (n_iter, loss, best, refined)


def weakly_regularized(kind):
    """(X, y, C): frozen-feature-like classes at C = 1e3, or two overlapping ones at 1e4."""
    if kind == "two classes":
        X, y = problem(2, separable=False, n=300, d=8)
        return X, y, 1e4
    from sklearn_classreg.datasets import make_frozen_features

    X, y = make_frozen_features(600, 16, 8, class_sep=0.3, noise=1.0, random_state=0)
    return X.astype(np.float64), y, 1e3


@pytest.mark.parametrize("kind", ["two classes", "eight classes"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_refined_gap_is_as_tight_as_the_newton_decrement_at_weak_regularization(
    reference, kind, fit_intercept
):
    """Near the optimum, where the plain gap overstates f - min f a hundredfold
    or more, the one moved along the Newton step is within a factor 1.5 of it
    (to second order it is the Newton decrement; farther out the step moves
    some probabilities by more than their size, those rows are trimmed, and
    the bound is looser)."""
    X, y, C = weakly_regularized(kind)
    objective = objective_of(X, y, C, fit_intercept=fit_intercept)
    best = reference(X, y, C, fit_intercept=fit_intercept).value
    checked = 0
    for n_iter in range(2, 300, 2):
        x = LBFGS(tol=0.0, max_iter=n_iter).solve(objective, objective.zeros()).x
        loss, gradient = objective.loss_gradient(x)
        true = loss - best
        plain = objective.duality_gap(x, loss, gradient)
        if true < 1e-10 * loss:  # float64 resolution of `best`
            break
        if plain < 100 * true or true > 1e-4 * loss:  # near the optimum only
            continue
        refined = objective.refined_duality_gap(
            x, loss, gradient, newton_direction(objective, x, gradient)
        )
        assert true - 1e-13 * loss <= refined <= 1.5 * true, (n_iter, true, plain, refined)
        checked += 1
    assert checked >= 3  # the regime was reached several times


@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_dual_step_agrees_between_backends(n_classes, fit_intercept):
    pytest.importorskip("torch")
    X, y = problem(n_classes, separable=False)
    weights = np.random.default_rng(3).uniform(0.0, 2.0, len(y))
    weights[:5] = 0.0  # zero weights move nothing
    numba = objective_of(X, y, 10.0, weights=weights, fit_intercept=fit_intercept, smoothing=0.1)
    torch = objective_of(
        X, y, 10.0, weights=weights, fit_intercept=fit_intercept, smoothing=0.1, backend="torch"
    )
    rng = np.random.default_rng(4)
    coef = rng.standard_normal(numba.n_params)
    direction = 3.0 * rng.standard_normal(numba.n_params)  # some steps leave the simplex
    from sklearn_classreg._objective._duality import STEPS

    a = numba.dual_step(coef, direction, STEPS)
    b = torch.dual_step(torch.cast(coef), torch.cast(direction), STEPS)
    np.testing.assert_allclose(a.move, torch.to_numpy(b.move), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(a.intercept_move, b.intercept_move, rtol=1e-10, atol=1e-13)
    # long moves are trimmed: no step leaves the simplex
    assert not a.outside.any() and not b.outside.any()
    np.testing.assert_allclose(a.kl, b.kl, rtol=1e-10)
    np.testing.assert_allclose(a.true_class_sums, b.true_class_sums, rtol=1e-9)
    # a non-finite direction gives no bound at any step
    broken = direction.copy()
    broken[0] = np.inf
    assert numba.dual_step(coef, broken, STEPS).outside.all()
    assert torch.dual_step(torch.cast(coef), torch.cast(broken), STEPS).outside.all()
    still = numba.dual_step(coef, np.zeros_like(coef), STEPS)  # a zero direction moves nothing
    assert not np.any(still.move) and not np.any(still.kl) and not still.outside.any()
    numba.loss_gradient(coef)
    np.testing.assert_allclose(still.true_class_sums[0], numba.true_class_sums, rtol=1e-12)
