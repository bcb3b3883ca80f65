"""Truncated Newton method: conjugate gradient on Hessian-vector products.

Each iteration solves H p = -g approximately by conjugate gradient
(preconditioned when the objective offers ``precondition(v)``), to a
relative residual of min(0.5, sqrt(||g||)) (a forcing sequence that gives
superlinear convergence, Nocedal & Wright section 7.1), then takes a
strong-Wolfe line search from the unit step. It needs only Hessian-vector
products, which cost two matrix products like a gradient, and pays off for
tight tolerances.

When the Newton step fails (no descent direction, or the line search finds no
decrease, e.g. with an unpenalized model on separable data), the solver falls
back to L-BFGS from the current iterate for the remaining iterations, as
scikit-learn's Newton solvers do, and says so in the result's message.
"""

import math

from ._base import LineSearchSolver, machine_epsilon
from ._lbfgs import LBFGS
from ._vector import dot, norm

__all__ = ["NewtonCG", "conjugate_gradient"]


def conjugate_gradient(hessp, gradient, *, rtol, max_iter, precondition=None, x0=None):
    """Approximately solve ``H p = -gradient`` by (preconditioned) conjugate gradient.

    Stops when the residual norm is at most ``rtol * ||gradient||``, after
    `max_iter` products, or on a direction of non-positive curvature (then the
    iterate so far is returned, or the first search direction if there is
    none, which descends).

    Parameters
    ----------
    hessp : callable
        Hessian-vector product.
    gradient : array
    rtol : float
    max_iter : int
    precondition : callable, default=None
        An approximate inverse of H (symmetric positive definite).
    x0 : array, default=None
        A starting point (e.g. the solution of a nearby system); zero by default.

    Returns
    -------
    p : array
    n_products : int
        Hessian-vector products used.
    """
    if x0 is None:
        p = gradient * 0.0
        residual = -gradient
    else:
        p = x0 * 1.0
        residual = -gradient - hessp(p)
    z = residual if precondition is None else precondition(residual)
    conjugate = z * 1.0
    rz = dot(residual, z)
    target = (rtol**2) * dot(gradient, gradient)
    eps = machine_epsilon(gradient.dtype)
    for n_products in range(1, max_iter + 1):
        h_conjugate = hessp(conjugate)
        curvature = dot(conjugate, h_conjugate)
        if curvature <= eps * dot(conjugate, conjugate):
            return (conjugate if n_products == 1 else p), n_products
        alpha = rz / curvature
        p += alpha * conjugate
        residual -= alpha * h_conjugate
        if dot(residual, residual) <= target:
            return p, n_products
        z = residual if precondition is None else precondition(residual)
        rz_next = dot(residual, z)
        conjugate = z + (rz_next / rz) * conjugate
        rz = rz_next
    return p, max_iter


class NewtonCG(LineSearchSolver):
    """Line-search truncated Newton on the objective protocol.

    Parameters
    ----------
    tol : float, default=1e-4
        Stop when ``max|gradient| <= tol``.
    max_iter : int, default=100
        Maximum outer (Newton) iterations.
    max_cg_iter : int, default=200
        Maximum Hessian-vector products per Newton step.
    precondition : bool, default=True
        Precondition the conjugate gradient with the objective's
        ``precondition(v)`` when it has one.
    verbose : int, default=0
    """

    name = "newton-cg"

    def __init__(self, *, tol=1e-4, max_iter=100, max_cg_iter=200, precondition=True, verbose=0):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose)
        self.max_cg_iter = max_cg_iter
        self.use_preconditioner = precondition

    def evaluate(self, x):
        return self.objective.loss_gradient_hessp(x)

    def direction(self):
        gradient_norm = norm(self.gradient)
        rtol = min(0.5, math.sqrt(gradient_norm))
        hessp = self.values[2]
        precondition = (
            getattr(self.objective, "precondition", None) if self.use_preconditioner else None
        )
        p, n_products = conjugate_gradient(
            hessp, self.gradient, rtol=rtol, max_iter=self.max_cg_iter, precondition=precondition
        )
        self.n_hessp += n_products
        return p, 1.0

    def recover(self):
        # Hand over to L-BFGS for the remaining iterations (see module docstring).
        self.fallback = LBFGS(
            tol=self.tol,
            max_iter=max(self.max_iter - self.iteration, 0),
            verbose=self.verbose,
        )
        return False

    def solve(self, objective, x0):
        self.fallback = None
        result = super().solve(objective, x0)
        if self.fallback is None:
            return result
        newton_iterations = result.nit
        rest = self.fallback.solve(objective, result.x)
        rest.nit += newton_iterations
        rest.nfev += result.nfev
        rest.nhessp += result.nhessp
        rest.history = result.history + [
            (it + newton_iterations, loss, gmax) for it, loss, gmax in rest.history
        ]
        rest.message = (
            f"newton-cg fell back to lbfgs after {newton_iterations} iterations "
            f"(no descent along the Newton direction); lbfgs: {rest.message}"
        )
        rest.fell_back = True
        return rest
