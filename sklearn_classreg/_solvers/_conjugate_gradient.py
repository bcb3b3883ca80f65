"""Conjugate gradient on Hessian-vector products: the Newton step's linear solve.

Newton-CG takes its steps with it, the hypergradient solves its adjoint system
with it, and the refined certificate (`_base.py`) its Newton direction.
"""

from ._vector import dot, machine_epsilon

__all__ = ["conjugate_gradient"]


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
