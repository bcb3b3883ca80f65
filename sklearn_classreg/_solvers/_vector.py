"""The few vector operations the solvers need, for NumPy arrays and torch tensors.

Solvers use Python operators (``+``, ``*``, ``@``, in-place ``+=``) and these
helpers only, so the same solver code runs on a NumPy objective and on a torch
objective (on any device) without converting the parameter vector.
"""

import math

import numpy as np

__all__ = ["copy", "dot", "machine_epsilon", "max_abs", "norm"]


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


def machine_epsilon(dtype):
    """Machine epsilon of a NumPy or torch floating dtype."""
    if hasattr(dtype, "is_floating_point"):  # torch.dtype
        return 2.0 ** -(52 if dtype.itemsize == 8 else 23)
    return float(np.finfo(dtype).eps)
