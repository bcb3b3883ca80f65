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

__all__ = ["LBFGS"]


class LBFGS(LineSearchSolver):
    """L-BFGS (Nocedal & Wright, algorithm 7.4) on the objective protocol.

    Parameters
    ----------
    tol : float, default=1e-4
        Stop when ``max|gradient| <= tol``.
    max_iter : int, default=100
    history : int, default=10
        Number of correction pairs kept.
    verbose : int, default=0
    """

    name = "lbfgs"

    def __init__(self, *, tol=1e-4, max_iter=100, history=10, verbose=0):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose)
        self.history_size = history

    def setup(self, objective, x0):
        super().setup(objective, x0)
        self.pairs = deque(maxlen=self.history_size)  # (s, y, 1 / s.y)
        self.eps = machine_epsilon(objective.dtype)

    def direction(self):
        g = self.gradient
        if not self.pairs:
            # No curvature information yet: a steepest-descent step of length 1.
            return -g, min(1.0, 1.0 / max(norm(g), self.eps))
        q = -g
        alphas = []
        for s, y, rho in reversed(self.pairs):
            alpha = rho * dot(s, q)
            q -= alpha * y
            alphas.append(alpha)
        s, y, _ = self.pairs[-1]
        q *= dot(s, y) / dot(y, y)  # initial Hessian scaling gamma_k
        for (s, y, rho), alpha in zip(self.pairs, reversed(alphas), strict=True):
            beta = rho * dot(y, q)
            q += (alpha - beta) * s
        return q, 1.0

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
