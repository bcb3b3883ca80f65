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
``ops`` (optional): its arrays' operations (`_utils/_ops.py`: ``copy``,
``dot``, ``norm``, ``max_abs``, ``eps``...); an objective without them is one
of NumPy arrays of its ``dtype``
``dtype`` (NumPy or torch dtype; its ``itemsize`` sizes the L-BFGS history)
``duality_gap(x, loss, gradient) -> float or None`` (optional): an upper
bound on ``loss - min``; None when the objective has no such bound

The stopping rule
-----------------
With `duality_gap`, a solver stops when the relative gap
``duality_gap / |loss|`` is at most `tol`: a certificate that the loss is
within a factor (1 + tol) of the minimum. Without one (an objective that
offers none, or returns None), it stops when ``max|gradient| <= tol``, which
bounds nothing, and says so in its result (``gap`` is then ``inf``).

The refined certificate
-----------------------
At weak regularization that gap can stand orders of magnitude above the true
suboptimality, and a solver would iterate long after reaching `tol`. When
the objective offers ``refined_duality_gap(x, loss, gradient, direction)``
(and ``intercept_newton_step``, ``weight_gradient_bound``,
``loss_gradient_hessp``), the solver also tries tighter bounds, each valid
whatever its direction (see `_objective/_duality.py`):

- along the Newton step in the intercepts alone (two passes over X), when
  the gap without the intercepts' share (``weight_gradient_bound``, free) is
  within tol / 2. On Omniglot features at C = 10 that share is what keeps
  the gap 100 times above f - min f;
- along the solver's next direction (Newton-CG's truncated Newton step,
  L-BFGS's quasi-Newton one; `certificate_products` steps of conjugate
  gradient can improve it, none by default), when the solver's own estimate
  of the suboptimality (its decrement ``-gradient . direction / 2``) is within
  tol / 10: one pass over X;
- both once more before the solver stops unconverged, where their tests are
  within 100 times of those thresholds.

An attempt that fails lowers its own threshold by the factor it missed by (at
least 2). ``refine_certificates = False`` turns them all off.
"""

import math

from .._utils._ops import ops_of
from ._conjugate_gradient import conjugate_gradient
from ._line_search import wolfe_line_search
from ._result import OptimizeResult

__all__ = ["LineSearchSolver"]


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
        # Hessian products of conjugate gradient that improve the solver's own
        # direction before a refined certificate along it (module docstring).
        # None by default: on Omniglot features at C = 10, 20 products took a
        # second and lowered the bound by a third at most, and the Hessian
        # state and the CG vectors would break L-BFGS's memory plan.
        self.certificate_products = 0
        # Whether to try the refined certificates at all (module docstring).
        self.refine_certificates = True

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

    def suboptimality_estimate(self):
        """An estimate of ``(loss - min) / |loss|`` at the current iterate, or None.

        By default ``-gradient . d / (2 |loss|)`` with d the next direction
        (computed now and kept for `direction`): the decrement of the
        solver's quadratic model.
        """
        if self.pending is None:
            self.pending = self.direction()
        if not self.loss:
            return None
        return max(-self.ops.dot(self.gradient, self.pending[0]), 0.0) / (2.0 * abs(self.loss))

    def next_direction(self):
        """`direction()`, or the one `suboptimality_estimate` computed at this iterate."""
        pending, self.pending = self.pending, None
        return pending if pending is not None else self.direction()

    def hessian_product(self):
        """The Hessian-product function at the current iterate (one more evaluation)."""
        self.n_evals += 1
        return self.objective.loss_gradient_hessp(self.x)[2]

    # --------------------------------------------------------------- template
    def setup(self, objective, x0):
        self.objective = objective
        self.ops = ops_of(objective)
        self.x = self.ops.copy(x0)
        self.values = self.evaluate(self.x)
        self.loss, self.gradient = float(self.values[0]), self.values[1]
        self.grad_max = self.ops.max_abs(self.gradient)
        self.iteration = 0
        self.n_evals = 1
        self.n_hessp = 0
        self.message = ""
        self.history = []
        self.noise_factor = 64.0 * self.ops.eps
        self.gap = math.inf
        self.certified = False
        self.has_gap = False
        self.success = False  # the stopping rule held
        self.best_gap = (math.inf, 0, self.loss)  # (best relative gap, its iteration, loss)
        self.pending = None  # (direction, first step) computed ahead, at this iterate
        self.can_refine = self.refine_certificates and all(
            hasattr(objective, name)
            for name in (
                "refined_duality_gap",
                "intercept_newton_step",
                "weight_gradient_bound",
                "loss_gradient_hessp",
            )
        )
        # try the refined certificates when their tests are this low (`refinement_due`)
        self.intercepts_below = 0.5 * self.tol
        # a quasi-Newton decrement can be 100 times below the suboptimality
        self.refine_below = 0.1 * self.tol
        self.refined_at = None  # the iteration of the last refined certificate
        self.certificate = None  # its direction, when made at the current iterate

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
        self.gap = gap
        if gap > self.tol:
            due = self.refinement_due()
            if due:
                self.refine(due)
        self.certified = self.gap <= self.tol
        return self.certified

    def refinement_due(self, margin=1.0):
        """Which refined certificates to try now: a tuple of candidate names.

        "intercepts" when the gap without the intercepts' share is within
        half of tol (a test that costs nothing); "newton" when the solver's
        own suboptimality estimate is within `refine_below`; each threshold
        times `margin`. Each failed attempt lowers its own threshold (see
        `refine`).
        """
        if not self.can_refine or self.refined_at == self.iteration:
            return ()
        due = []
        weight_part = self.objective.weight_gradient_bound(self.gradient)
        if weight_part is not None and self.loss and self.objective.fit_intercept:
            if weight_part / abs(self.loss) <= margin * self.intercepts_below:
                due.append("intercepts")
        estimate = self.suboptimality_estimate()
        if estimate is not None and estimate <= margin * self.refine_below:
            due.append("newton")
        return tuple(due)

    def refine(self, due=("intercepts", "newton")):
        """Lower `gap` with refined certificates (see the module docstring).

        "intercepts": along the Newton step in the intercepts alone (two
        passes over X), which removes what making the dual point feasible for
        the intercepts costs. "newton": along the solver's next direction
        (`newton_direction`; one pass). The second is tried only if the first
        is not enough.
        """
        objective = self.objective
        self.refined_at = self.iteration
        for name in due:
            direction = self.intercept_step() if name == "intercepts" else self.newton_direction()
            if direction is None:
                continue
            self.n_evals += 1  # the pass that moves the dual point
            bound = objective.refined_duality_gap(self.x, self.loss, self.gradient, direction)
            refined = math.inf if bound is None or not self.loss else bound / abs(self.loss)
            if refined < self.gap:
                self.gap, self.certificate = refined, direction
            if self.gap <= self.tol:
                return
            # the next attempt of this kind: when its test has fallen by the
            # factor this one missed by (at least 2)
            factor = min(0.5, self.tol / self.gap)
            if name == "intercepts":
                weight_part = objective.weight_gradient_bound(self.gradient) / abs(self.loss)
                self.intercepts_below = weight_part * factor
            else:
                estimate = self.suboptimality_estimate()
                if estimate:
                    self.refine_below = estimate * factor

    def newton_direction(self):
        """The solver's next direction, improved towards H d = -gradient by
        `certificate_products` steps of conjugate gradient (see `refine`)."""
        if self.pending is None:
            self.pending = self.direction()
        start = self.pending[0]
        if self.certificate_products <= 0:
            return start
        direction, n_products = conjugate_gradient(
            self.hessian_product(),
            self.gradient,
            rtol=1e-8,
            max_iter=self.certificate_products,
            precondition=getattr(self.objective, "precondition", None),
            x0=start,
            deflate=getattr(self.objective, "deflate", None),
            ops=self.ops,
        )
        self.n_hessp += n_products
        return direction

    def intercept_step(self):
        """The Newton step in the intercepts alone (one pass over X), or None."""
        self.n_evals += 1
        return self.objective.intercept_newton_step(self.x, self.gradient)

    def progress(self):
        """The quantity the stopping rule compares with tol, in words."""
        if self.has_gap:
            return f"relative duality gap {self.gap:.3g}"
        return f"max|gradient| = {self.grad_max:.3g} (no duality gap)"

    def check_convergence(self):
        if not math.isfinite(self.loss):
            self.message = "the loss is not finite at the starting point"
            return True
        converged = self.converged()
        if self.verbose and self.iteration:
            # after converged(): the gap printed is this iterate's
            print(
                f"[{self.name}] iter {self.iteration:4d}  loss {self.loss:.10g}  "
                f"max|grad| {self.grad_max:.3e}  gap {self.gap:.3e}  "
                f"step {self.step_size:.3g}"
            )
        if converged:
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
        # 16 eps, not the line search's 64 eps noise: the losses are summed in
        # float64, and at weak regularization a float32 fit still gains a few
        # 1e-6 of the loss per 30 iterations where its answer is not yet within
        # tol (Omniglot features, C = 10: its loss agrees with float64 to 5e-8)
        flat = loss_then - self.loss <= 16 * self.ops.eps * abs(self.loss)
        return self.iteration - since >= self.patience and flat

    def line_search(self, direction, step0):
        slope0 = self.ops.dot(self.gradient, direction)
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
        self.grad_max = self.ops.max_abs(self.gradient)
        self.step_size = result.step
        for change, new in ((step, self.x), (gradient_change, self.gradient)):
            change -= new
            change *= -1.0
        self.update((step, gradient_change))
        self.pending = self.certificate = None  # both belonged to the previous iterate

    def solve(self, objective, x0):
        """Minimise `objective` from `x0` (not modified); return an OptimizeResult."""
        with ops_of(objective).threads():  # see ArrayOps.threads
            return self._solve(objective, x0)

    def _solve(self, objective, x0):
        self.setup(objective, x0)
        while not self.check_convergence():
            if self.iteration >= self.max_iter:
                self.message = (
                    f"reached max_iter={self.max_iter} with {self.progress()} > tol={self.tol:g}"
                )
                break
            result = self.line_search(*self.next_direction())  # the direction is freed here
            if result is None:
                if self.recover():
                    self.pending = None
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
        self.last_chance()
        result = self.finalize()
        self.release()
        return result

    def last_chance(self):
        """Before stopping unconverged: the refined certificates whose tests are
        within 100 times of their thresholds, if not tried at this iterate."""
        if not self.success and self.has_gap and math.isfinite(self.loss):
            due = self.refinement_due(margin=100.0)
            if not due:
                return
            self.refine(due)
            if self.gap <= self.tol:
                self.certified = self.success = True
                self.message = f"converged: {self.progress()} <= tol"

    def release(self):
        """Drop the arrays of the last solve (the result keeps its own)."""
        self.x = self.gradient = self.values = self.objective = None
        self.pending = self.certificate = None

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
            certificate=self.certificate,
        )
