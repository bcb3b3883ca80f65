"""The objective on NumPy arrays and SciPy CSR matrices, on CPU threads.

BLAS (or scipy.sparse) does the two products that dominate the cost, X @ W^T
and R^T @ X; a numba kernel (`_kernels.py`) makes one fused pass over the
logits in between. All three run as blocks taken dynamically by a few threads
(`_utils/_threads.py`): the kernel on blocks of rows, the products on blocks
of rows (X @ W^T) or of features (R^T @ X), each on single-threaded BLAS, so
that a fit next to a busy process slows down by about its share of the cores
rather than waiting on BLAS's statically split threads. Rows are processed in
chunks so that no buffer of shape (n_samples, n_classes) is needed: the extra
memory of an evaluation is one chunk of logits, whatever the number of
samples. The passes themselves are `LinearObjective`'s.
"""

import numpy as np
from scipy import sparse

from .._utils._ops import NumpyOps
from .._utils._threads import blas_num_threads, run_blocks, run_product_blocks, split_rows
from ._linear import LinearObjective
from ._preconditioner import data_bytes, numpy_preconditioner

__all__ = ["LogisticObjective"]

# Bytes of one chunk of logits: at most this, and at most this share of X,
# but never fewer rows than _MIN_CHUNK_ROWS (below that, BLAS slows down).
_CHUNK_BYTES = 8 * 2**20
_CHUNK_FRACTION_OF_X = 1 / 32
_MIN_CHUNK_ROWS = 256
# The float64 twin of float32 data runs a few evaluations only, on chunks cast
# from X: smaller ones (half the budget, fewer rows) keep its memory within the plan.
_MIN_CASTING_CHUNK_ROWS = 64
# Blocks of a chunk's kernel pass: at least this many logits each (below that,
# threads cost more than they bring), and at most _MAX_BLOCKS. Their number
# does not depend on the number of threads, nor do the sums made from them.
_MIN_LOGITS_PER_THREAD = 16384
_MAX_BLOCKS = 8


def _dense(product):
    """The result of a product with a sparse operand as a dense array."""
    return product.toarray() if sparse.issparse(product) else np.asarray(product)


class _Rows:
    """The row source of NumPy or CSR data: chunks of X in the objective's dtype.

    Float32 X under a float64 objective (the float64 twin) is cast one chunk
    at a time. Dense products run as blocks on `n_threads` threads, each
    block on single-threaded BLAS (see the module docstring); the blocks
    split the output, so the result is the same whatever the number of threads.
    """

    def __init__(self, X, dtype, chunk_rows, n_threads=1):
        self.X, self.dtype = X, dtype
        self.chunk_rows, self.n_threads = chunk_rows, n_threads
        n_samples = X.shape[0]
        self.chunks = [
            (start, min(start + chunk_rows, n_samples))
            for start in range(0, n_samples, chunk_rows)
        ]
        self.scratch = None  # a W-sized buffer for accumulating R^T X over chunks

    def __iter__(self):
        return self.iterate()

    def iterate(self, bounds=None):
        """Yield ``(i, (start, stop), X[start:stop])`` for the chunks (or `bounds`)."""
        for i, (start, stop) in enumerate(self.chunks if bounds is None else bounds):
            X_rows = self.X[start:stop]
            if X_rows.dtype != self.dtype:
                X_rows = X_rows.astype(self.dtype)
            yield i, (start, stop), X_rows

    def release_buffers(self):
        self.scratch = None

    def logits_into(self, X_rows, W, out):
        """out <- X_rows @ W^T (in blocks of rows)."""
        if sparse.issparse(X_rows):
            out[...] = X_rows @ W.T
            return

        def product(a, b):
            np.matmul(X_rows[a:b], W.T, out=out[a:b])

        run_product_blocks(product, len(X_rows), X_rows.size * len(W), self.n_threads)

    def add_back_product(self, R, X_rows, out, first):
        """out (+)= R^T @ X_rows, out of shape (n_outputs, n_features) (in blocks of
        features)."""
        if sparse.issparse(X_rows):
            product = (X_rows.T @ R).T
            if first:
                out[...] = product
            else:
                out += product
            return
        if not first and self.scratch is None:
            self.scratch = np.empty_like(out)

        def product(a, b):
            if first:
                np.matmul(R.T, X_rows[:, a:b], out=out[:, a:b])
            else:
                np.matmul(R.T, X_rows[:, a:b], out=self.scratch[:, a:b])
                out[:, a:b] += self.scratch[:, a:b]

        run_product_blocks(product, X_rows.shape[1], X_rows.size * R.shape[1], self.n_threads)

    def class_sums(self, y, weights, n_classes):
        """Per class c: sum_{y_i = c} w_i x_i (n_classes, n_features)."""
        sums = np.zeros((n_classes, self.X.shape[1]), dtype=np.float64)
        for _, (start, stop), X_rows in self:
            indicator = sparse.csr_matrix(
                (weights[start:stop], (y[start:stop], np.arange(stop - start))),
                shape=(n_classes, stop - start),
            )
            sums += _dense(indicator @ X_rows)
        return sums.astype(self.dtype, copy=False)

    def preconditioner(self, weights, fit_intercept, rank):
        """The feature-covariance preconditioner of X (see `_preconditioner.py`)."""
        return numpy_preconditioner(
            self.X, weights, fit_intercept, self.dtype, rank, self.n_threads
        )


class _ThreadBlocks:
    """The datafit's kernels on a chunk, run over blocks of its rows by a few threads.

    The methods take the `Datafit` kernels' arguments; each block adds its
    sums to its own float64 array, and the blocks' arrays are added to the
    caller's in block order (so the sums depend neither on timing nor on the number
    of threads).
    """

    def __init__(self, datafit, n_threads):
        self.datafit, self.n_threads = datafit, n_threads

    def _on_blocks(self, n_rows, n_outputs, task, sums_shape):
        """Run ``task(a, b, sums)`` on thread blocks of `n_rows` rows.

        Returns the tasks' results and the sums added over blocks, in block order.
        """
        n_blocks = min(_MAX_BLOCKS, max(1, n_rows * n_outputs // _MIN_LOGITS_PER_THREAD))
        blocks = split_rows(0, n_rows, n_blocks)
        parts = np.zeros((len(blocks), *sums_shape), dtype=np.float64)
        results = run_blocks(lambda j, a, b: task(a, b, parts[j]), blocks, self.n_threads)
        return results, parts.sum(axis=0)

    def loss_gradient(self, z, intercept, y, weights, smoothing, logit_penalty, state, sums):
        def task(a, b, block_sums):
            return self.datafit.loss_gradient(
                z[a:b],
                intercept,
                y[a:b],
                weights[a:b],
                smoothing,
                logit_penalty,
                state[a:b] if state.shape[0] else state,
                block_sums,
            )

        losses, chunk_sums = self._on_blocks(len(z), z.shape[1], task, sums.shape)
        sums += chunk_sums
        return sum(losses)

    def hessian_state(self, z, intercept, weights, logit_penalty, state):
        def task(a, b, _):
            self.datafit.hessian_state(z[a:b], intercept, weights[a:b], logit_penalty, state[a:b])

        self._on_blocks(len(z), z.shape[1], task, (z.shape[1],))

    def hessp(self, v, v_intercept, state, weights, logit_penalty, intercept_hessp):
        def task(a, b, block_sums):
            self.datafit.hessp(
                v[a:b], v_intercept, state[a:b], weights[a:b], logit_penalty, block_sums
            )

        intercept_hessp += self._on_blocks(len(v), v.shape[1], task, intercept_hessp.shape)[1]

    def dual_step(self, z, intercept, v, v_intercept, y, weights, steps, sums):
        def task(a, b, block_sums):
            self.datafit.dual_step(
                z[a:b], intercept, v[a:b], v_intercept, y[a:b], weights[a:b], steps, block_sums
            )

        sums += self._on_blocks(len(z), z.shape[1], task, sums.shape)[1]


class LogisticObjective(LinearObjective):
    """The regularized logistic objective (`LinearObjective`) on NumPy or CSR data.

    Vectors are NumPy arrays of the objective's dtype. The datafit's numba
    kernels run on blocks of each chunk's rows, on `n_threads` threads.

    Parameters
    ----------
    X : {ndarray, CSR matrix} of shape (n_samples, n_features), float32 or float64
        Used as is: C- or F-ordered dense arrays are never copied.
    y : ndarray of shape (n_samples,)
        Class indices, 0 .. n_classes - 1 (0 or 1 for the sigmoid datafit).
    sample_weight : ndarray of shape (n_samples,)
        Non-negative, with a positive sum.
    datafit : Datafit
    C : ndarray of shape (n_outputs,)
        Inverse L2 strength per output row; ``np.inf`` leaves it unpenalized.
    label_smoothing : ndarray of shape (n_classes,)
        Smoothing of the target of each true class.
    logit_penalty : float
    fit_intercept : bool
    chunk_rows : int, default=None
        Rows per chunk; by default 1/32 of X's size in logits, at most
        8 MiB, at least 256 rows.
    n_threads : int, default=None
        Threads of the kernels; by default as many as BLAS may use.
    whole_basis : bool, default=False
        Keep the preconditioner's whole eigenbasis even with few samples per
        feature (see `basis_rank`). Newton-CG asks for it: on the Omniglot
        features at C = 1 its conjugate gradients with the truncated basis
        needed 37 Newton steps instead of 27 (128 s instead of 91 s).
    dtype : {np.float32, np.float64}, default=None
        Precision of the arithmetic; by default X's dtype. float64 on float32
        X casts X one chunk at a time (no float64 copy of X): the exact
        objective of the float32 data, used to certify float32 solutions
        (see `float64_twin`).
    """

    def __init__(
        self,
        X,
        y,
        sample_weight,
        *,
        datafit,
        C,
        label_smoothing,
        logit_penalty=0.0,
        fit_intercept=True,
        chunk_rows=None,
        n_threads=None,
        whole_basis=False,
        dtype=None,
    ):
        self.X = X
        self.dtype = np.dtype(X.dtype if dtype is None else dtype)
        self.n_threads = blas_num_threads() if n_threads is None else int(n_threads)
        self.ops = NumpyOps(self.dtype, self.n_threads)
        # for `float64_twin`, which takes its own chunks (see _MIN_CASTING_CHUNK_ROWS)
        self._arguments = dict(
            X=X,
            y=y,
            sample_weight=sample_weight,
            datafit=datafit,
            label_smoothing=label_smoothing,
            logit_penalty=logit_penalty,
            fit_intercept=fit_intercept,
            chunk_rows=None,
            n_threads=n_threads,
            whole_basis=whole_basis,
        )
        self.chunk_datafit = _ThreadBlocks(datafit, self.n_threads)
        n_samples, n_features = X.shape
        n_outputs = datafit.n_outputs(len(label_smoothing))
        x_bytes = data_bytes(X)
        row_bytes = n_outputs * self.dtype.itemsize
        casting = self.dtype != X.dtype and not sparse.issparse(X)
        if casting:  # the float64 twin of float32 data: the cast chunk of X counts too
            row_bytes += n_features * self.dtype.itemsize
        if chunk_rows is None:
            budget = min(_CHUNK_BYTES, _CHUNK_FRACTION_OF_X * x_bytes)
            if casting:
                budget /= 2
            min_rows = _MIN_CASTING_CHUNK_ROWS if casting else _MIN_CHUNK_ROWS
            chunk_rows = max(min_rows, int(budget // row_bytes))
        chunk_rows = int(max(1, min(n_samples, chunk_rows)))
        self.rows = _Rows(X, self.dtype, chunk_rows, self.n_threads)
        self._set_up(X.shape, C, x_bytes)
