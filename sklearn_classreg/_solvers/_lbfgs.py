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

from .._utils._ops import ArrayOps
from ._base import LineSearchSolver

dot = ArrayOps.dot

__all__ = ["LBFGS", "inverse_hessian_product"]

# Parameter-sized vectors live besides the history at the peak of a fit (in
# the line search): the iterate, its gradient, the direction, the trial point
# and its gradient, the caller's starting point; and one spare.
_WORKING_VECTORS = 7
_MIN_HISTORY = 5


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
        By default the identity scaled by gamma = s.y / y.y. Called as
        ``initial(v)`` (a new array) and ``initial(v, out=v)`` (in place).

    Returns
    -------
    array
        H^{-1} v, a new array.
    """
    scale = 1.0
    if pairs:
        s, y, _ = pairs[-1]
        scale = dot(s, y) / dot(y, y if initial is None else initial(y))
    q = v * 1.0
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * dot(s, q)
        q -= alpha * y
        alphas.append(alpha)
    if initial is not None:
        initial(q, out=q)
    if pairs:
        q *= scale
    for (s, y, rho), alpha in zip(pairs, reversed(alphas), strict=True):
        beta = rho * dot(y, q)
        q += (alpha - beta) * s
    return q


class LBFGS(LineSearchSolver):
    """L-BFGS (Nocedal & Wright, algorithm 7.4) on the objective protocol.

    When the objective offers ``precondition(v, out=None)`` (an approximate
    inverse Hessian at the last evaluated point), it replaces the scaled identity as
    the initial matrix of the two-loop recursion (preconditioned L-BFGS).

    Parameters
    ----------
    tol : float, default=1e-4
        Stop when ``max|gradient| <= tol``.
    max_iter : int, default=100
    history : int, default=10
        Most correction pairs kept. When the objective has a memory plan
        (``solver_memory_bytes()``), fewer are kept if that brings the fit
        within it, but never fewer than 5: with 5 pairs an ill-conditioned
        problem already needs more iterations (Omniglot features: 541 against
        442 with 10). When not even 5 fit, the parameters are large next to the
        data, the plan cannot be met, and all `history` pairs are kept.
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
        self.pairs = deque(maxlen=self.planned_history(objective, x0))  # (s, y, 1 / s.y)
        self.eps = self.ops.eps
        self.initial = (
            getattr(objective, "precondition", None) if self.use_preconditioner else None
        )

    def planned_history(self, objective, x0):
        """Correction pairs to keep: see the `history` parameter."""
        budget = getattr(objective, "solver_memory_bytes", None)
        if budget is None or x0.shape[0] == 0:
            return self.history_size
        vector_bytes = x0.shape[0] * objective.dtype.itemsize
        fitting = int((budget() / vector_bytes - _WORKING_VECTORS) // 2)
        if fitting < _MIN_HISTORY:
            return self.history_size
        return min(self.history_size, fitting)

    def direction(self):
        g = self.gradient
        if not self.pairs and self.initial is None:
            # No curvature information yet: a steepest-descent step of length 1.
            return -g, min(1.0, 1.0 / max(self.ops.norm(g), self.eps))
        direction = inverse_hessian_product(self.pairs, g, self.initial)
        direction *= -1.0
        return direction, 1.0

    def update(self, step):
        s, y = step
        sy = self.ops.dot(s, y)
        if sy > self.eps * self.ops.dot(y, y):  # keep the inverse Hessian positive definite
            self.pairs.append((s, y, 1.0 / sy))

    def release(self):
        super().release()
        self.pairs = self.initial = None

    def recover(self):
        # A failed line search with curvature pairs: drop them and retry once
        # along the steepest descent direction.
        if self.pairs:
            self.pairs.clear()
            return True
        return False
