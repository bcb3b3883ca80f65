"""Certified solves of float32 objectives: finish and check in float64 arithmetic.

A float32 evaluation rounds the loss and the gradient, so its duality gap can
say "converged" where the exact objective of the float32 data does not, and its
line search can stall above `tol`. Both are settled by the objective's
``float64_twin()``: the same objective over the same X in float64 arithmetic
(X cast one chunk at a time). The solve runs in float32, then continues in
float64 from where it stopped until the exact gap is at most `tol` (usually
no iteration: one float64 evaluation checks the float32 answer). The answer is
returned in the objective's dtype, and its gap is that of the returned
(rounded) values, evaluated in float64.
"""

import copy
import math
from types import SimpleNamespace

from .._utils._ops import ops_of

__all__ = ["solve_certified"]

# The float32 stage hands over to float64 after this many iterations without
# halving its best gap (measured on digits at C = 1e4: the float32 gap stalls
# near 1e-3 from about iteration 300 while the loss wanders within its noise).
_FLOAT32_PATIENCE = 30


def solve_certified(solver, objective, x0):
    """``solver.solve(objective, x0)``, certified in float64 for float32 objectives.

    Parameters
    ----------
    solver : LineSearchSolver
    objective : object
        The objective protocol (see `_base.py`); ``float64_twin()`` optional.
    x0 : array

    Returns
    -------
    OptimizeResult
        Iterations and evaluations of both stages added up; `x` in the
        objective's dtype.
    """
    make_twin = getattr(objective, "float64_twin", None)
    in_float32 = make_twin is not None and ops_of(objective).eps > 1e-10
    if in_float32:
        solver = copy.copy(solver)
        solver.patience = _FLOAT32_PATIENCE
    result = solver.solve(objective, x0)
    if (
        not in_float32
        or not math.isfinite(result.fun)
        or (result.success and not result.certified)  # no gap (unpenalized): nothing to check
    ):
        return result
    release = getattr(objective, "release_buffers", None)
    if release is not None:  # the float32 stage is over: free what only it needed
        release()
    twin = make_twin()
    checked = _check(twin, twin.cast(result.x), solver.tol, result.certificate)
    if checked.certified or result.nit >= solver.max_iter:
        # the float32 answer holds, or no iterations are left to improve it
        result.fun, result.gap, result.certified = checked.fun, checked.gap, checked.certified
        result.success = checked.certified
        if result.success:
            result.message = (
                f"converged: relative duality gap {checked.gap:.3g} <= tol in float64 "
                f"arithmetic, after {result.nit} iterations in {objective.dtype}"
            )
        else:
            result.message = (
                f"{result.message}; in float64 arithmetic the relative duality gap is "
                f"{checked.gap:.3g}"
            )
        return result
    finishing = copy.copy(solver)
    finishing.max_iter = max(solver.max_iter - result.nit, 0)
    finishing.patience = None
    finished = finishing.solve(twin, checked.x)
    x = objective.cast(finished.x) if finished.nit else result.x
    if finished.nit:  # the gap of the rounded answer, evaluated exactly
        rounded = _check(twin, twin.cast(x), solver.tol, finished.certificate)
        # Two bounds on loss - min: the gap at the rounded point, and the
        # float64 solution's gap plus what rounding added to the loss.
        gap = min(
            rounded.gap * abs(rounded.fun),
            max(rounded.fun - finished.fun, 0.0) + finished.gap * abs(finished.fun),
        )
        finished.fun = rounded.fun
        finished.gap = gap / abs(rounded.fun) if rounded.fun else math.inf
        finished.certified = finished.gap <= solver.tol
        if finished.success and not finished.certified:
            finished.success = False
            finished.message = (
                f"the float64 solution reached the gap, but rounded to "
                f"{objective.dtype} its relative duality gap is {finished.gap:.3g} > "
                f"tol={solver.tol:g}: fit on float64 data for this tol"
            )
    finished.x = x
    finished.nit += result.nit
    finished.nfev += result.nfev
    finished.nhessp += result.nhessp
    finished.fell_back = finished.fell_back or result.fell_back
    finished.history = result.history + [
        (it + result.nit, loss, gmax) for it, loss, gmax in finished.history
    ]
    if finished.nit > result.nit:
        finished.message = (
            f"{finished.message} (after {result.nit} iterations in {objective.dtype}, "
            f"{finished.nit - result.nit} in float64)"
        )
    return finished


def _check(objective, x, tol, certificate=None):
    """Loss and relative duality gap of `objective` at x (no solver).

    One evaluation, and one more pass when the gap is above tol and the solve
    left a Newton direction at x (`certificate`) for the refined bound.
    """
    loss, gradient = objective.loss_gradient(x)
    gap = objective.duality_gap(x, loss, gradient)
    if gap is not None and certificate is not None and gap > tol * abs(loss):
        refined = objective.refined_duality_gap(x, loss, gradient, objective.cast(certificate))
        gap = min(gap, refined)
    del gradient
    gap = math.inf if gap is None or not loss else gap / abs(loss)
    return SimpleNamespace(x=x, fun=loss, gap=gap, certified=gap <= tol)
