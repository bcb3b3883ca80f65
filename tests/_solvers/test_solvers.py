"""L-BFGS, Newton-CG and the line search on objectives with known optima."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax

from sklearn_classreg._solvers import LBFGS, SOLVERS, NewtonCG
from sklearn_classreg._solvers._conjugate_gradient import conjugate_gradient
from sklearn_classreg._solvers._line_search import wolfe_line_search


class Quadratic:
    """f(x) = 1/2 x^T A x - b^T x, minimised at A^{-1} b (the protocol, nothing more).

    Computed as 1/2 (x - x*)^T A (x - x*) (the same function less its minimum),
    without the cancellation that puts the loss differences of the last steps at
    float64 rounding: the test is then of the solver, not of the BLAS's rounding.
    """

    def __init__(self, n=30, condition=1e3, seed=0):
        rng = np.random.default_rng(seed)
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        self.A = Q @ np.diag(np.geomspace(1.0, condition, n)) @ Q.T
        self.b = rng.standard_normal(n)
        self.dtype = np.float64
        self.optimum = np.linalg.solve(self.A, self.b)

    def loss_gradient(self, x):
        error = x - self.optimum
        gradient = self.A @ error
        return 0.5 * error @ gradient, gradient

    def loss_gradient_hessp(self, x):
        return (*self.loss_gradient(x), lambda v: self.A @ v)


class SoftmaxRegression:
    """A small regularized multinomial problem written with SciPy, any dtype."""

    def __init__(self, n=80, d=4, K=3, alpha=0.1, seed=1, dtype=np.float64):
        rng = np.random.default_rng(seed)
        self.X = rng.standard_normal((n, d)).astype(dtype)
        self.Y = np.eye(K)[rng.integers(0, K, n)]
        self.alpha, self.shape, self.dtype = alpha, (d, K), dtype

    def loss_gradient(self, x):
        W = x.reshape(self.shape).astype(np.float64)
        Z = self.X @ W
        loss = np.mean(logsumexp(Z, axis=1) - (self.Y * Z).sum(1)) + self.alpha / 2 * np.sum(W**2)
        grad = self.X.T @ (softmax(Z, axis=1) - self.Y) / len(Z) + self.alpha * W
        return loss, grad.ravel().astype(self.dtype)

    def loss_gradient_hessp(self, x):
        W = x.reshape(self.shape).astype(np.float64)
        P = softmax(self.X @ W, axis=1)

        def hessp(v):
            XV = self.X @ v.reshape(self.shape)
            H = P * (XV - (P * XV).sum(1, keepdims=True))
            return (self.X.T @ H / len(H) + self.alpha * v.reshape(self.shape)).ravel()

        return (*self.loss_gradient(x), hessp)


class Wall(Quadratic):
    """A quadratic whose loss is infinite away from the start: no step can succeed."""

    def loss_gradient(self, x):
        loss, grad = super().loss_gradient(x)
        return (loss if not np.any(x) else math.inf), grad


@pytest.mark.parametrize("solver", [LBFGS, NewtonCG])
def test_finds_the_optimum_of_an_ill_conditioned_quadratic(solver):
    problem = Quadratic()
    x0 = np.zeros(30)
    result = solver(tol=1e-10, max_iter=500).solve(problem, x0)
    assert result.success, result.message
    assert result.grad_max <= 1e-10
    np.testing.assert_allclose(result.x, problem.optimum, rtol=1e-7, atol=1e-9)
    assert not np.any(x0), "x0 was modified"
    assert result.nfev >= result.nit >= 1


@pytest.mark.parametrize("solver", [LBFGS, NewtonCG])
def test_agrees_with_scipy_on_softmax_regression(solver):
    problem = SoftmaxRegression()
    reference = minimize(
        problem.loss_gradient,
        np.zeros(12),
        jac=True,
        method="L-BFGS-B",
        options=dict(gtol=1e-12, ftol=0, maxiter=1000),
    )
    result = solver(tol=1e-10).solve(problem, np.zeros(12))
    assert result.success
    np.testing.assert_allclose(result.x, reference.x, atol=1e-8)
    np.testing.assert_allclose(result.fun, reference.fun, rtol=1e-12)


def test_newton_cg_needs_few_iterations_and_uses_hessian_products():
    result = NewtonCG(tol=1e-10).solve(SoftmaxRegression(), np.zeros(12))
    assert result.nit <= 12 and result.nhessp > result.nit


@pytest.mark.parametrize("solver", [LBFGS, NewtonCG])
def test_accepted_steps_never_increase_the_loss(solver):
    result = solver(tol=1e-12, max_iter=200).solve(SoftmaxRegression(alpha=1e-3), np.zeros(12))
    losses = [loss for _, loss, _ in result.history]
    assert all(b <= a + 1e-15 * abs(a) for a, b in zip(losses, losses[1:], strict=False))


@pytest.mark.parametrize("solver", [LBFGS, NewtonCG])
def test_stops_at_max_iter_without_success(solver):
    result = solver(tol=1e-14, max_iter=2).solve(Quadratic(condition=1e6), np.zeros(30))
    assert result.nit == 2 and not result.success
    assert "max_iter=2" in result.message


@pytest.mark.parametrize("solver", [LBFGS, NewtonCG])
def test_zero_iterations_when_the_start_is_optimal(solver):
    problem = Quadratic()
    result = solver(tol=1e-6).solve(problem, problem.optimum)
    assert result.success and result.nit == 0 and result.nfev == 1


def test_float32_objective_reaches_a_float32_appropriate_tolerance():
    problem = SoftmaxRegression(n=500, dtype=np.float32)
    result = LBFGS(tol=1e-6, max_iter=500).solve(problem, np.zeros(12, np.float32))
    assert result.x.dtype == np.float32
    assert result.success, result.message


def test_lbfgs_reports_failure_when_no_step_decreases():
    result = LBFGS(tol=1e-10).solve(Wall(), np.zeros(30))
    assert not result.success
    assert "no step decreased the loss" in result.message


def test_newton_cg_falls_back_to_lbfgs_and_says_so():
    result = NewtonCG(tol=1e-10).solve(Wall(), np.zeros(30))
    assert result.fell_back and not result.success
    assert "fell back to lbfgs" in result.message


def test_conjugate_gradient_solves_positive_definite_systems():
    problem = Quadratic(n=10, condition=10.0)
    g = -problem.b
    p, n_products = conjugate_gradient(lambda v: problem.A @ v, g, rtol=1e-12, max_iter=50)
    np.testing.assert_allclose(problem.A @ p, -g, atol=1e-10)
    assert n_products <= 11


def test_conjugate_gradient_stops_on_negative_curvature_with_a_descent_direction():
    g = np.array([1.0, -2.0])
    p, n_products = conjugate_gradient(lambda v: -v, g, rtol=1e-8, max_iter=10)
    assert n_products == 1 and p @ g < 0


def test_conjugate_gradient_stays_on_the_range_of_a_singular_hessian():
    """H has the constant vector in its null space (like the softmax intercepts);
    the right-hand side has a part there that H cannot reduce."""
    rng = np.random.default_rng(0)
    n = 8
    centre = np.eye(n) - 1.0 / n
    A = centre @ np.diag(np.geomspace(1.0, 1e3, n)) @ centre
    g = centre @ rng.standard_normal(n) * 1e-16 + 1e-17  # rounding-level, off the range

    def deflate(v):
        v -= v.mean()
        return v

    p, _ = conjugate_gradient(lambda v: A @ v, g, rtol=1e-8, max_iter=200)
    deflated, n_products = conjugate_gradient(
        lambda v: A @ v, g, rtol=1e-8, max_iter=200, deflate=deflate
    )
    least_squares = -np.linalg.pinv(A) @ g
    assert n_products < 200 and abs(deflated.mean()) < 1e-30
    np.testing.assert_allclose(deflated, least_squares, rtol=1e-6, atol=1e-24)
    assert np.abs(p).max() > 1e3 * np.abs(least_squares).max()  # without: off along 1


def _line(f_and_slope):
    """A 1-d problem along direction 1 as the line search sees it."""

    def evaluate(x):
        value, slope = f_and_slope(float(x[0]))
        return value, np.array([slope])

    return evaluate


def test_line_search_returns_a_strong_wolfe_step():
    evaluate = _line(lambda t: ((t - 3.0) ** 2, 2 * (t - 3.0)))
    x = np.zeros(1)
    loss0, grad0 = evaluate(x)
    result = wolfe_line_search(evaluate, x, np.ones(1), loss0, grad0[0], step0=0.1)
    assert result.success and result.message == ""
    slope = result.values[1][0]
    assert result.values[0] <= loss0 + 1e-4 * result.step * grad0[0]
    assert abs(slope) <= 0.9 * abs(grad0[0])


def test_line_search_backs_off_from_infinite_values():
    evaluate = _line(lambda t: ((t - 1.0) ** 2 if t < 1.5 else math.inf, 2 * (t - 1.0)))
    x = np.zeros(1)
    loss0, grad0 = evaluate(x)
    result = wolfe_line_search(evaluate, x, np.ones(1), loss0, grad0[0], step0=100.0)
    assert result.success and result.step < 1.5 and math.isfinite(result.values[0])


def test_line_search_accepts_steps_within_the_loss_noise():
    """Rounding noise (a 1e-10 bump) larger than the decrease (1e-12).

    The strict search cannot take the minimiser t = 1, whose loss looks higher
    than the start; with the noise level given, the exact slope (0 at t = 1)
    decides and the step is taken.
    """
    evaluate = _line(
        lambda t: (1.0 + 1e-12 * (t - 1.0) ** 2 + 1e-10 * (t > 0.5), 2e-12 * (t - 1.0))
    )
    x = np.zeros(1)
    loss0, grad0 = evaluate(x)
    strict = wolfe_line_search(evaluate, x, np.ones(1), loss0, grad0[0])
    tolerant = wolfe_line_search(evaluate, x, np.ones(1), loss0, grad0[0], loss_noise=1e-9)
    assert tolerant.success and tolerant.step == 1.0 and tolerant.message == ""
    assert not strict.success or strict.step <= 0.5


def test_line_search_out_of_evaluations_returns_the_best_point_with_its_values():
    """No strong-Wolfe step within 3 evaluations: the best decrease is returned.

    The best point is not the last one tried, so it is evaluated again (the
    search keeps one trial point): its values must be those of that point.
    """
    tried = []

    def f_and_slope(t):
        tried.append(t)
        return (t - 1.0) ** 4, 4 * (t - 1.0) ** 3

    evaluate = _line(f_and_slope)
    x = np.zeros(1)
    loss0, grad0 = evaluate(x)
    tried.clear()
    result = wolfe_line_search(
        evaluate, x, np.ones(1), loss0, grad0[0], step0=1.9, c2=1e-6, max_evals=3
    )
    assert result.success and result.message == "curvature condition not met"
    best = min(tried, key=lambda t: (t - 1.0) ** 4)
    assert tried[-1] == best != tried[-2], "the best point was not re-evaluated"
    assert result.step == best and result.n_evals == len(tried) == 4
    assert result.x[0] == best and result.values[0] == (best - 1.0) ** 4


@pytest.mark.parametrize(
    "room_vectors, history, expected",
    [
        (100, 10, 10),  # room for more than asked
        (7 + 2 * 6, 10, 6),  # the working vectors and 6 pairs fit
        (7 + 2 * 5, 10, 5),
        (7 + 2 * 4, 10, 10),  # not even 5 pairs fit: the plan cannot be met
        (7 + 2 * 6, 3, 3),  # never more than asked
    ],
)
def test_lbfgs_history_follows_the_objectives_memory_plan(room_vectors, history, expected):
    problem = Quadratic(n=30)
    problem.dtype = np.dtype(np.float64)
    problem.solver_memory_bytes = lambda: room_vectors * 30 * 8 + 1
    solver = LBFGS(history=history)
    assert solver.planned_history(problem, np.zeros(30)) == expected
    solver.setup(problem, np.zeros(30))
    assert solver.pairs.maxlen == expected


def test_solver_registry():
    assert set(SOLVERS) == {"lbfgs", "newton-cg"}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_refined_certificates_stop_earlier_and_still_bound_the_truth(reference, dtype):
    """Weak regularization with intercepts: the plain gap overstates f - min f
    many times; with the refined certificates the same solver stops earlier,
    certified, and its answer is within tol of an independent optimum."""
    from sklearn_classreg._objective._datafit import MULTINOMIAL
    from sklearn_classreg._objective._logistic import LogisticObjective
    from sklearn_classreg._solvers import solve_certified
    from sklearn_classreg.datasets import make_frozen_features

    X, y = make_frozen_features(600, 16, 8, class_sep=0.3, noise=1.0, random_state=0)
    X = X.astype(dtype)
    C, tol = 1e3, 1e-6
    objective = LogisticObjective(
        X, y, np.ones(len(y)), datafit=MULTINOMIAL, C=np.full(8, C), label_smoothing=np.zeros(8)
    )
    results = {}
    for refine in (True, False):
        solver = LBFGS(tol=tol, max_iter=2000)
        solver.refine_certificates = refine
        results[refine] = solve_certified(solver, objective, objective.zeros())
        assert results[refine].success and results[refine].certified
    best = reference(X.astype(np.float64), y, C).value
    refined = results[True]
    assert refined.nit < results[False].nit
    float64_loss = objective.float64_twin().loss(objective.float64_twin().cast(refined.x))
    assert best <= float64_loss <= best + refined.gap * abs(float64_loss) + 1e-13
    assert float64_loss - best <= tol * abs(best)
