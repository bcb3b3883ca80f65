"""Per-class C by hypergradient descent on the held-out deviance (HOAG).

With theta_k = log C_k, the inner problem w*(theta) minimises the training
objective f(w) = data term + sum_k mu_k ||w_k||^2 / 2 (mu_k = 1 / (C_k S), the
scaled strength). Differentiating its stationarity condition
grad f(w*(theta)) = 0 gives the gradient of the validation loss L(w*(theta))::

    dL / dtheta_k = mu_k < v_k , w*_k >,      v = H^{-1} grad L(w*),

with H the training Hessian at w* (Pedregosa, "Hyperparameter optimization
with approximate gradient", ICML 2016; Lorraine et al., AISTATS 2020). One
conjugate-gradient solve with Hessian-vector products gives v; the inner
problems are warm-started from one outer step to the next, and solved more
precisely as the outer iterations proceed (HOAG's decreasing tolerances).
"""

from dataclasses import dataclass, field

import numpy as np

from .._solvers import LBFGS, solve_certified
from .._solvers._conjugate_gradient import conjugate_gradient

__all__ = ["FoldProblem", "hypergradient", "optimise_log_C"]


@dataclass
class FoldProblem:
    """One fold: its training objective, validation objective and current solution."""

    train: object  # objective with the C being optimised
    validation: object  # same model, no penalty: the held-out deviance
    x: object = None
    n_iter: int = 0
    history: list = field(default_factory=list)
    v: object = None  # last solution of H v = grad L: the next solve starts there


def hypergradient(problem, *, cg_tol=1e-6, cg_max_iter=200):
    """Validation loss and its gradient in log C (one entry per output) at problem.x.

    `problem.x` must solve the training objective (to the precision the
    hypergradient needs). The conjugate gradient starts from the previous
    solution `problem.v` (and stores the new one there).

    Returns
    -------
    loss : float
    gradient : ndarray of shape (n_outputs,)
    n_products : int
        Hessian-vector products of the conjugate gradient.
    """
    train = problem.train
    loss, validation_gradient = problem.validation.loss_gradient(problem.x)
    _, _, hessp = train.loss_gradient_hessp(problem.x)
    # H v = grad L, i.e. conjugate_gradient's H p = -g with g = -grad L
    v, n_products = conjugate_gradient(
        hessp,
        -validation_gradient,
        rtol=cg_tol,
        max_iter=cg_max_iter,
        precondition=getattr(train, "precondition", None),
        x0=problem.v,
        deflate=getattr(train, "deflate", None),
    )
    problem.v = v
    V, _ = train.unpack(v)
    W, _ = train.unpack(problem.x)
    inner = train.to_numpy((V * W).sum(axis=1)).astype(np.float64)
    mu = train.l2_strength / train.total_weight
    return float(loss), mu * inner, n_products


def _solve(problem, tol, max_iter):
    result = solve_certified(LBFGS(tol=tol, max_iter=max_iter), problem.train, problem.x)
    problem.x = result.x
    problem.n_iter += result.nit
    return result


def optimise_log_C(
    problems,
    theta,
    *,
    bounds,
    tol,
    max_iter,
    max_outer_iter=30,
    initial_step=None,
    callback=None,
    cg_tol=1e-3,
    cg_max_iter=50,
    patience=2,
    min_improvement=1e-4,
    max_rejections=10,
):
    """Minimise the summed validation deviance of `problems` over theta = log C.

    Adaptive gradient descent: a step that raises the loss is undone and the
    step halved; an accepted one lengthens the next by 1.2. The inner
    tolerance decreases from 1e-3 (or `tol` if larger) to `tol`. The
    hypergradients need moderate precision only: each conjugate-gradient
    solve stops at a relative residual of `cg_tol` (at most `cg_max_iter`
    products) and starts from the fold's previous solution.

    Parameters
    ----------
    problems : list of FoldProblem
        Their `train` objectives take C per output through ``set_C``.
    theta : ndarray of shape (n_outputs,)
        Starting log C (e.g. the global optimum).
    bounds : (float, float)
        theta is kept inside these.
    tol, max_iter : float, int
        Final tolerance and iteration budget of each inner solve.
    max_outer_iter : int, default=30
    initial_step : float, default=None
        First step in theta; by default one that moves the largest entry by 0.5.
    callback : callable, default=None
        Called with a dict after every outer iteration.
    cg_tol, cg_max_iter : float, int
        Precision and budget of each conjugate-gradient solve.
    patience : int, default=2
        Stop after this many accepted outer steps in a row without a relative
        improvement of the best loss larger than `min_improvement`.
    min_improvement : float, default=1e-4
        Relative; smaller gains cost full outer iterations (inner solves and
        conjugate gradients on every fold) for changes in the held-out
        deviance far below its sampling noise.
    max_rejections : int, default=10
        Stop after this many rejected steps in a row (the step is then 1/1024
        of the last accepted one). Rejections alone do not count toward
        `patience`: halving the step is how the descent gets past them.

    Returns
    -------
    theta : ndarray
        The best log C found; each problem's ``x`` is then its solution there
        (at the inner tolerance of the step that found it).
    history : list of dict
        Outer iterations: loss, max|gradient|, step, accepted.
    """
    theta = np.clip(np.asarray(theta, dtype=np.float64), *bounds)
    history = []

    def evaluate(theta, inner_tol):
        total, gradient = 0.0, np.zeros_like(theta)
        for problem in problems:
            problem.train.set_C(np.exp(theta))
            _solve(problem, inner_tol, max_iter)
            loss, grad, _ = hypergradient(problem, cg_tol=cg_tol, cg_max_iter=cg_max_iter)
            total += loss / len(problems)
            gradient += grad / len(problems)
        return total, gradient

    inner_tol = max(tol, 1e-3)
    loss, gradient = evaluate(theta, inner_tol)
    best = (loss, theta.copy(), [problem.x for problem in problems])
    step = initial_step
    if step is None:
        step = 0.5 / max(np.abs(gradient).max(), 1e-12)
    stalled = rejections = 0
    for iteration in range(1, max_outer_iter + 1):
        saved = [(problem.x, problem.v) for problem in problems]
        candidate = np.clip(theta - step * gradient, *bounds)
        inner_tol = max(tol, 1e-3 * 0.5**iteration)
        new_loss, new_gradient = evaluate(candidate, inner_tol)
        accepted = new_loss <= loss + 1e-12 * abs(loss)
        previous_best = best[0]
        if accepted:
            theta, loss, gradient = candidate, new_loss, new_gradient
            step *= 1.2
            if loss < best[0]:
                best = (loss, theta.copy(), [problem.x for problem in problems])
        else:
            for problem, (x, v) in zip(problems, saved, strict=True):
                problem.x, problem.v = x, v
            step *= 0.5
        record = {
            "iteration": iteration,
            "loss": float(new_loss),
            "grad_max": float(np.abs(new_gradient).max()),
            "step": float(step),
            "accepted": bool(accepted),
        }
        history.append(record)
        if callback is not None:
            callback(record)
        improved = previous_best - best[0] > min_improvement * abs(previous_best)
        if accepted:
            stalled, rejections = (0 if improved else stalled + 1), 0
        else:
            rejections += 1
        if stalled >= patience or rejections >= max_rejections:
            break
    for problem, x in zip(problems, best[2], strict=True):
        problem.x = x
    return best[1], history
