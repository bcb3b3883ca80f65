"""The array operations of a backend: what solvers and shared objective code call on arrays.

Every objective carries one (``objective.ops``), chosen with its backend:
`NumpyOps` here, `TorchOps` in the torch objective. Solvers and the code the
two objectives share (layout, penalty, preconditioner) use these methods and
Python operators (``+``, ``*``, ``@``, in-place ``+=``) only, so they run on
NumPy arrays and on torch tensors on any device without asking which.

A new backend writes one of these, a row source and its datafit.
"""

import contextlib
import math

import numpy as np

from ._threads import run_product_blocks, single_threaded_blas, split_rows

__all__ = ["ArrayOps", "NumpyOps", "ops_of"]


class ArrayOps:
    """What every backend shares: reductions written with Python operators.

    Subclasses set ``dtype`` (the arrays' dtype, with ``itemsize``) and
    ``eps`` (its machine epsilon), and implement the array constructors.
    """

    dtype = None
    eps = None

    # Written with operators, the same for every backend: also callable on the
    # class (``ArrayOps.dot(a, b)``) by code that has no objective at hand.
    @staticmethod
    def dot(a, b):
        """Inner product of two vectors, as a Python float."""
        return float(a @ b)

    @staticmethod
    def norm(a):
        """Euclidean norm, as a Python float."""
        return math.sqrt(float(a @ a))

    def threads(self):
        """A context for a solve: within it, the backend's work runs on its own
        threads only (NumPy: BLAS on one thread, see `_utils/_threads.py`).
        Nothing by default."""
        return contextlib.nullcontext()

    # ------------------------------------------------------- backend specifics
    def zeros(self, shape):
        """A zero-filled array of the backend's type, dtype and device."""
        raise NotImplementedError

    def empty(self, shape):
        """An uninitialised array of the backend's type, dtype and device."""
        raise NotImplementedError

    def asarray(self, values):
        """NumPy values as an array of the backend's type, dtype and device."""
        raise NotImplementedError

    def to_numpy(self, a):
        """An array of the backend as a NumPy array (on the host)."""
        raise NotImplementedError

    def float64_zeros(self, shape):
        """A zero-filled float64 array of the backend (on its device): for sums."""
        raise NotImplementedError

    def as_float64(self, values):
        """NumPy values as a float64 array of the backend (on its device)."""
        raise NotImplementedError

    def as_labels(self, y):
        """Integer class indices (NumPy) as an integer array of the backend."""
        raise NotImplementedError

    def copy(self, a):
        """A new array with the values of `a`."""
        raise NotImplementedError

    def max_abs(self, a):
        """Largest absolute entry (0 for an empty vector), as a Python float."""
        raise NotImplementedError

    def matmul_into(self, a, b, out):
        """out <- a @ b, without a temporary."""
        raise NotImplementedError

    def multiply_into(self, a, b, out):
        """out <- a * b (broadcast), without a temporary; returns out."""
        raise NotImplementedError

    def clip_below_(self, a, floor):
        """a <- max(a, floor), in place."""
        raise NotImplementedError

    def row_squared_norms(self, A):
        """Squared norms of the rows of A, summed in float64, as a NumPy array."""
        raise NotImplementedError


class NumpyOps(ArrayOps):
    """`ArrayOps` of NumPy arrays of one dtype.

    Parameters
    ----------
    dtype : numpy dtype
        float32 or float64.
    n_threads : int, default=1
        Threads of `matmul_into`'s blocks, each on single-threaded BLAS (see
        `_utils/_threads.py`); within `threads`, BLAS itself keeps to one.

    Examples
    --------
    >>> import numpy as np
    >>> ops = NumpyOps(np.float32)
    >>> ops.max_abs(np.array([1.0, -3.0], dtype=np.float32))
    3.0
    >>> bool(ops.eps == np.finfo(np.float32).eps)
    True
    """

    def __init__(self, dtype, n_threads=1):
        self.dtype = np.dtype(dtype)
        self.eps = float(np.finfo(self.dtype).eps)
        self.n_threads = int(n_threads)

    def threads(self):
        if self.n_threads == 1:
            return contextlib.nullcontext()
        return single_threaded_blas()

    def zeros(self, shape):
        return np.zeros(shape, dtype=self.dtype)

    def empty(self, shape):
        return np.empty(shape, dtype=self.dtype)

    def asarray(self, values):
        return np.asarray(values, dtype=self.dtype)

    def to_numpy(self, a):
        return a

    def float64_zeros(self, shape):
        return np.zeros(shape, dtype=np.float64)

    def as_float64(self, values):
        return np.ascontiguousarray(values, dtype=np.float64)

    def as_labels(self, y):
        return np.ascontiguousarray(y, dtype=np.intp)

    def copy(self, a):
        return a.copy()

    def max_abs(self, a):
        if not a.shape[0]:
            return 0.0
        return float(np.maximum(a.max(), -a.min()))  # no temporary; NaN propagates

    def matmul_into(self, a, b, out):
        if a.ndim == 1:
            np.matmul(a, b, out=out)
            return

        def product(i, j):  # in blocks of rows (see run_product_blocks)
            np.matmul(a[i:j], b, out=out[i:j])

        columns = b.shape[1] if b.ndim == 2 else 1
        run_product_blocks(product, a.shape[0], a.size * columns, self.n_threads)

    def multiply_into(self, a, b, out):
        return np.multiply(a, b, out=out)

    def clip_below_(self, a, floor):
        np.maximum(a, floor, out=a)

    def row_squared_norms(self, A, n_blocks=8):
        # In blocks of rows: einsum casts float32 operands to float64 in a
        # buffer of their size.
        return np.concatenate(
            [
                np.einsum("kj,kj->k", A[a:b], A[a:b], dtype=np.float64)
                for a, b in split_rows(0, A.shape[0], n_blocks)
            ]
        )


def ops_of(objective):
    """The objective's `ArrayOps`; NumPy ones of its dtype for an objective without."""
    ops = getattr(objective, "ops", None)
    return ops if ops is not None else NumpyOps(objective.dtype)
