"""The one result type every solver returns, whatever the backend."""

from dataclasses import dataclass, field
from typing import Any

__all__ = ["OptimizeResult"]


@dataclass
class OptimizeResult:
    """Outcome of a solver run (shaped after scipy's ``OptimizeResult``).

    Attributes
    ----------
    x : array
        The solution, in the objective's array type (NumPy or torch).
    fun : float
        Objective value at `x`.
    grad_max : float
        Largest absolute entry of the gradient at `x`.
    nit : int
        Iterations (outer iterations for Newton-CG, fallback included).
    nfev : int
        Evaluations of loss and gradient.
    nhessp : int
        Hessian-vector products.
    success : bool
        Whether the stopping rule held: the relative duality gap at most
        `tol` (``max|gradient| <= tol`` for an objective without a gap).
    message : str
        Why the solver stopped.
    gap : float
        Relative duality gap at `x`: an upper bound on (fun - min) / fun.
        ``inf`` when the objective offers no bound (an unpenalized output).
    certified : bool
        Whether ``gap <= tol``.
    fell_back : bool
        Whether Newton-CG handed over to L-BFGS.
    history : list of tuple
        ``(iteration, fun, grad_max)`` after each iteration.
    certificate : array or None
        The Newton direction of the last refined certificate when it was made
        at `x` (see `_base.py`): it certifies `x` again, e.g. in float64.
    """

    x: Any
    fun: float
    grad_max: float
    nit: int = 0
    nfev: int = 0
    nhessp: int = 0
    success: bool = False
    message: str = ""
    gap: float = float("inf")
    certified: bool = False
    fell_back: bool = False
    history: list = field(default_factory=list, repr=False)
    certificate: Any = field(default=None, repr=False)
