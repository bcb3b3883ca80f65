"""The few vector operations the solvers need, for NumPy arrays and torch tensors.

Solvers use Python operators (``+``, ``*``, ``@``, in-place ``+=``) and these
helpers only, so the same solver code runs on a NumPy objective and on a torch
objective (on any device) without converting the parameter vector.
"""

import math

import numpy as np

__all__ = ["copy", "dot", "max_abs", "norm"]


def copy(a):
    """A new array with the values of `a`."""
    return a.clone() if hasattr(a, "clone") else a.copy()


def dot(a, b):
    """Inner product of two vectors, as a Python float."""
    return float(a @ b)


def norm(a):
    """Euclidean norm, as a Python float."""
    return math.sqrt(dot(a, a))


def max_abs(a):
    """Largest absolute entry (0 for an empty vector), as a Python float."""
    if not a.shape[0]:
        return 0.0
    if hasattr(a, "abs"):  # torch
        return float(a.abs().max())
    return float(np.maximum(a.max(), -a.min()))  # no temporary; NaN propagates
