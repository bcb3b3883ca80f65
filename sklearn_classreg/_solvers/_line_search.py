"""Strong-Wolfe line search that tolerates rounding noise in the loss.

Nocedal & Wright, *Numerical Optimization* (2nd ed.), algorithms 3.5 and 3.6:
bracket a step, then shrink the bracket by safeguarded cubic interpolation.

One change for float32 data: near the optimum the decrease of the loss from
one step falls below the rounding noise of the loss itself, and the Armijo
test then rejects good steps at random. As in Hager & Zhang's *approximate
Wolfe* conditions, a step whose loss is within `loss_noise` of the start also
counts as decreasing, provided the (accurate) directional derivative shows the
step reached the flat part: the curvature condition must still hold.
"""

import math
from dataclasses import dataclass
from typing import Any

from ._vector import dot

__all__ = ["LineSearchResult", "wolfe_line_search"]


@dataclass
class LineSearchResult:
    """Accepted step, with what was evaluated there.

    `values` is what ``evaluate(x)`` returned at the accepted point
    (loss, gradient and anything else the caller asked for).
    """

    success: bool
    step: float = 0.0
    x: Any = None
    values: tuple = ()
    n_evals: int = 0
    message: str = ""


def _cubic_minimizer(a, fa, da, b, fb, db):
    """Minimiser of the cubic matching (f, f') at a and b, or None."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    radicand = d1 * d1 - da * db
    if radicand < 0.0:
        return None
    d2 = math.copysign(math.sqrt(radicand), b - a)
    denominator = db - da + 2.0 * d2
    if denominator == 0.0:
        return None
    step = b - (b - a) * (db + d2 - d1) / denominator
    return step if math.isfinite(step) else None


def wolfe_line_search(
    evaluate,
    x,
    direction,
    loss0,
    slope0,
    step0=1.0,
    *,
    c1=1e-4,
    c2=0.9,
    loss_noise=0.0,
    max_evals=30,
):
    """Find a step along `direction` satisfying the strong Wolfe conditions.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(x) -> (loss, gradient, *extra)``.
    x : array
        Starting point.
    direction : array
        A descent direction (``slope0 < 0``).
    loss0 : float
        Loss at `x`.
    slope0 : float
        Directional derivative ``gradient(x) @ direction``.
    step0 : float, default=1.0
        First step tried.
    c1, c2 : float
        Sufficient-decrease and curvature constants, 0 < c1 < c2 < 1.
    loss_noise : float, default=0.0
        Rounding noise of the loss: a loss within this of `loss0` counts as
        decrease when the curvature condition holds.
    max_evals : int, default=30

    Returns
    -------
    LineSearchResult
        On failure, the best point with a sufficient decrease (if any) is
        still returned with ``success=True`` and a message saying so. To
        keep at most one trial point in memory, that point is evaluated again
        (counted in ``n_evals``) unless it was the last one tried.
    """
    n_evals = 0
    best = None  # (loss, step) of the best point with a sufficient decrease
    last = None  # (step, x, values) of the last point tried: the only one kept

    def trial(step):
        nonlocal n_evals, best, last
        last = None  # free the previous point before evaluating the next
        n_evals += 1
        x_new = direction * step
        x_new += x
        values = evaluate(x_new)
        last = (step, x_new, values)
        loss = float(values[0])
        slope = dot(values[1], direction)
        if not (math.isfinite(loss) and math.isfinite(slope)):
            return math.inf, math.inf
        if loss <= loss0 + c1 * step * slope0 and (best is None or loss < best[0]):
            best = (loss, step)
        return loss, slope

    def decreases(step, loss):
        return loss <= loss0 + c1 * step * slope0 or loss <= loss0 + loss_noise

    def flat(slope):
        return abs(slope) <= -c2 * slope0

    def done(message=""):
        step, x_new, values = last
        return LineSearchResult(True, step, x_new, values, n_evals, message)

    def zoom(lo, f_lo, d_lo, hi, f_hi, d_hi):
        while n_evals < max_evals:
            width = abs(hi - lo)
            if width <= 1e-12 * max(1.0, abs(lo)):
                break
            step = None
            if math.isfinite(f_hi):
                step = _cubic_minimizer(lo, f_lo, d_lo, hi, f_hi, d_hi)
            low, high = min(lo, hi), max(lo, hi)
            if step is None or not (low + 0.1 * width <= step <= high - 0.1 * width):
                step = 0.5 * (lo + hi)
            loss, slope = trial(step)
            if not decreases(step, loss) or loss >= f_lo + loss_noise:
                hi, f_hi, d_hi = step, loss, slope
            else:
                if flat(slope):
                    return done()
                if slope * (hi - lo) >= 0.0:
                    hi, f_hi, d_hi = lo, f_lo, d_lo
                lo, f_lo, d_lo = step, loss, slope
        return None

    prev, f_prev, d_prev = 0.0, loss0, slope0
    step = step0
    result = None
    while n_evals < max_evals:
        loss, slope = trial(step)
        if not decreases(step, loss) or (n_evals > 1 and loss >= f_prev + loss_noise):
            result = zoom(prev, f_prev, d_prev, step, loss, slope)
            break
        if flat(slope):
            return done()
        if slope >= 0.0:
            result = zoom(step, loss, slope, prev, f_prev, d_prev)
            break
        prev, f_prev, d_prev = step, loss, slope
        step *= 4.0
    if result is not None:
        return result
    if best is not None:
        step = best[1]
        if last[0] != step:  # evaluate the best point again rather than keep it
            trial(step)
        return done("curvature condition not met")
    return LineSearchResult(
        False, n_evals=n_evals, message="line search found no decrease of the loss"
    )
