"""Limited-memory BFGS with a strong-Wolfe line search.

Why our own rather than scipy's L-BFGS-B: scipy works in float64 on host
memory, so a float32 problem would convert its parameters every evaluation
and keep float64 history (twice the memory), and a torch objective on a GPU
would copy the parameters to the host and back at every step. This solver
keeps the iterate, the gradient and the history in the objective's own arrays
and dtype. Its iteration counts match L-BFGS-B's on the same problems
(``benchmarks/`` compares both).
"""

from collections import deque

from ._base import LineSearchSolver, machine_epsilon
from ._vector import dot, norm

__all__ = ["LBFGS", "inverse_hessian_product"]


def inverse_hessian_product(pairs, v, initial=None):
    """L-BFGS approximation of H^{-1} v from correction pairs (two-loop recursion).

    Parameters
    ----------
    pairs : sequence of (s, y, rho)
        Correction pairs, oldest first, with rho = 1 / (s . y) > 0.
    v : array
    initial : callable, default=None
        An approximate inverse Hessian M^{-1} (a preconditioner) used as the
        initial matrix, scaled by tau = s.y / y.M^{-1}y of the newest pair.
        By default the identity scaled by gamma = s.y / y.y.

    Returns
    -------
    array
        H^{-1} v.
    """
    q = v * 1.0
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * dot(s, q)
        q -= alpha * y
        alphas.append(alpha)
    if pairs:
        s, y, _ = pairs[-1]
        if initial is None:
            q *= dot(s, y) / dot(y, y)
        else:
            q = initial(q) * (dot(s, y) / dot(y, initial(y)))
    elif initial is not None:
        q = initial(q)
    for (s, y, rho), alpha in zip(pairs, reversed(alphas), strict=True):
        beta = rho * dot(y, q)
        q += (alpha - beta) * s
    return q


class LBFGS(LineSearchSolver):
    """L-BFGS (Nocedal & Wright, algorithm 7.4) on the objective protocol.

    When the objective offers ``precondition(v)`` (an approximate inverse
    Hessian at the last evaluated point), it replaces the scaled identity as
    the initial matrix of the two-loop recursion (preconditioned L-BFGS).

    Parameters
    ----------
    tol : float, default=1e-4
        Stop when ``max|gradient| <= tol``.
    max_iter : int, default=100
    history : int, default=10
        Number of correction pairs kept.
    precondition : bool, default=True
        Use the objective's preconditioner when it has one.
    verbose : int, default=0
    """

    name = "lbfgs"

    def __init__(self, *, tol=1e-4, max_iter=100, history=10, precondition=True, verbose=0):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose)
        self.history_size = history
        self.use_preconditioner = precondition

    def setup(self, objective, x0):
        super().setup(objective, x0)
        self.pairs = deque(maxlen=self.history_size)  # (s, y, 1 / s.y), oldest first
        self.eps = machine_epsilon(objective.dtype)
        self.initial = (
            getattr(objective, "precondition", None) if self.use_preconditioner else None
        )

    def direction(self):
        g = self.gradient
        if not self.pairs and self.initial is None:
            # No curvature information yet: a steepest-descent step of length 1.
            return -g, min(1.0, 1.0 / max(norm(g), self.eps))
        return -inverse_hessian_product(self.pairs, g, self.initial), 1.0

    def update(self, step):
        s, y = step
        sy = dot(s, y)
        if sy > self.eps * dot(y, y):  # keep the inverse Hessian positive definite
            self.pairs.append((s, y, 1.0 / sy))

    def recover(self):
        # A failed line search with curvature pairs: drop them and retry once
        # along the steepest descent direction.
        if self.pairs:
            self.pairs.clear()
            return True
        return False
