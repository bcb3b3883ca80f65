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
    search = _WolfeSearch(evaluate, x, direction, loss0, slope0, c1, c2, loss_noise, max_evals)
    return search.run(step0)


class _WolfeSearch:
    """The state of one `wolfe_line_search`: its trials, the best one, the last one."""

    def __init__(self, evaluate, x, direction, loss0, slope0, c1, c2, loss_noise, max_evals):
        self.evaluate, self.x, self.direction = evaluate, x, direction
        self.loss0, self.slope0 = loss0, slope0
        self.c1, self.c2, self.loss_noise, self.max_evals = c1, c2, loss_noise, max_evals
        self.n_evals = 0
        self.best = None  # (loss, step) of the best point with a sufficient decrease
        self.last = None  # (step, x, values) of the last point tried: the only one kept

    def trial(self, step):
        """Evaluate the point at `step`: (loss, slope), infinite when not finite."""
        self.last = None  # free the previous point before evaluating the next
        self.n_evals += 1
        x_new = self.direction * step
        x_new += self.x
        values = self.evaluate(x_new)
        self.last = (step, x_new, values)
        loss = float(values[0])
        slope = float(values[1] @ self.direction)
        if not (math.isfinite(loss) and math.isfinite(slope)):
            return math.inf, math.inf
        sufficient = loss <= self.loss0 + self.c1 * step * self.slope0
        if sufficient and (self.best is None or loss < self.best[0]):
            self.best = (loss, step)
        return loss, slope

    def decreases(self, step, loss):
        """Sufficient decrease, or a loss within the rounding noise of the start."""
        return (
            loss <= self.loss0 + self.c1 * step * self.slope0
            or loss <= self.loss0 + self.loss_noise
        )

    def flat(self, slope):
        """The curvature condition."""
        return abs(slope) <= -self.c2 * self.slope0

    def done(self, message=""):
        step, x_new, values = self.last
        return LineSearchResult(True, step, x_new, values, self.n_evals, message)

    def run(self, step):
        """Bracket a step by growing it fourfold, then `zoom` into the bracket."""
        prev, f_prev, d_prev = 0.0, self.loss0, self.slope0
        result = None
        while self.n_evals < self.max_evals:
            loss, slope = self.trial(step)
            if not self.decreases(step, loss) or (
                self.n_evals > 1 and loss >= f_prev + self.loss_noise
            ):
                result = self.zoom(prev, f_prev, d_prev, step, loss, slope)
                break
            if self.flat(slope):
                return self.done()
            if slope >= 0.0:
                result = self.zoom(step, loss, slope, prev, f_prev, d_prev)
                break
            prev, f_prev, d_prev = step, loss, slope
            step *= 4.0
        if result is not None:
            return result
        if self.best is not None:
            step = self.best[1]
            if self.last[0] != step:  # evaluate the best point again rather than keep it
                self.trial(step)
            return self.done("curvature condition not met")
        return LineSearchResult(
            False, n_evals=self.n_evals, message="line search found no decrease of the loss"
        )

    def zoom(self, lo, f_lo, d_lo, hi, f_hi, d_hi):
        """Shrink the bracket [lo, hi] by safeguarded cubic interpolation (algorithm 3.6)."""
        while self.n_evals < self.max_evals:
            width = abs(hi - lo)
            if width <= 1e-12 * max(1.0, abs(lo)):
                break
            step = None
            if math.isfinite(f_hi):
                step = _cubic_minimizer(lo, f_lo, d_lo, hi, f_hi, d_hi)
            low, high = min(lo, hi), max(lo, hi)
            if step is None or not (low + 0.1 * width <= step <= high - 0.1 * width):
                step = 0.5 * (lo + hi)
            loss, slope = self.trial(step)
            if not self.decreases(step, loss) or loss >= f_lo + self.loss_noise:
                hi, f_hi, d_hi = step, loss, slope
            else:
                if self.flat(slope):
                    return self.done()
                if slope * (hi - lo) >= 0.0:
                    hi, f_hi, d_hi = lo, f_lo, d_lo
                lo, f_lo, d_lo = step, loss, slope
        return None
