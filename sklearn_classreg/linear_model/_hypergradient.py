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
from .._solvers._lbfgs import inverse_hessian_product

__all__ = ["FoldProblem", "LogCResult", "hypergradient", "optimise_log_C"]

_DECADE = float(np.log(10.0))  # the trust region's largest radius: a factor of ten in C


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
    _, _, hessp = train.loss_gradient_hessp(problem.x, many_products=True)
    # H v = grad L, i.e. conjugate_gradient's H p = -g with g = -grad L
    v, n_products = conjugate_gradient(
        hessp,
        -validation_gradient,
        rtol=cg_tol,
        max_iter=cg_max_iter,
        precondition=getattr(train, "precondition", None),
        x0=problem.v,
        deflate=getattr(train, "deflate", None),
        ops=train.ops,
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


@dataclass
class LogCResult:
    """The end of `optimise_log_C`.

    Attributes
    ----------
    theta : ndarray of shape (n_outputs,)
        The log C reached; each problem's ``x`` is its solution there.
    loss : float
        The mean validation deviance at theta.
    stationarity : float
        ``sum_k |theta_k - clip(theta_k - g_k)| / loss`` with g the
        hypergradient: to first order, the most a change of each C within a
        factor e (inside the bounds) lowers the loss, relative to it.
    converged : bool
        Whether `stationarity` reached the tolerance.
    message : str
        Why the descent stopped.
    history : list of dict
        One entry per outer step (the start is step 0): the trial's "loss"
        and "grad_max"; whether it was "accepted" (a rejected trial leaves
        theta where it was); the loss ("theta_loss") and "stationarity" at
        theta after the step; the trust "radius" for the next step; the
        "inner_tol" and "cg_tol" in force; the conjugate gradients'
        "cg_products" (all folds) of the trial. An accepted trial's loss is below
        the previous entry's "theta_loss", computed at the same inner_tol.
    n_uncertified : int
        Inner solves that ran out of iterations above their tolerance.
    n_truncated : int
        Conjugate-gradient solves cut at ``cg_max_iter`` products above their
        tolerance (their hypergradients are less precise).
    """

    theta: np.ndarray
    loss: float
    stationarity: float
    converged: bool
    message: str
    history: list
    n_uncertified: int = 0
    n_truncated: int = 0


def optimise_log_C(
    problems,
    theta,
    *,
    bounds,
    tol,
    max_iter,
    max_outer_iter=30,
    outer_tol=1e-3,
    callback=None,
    cg_tol=1e-3,
    cg_max_iter=500,
    memory=10,
    initial_radius=0.5,
    max_radius=_DECADE,
    min_radius=1e-4,
):
    """Minimise the mean validation deviance of `problems` over theta = log C.

    Projected L-BFGS in a trust region: the step is the L-BFGS direction on
    the free entries of theta (those not held at a bound by their
    hypergradient), cut so that no C changes by more than a factor
    ``exp(radius)``, and projected into the bounds. A step is accepted when
    it lowers the loss by a thousandth of what the hypergradient predicts (an Armijo
    condition); a rejected one is undone and the radius shrinks to a quarter
    of the step, and the next step is the steepest descent; an accepted step
    that lowered the loss at least half as predicted and reached the radius
    doubles it (up to `max_radius`). After a rejection, the current theta is
    evaluated again at the tightened precision (below), so that the next
    comparison is between losses of equal precision.

    The radius is what keeps the descent sound where the deviance is flat in
    some log C_k (a class whose C no longer matters): there a quasi-Newton
    step alone proposes moves of many decades, which the inexact inner
    solves cannot support.

    The descent stops when converged: the stationarity measure (see
    `LogCResult`) is at most `outer_tol`. It also stops, unconverged and
    saying why, after `max_outer_iter` steps or when the radius falls below
    `min_radius` (the hypergradient no longer predicts the loss: inner
    solves or conjugate gradients too loose for this precision).

    Every inner solve is certified at `tol`, so that the losses compared are
    of equal precision; each conjugate-gradient solve stops at a relative
    residual of at most `cg_tol` (at most `cg_max_iter` products) and starts
    from the fold's previous solution. A rejected step tightens both tenfold,
    and the current point is evaluated again (see `_Precision`).

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
        Most outer steps (each solves every fold once).
    outer_tol : float, default=1e-3
        Stop when the stationarity measure is at most this.
    callback : callable, default=None
        Called with each history entry.
    cg_tol, cg_max_iter : float, int
        Precision and budget of each conjugate-gradient solve.
    memory : int, default=10
        Correction pairs of the outer L-BFGS.
    initial_radius, max_radius, min_radius : float
        Of the trust region, in log C (its max norm).

    Returns
    -------
    LogCResult
    """
    lower, upper = bounds
    theta = np.clip(np.asarray(theta, dtype=np.float64), lower, upper)
    precision = _Precision(tol, cg_tol)
    # inner solves that ended above their tolerance, conjugate gradients cut at
    # cg_max_iter, and the products of the last evaluation
    counts = {"uncertified": 0, "truncated": 0, "products": 0}

    def evaluate(theta):
        total, gradient = 0.0, np.zeros_like(theta)
        counts["products"] = 0
        for problem in problems:
            problem.train.set_C(np.exp(theta))
            if not _solve(problem, precision.inner_tol, max_iter).success:
                counts["uncertified"] += 1
            loss, grad, n_products = hypergradient(
                problem, cg_tol=precision.cg_tol, cg_max_iter=cg_max_iter
            )
            counts["truncated"] += n_products >= cg_max_iter
            counts["products"] += n_products
            total += loss / len(problems)
            gradient += grad / len(problems)
        return total, gradient

    def stationarity(theta, gradient, loss):
        projected = theta - np.clip(theta - gradient, lower, upper)
        return float(np.abs(projected).sum() / max(abs(loss), 1e-300))

    history = []

    def record(iteration, trial_loss, gradient, products, accepted):
        entry = {
            "iteration": iteration,
            "loss": float(trial_loss),
            "theta_loss": float(loss),
            "stationarity": measure,
            "grad_max": float(np.abs(gradient).max()),
            "radius": float(radius),
            "inner_tol": float(precision.inner_tol),
            "cg_tol": float(precision.cg_tol),
            "cg_products": products,
            "accepted": bool(accepted),
        }
        history.append(entry)
        if callback is not None:
            callback(entry)

    radius = float(initial_radius)
    loss, gradient = evaluate(theta)
    measure = first = stationarity(theta, gradient, loss)
    record(0, loss, gradient, counts["products"], True)
    pairs, accepted = [], True
    message = f"max_outer_iter={max_outer_iter} steps reached"
    for iteration in range(1, max_outer_iter + 1):
        if measure <= outer_tol:
            break
        # after a rejected step, the steepest descent: it descends within a small
        # enough radius, where a quasi-Newton direction cut to the radius may not
        step = _trust_region_step(theta, gradient, pairs if accepted else [], bounds, radius)
        predicted = float(gradient @ step)  # < 0
        saved = [(problem.x, problem.v) for problem in problems]
        precision.follow(measure / first)
        candidate = theta + step
        new_loss, new_gradient = evaluate(candidate)
        trial_products = counts["products"]
        accepted = new_loss - loss <= 1e-3 * predicted
        if accepted:
            length = np.abs(step).max()
            if new_loss - loss <= 0.5 * predicted and length >= 0.99 * radius:
                radius = min(2 * radius, max_radius)
            _add_pair(pairs, step, new_gradient - gradient, memory)
            theta, loss, gradient = candidate, new_loss, new_gradient
            measure = stationarity(theta, gradient, loss)
        else:
            for problem, (x, v) in zip(problems, saved, strict=True):
                problem.x, problem.v = x, v
            radius = 0.25 * np.abs(step).max()
            # theta again, more precisely: the next comparison is between losses
            # and gradients of equal, higher precision
            precision.tighten()
            loss, gradient = evaluate(theta)
            measure = stationarity(theta, gradient, loss)
        record(iteration, new_loss, new_gradient, trial_products, accepted)
        if radius < min_radius:
            message = (
                f"no decrease within a radius of {min_radius:g} in log C: the "
                "hypergradient does not predict the loss at this precision (inner "
                f"tol {precision.inner_tol:.2g}, cg_tol {precision.cg_tol:.2g})"
            )
            break
    if measure <= outer_tol:
        message = f"converged: stationarity {measure:.2g} <= outer_tol={outer_tol:g}"
    return LogCResult(
        theta,
        float(loss),
        measure,
        measure <= outer_tol,
        message,
        history,
        counts["uncertified"],
        counts["truncated"],
    )


def _add_pair(pairs, s, y, memory):
    """Keep the correction pair (s, y) when its curvature is positive."""
    curvature = float(s @ y)
    if curvature > 1e-10 * np.linalg.norm(s) * np.linalg.norm(y):
        pairs.append((s, y, 1.0 / curvature))
        del pairs[:-memory]


def _trust_region_step(theta, gradient, pairs, bounds, radius):
    """The projected L-BFGS step from theta, within `radius` (max norm) and the bounds.

    Entries held at a bound by their gradient are fixed; the L-BFGS direction
    is taken on the others (the pairs restricted to them). Without pairs, or
    when that direction does not descend, the step is the steepest descent
    to the radius. It is cut to the radius if longer, and projected into the
    bounds.
    """
    lower, upper = bounds
    fixed = ((theta <= lower) & (gradient > 0)) | ((theta >= upper) & (gradient < 0))
    free = np.where(fixed, 0.0, 1.0)
    restricted = []
    for s, y, _ in pairs:
        s, y = s * free, y * free
        curvature = float(s @ y)
        if curvature > 1e-10 * np.linalg.norm(s) * np.linalg.norm(y):
            restricted.append((s, y, 1.0 / curvature))
    direction = -inverse_hessian_product(restricted, gradient * free)
    if not restricted or not direction @ gradient < 0:
        # steepest descent, to the radius (no curvature to scale it yet)
        direction = -gradient * free
        direction *= radius / max(np.abs(direction).max(), 1e-300)
    length = np.abs(direction).max()
    if length > radius:
        direction *= radius / length
    return np.clip(theta + direction, lower, upper) - theta


class _Precision:
    """Inner tolerance and conjugate-gradient tolerance of the outer descent.

    Every loss the descent compares is certified at the same inner tolerance:
    `tol`, until a rejected step tightens it tenfold (down to 1e-3 `tol`),
    after which the current point is evaluated again at the new one. The
    conjugate gradients, whose error is what is left of the hypergradient near
    a stationary point (the validation gradient they solve for does not vanish
    there), follow the stationarity: a tenth of its fraction of the start's,
    at most `cg_tol`; a rejected step tightens them tenfold too (down to 1e-12).
    """

    def __init__(self, tol, cg_tol):
        self.inner_tol, self.cg_tol = tol, cg_tol
        self._floor, self._cg_cap = 1e-3 * tol, cg_tol

    def follow(self, progress):
        """The conjugate gradients' tolerance, the stationarity at `progress` of its start."""
        self.cg_tol = max(min(self._cg_cap, 0.1 * progress), 1e-12)

    def tighten(self):
        self.inner_tol = max(0.1 * self.inner_tol, self._floor)
        self._cg_cap = self.cg_tol = max(0.1 * self.cg_tol, 1e-12)
