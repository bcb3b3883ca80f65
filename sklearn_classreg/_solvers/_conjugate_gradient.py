"""Conjugate gradient on Hessian-vector products: the Newton step's linear solve.

Newton-CG takes its steps with it, the hypergradient solves its adjoint system
with it, and the refined certificate (`_base.py`) its Newton direction.
"""

from .._utils._ops import NumpyOps

__all__ = ["conjugate_gradient"]


def conjugate_gradient(
    hessp, gradient, *, rtol, max_iter, precondition=None, x0=None, deflate=None, ops=None
):
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
    deflate : callable, default=None
        Removes in place the part of a vector in H's null space (the
        objective's ``deflate``): applied to the residuals and the
        preconditioned residuals, it keeps the iterates on the range of H
        when rounding gives the right-hand side a part in its null space.
    ops : ArrayOps, default=None
        The vectors' (the objective's ``ops``); NumPy ones by default.

    Returns
    -------
    p : array
    n_products : int
        Hessian-vector products used.
    """
    deflate = deflate or (lambda v: v)
    ops = NumpyOps(gradient.dtype) if ops is None else ops
    dot = ops.dot
    rhs = deflate(-gradient)  # a new array
    target = (rtol**2) * dot(rhs, rhs)
    if x0 is None:
        p, residual = gradient * 0.0, rhs
    else:
        p = deflate(x0 * 1.0)
        residual = deflate(rhs - hessp(p))
    z = residual if precondition is None else deflate(precondition(residual))
    conjugate = z * 1.0
    rz = dot(residual, z)
    eps = ops.eps
    for n_products in range(1, max_iter + 1):
        h_conjugate = hessp(conjugate)
        curvature = dot(conjugate, h_conjugate)
        if curvature <= eps * dot(conjugate, conjugate):
            return (conjugate if n_products == 1 else p), n_products
        alpha = rz / curvature
        p += alpha * conjugate
        residual -= alpha * h_conjugate
        deflate(residual)
        if dot(residual, residual) <= target:
            return p, n_products
        z = residual if precondition is None else deflate(precondition(residual))
        rz_next = dot(residual, z)
        conjugate = z + (rz_next / rz) * conjugate
        rz = rz_next
    return p, max_iter
