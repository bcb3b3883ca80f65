"""The objective solvers talk to: regularized logistic loss on CPU.

BLAS (or scipy.sparse) does the two products that dominate the cost, X @ W^T
and R^T @ X; a numba kernel (`_kernels.py`) makes one fused pass over the
logits in between. Rows are processed in chunks so that no buffer of shape
(n_samples, n_classes) is needed: the extra memory of an evaluation is one
chunk of logits, whatever the number of samples.
"""

import numpy as np
from scipy import sparse

from .._utils._ops import NumpyOps
from .._utils._threads import blas_num_threads, run_blocks, split_rows
from ._duality import DualStep
from ._layout import LinearLayout
from ._preconditioner import data_bytes, numpy_preconditioner, preconditioner_bytes

__all__ = ["LogisticObjective"]

# Bytes of one chunk of logits: at most this, and at most this share of X,
# but never fewer rows than _MIN_CHUNK_ROWS (below that, BLAS slows down).
_CHUNK_BYTES = 8 * 2**20
_CHUNK_FRACTION_OF_X = 1 / 32
_MIN_CHUNK_ROWS = 256
# The float64 twin of float32 data runs a few evaluations only, on chunks cast
# from X: smaller ones (half the budget, fewer rows) keep its memory within the plan.
_MIN_CASTING_CHUNK_ROWS = 64
# The memory plan: a fit adds at most this share of X where it can.
# - Newton-CG: the two chunk buffers, the preconditioner and _SOLVER_VECTORS
#   parameter-sized vectors (iterate, gradient, conjugate-gradient vectors,
#   line search) come first. What is left keeps per-sample Hessian state
#   (n_outputs values per row) for as many leading chunks as fit; the state of
#   the other chunks is recomputed in each Hessian product, at the cost of one
#   more matrix product on them.
# - L-BFGS sizes its history with what the objective's buffers leave
#   (`solver_memory_bytes`).
_FIT_FRACTION_OF_X = 1 / 4
_SOLVER_VECTORS = 16
# Below this many logits per chunk, threads cost more than they bring.
_MIN_LOGITS_PER_THREAD = 16384


def _dense(product):
    """The result of a product with a sparse operand as a dense array."""
    return product.toarray() if sparse.issparse(product) else np.asarray(product)


class LogisticObjective(LinearLayout):
    r"""Regularized logistic loss of a linear model, divided by the total weight.

    With S = sum_i s_i::

        f(coef) = (1 / S) * [ sum_i s_i * loss_i(W x_i + b)
                              + sum_k ||w_k||^2 / (2 C_k) ]

    where loss_i is the datafit's cross-entropy (with label smoothing and the
    logit penalty). Dividing by S does not move the minimiser; it makes f and
    its gradient of order one, so that a gradient tolerance means the same for
    every sample size -- the scaling scikit-learn's lbfgs uses, so ``tol``
    means the same in both libraries.

    Conventions
    -----------
    coef : ndarray of shape (n_params,), dtype of X
        ``concat(W.ravel(), b)`` with W of shape (n_outputs, n_features) in C
        order and b of shape (n_outputs,) (absent without intercept).
        n_outputs is n_classes for the softmax datafit and 1 for the sigmoid.
    The gradient and Hessian products have the same layout.

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
        self.datafit = datafit
        self.fit_intercept = fit_intercept
        self.dtype = np.dtype(X.dtype if dtype is None else dtype)
        self.ops = NumpyOps(self.dtype)
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
        self._cast_rows = (None, None)  # the last chunk of X cast to dtype
        self.n_samples, self.n_features = X.shape
        self.n_classes = len(label_smoothing)
        self.n_outputs = datafit.n_outputs(self.n_classes)
        self._init_layout(whole_basis)
        self.y = np.ascontiguousarray(y, dtype=np.intp)
        total_weight = float(np.sum(sample_weight, dtype=np.float64))
        self.total_weight = total_weight
        self.weights = np.ascontiguousarray(
            np.asarray(sample_weight, dtype=np.float64) / total_weight, dtype=self.dtype
        )
        self.set_C(C)
        self.label_smoothing = np.ascontiguousarray(label_smoothing, dtype=np.float64)
        self.logit_penalty = float(logit_penalty)
        self.n_threads = blas_num_threads() if n_threads is None else int(n_threads)

        self._x_bytes = data_bytes(X)
        row_bytes = self.n_outputs * self.dtype.itemsize
        casting = self.dtype != X.dtype and not sparse.issparse(X)
        if casting:  # the float64 twin of float32 data: the cast chunk of X counts too
            row_bytes += self.n_features * self.dtype.itemsize
        if chunk_rows is None:
            budget = min(_CHUNK_BYTES, _CHUNK_FRACTION_OF_X * self._x_bytes)
            if casting:
                budget /= 2
            min_rows = _MIN_CASTING_CHUNK_ROWS if casting else _MIN_CHUNK_ROWS
            chunk_rows = max(min_rows, int(budget // row_bytes))
        self.chunk_rows = int(max(1, min(self.n_samples, chunk_rows)))
        self._chunks = [
            (start, min(start + self.chunk_rows, self.n_samples))
            for start in range(0, self.n_samples, self.chunk_rows)
        ]
        # Leading rows whose Hessian state is kept (the rest is recomputed).
        self.hessian_state_rows = self._planned_state_rows()

        self._logits = None  # one chunk of logits, allocated on first use
        self._no_state = np.empty((0, self.n_outputs), dtype=self.dtype)
        self._zero_intercept = np.zeros(self.n_outputs, dtype=self.dtype)
        self._state = None  # kept Hessian state, allocated on first use
        self._state_chunk = None  # one chunk of it, recomputed per product
        self._preconditioner = None  # built on first use of `precondition`
        # Mean curvature per output at the last evaluated point; before any
        # evaluation, that of the uniform prediction.
        n_classes = len(label_smoothing)
        self.class_curvature = np.full(self.n_outputs, (1.0 / n_classes) * (1 - 1.0 / n_classes))
        self._grad_buffer = None  # for chunked accumulation of R^T X

    def _planned_state_rows(self):
        """Rows of Hessian state that fit the memory plan (see _FIT_FRACTION_OF_X)."""
        itemsize = self.dtype.itemsize
        row_bytes = self.n_outputs * itemsize
        size = self.n_features + int(self.fit_intercept)
        fixed = (
            2 * self.chunk_rows * row_bytes
            + preconditioner_bytes(
                size, itemsize, self._x_bytes, self.basis_rank, while_built=True
            )
            + _SOLVER_VECTORS * self.n_params * itemsize
        )
        rows = int(max(0.0, _FIT_FRACTION_OF_X * self._x_bytes - fixed) // row_bytes)
        if rows >= self.n_samples:
            return self.n_samples
        return rows - rows % self.chunk_rows  # whole chunks only

    def solver_memory_bytes(self):
        """Bytes a solver may keep within the memory plan (see _FIT_FRACTION_OF_X).

        The plan's share of X, less the objective's own buffers: a chunk of
        logits, a gradient-sized buffer, the preconditioner, and per sample
        the labels, the weights and the caller's float64 weights. L-BFGS
        sizes its history with it. May be negative: no room at all.
        """
        itemsize = self.dtype.itemsize
        size = self.n_features + int(self.fit_intercept)
        own = (self.chunk_rows * self.n_outputs + self.n_params) * itemsize
        own += self.n_samples * (self.y.itemsize + itemsize + 8)
        own += preconditioner_bytes(size, itemsize, self._x_bytes, self.basis_rank)
        return _FIT_FRACTION_OF_X * self._x_bytes - own

    def precondition(self, v, out=None):
        """Approximate inverse Hessian times v, at the last evaluated point.

        See `_preconditioner.py`. The factor built from the features is
        computed on the first call and kept (also across `set_C`).

        Parameters
        ----------
        v : ndarray of shape (n_params,)
        out : ndarray of shape (n_params,), default=None
            Where to write the result (it may be v); a new array by default.

        Returns
        -------
        ndarray of shape (n_params,)
        """
        if self._preconditioner is None:
            self._preconditioner = numpy_preconditioner(
                self.X, self.weights, self.fit_intercept, self.dtype, self.basis_rank
            )
        curvature = float(np.mean(self.class_curvature))
        return self._preconditioned(self._preconditioner, v, curvature, out)

    def release_buffers(self):
        """Free the chunk buffers and the Hessian state (remade when next needed)."""
        self._state = self._state_chunk = self._grad_buffer = self._logits = None

    def _logits_buffer(self, rows):
        """The chunk buffer for the logits of `rows` (allocated on first use)."""
        if self._logits is None:
            self._logits = np.empty((self.chunk_rows, self.n_outputs), dtype=self.dtype)
        return self._logits[: rows[1] - rows[0]]

    # --------------------------------------------------------------- backend
    def _class_sums(self):
        class_sums = np.zeros((self.n_classes, self.n_features), dtype=np.float64)
        for start, stop in self._chunks:
            indicator = sparse.csr_matrix(
                (self.weights[start:stop], (self.y[start:stop], np.arange(stop - start))),
                shape=(self.n_classes, stop - start),
            )
            class_sums += _dense(indicator @ self._rows(start, stop))
        return class_sums.astype(self.dtype, copy=False)

    # --------------------------------------------------------------- products
    def _rows(self, start, stop):
        """X[start:stop] in the objective's dtype (cast, and kept, when X's differs)."""
        X_rows = self.X[start:stop]
        if X_rows.dtype == self.dtype:
            return X_rows
        rows, cast = self._cast_rows
        if rows != (start, stop):
            cast = X_rows.astype(self.dtype)
            self._cast_rows = ((start, stop), cast)
        return cast

    def _logits_of(self, rows, W, out):
        """out <- X[rows] @ W^T."""
        X_rows = self._rows(*rows)
        if sparse.issparse(X_rows):
            out[...] = X_rows @ W.T
        else:
            np.matmul(X_rows, W.T, out=out)

    def _add_back_product(self, R, rows, out, first):
        """out (+)= R^T @ X[rows], out of shape (n_outputs, n_features)."""
        X_rows = self._rows(*rows)
        if sparse.issparse(X_rows):
            product = (X_rows.T @ R).T
            if first:
                out[...] = product
            else:
                out += product
        elif first:
            np.matmul(R.T, X_rows, out=out)
        else:
            if self._grad_buffer is None:
                self._grad_buffer = np.empty_like(out)
            np.matmul(R.T, X_rows, out=self._grad_buffer)
            out += self._grad_buffer

    def _on_thread_blocks(self, n_rows, task, n_sums=1, n_columns=None):
        """Run ``task(a, b, sums)`` on thread blocks of a chunk's rows.

        `a`, `b` are row bounds within the chunk; `sums` is a float64 array of
        shape (n_sums, n_columns) (n_outputs by default; squeezed when n_sums
        is 1) owned by the block, for the kernel to add its column sums to.
        Returns the tasks' results and the sums added over blocks, in block order.
        """
        n_threads = min(self.n_threads, max(1, n_rows * self.n_outputs // _MIN_LOGITS_PER_THREAD))
        blocks = split_rows(0, n_rows, n_threads)
        n_columns = self.n_outputs if n_columns is None else n_columns
        parts = np.zeros((len(blocks), n_sums, n_columns), dtype=np.float64)
        if n_sums == 1:
            parts = parts[:, 0]
        results = run_blocks(lambda j, a, b: task(a, b, parts[j]), blocks)
        return results, parts.sum(axis=0)

    # -------------------------------------------------------------- objective
    def _evaluate(self, coef, state_rows=0):
        """(loss, gradient), keeping the Hessian state of the leading `state_rows` rows."""
        if coef.dtype != self.dtype:  # the kernels are compiled for the objective's dtype
            raise TypeError(
                f"coef has dtype {coef.dtype} but the objective computes in {self.dtype}; "
                "convert it with objective.cast(coef)."
            )
        # Non-finite parameters (a line search overshooting) give a non-finite
        # loss, which solvers reject: NumPy's warnings would only be noise.
        with np.errstate(over="ignore", invalid="ignore"):
            W, b = self.unpack(coef)
            intercept = self._zero_intercept if b is None else b
            grad = np.empty_like(coef)
            grad_W, grad_b = self.unpack(grad)
            if state_rows and (self._state is None or len(self._state) != state_rows):
                self._state = np.empty((state_rows, self.n_outputs), dtype=self.dtype)
            sums = np.zeros((4, self.n_classes), dtype=np.float64)
            loss = 0.0
            for i, (start, stop) in enumerate(self._chunks):
                z = self._logits_buffer((start, stop))
                self._logits_of((start, stop), W, z)
                state = self._state[start:stop] if stop <= state_rows else self._no_state
                chunk_loss, chunk_sums = self._loss_gradient_of_chunk(
                    z, (start, stop), intercept, state
                )
                loss += chunk_loss
                sums += chunk_sums
                self._add_back_product(z, (start, stop), grad_W, first=i == 0)
            intercept_grad, curvature = sums[:2, : self.n_outputs]
            self.true_class_sums = sums[2:]  # for the duality gap
            # beta * (I - 11^T / K) is the logit penalty's per-sample Hessian.
            n_classes = len(self.label_smoothing)
            self.class_curvature = curvature + self.logit_penalty * (1.0 - 1.0 / n_classes)
            loss += self._penalty(W)
            self._add_penalty(W, grad_W, buffer=self._grad_buffer)
            if grad_b is not None:
                grad_b[...] = intercept_grad
            return loss, grad

    def _loss_gradient_of_chunk(self, z, rows, intercept, state):
        """Datafit kernel on one chunk of logits, in place: (loss, sums (4, n_classes))."""
        start, stop = rows
        y, weights = self.y[start:stop], self.weights[start:stop]

        def task(a, b, sums):
            return self.datafit.loss_gradient(
                z[a:b],
                intercept,
                y[a:b],
                weights[a:b],
                self.label_smoothing,
                self.logit_penalty,
                state[a:b] if state.shape[0] else state,
                sums,
            )

        losses, sums = self._on_thread_blocks(
            stop - start, task, n_sums=4, n_columns=self.n_classes
        )
        return sum(losses), sums

    def intercept_hessian(self, coef):
        """Hessian of the objective in the intercepts at `coef`: float64 (n_outputs, n_outputs).

        One pass over X (the logits); see `LinearLayout.intercept_newton_step`.
        """
        W, b = self.unpack(coef)
        intercept = self._zero_intercept if b is None else b
        hessian = np.zeros((self.n_outputs, self.n_outputs), dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            for start, stop in self._chunks:
                state = self._logits_buffer((start, stop))
                self._hessian_state_of_chunk((start, stop), W, intercept, state)
                hessian += self._intercept_hessian_of_state(state, self.weights[start:stop])
        return hessian

    def dual_step(self, coef, direction, steps):
        """The dual point at `coef` moved along `direction` (one pass over X).

        See `_duality.py` for what it is; `refined_duality_gap` uses it.

        Parameters
        ----------
        coef, direction : ndarray of shape (n_params,)
        steps : float64 ndarray of shape (n_steps,)

        Returns
        -------
        DualStep
        """
        W, b = self.unpack(coef)
        V, v_b = self.unpack(direction)
        intercept = self._zero_intercept if b is None else b
        v_intercept = self._zero_intercept if v_b is None else v_b
        K = self.n_classes
        move = np.empty((self.n_outputs, self.n_features), dtype=self.dtype)
        sums = np.zeros((len(steps) + 1, 2 * K + 2), dtype=np.float64)
        # Half chunks: their logits and the direction's share the one chunk
        # buffer, so the certificate needs no memory beyond a plain evaluation's.
        half = max(1, self.chunk_rows // 2)
        buffer = self._logits_buffer((0, min(2 * half, self.n_samples)))
        if buffer.shape[0] < 2 * half:  # a one-row chunk
            buffer = np.empty((2 * half, self.n_outputs), dtype=self.dtype)
        halves = [
            (start, min(start + half, self.n_samples))
            for start in range(0, self.n_samples, half)
        ]
        with np.errstate(over="ignore", invalid="ignore"):
            for i, (start, stop) in enumerate(halves):
                z = buffer[: stop - start]
                self._logits_of((start, stop), W, z)
                v = buffer[half : half + stop - start]
                self._logits_of((start, stop), V, v)
                y, weights = self.y[start:stop], self.weights[start:stop]

                def task(a, b, block_sums, z=z, v=v, y=y, weights=weights):
                    self.datafit.dual_step(
                        z[a:b],
                        intercept,
                        v[a:b],
                        v_intercept,
                        y[a:b],
                        weights[a:b],
                        steps,
                        block_sums,
                    )

                sums += self._on_thread_blocks(
                    stop - start, task, n_sums=len(steps) + 1, n_columns=2 * K + 2
                )[1]
                self._add_back_product(v, (start, stop), move, first=i == 0)
        return DualStep.from_sums(self, move, sums)

    def loss(self, coef):
        """Objective value at `coef` (a float)."""
        return self._evaluate(coef)[0]

    def loss_gradient(self, coef):
        """Objective value and gradient at `coef`.

        Returns
        -------
        loss : float
        gradient : ndarray of shape (n_params,)
        """
        return self._evaluate(coef)

    def loss_gradient_hessp(self, coef, *, many_products=False):
        """Objective value, gradient and Hessian-product function at `coef`.

        Parameters
        ----------
        coef : ndarray of shape (n_params,)
        many_products : bool, default=False
            A hint that many products will follow at this point (the
            hypergradient's conjugate gradients take hundreds): the Hessian
            state of every sample is then kept whenever it takes at most
            the plan's share of X by itself (_FIT_FRACTION_OF_X), which
            saves one matrix product per chunk and product. Newton-CG's few
            products per point keep to the plan.

        Returns
        -------
        loss : float
        gradient : ndarray of shape (n_params,)
        hessp : callable
            ``hessp(v)`` returns the Hessian at `coef` times v. It is valid
            until the next call of this method on the same objective.
        """
        state_rows = self.hessian_state_rows
        full_state_bytes = self.n_samples * self.n_outputs * self.dtype.itemsize
        if many_products and full_state_bytes <= _FIT_FRACTION_OF_X * self._x_bytes:
            state_rows = self.n_samples
        loss, grad = self._evaluate(coef, state_rows)
        W, b = self.unpack(coef)
        W_at = None if state_rows == self.n_samples else W.copy()
        intercept_at = (self._zero_intercept if b is None else b).copy()
        return loss, grad, lambda v: self._hessp(v, W_at, intercept_at, state_rows)

    def _hessian_state_of_chunk(self, rows, W_at, intercept_at, state):
        """Recompute the per-sample Hessian state of one chunk into `state`.

        The logits at the expansion point are written to `state` and turned
        into the state in place (the kernels read each entry before writing it).
        """
        start, stop = rows
        self._logits_of(rows, W_at, state)
        weights = self.weights[start:stop]

        def task(a, b, _):
            self.datafit.hessian_state(
                state[a:b], intercept_at, weights[a:b], self.logit_penalty, state[a:b]
            )

        self._on_thread_blocks(stop - start, task)

    def _hessp_of_chunk(self, v_logits, rows, v_intercept, state):
        """Hessian kernel on one chunk of direction logits, in place: intercept part."""
        start, stop = rows
        weights = self.weights[start:stop]

        def task(a, b, intercept_part):
            self.datafit.hessp(
                v_logits[a:b],
                v_intercept,
                state[a:b],
                weights[a:b],
                self.logit_penalty,
                intercept_part,
            )

        return self._on_thread_blocks(stop - start, task)[1]

    def _hessp(self, v, W_at, intercept_at, state_rows):
        V, v_b = self.unpack(v)
        v_intercept = self._zero_intercept if v_b is None else v_b
        out = np.empty_like(v)
        out_W, out_b = self.unpack(out)
        intercept_hessp = np.zeros(self.n_outputs, dtype=np.float64)
        for i, (start, stop) in enumerate(self._chunks):
            z = self._logits_buffer((start, stop))
            self._logits_of((start, stop), V, z)
            if stop <= state_rows:
                state = self._state[start:stop]
            else:
                if self._state_chunk is None:
                    self._state_chunk = np.empty_like(self._logits)
                state = self._state_chunk[: stop - start]
                self._hessian_state_of_chunk((start, stop), W_at, intercept_at, state)
            intercept_part = self._hessp_of_chunk(z, (start, stop), v_intercept, state)
            intercept_hessp += intercept_part
            self._add_back_product(z, (start, stop), out_W, first=i == 0)
        self._add_penalty(V, out_W)
        if out_b is not None:
            out_b[...] = intercept_hessp
        return out
