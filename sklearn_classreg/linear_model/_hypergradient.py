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
    """Validation loss at the inner solution and its gradient in log C (one
    entry per output), from problem.x.

    `problem.x` must solve the training objective (to the precision the
    hypergradient needs). The conjugate gradient starts from the previous
    solution `problem.v` (and stores the new one there).

    The loss is the validation loss at the exact inner solution w*, estimated
    from x to second order: one Newton step, ``-H^{-1} grad f(x)``, takes x
    to w* up to ``O(||x - w*||^2)``, and moves the validation loss by
    ``-<grad L, H^{-1} grad f(x)> = -<v, grad f(x)>``, with the adjoint v the
    conjugate gradient solves for anyway (the adjoint correction of
    goal-oriented error estimation; Giles & Suli, Acta Numerica 2002). A
    duality gap bounds the training objective's error, not the validation
    loss's, which moves along the directions the penalty holds weakly: on
    one fold of the bundled Omniglot features (61 classes, three C at 100),
    solves certified at 1e-4 / 1e-5 / 1e-6 left the validation loss off by
    +2.6e-4 / -7.5e-6 / +2.0e-5 (float32) and +1.4e-5 / +2.9e-4 / -3.0e-5
    (float64), in no order, and the corrected loss by -1.5e-4 / -2.9e-5 /
    -3.0e-6 (float32, the adjoint solved to 1e-6). The descent compares
    losses that differ by 1e-4 and less near its end.

    Returns
    -------
    loss : float
        The corrected validation loss, ``L(x) - correction``.
    gradient : ndarray of shape (n_outputs,)
    n_products : int
        Hessian-vector products of the conjugate gradient.
    correction : float
        ``<v, grad f(x)>``: to first order, by how much L(x) exceeds the
        validation loss at w* (its size says how far from w* the loss
        would have been without the correction).
    """
    train = problem.train
    with train.ops.threads():  # as a solve (see ArrayOps.threads)
        loss, validation_gradient = problem.validation.loss_gradient(problem.x)
        _, train_gradient, hessp = train.loss_gradient_hessp(problem.x, many_products=True)
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
        correction = train.ops.dot(v, train_gradient)
    problem.v = v
    V, _ = train.unpack(v)
    W, _ = train.unpack(problem.x)
    inner = train.to_numpy((V * W).sum(axis=1)).astype(np.float64)
    mu = train.l2_strength / train.total_weight
    return float(loss) - correction, mu * inner, n_products, correction


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
        The mean validation deviance at theta, at the exact inner solutions
        (estimated to second order from the inexact ones, see `hypergradient`).
    stationarity : float
        ``sum_k |theta_k - clip(theta_k - g_k)| / loss`` with g the
        hypergradient: to first order, the most a change of each C within a
        factor e (inside the bounds) lowers the loss, relative to it.
    converged : bool
        Whether `stationarity` reached the tolerance.
    message : str
        Why the descent stopped.
    history : list of dict
        One entry per outer step (the start is step 0): the trial's "loss",
        "grad_max" and "inner_tol"; whether it was "accepted" (a rejected
        trial leaves theta where it was); the loss ("theta_loss"),
        "stationarity" and "theta_inner_tol" at theta after the step (theta
        is evaluated again when the precision changes), and the mean size of
        the folds' adjoint corrections in that loss
        ("theta_loss_correction", see `hypergradient`); the trust "radius"
        for the next step; the "cg_tol" in force; the conjugate gradients'
        "cg_products" (all folds) of the trial; the decrease the hypergradient
        "predicted" for the step (negative; 0 at the start); whether the
        comparison "judged" it (below). Each trial is compared with the
        previous entry's "theta_loss", computed at the trial's inner_tol; an
        accepted trial's loss is below it.
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
    condition; the losses compared are the folds' deviances at the exact inner
    solutions, estimated by the adjoint correction, see `hypergradient`); a
    rejected one is undone and the radius shrinks to a quarter of the step,
    and the next step is the steepest descent. A step is only judged when
    the folds' mean adjoint corrections, at theta and at the trial, are
    smaller than the decrease predicted: otherwise the comparison would rest
    on them, and the step is undone and tried again, radius unchanged, at the
    tightened precision (judged in any case at the finest one); an accepted step
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

    The precision follows the descent (HOAG's decreasing tolerances; see
    `_Precision`). The first steps, while the stationarity is above a tenth
    of its start, are taken at a coarse precision: inner solves certified at
    10 `tol`, conjugate gradients to at most 10 `cg_tol`. Then, and in any
    case before the descent stops, the current point is evaluated again at
    `tol` and `cg_tol`, so that what it returns is certified at `tol`. Every
    comparison of losses is between two of the same precision, and a
    rejected step tightens both tenfold. Each conjugate-gradient solve stops
    at a relative residual of at most its tolerance (at most `cg_max_iter`
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
        Most outer steps (each solves every fold once).
    outer_tol : float, default=1e-3
        Stop when the stationarity measure is at most this.
    callback : callable, default=None
        Called with each history entry.
    cg_tol, cg_max_iter : float, int
        Final precision and budget of each conjugate-gradient solve.
    memory : int, default=10
        Correction pairs of the outer L-BFGS.
    initial_radius, max_radius, min_radius : float
        Of the trust region, in log C (its max norm).

    Returns
    -------
    LogCResult
    """
    descent = _Descent(
        problems,
        bounds=bounds,
        precision=_Precision(tol, cg_tol),
        max_iter=max_iter,
        cg_max_iter=cg_max_iter,
        memory=memory,
        max_outer_iter=max_outer_iter,
        outer_tol=outer_tol,
        radii=(initial_radius, max_radius, min_radius),
        callback=callback,
    )
    return descent.run(theta)


class _Descent:
    """The state of `optimise_log_C`: theta, its loss and hypergradient, the
    trust region, the correction pairs and the history."""

    # the coarse phase ends when the stationarity is this fraction of its start
    _REFINE_AT = 0.1

    def __init__(
        self,
        problems,
        *,
        bounds,
        precision,
        max_iter,
        cg_max_iter,
        memory,
        max_outer_iter,
        outer_tol,
        radii,
        callback,
    ):
        self.problems, self.bounds, self.precision = problems, bounds, precision
        self.max_iter, self.cg_max_iter, self.memory = max_iter, cg_max_iter, memory
        self.max_outer_iter, self.outer_tol, self.callback = max_outer_iter, outer_tol, callback
        initial_radius, self.max_radius, self.min_radius = radii
        self.radius, self.accepted, self.judged = float(initial_radius), True, True
        self.history, self.pairs = [], []
        # inner solves that ended above their tolerance, conjugate gradients cut at
        # cg_max_iter, and the products of the last evaluation
        self.counts = {"uncertified": 0, "truncated": 0, "products": 0}

    def evaluate(self, theta):
        """Mean validation loss of the folds at theta (adjoint-corrected, see
        `hypergradient`), its hypergradient and the mean size of the corrections."""
        total, gradient, corrections = 0.0, np.zeros_like(theta), 0.0
        precision, counts = self.precision, self.counts
        counts["products"] = 0
        for problem in self.problems:
            problem.train.set_C(np.exp(theta))
            if not _solve(problem, precision.inner_tol, self.max_iter).success:
                counts["uncertified"] += 1
            loss, grad, n_products, correction = hypergradient(
                problem, cg_tol=precision.cg_tol, cg_max_iter=self.cg_max_iter
            )
            counts["truncated"] += n_products >= self.cg_max_iter
            counts["products"] += n_products
            total += loss / len(self.problems)
            gradient += grad / len(self.problems)
            corrections += abs(correction) / len(self.problems)
        return total, gradient, corrections

    def move_to(self, theta):
        """Make theta the current point: its loss, hypergradient and stationarity."""
        self.theta = theta
        self.theta_tol = self.precision.inner_tol
        self.loss, self.gradient, self.correction = self.evaluate(theta)
        lower, upper = self.bounds
        projected = theta - np.clip(theta - self.gradient, lower, upper)
        self.measure = float(np.abs(projected).sum() / max(abs(self.loss), 1e-300))

    def refine_if_due(self, ending):
        """The current point again at the final precision, when the coarse phase
        ends: the stationarity has fallen to `_REFINE_AT` of its start (or to
        `outer_tol`), or the descent is `ending`."""
        due = ending or self.measure <= max(self.outer_tol, self._REFINE_AT * self.first)
        if self.precision.coarse and due:
            self.precision.refine()
            self.move_to(self.theta)

    def record(self, iteration, trial_loss, gradient, products, accepted, predicted=0.0):
        entry = {
            "iteration": iteration,
            "loss": float(trial_loss),
            "theta_loss": float(self.loss),
            "stationarity": self.measure,
            "grad_max": float(np.abs(gradient).max()),
            "radius": float(self.radius),
            "inner_tol": float(self.trial_tol),
            "theta_inner_tol": float(self.theta_tol),
            "theta_loss_correction": float(self.correction),
            "cg_tol": float(self.precision.cg_tol),
            "cg_products": products,
            "predicted": float(predicted),
            "judged": bool(self.judged),
            "accepted": bool(accepted),
        }
        self.history.append(entry)
        if self.callback is not None:
            self.callback(entry)

    def step(self):
        """One trust-region step from theta: accepted; or undone with a smaller
        radius; or, when the losses could not judge it, undone and tried again
        at a tighter precision."""
        precision, theta, gradient = self.precision, self.theta, self.gradient
        # after a rejected step, the steepest descent: it descends within a small
        # enough radius, where a quasi-Newton direction cut to the radius may not
        pairs = self.pairs if self.accepted or not self.judged else []
        step = _trust_region_step(theta, gradient, pairs, self.bounds, self.radius)
        predicted = float(gradient @ step)  # < 0
        saved = [(problem.x, problem.v) for problem in self.problems]
        precision.follow(self.measure / self.first)
        self.trial_tol = precision.inner_tol
        loss, loss_correction = self.loss, self.correction
        self.move_to(theta + step)
        trial_loss, trial_gradient = self.loss, self.gradient
        products = self.counts["products"]
        # corrections as large as the decrease tested: the comparison rests on
        # them, and is only made at a precision where they are smaller
        self.judged = precision.finest or max(self.correction, loss_correction) <= -predicted
        self.accepted = self.judged and trial_loss - loss <= 1e-3 * predicted
        if self.accepted:
            length = np.abs(step).max()
            if trial_loss - loss <= 0.5 * predicted and length >= 0.99 * self.radius:
                self.radius = min(2 * self.radius, self.max_radius)
            _add_pair(self.pairs, step, trial_gradient - gradient, self.memory)
        else:
            for problem, (x, v) in zip(self.problems, saved, strict=True):
                problem.x, problem.v = x, v
            if self.judged:
                self.radius = 0.25 * np.abs(step).max()
            # theta again, more precisely: the next comparison is between losses
            # and gradients of equal, higher precision
            precision.tighten()
            self.move_to(theta)
        return trial_loss, trial_gradient, products, predicted

    def run(self, theta):
        lower, upper = self.bounds
        max_outer_iter, outer_tol = self.max_outer_iter, self.outer_tol
        self.move_to(np.clip(np.asarray(theta, dtype=np.float64), lower, upper))
        self.first = self.measure
        self.refine_if_due(ending=max_outer_iter == 0)
        self.trial_tol = self.theta_tol  # the start has no trial: its loss is theta's
        self.record(0, self.loss, self.gradient, self.counts["products"], True)
        message = f"max_outer_iter={max_outer_iter} steps reached"
        for iteration in range(1, max_outer_iter + 1):
            if self.measure <= outer_tol:
                break
            trial_loss, trial_gradient, products, predicted = self.step()
            stuck = self.radius < self.min_radius
            self.refine_if_due(ending=stuck or iteration == max_outer_iter)
            self.record(iteration, trial_loss, trial_gradient, products, self.accepted, predicted)
            if stuck:
                precision = self.precision
                message = (
                    f"no decrease within a radius of {self.min_radius:g} in log C: the "
                    "hypergradient does not predict the loss at this precision (inner "
                    f"tol {precision.inner_tol:.2g}, cg_tol {precision.cg_tol:.2g})"
                )
                break
        if self.measure <= outer_tol:
            message = f"converged: stationarity {self.measure:.2g} <= outer_tol={outer_tol:g}"
        return LogCResult(
            self.theta,
            float(self.loss),
            self.measure,
            self.measure <= outer_tol,
            message,
            self.history,
            self.counts["uncertified"],
            self.counts["truncated"],
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

    The descent starts coarse: inner solves certified at 10 `tol`, conjugate
    gradients to at most 10 `cg_tol`. On the Omniglot features (one fold of
    the main job, C = 48.3) a warm-started inner solve after a step of 0.5 in
    log C took 174 iterations to 1e-3 against 329 to 1e-4, and a conjugate
    gradient 345 products to 1e-2 against 556 to 1e-3 (its hypergradient's
    direction then within a cosine of 0.9997 of the exact one). `refine`
    ends the coarse phase: `tol` and `cg_tol` from then on. Every loss the
    descent compares with another is certified at the same inner tolerance
    (the caller evaluates the current point again when the precision
    changes). The conjugate gradients, whose error is what is left of the
    hypergradient near a stationary point (the validation gradient they
    solve for does not vanish there), follow the stationarity: a tenth of
    its fraction of the start's, at most the cap (10 `cg_tol`, then
    `cg_tol`). A rejected step tightens both tenfold (the inner tolerance
    down to 1e-3 `tol`, the conjugate gradients' to 1e-12).
    """

    _COARSE = 10.0

    def __init__(self, tol, cg_tol):
        self.tol, self._fine_cg_cap = tol, cg_tol
        self.inner_tol, self.cg_tol = self._COARSE * tol, self._COARSE * cg_tol
        self._floor, self._cg_cap = 1e-3 * tol, self.cg_tol

    @property
    def finest(self):
        """Whether the inner solves are as tight as they go (1e-3 `tol`)."""
        return self.inner_tol <= self._floor

    @property
    def coarse(self):
        """Whether the inner solves are still looser than `tol`."""
        return self.inner_tol > self.tol

    def follow(self, progress):
        """The conjugate gradients' tolerance, the stationarity at `progress` of its start."""
        self.cg_tol = max(min(self._cg_cap, 0.1 * progress), 1e-12)

    def refine(self):
        """End the coarse phase: `tol` and at most `cg_tol` from now on."""
        self.inner_tol = min(self.inner_tol, self.tol)
        self._cg_cap = min(self._cg_cap, self._fine_cg_cap)
        self.cg_tol = min(self.cg_tol, self._cg_cap)

    def tighten(self):
        self.inner_tol = max(0.1 * self.inner_tol, self._floor)
        self._cg_cap = self.cg_tol = max(0.1 * self.cg_tol, 1e-12)
