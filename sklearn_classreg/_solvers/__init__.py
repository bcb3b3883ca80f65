"""Solvers written once against the objective protocol (machinery).

They import no objective: they receive one (see `_base.py` for the protocol),
so the NumPy/numba objective and the torch objective share them.
"""

from ._certified import solve_certified
from ._lbfgs import LBFGS
from ._newton_cg import NewtonCG
from ._result import OptimizeResult

__all__ = ["LBFGS", "NewtonCG", "OptimizeResult", "SOLVERS", "solve_certified"]

SOLVERS = {"lbfgs": LBFGS, "newton-cg": NewtonCG}
