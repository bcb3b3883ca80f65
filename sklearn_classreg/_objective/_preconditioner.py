"""A cheap approximate inverse Hessian for the logistic objective.

The Hessian of the weights of class k is, in the Kronecker-factored spirit of
K-FAC (Martens & Grosse, 2015), approximately::

    H_k  ~  c * B + lambda_k * I,    B = X~^T diag(s / S) X~,

with X~ = [X, 1] (the intercept as a feature), c the mean curvature
s_i p_ik (1 - p_ik) over samples and classes at the current point (reported by
the kernels during each evaluation) and lambda_k the L2 strength of the class.
Coupling between classes is ignored. With B = U diag(beta) U^T, applying the
inverse of all K blocks costs two (K x d) @ (d x d) products, far below one
gradient.

Frozen features are strongly correlated (low intrinsic dimension), which is
what makes their logistic problems ill-conditioned; B carries exactly that
structure. On such data (10,000 x 256 features, 50 classes) this cut the
evaluations of L-BFGS to tol 1e-6 from 286-455 to 49-73.

One curvature for all classes, not one per class: a class's mean curvature
misjudges classes whose curvature sits on a few boundary samples. Measured on
16 problems (well-separated and frozen-feature-like, 2 to 30 classes): the
shared curvature never needed more evaluations than plain L-BFGS (1.1 to 6 x
fewer), the per-class one needed up to 3.6 x more on 4 of them.

Where applying the whole eigenbasis would cost a noticeable share of an
evaluation (many features next to few samples: d^2 K against n d K flops),
only the leading eigenvectors are kept, and the rest of the spectrum is
replaced by its mean (a spiked approximation of B, see `basis_rank`). On the
Omniglot features (4,840 x 1,280, 242 classes), an application of the whole
basis of 1,281 vectors took 8.5 ms against 21 ms for an evaluation (cProfile of
the main job), and L-BFGS applies it twice per iteration;
`benchmarks/bench_preconditioner.py` measures the truncation.

B and its eigenvectors are computed in the data's dtype. When they would not
fit the memory budget (see `use_full_basis`), only the diagonal of B is used.
"""

import numpy as np
from scipy import sparse
from scipy.linalg import eigh, get_blas_funcs

from .._utils._ops import NumpyOps
from .._utils._threads import split_rows

__all__ = [
    "FeatureCovariancePreconditioner",
    "basis_rank",
    "data_bytes",
    "numpy_preconditioner",
    "preconditioner_bytes",
    "use_full_basis",
]

# The full (d + 1) x (d + 1) eigenbasis is used when building it (B and its
# eigenvectors: two (d + 1)^2 arrays in the data's dtype) takes at most this
# fraction of X or this many bytes; otherwise only the diagonal of B. The
# floor keeps the basis on data with few samples per feature, where it is a
# large share of a small X but still saves time: on 5,000 x 1,280 Fashion-MNIST
# features, L-BFGS took 1.8 s with it and 2.9 s with the diagonal.
_DENSE_FRACTION_OF_X = 1 / 8
_DENSE_BYTES = 32 * 2**20
# Eigenvectors kept: applying r of them to K blocks costs 4 K size r flops,
# an evaluation 4 K n d, so at most n / _SAMPLES_PER_EIGENVECTOR of them keep
# the preconditioner within a few percent of an evaluation; never fewer than
# _MIN_RANK. Measured in benchmarks/bench_preconditioner.py.
_SAMPLES_PER_EIGENVECTOR = 16
_MIN_RANK = 64
# The one temporary chunk when accumulating B: at most this many bytes and
# this share of X (but at least 64 KiB).
_CHUNK_BYTES = 4 * 2**20
_CHUNK_FRACTION_OF_X = 1 / 32


def _gram_chunk_bytes(x_bytes):
    return int(min(_CHUNK_BYTES, max(_CHUNK_FRACTION_OF_X * x_bytes, 2**16)))


def _weighted_gram(X, weights, fit_intercept, dtype):
    """B = X~^T diag(weights) X~ with X~ = [X, 1], in `dtype`, Fortran-ordered.

    Dense X is accumulated in place by BLAS (syrk, upper triangle only) over
    chunks of sqrt(weights) * X~, so that the only temporaries are one chunk
    (see `_gram_chunk_bytes`) and no second (d + 1)^2 array.
    """
    n_samples, n_features = X.shape
    size = n_features + int(fit_intercept)
    if sparse.issparse(X):
        weighted = X.multiply(weights[:, None]).tocsr()
        gram = np.zeros((size, size), dtype=dtype, order="F")
        gram[:n_features, :n_features] = (X.T @ weighted).toarray()
        if fit_intercept:
            column_sums = np.asarray(weighted.sum(axis=0)).ravel()
            gram[:n_features, -1] = gram[-1, :n_features] = column_sums
            gram[-1, -1] = weights.sum(dtype=np.float64)
        return gram
    gram = np.zeros((size, size), dtype=dtype, order="F")
    (syrk,) = get_blas_funcs(("syrk",), (gram,))
    rows = max(1, _gram_chunk_bytes(X.nbytes) // (size * gram.itemsize))
    root_weights = np.sqrt(weights).astype(dtype)
    chunk = np.empty((min(rows, n_samples), size), dtype=dtype)
    for start in range(0, n_samples, rows):
        stop = min(start + rows, n_samples)
        part = chunk[: stop - start]
        np.multiply(X[start:stop], root_weights[start:stop, None], out=part[:, :n_features])
        if fit_intercept:
            part[:, -1] = root_weights[start:stop]
        # A C-ordered chunk is the Fortran-ordered transpose: syrk(A) = A A^T.
        syrk(1.0, part.T, beta=1.0, c=gram, trans=0, lower=0, overwrite_c=1)
    return gram


def _weighted_squares(X, weights, fit_intercept):
    """Diagonal of B: sum_i weights_i x_ij^2 (and the total weight for the intercept)."""
    if sparse.issparse(X):
        diagonal = np.asarray(X.multiply(X).T @ weights).ravel()
    else:
        diagonal = np.einsum("ij,ij,i->j", X, X, weights.astype(X.dtype), dtype=np.float64)
    if fit_intercept:
        diagonal = np.append(diagonal, weights.sum(dtype=np.float64))
    return diagonal


class FeatureCovariancePreconditioner:
    """Approximate inverse Hessian, block-diagonal over classes (see module doc).

    Works on NumPy arrays and torch tensors alike, through the backend's
    `ops`: build it with `numpy_preconditioner` or the torch objective's
    equivalent.

    Parameters
    ----------
    eigenvalues : array of shape (rank,) or (n_features + fit_intercept,)
        Eigenvalues of B belonging to `eigenvectors` (or B's diagonal when
        `eigenvectors` is None).
    eigenvectors : array of shape (size, rank) or None
        Eigenvectors of B as columns (all of them, or the leading ones), in
        the dtype of the vectors to precondition.
    ops : ArrayOps
        Of the vectors it is applied to.
    rest : float, default=None
        The mean of B's other eigenvalues, for a truncated basis: B is then
        taken as ``U diag(eigenvalues) U^T + rest (I - U U^T)``.
    """

    def __init__(self, eigenvalues, eigenvectors, ops, rest=None):
        self.eigenvalues = eigenvalues.clip(min=0.0)
        self.eigenvectors = eigenvectors
        self.ops = ops
        self.rest = None if rest is None else max(float(rest), 0.0)

    @property
    def full(self):
        """Whether an eigenbasis of B is used (else its diagonal)."""
        return self.eigenvectors is not None

    @property
    def rank(self):
        """Eigenvectors kept (0 for the diagonal preconditioner)."""
        return 0 if self.eigenvectors is None else self.eigenvectors.shape[1]

    def apply(self, V, curvature, l2):
        """Blocks (c B + l2_k I)^{-1} applied to the rows of V.

        Parameters
        ----------
        V : array of shape (n_outputs, n_features + fit_intercept)
        curvature : float
            c, the mean curvature over samples and outputs.
        l2 : array of shape (n_outputs,)
            L2 strength of each output (already divided by the total weight).

        Returns
        -------
        array of the shape, type and dtype of V
        """
        out = self.ops.empty(V.shape)
        self.apply_into(V, None, curvature, l2, out, None)
        return out

    def apply_into(self, V, v_b, curvature, l2, out_W, out_b):
        """`apply` to the blocks [V, v_b], written to [out_W, out_b].

        The blocks are given, and the result written, as the weights part
        (n_outputs, n_features) and the intercept part (n_outputs,) or None,
        as they lie in a parameter vector. The outputs may be V and v_b
        themselves: the only temporary is one (n_outputs, rank) array (and an
        eighth of one (n_outputs, n_features + 1) array).
        """
        n_features = V.shape[1]
        ops = self.ops
        U = self.eigenvectors
        if U is None:
            coordinates = ops.empty((V.shape[0], n_features + int(v_b is not None)))
            coordinates[:, :n_features] = V
            if v_b is not None:
                coordinates[:, -1] = v_b
        else:
            coordinates = ops.empty((V.shape[0], U.shape[1]))
            ops.matmul_into(V, U[:n_features], coordinates)
            if v_b is not None:  # + v_b U[-1]^T, in blocks of rows
                for rows in _row_blocks(V.shape[0]):
                    coordinates[rows] += v_b[rows, None] * U[-1][None, :]
        rest = self._divide(coordinates, curvature, l2)
        if U is None:
            out_W[...] = coordinates[:, :n_features]
            if out_b is not None:
                out_b[...] = coordinates[:, -1]
        elif rest is None:
            # (coordinates @ U^T)[:, j] = coordinates @ U[j] for each row j of U
            ops.matmul_into(coordinates, U[:n_features].T, out_W)
            if out_b is not None:
                ops.matmul_into(coordinates, U[-1], out_b)
        else:
            # v / (c rest + l2_k) + U-part, in blocks of rows (out_W may be V)
            for rows in _row_blocks(V.shape[0]):
                product = coordinates[rows] @ U[:n_features].T
                ops.multiply_into(V[rows], rest[rows, None], out_W[rows])
                out_W[rows] += product
            if out_b is not None:
                out_b[...] = coordinates @ U[-1] + v_b * rest

    def _divide(self, coordinates, curvature, l2):
        """coordinates[k, j] /= c beta_j + l2_k, in place.

        With a truncated basis, the coordinates are those of the difference
        from the rest's inverse: they are multiplied by
        1 / (c beta_j + l2_k) - 1 / (c rest + l2_k), and the rest's inverses
        (one per output) are returned; otherwise None.
        """
        curvatures = curvature * self.eigenvalues
        top = float(curvatures.max()) if curvatures.shape[0] else 0.0
        # Guard unpenalized classes whose probabilities have saturated.
        floor = 1e-10 * max(top + float(l2.max()), 1e-300)
        rest = None
        if self.rest is not None:
            rest = curvature * self.rest + l2
            self.ops.clip_below_(rest, floor)
            rest = 1.0 / rest
        # In blocks of rows, so that the denominators take an eighth of V.
        for rows in _row_blocks(coordinates.shape[0]):
            denominator = curvatures[None, :] + l2[rows, None]
            self.ops.clip_below_(denominator, floor)
            if rest is None:
                coordinates[rows] /= denominator
            else:
                coordinates[rows] *= 1.0 / denominator - rest[rows, None]
        return rest


def _row_blocks(n_rows, n_blocks=8):
    """Slices cutting n_rows into at most n_blocks blocks."""
    return [slice(a, b) for a, b in split_rows(0, n_rows, n_blocks)]


def data_bytes(X):
    """Bytes of the values of X (dense array or sparse matrix)."""
    return X.data.nbytes if sparse.issparse(X) else X.nbytes


def use_full_basis(size, itemsize, x_bytes):
    """Whether building a (size x size) eigenbasis fits the memory budget."""
    return 2 * size * size * itemsize <= max(_DENSE_BYTES, _DENSE_FRACTION_OF_X * x_bytes)


def basis_rank(size, n_samples):
    """Eigenvectors of B the preconditioner keeps (see _SAMPLES_PER_EIGENVECTOR).

    Parameters
    ----------
    size : int
        n_features + fit_intercept.
    n_samples : int

    Returns
    -------
    int
        `size` (the whole basis) unless the data has few samples per feature.

    Examples
    --------
    >>> basis_rank(257, 10_000), basis_rank(1281, 4_840)
    (257, 302)
    """
    return int(min(size, max(_MIN_RANK, n_samples // _SAMPLES_PER_EIGENVECTOR)))


def preconditioner_bytes(size, itemsize, x_bytes, rank, *, while_built=False):
    """Bytes the preconditioner keeps (`rank` eigenvectors), or takes at the peak of
    building it."""
    if not use_full_basis(size, itemsize, x_bytes):
        return 2 * size * 8
    kept = size * rank * itemsize
    if while_built:
        return size * size * itemsize + kept + _gram_chunk_bytes(x_bytes)
    return kept


def truncated_basis(eigenvalues, eigenvectors, rank, trace):
    """The `rank` leading eigenpairs of B and the mean of its other eigenvalues.

    Parameters
    ----------
    eigenvalues, eigenvectors : arrays
        Eigenpairs of B in ascending order (as eigh returns them), all or the
        leading `rank` ones, of either backend.
    rank : int
    trace : float
        The trace of B, from which the rest's mean is found.

    Returns
    -------
    eigenvalues, eigenvectors, rest
        ``rest`` is None when the basis is whole.
    """
    size = eigenvectors.shape[0]
    eigenvalues, eigenvectors = eigenvalues[-rank:], eigenvectors[:, -rank:]
    if rank >= size:
        return eigenvalues, eigenvectors, None
    rest = (trace - float(eigenvalues.sum())) / (size - rank)
    return eigenvalues, eigenvectors, rest


def numpy_preconditioner(X, weights, fit_intercept, dtype, rank=None, n_threads=1):
    """The preconditioner of NumPy / SciPy data.

    Parameters
    ----------
    X : {ndarray, CSR matrix} of shape (n_samples, n_features)
    weights : ndarray of shape (n_samples,)
        Normalised sample weights (summing to one).
    fit_intercept : bool
    dtype : dtype
        Of the vectors it is applied to, and of its computation.
    rank : int, default=None
        Eigenvectors kept; by default `basis_rank`'s.
    n_threads : int, default=1
        Of its products (see `NumpyOps`).
    """
    ops = NumpyOps(dtype, n_threads)
    size = X.shape[1] + int(fit_intercept)
    if use_full_basis(size, np.dtype(dtype).itemsize, data_bytes(X)):
        gram = _weighted_gram(X, weights, fit_intercept, dtype)
        trace = float(np.trace(gram, dtype=np.float64))
        rank = basis_rank(size, X.shape[0]) if rank is None else min(int(rank), size)
        # In place on the upper triangle of B: only the (leading) eigenvectors are new.
        eigenvalues, eigenvectors = eigh(
            gram,
            lower=False,
            overwrite_a=True,
            check_finite=False,
            subset_by_index=None if rank == size else (size - rank, size - 1),
        )
        eigenvalues, eigenvectors, rest = truncated_basis(eigenvalues, eigenvectors, rank, trace)
        return FeatureCovariancePreconditioner(eigenvalues, eigenvectors, ops, rest)
    diagonal = _weighted_squares(X, weights, fit_intercept)
    return FeatureCovariancePreconditioner(diagonal.astype(dtype), None, ops)
