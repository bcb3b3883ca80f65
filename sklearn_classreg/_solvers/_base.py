"""Template of a line-search descent method, shared by L-BFGS and Newton-CG.

``solve`` runs ``setup -> (check_convergence -> direction -> line_search ->
update)* -> finalize``. A subclass supplies how to evaluate the objective
(`evaluate`), the search direction, what to remember from an accepted step,
and what to do when no step is found (`recover`).

The objective protocol
----------------------
A solver only calls these members of the objective, whose arrays may be NumPy
arrays or torch tensors (on any device):

``loss_gradient(x) -> (loss: float, gradient)``: a new gradient array at
every call, which the solver owns (it computes the gradient change in it)
``loss_gradient_hessp(x) -> (loss, gradient, hessp)`` (Newton-CG only)
``dtype`` (NumPy or torch dtype; only its precision is used)
``duality_gap(x, loss, gradient) -> float or None`` (optional): an upper
bound on ``loss - min``; None when the objective has no such bound

The stopping rule
-----------------
With `duality_gap`, a solver stops when the relative gap
``duality_gap / |loss|`` is at most `tol`: a certificate that the loss is
within a factor (1 + tol) of the minimum. Without one (an objective that
offers none, or returns None), it stops when ``max|gradient| <= tol``, which
bounds nothing, and says so in its result (``gap`` is then ``inf``).
"""

import math

import numpy as np

from ._line_search import wolfe_line_search
from ._result import OptimizeResult
from ._vector import copy, dot, max_abs

__all__ = ["LineSearchSolver", "machine_epsilon"]


def machine_epsilon(dtype):
    """Machine epsilon of a NumPy or torch floating dtype."""
    if hasattr(dtype, "is_floating_point"):  # torch.dtype
        return 2.0 ** -(52 if dtype.itemsize == 8 else 23)
    return float(np.finfo(dtype).eps)


class LineSearchSolver:
    """Base class: minimise an objective until its relative duality gap is at most tol.

    Parameters
    ----------
    tol : float
        Stop when the objective's duality gap divided by its value is at most
        tol (or, for an objective without a gap, when the largest absolute
        entry of the gradient is; see the module docstring).
    max_iter : int
        Maximum number of iterations.
    verbose : int, default=0
        Print one line per iteration when positive.
    """

    name = "base"

    def __init__(self, *, tol=1e-4, max_iter=100, verbose=0):
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose
        # Stop (unconverged) after this many iterations without halving the
        # best relative gap while the loss stays flat to rounding (`stalled`);
        # None: never. `solve_certified` sets it for the float32 stage, whose
        # gap stalls at the dtype's noise.
        self.patience = None

    # ----------------------------------------------------------- to override
    def evaluate(self, x):
        """``(loss, gradient, *extra)`` at x; extra is kept with the iterate."""
        return self.objective.loss_gradient(x)

    def direction(self):
        """Search direction at the current iterate, and the first step to try."""
        raise NotImplementedError

    def update(self, step):
        """Remember what the solver needs from an accepted step (hook)."""

    def recover(self):
        """Called when no step is found; return True to try again."""
        return False

    # --------------------------------------------------------------- template
    def setup(self, objective, x0):
        self.objective = objective
        self.x = copy(x0)
        self.values = self.evaluate(self.x)
        self.loss, self.gradient = float(self.values[0]), self.values[1]
        self.grad_max = max_abs(self.gradient)
        self.iteration = 0
        self.n_evals = 1
        self.n_hessp = 0
        self.message = ""
        self.history = []
        self.noise_factor = 64.0 * machine_epsilon(objective.dtype)
        self.gap = math.inf
        self.certified = False
        self.has_gap = False
        self.success = False  # the stopping rule held
        self.best_gap = (math.inf, 0, self.loss)  # (best relative gap, its iteration, loss)

    def relative_gap(self):
        """Relative duality gap at the current iterate, or None without a bound."""
        bound = getattr(self.objective, "duality_gap", None)
        gap = None if bound is None else bound(self.x, self.loss, self.gradient)
        if gap is None:
            return None
        return max(gap, 0.0) / abs(self.loss) if self.loss else math.inf

    def converged(self):
        """Whether the stopping rule holds at the current iterate (sets gap and certified)."""
        gap = self.relative_gap()
        self.has_gap = gap is not None
        if not self.has_gap:
            self.gap, self.certified = math.inf, False
            return self.grad_max <= self.tol
        self.gap, self.certified = gap, gap <= self.tol
        return self.certified

    def progress(self):
        """The quantity the stopping rule compares with tol, in words."""
        if self.has_gap:
            return f"relative duality gap {self.gap:.3g}"
        return f"max|gradient| = {self.grad_max:.3g} (no duality gap)"

    def check_convergence(self):
        if not math.isfinite(self.loss):
            self.message = "the loss is not finite at the starting point"
            return True
        if self.converged():
            self.success = True
            self.message = f"converged: {self.progress()} <= tol"
            return True
        if self.gap <= 0.5 * self.best_gap[0]:
            self.best_gap = (self.gap, self.iteration, self.loss)
        if self.patience is not None and self.stalled():
            self.message = (
                f"stalled: {self.progress()} > tol={self.tol:g}, the best gap not halved "
                f"and the loss flat to rounding for {self.patience} iterations"
            )
            return True
        return False

    def stalled(self):
        """No halving of the best gap, and no decrease of the loss beyond its rounding
        noise, for `patience` iterations: the dtype's precision is reached."""
        _, since, loss_then = self.best_gap
        flat = loss_then - self.loss <= 16 * self.noise_factor * abs(self.loss)
        return self.iteration - since >= self.patience and flat

    def line_search(self, direction, step0):
        slope0 = dot(self.gradient, direction)
        if not slope0 < 0.0:
            return None
        result = wolfe_line_search(
            self.evaluate,
            self.x,
            direction,
            self.loss,
            slope0,
            step0,
            loss_noise=self.noise_factor * abs(self.loss),
        )
        self.n_evals += result.n_evals
        return result if result.success else None

    def accept(self, result):
        # The step s = x_new - x and the gradient change y = g_new - g are
        # computed in place in the arrays of x and g, which are not needed
        # any more: no new parameter-sized arrays.
        step, gradient_change = self.x, self.gradient
        self.x, self.values = result.x, result.values
        self.loss, self.gradient = float(self.values[0]), self.values[1]
        self.grad_max = max_abs(self.gradient)
        self.step_size = result.step
        for change, new in ((step, self.x), (gradient_change, self.gradient)):
            change -= new
            change *= -1.0
        self.update((step, gradient_change))

    def solve(self, objective, x0):
        """Minimise `objective` from `x0` (not modified); return an OptimizeResult."""
        self.setup(objective, x0)
        while not self.check_convergence():
            if self.iteration >= self.max_iter:
                self.message = (
                    f"reached max_iter={self.max_iter} with {self.progress()} > tol={self.tol:g}"
                )
                break
            result = self.line_search(*self.direction())  # the direction is freed here
            if result is None:
                if self.recover():
                    continue
                self.message = (
                    f"{self.name}: no step decreased the loss at iteration "
                    f"{self.iteration + 1} ({self.progress()} > tol={self.tol:g}); "
                    "the loss may be at the precision limit of the data's dtype"
                )
                break
            self.iteration += 1
            self.accept(result)
            self.history.append((self.iteration, self.loss, self.grad_max))
            if self.verbose:
                print(
                    f"[{self.name}] iter {self.iteration:4d}  loss {self.loss:.10g}  "
                    f"max|grad| {self.grad_max:.3e}  gap {self.gap:.3e}  "
                    f"step {self.step_size:.3g}"
                )
        result = self.finalize()
        self.release()
        return result

    def release(self):
        """Drop the arrays of the last solve (the result keeps its own)."""
        self.x = self.gradient = self.values = self.objective = None

    def finalize(self):
        return OptimizeResult(
            x=self.x,
            fun=self.loss,
            grad_max=self.grad_max,
            nit=self.iteration,
            nfev=self.n_evals,
            nhessp=self.n_hessp,
            success=self.success,
            message=self.message,
            gap=self.gap,
            certified=self.certified,
            history=self.history,
        )
