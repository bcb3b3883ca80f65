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
    """Base class: minimise an objective until ``max|gradient| <= tol``.

    Parameters
    ----------
    tol : float
        Stop when the largest absolute entry of the gradient is at most tol.
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

    def check_convergence(self):
        if not math.isfinite(self.loss):
            self.message = "the loss is not finite at the starting point"
            return True
        if self.grad_max <= self.tol:
            self.message = f"converged: max|gradient| = {self.grad_max:.3g} <= tol"
            return True
        return False

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
                    f"reached max_iter={self.max_iter} with "
                    f"max|gradient| = {self.grad_max:.3g} > tol={self.tol:g}"
                )
                break
            result = self.line_search(*self.direction())  # the direction is freed here
            if result is None:
                if self.recover():
                    continue
                self.message = (
                    f"{self.name}: no step decreased the loss at iteration "
                    f"{self.iteration + 1} (max|gradient| = {self.grad_max:.3g}); "
                    "the loss may be at the precision limit of the data's dtype"
                )
                break
            self.iteration += 1
            self.accept(result)
            self.history.append((self.iteration, self.loss, self.grad_max))
            if self.verbose:
                print(
                    f"[{self.name}] iter {self.iteration:4d}  loss {self.loss:.10g}  "
                    f"max|grad| {self.grad_max:.3e}  step {self.step_size:.3g}"
                )
        return self.finalize()

    def finalize(self):
        return OptimizeResult(
            x=self.x,
            fun=self.loss,
            grad_max=self.grad_max,
            nit=self.iteration,
            nfev=self.n_evals,
            nhessp=self.n_hessp,
            success=self.grad_max <= self.tol and math.isfinite(self.loss),
            message=self.message,
            history=self.history,
        )
