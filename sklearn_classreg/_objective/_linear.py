"""The regularized logistic objective, whatever the backend: `LinearObjective`.

It owns what does not depend on where the arrays live: the flat parameter
layout ``concat(W.ravel(), b)``, the per-class L2 penalty, the loops over
chunks of rows that make the loss, its gradient, Hessian products and the
certificate (`_duality.py`), and the memory plan. A backend supplies three
things (see `LogisticObjective` for NumPy and numba, `TorchLogisticObjective`
for torch):

- ``ops``: its `ArrayOps` (array constructors, reductions);
- ``rows``: a row source, iterated as ``(i, (start, stop), X_chunk)`` over
  chunks of X in the objective's dtype, with the two products of a chunk,
  ``logits_into(X_chunk, W, out)`` (out <- X_chunk W^T) and
  ``add_back_product(R, X_chunk, out, first)`` (out (+)= R^T X_chunk), and the
  data's ``class_sums`` and ``preconditioner``;
- ``chunk_datafit``: the datafit's four kernels in the `Datafit` signature,
  applied to a chunk of logits in place.
"""

import numpy as np

from .._utils._backend import to_numpy_if_tensor
from .._utils._threads import split_rows
from ._duality import (
    DualStep,
    duality_gap,
    gradient_term,
    penalty_strengths,
    refined_duality_gap,
)
from ._preconditioner import basis_rank, preconditioner_bytes

__all__ = ["LinearObjective"]

# The memory plan: a fit adds at most this share of X where it can.
# - Newton-CG: the two chunk buffers, the preconditioner and _SOLVER_VECTORS
#   parameter-sized vectors (iterate, gradient, conjugate-gradient vectors,
#   line search) come first. What is left keeps per-sample Hessian state
#   (n_outputs values per row) for as many leading chunks as fit; the state of
#   the other chunks is recomputed in each Hessian product, at the cost of one
#   more matrix product on them. Where those alone take twice the share or
#   more (the plan is far out of reach), the state takes at most the share by
#   itself.
# - L-BFGS sizes its history with what the objective's buffers leave
#   (`solver_memory_bytes`).
_FIT_FRACTION_OF_X = 1 / 4
_SOLVER_VECTORS = 16


class LinearObjective:
    r"""Regularized logistic loss of a linear model, divided by the total weight.

    With S = sum_i s_i::

        f(coef) = (1 / S) * [ sum_i s_i * loss_i(W x_i + b)
                              + sum_k ||w_k||^2 / (2 C_k) ]

    where loss_i is the datafit's cross-entropy (with label smoothing and the
    logit penalty). Dividing by S does not move the minimiser; it makes f and
    its gradient of order one, so that a gradient tolerance means the same for
    every sample size -- the scaling scikit-learn's lbfgs uses, so ``tol``
    means the same in both libraries.

    ``coef`` is ``concat(W.ravel(), b)`` with W of shape (n_outputs,
    n_features) in C order and b of shape (n_outputs,) (absent without
    intercept); n_outputs is n_classes for the softmax datafit and 1 for the
    sigmoid. Gradients and Hessian products have the same layout.

    A backend's constructor sets ``dtype`` (in its array type), ``ops``,
    ``rows`` (with ``chunk_rows``), ``chunk_datafit`` and ``_arguments`` (its
    constructor's arguments but C and dtype: X, y, sample_weight, datafit,
    label_smoothing, logit_penalty, fit_intercept, whole_basis and its own; for
    `_set_up` and `float64_twin`), then calls `_set_up`.
    """

    def _set_up(self, shape, C, x_bytes):
        """What every backend's constructor shares, from X's `shape` and size in bytes, C,
        and the data and settings in ``_arguments`` (``y`` and ``sample_weight`` NumPy)."""
        arguments = self._arguments
        y, sample_weight, datafit = (arguments[k] for k in ("y", "sample_weight", "datafit"))
        label_smoothing, logit_penalty = arguments["label_smoothing"], arguments["logit_penalty"]
        fit_intercept, whole_basis = arguments["fit_intercept"], arguments["whole_basis"]
        self.n_samples, self.n_features = shape
        self.datafit = datafit
        self.fit_intercept = fit_intercept
        self.n_classes = len(label_smoothing)
        self.n_outputs = datafit.n_outputs(self.n_classes)
        size = self.n_features + int(fit_intercept)
        self.n_params = self.n_outputs * size
        # eigenvectors of the preconditioner's basis (see `basis_rank`)
        self.basis_rank = size if whole_basis else basis_rank(size, self.n_samples)
        self._x_bytes = x_bytes
        self.total_weight = float(np.sum(sample_weight, dtype=np.float64))
        self.set_C(C)
        self.logit_penalty = float(logit_penalty)
        self.y = self.ops.as_labels(y)
        weights = np.asarray(sample_weight, dtype=np.float64) / self.total_weight
        self.weights = self.ops.asarray(weights)
        self.label_smoothing = self.ops.as_float64(label_smoothing)
        # Mean curvature per output at the last evaluated point; before any
        # evaluation, that of the uniform prediction.
        K = self.n_classes
        self.class_curvature = np.full(self.n_outputs, (1.0 / K) * (1 - 1.0 / K))
        self.chunk_rows = self.rows.chunk_rows
        # Leading rows whose Hessian state is kept (the rest is recomputed).
        self.hessian_state_rows = self._planned_state_rows()
        self._zero_intercept = self.ops.zeros((self.n_outputs,))
        self._no_state = self.ops.empty((0, self.n_outputs))
        self._logits = None  # one chunk of logits, allocated on first use
        self._state = None  # kept Hessian state, allocated on first use
        self._state_chunk = None  # one chunk of it, recomputed per product
        self._preconditioner = None  # built on first use of `precondition`
        self._gap_moments = None  # what the duality gap needs of the data, made once
        self._twin = None  # float64 twin, built on first use

    # ------------------------------------------------------------ memory plan
    def _planned_state_rows(self):
        """Rows of Hessian state that fit the memory plan (see _FIT_FRACTION_OF_X)."""
        itemsize = self.ops.dtype.itemsize
        row_bytes = self.n_outputs * itemsize
        size = self.n_features + int(self.fit_intercept)
        fixed = (
            2 * self.chunk_rows * row_bytes
            + preconditioner_bytes(
                size, itemsize, self._x_bytes, self.basis_rank, while_built=True
            )
            + _SOLVER_VECTORS * self.n_params * itemsize
        )
        budget = _FIT_FRACTION_OF_X * self._x_bytes
        if fixed >= 2 * budget:
            # The plan is far out of reach: the parameters are large next to the data
            # (few samples per class). As L-BFGS then keeps its whole history, the state
            # is kept for as many rows as take the plan's share by themselves, which adds
            # at most half of what the fit needs anyway; recomputing it costs one more
            # matrix product per chunk in every Hessian product (Newton-CG on the Omniglot
            # features, 242 classes, 20 samples each, to a gap of 1e-6: 57.6 s against
            # 76.6 s without it).
            rows = int(budget // row_bytes)
        else:
            rows = int(max(0.0, budget - fixed) // row_bytes)
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
        itemsize = self.ops.dtype.itemsize
        size = self.n_features + int(self.fit_intercept)
        own = (self.chunk_rows * self.n_outputs + self.n_params) * itemsize
        own += self.n_samples * (np.dtype(np.intp).itemsize + itemsize + 8)
        own += preconditioner_bytes(size, itemsize, self._x_bytes, self.basis_rank)
        return _FIT_FRACTION_OF_X * self._x_bytes - own

    def release_buffers(self):
        """Free the chunk buffers and the Hessian state (remade when next needed)."""
        self._state = self._state_chunk = self._logits = None
        self.rows.release_buffers()

    def _logits_buffer(self, n_rows):
        """The chunk buffer for the logits of `n_rows` rows (allocated on first use)."""
        if self._logits is None:
            self._logits = self.ops.empty((self.chunk_rows, self.n_outputs))
        return self._logits[:n_rows]

    # -------------------------------------------------------- preconditioner
    def precondition(self, v, out=None):
        """Approximate inverse Hessian times v, at the last evaluated point.

        See `_preconditioner.py`. The factor built from the features is
        computed on the first call and kept (also across `set_C`).

        Parameters
        ----------
        v : array of shape (n_params,)
        out : array of shape (n_params,), default=None
            Where to write the result (it may be v); a new array by default.

        Returns
        -------
        array of shape (n_params,)
        """
        if self._preconditioner is None:
            self._preconditioner = self.rows.preconditioner(
                self.weights, self.fit_intercept, self.basis_rank
            )
        curvature = float(np.mean(self.class_curvature))
        return self._preconditioned(self._preconditioner, v, curvature, out)

    def to_numpy(self, array):
        """An array of the objective's type as a NumPy array (on the host)."""
        return self.ops.to_numpy(array)

    def cast(self, x):
        """A parameter vector (NumPy or torch, any dtype) in this objective's type and dtype."""
        return self.ops.asarray(np.asarray(to_numpy_if_tensor(x)))

    def zeros(self):
        """The all-zero parameter vector."""
        return self.ops.zeros((self.n_params,))

    def _class_sums(self):
        """Per class c: sum_{y_i = c} w_i x_i, shape (n_classes, n_features), in the
        objective's array type (one pass over X; the duality gap keeps it)."""
        return self.rows.class_sums(self.y, self.weights, self.n_classes)

    def float64_twin(self):
        """The same objective in float64 arithmetic over the same X (built once).

        For float32 X: its chunks are cast on the fly, so the twin evaluates the
        exact objective of the float32 data without a float64 copy of X. It
        follows this objective's C at each call. A float64 objective is its own
        twin. Subclasses keep their constructor's arguments in `_arguments`.
        """
        if self.dtype.itemsize == 8:
            return self
        if self._twin is None:
            self._twin = type(self)(**self._arguments, C=self.C, dtype=np.float64)
        else:
            self._twin.set_C(self.C)
        return self._twin

    def _intercept_hessian_of_state(self, state, weights):
        """A chunk's share of the intercepts' data Hessian, from its Hessian state.

        Softmax: sum_i w_i (diag p_i - p_i p_i^T) from the probabilities; sigmoid:
        the sum of the state (the weighted curvature). Either array type; the
        result is a float64 NumPy array.
        """
        if not self.datafit.shift_invariant:
            return np.array([[float(state.sum())]])
        share = np.zeros((self.n_outputs, self.n_outputs))
        # in blocks of rows: the weighted state is an eighth of a chunk
        for a, b in split_rows(0, state.shape[0], 8):
            weighted = state[a:b] * weights[a:b, None]
            share -= self.to_numpy(weighted.T @ state[a:b]).astype(np.float64)
            share[np.diag_indices_from(share)] += self.to_numpy(weighted.sum(0)).astype(np.float64)
        return share

    # -------------------------------------------------------- passes over X
    def loss(self, coef):
        """Objective value at `coef` (a float)."""
        return self._evaluate(coef)[0]

    def loss_gradient(self, coef):
        """Objective value and gradient at `coef`.

        Returns
        -------
        loss : float
            ``inf`` where a logit is not finite (a line search overshooting).
        gradient : array of shape (n_params,)
        """
        return self._evaluate(coef)

    def loss_gradient_hessp(self, coef, *, many_products=False):
        """Objective value, gradient and Hessian-product function at `coef`.

        Parameters
        ----------
        coef : array of shape (n_params,)
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
        gradient : array of shape (n_params,)
        hessp : callable
            ``hessp(v)`` returns the Hessian at `coef` times v. It is valid
            until the next call of this method on the same objective.
        """
        state_rows = self.hessian_state_rows
        full_state_bytes = self.n_samples * self.n_outputs * self.ops.dtype.itemsize
        if many_products and full_state_bytes <= _FIT_FRACTION_OF_X * self._x_bytes:
            state_rows = self.n_samples
        loss, grad = self._evaluate(coef, state_rows)
        W, b = self.unpack(coef)
        W_at = None if state_rows == self.n_samples else self.ops.copy(W)
        intercept_at = self.ops.copy(self._zero_intercept if b is None else b)
        return loss, grad, lambda v: self._hessp(v, W_at, intercept_at, state_rows)

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
            grad = self.ops.empty((self.n_params,))
            grad_W, grad_b = self.unpack(grad)
            if state_rows and (self._state is None or len(self._state) != state_rows):
                self._state = self.ops.empty((state_rows, self.n_outputs))
            datafit, y, weights = self.chunk_datafit, self.y, self.weights
            sums = self.ops.float64_zeros((4, self.n_classes))
            loss = 0.0
            for i, (start, stop), X_chunk in self.rows:
                z = self._logits_buffer(stop - start)
                self.rows.logits_into(X_chunk, W, z)
                state = self._state[start:stop] if stop <= state_rows else self._no_state
                loss += datafit.loss_gradient(
                    z,
                    intercept,
                    y[start:stop],
                    weights[start:stop],
                    self.label_smoothing,
                    self.logit_penalty,
                    state,
                    sums,
                )
                self.rows.add_back_product(z, X_chunk, grad_W, first=i == 0)
            sums = self.to_numpy(sums)
            intercept_grad, curvature = sums[:2, : self.n_outputs]
            self.true_class_sums = sums[2:]  # for the duality gap
            # beta * (I - 11^T / K) is the logit penalty's per-sample Hessian.
            self.class_curvature = curvature + self.logit_penalty * (1.0 - 1.0 / self.n_classes)
            loss = float(loss) + self._penalty(W)
            self._add_penalty(W, grad_W, buffer=self.rows.scratch)
            if grad_b is not None:
                grad_b[...] = self.ops.asarray(intercept_grad)
        if not np.isfinite(loss):
            loss = np.inf
        return loss, grad

    def _hessian_state_into(self, X_chunk, rows, W_at, intercept_at, state):
        """The per-sample Hessian state of one chunk, recomputed into `state`.

        The logits at the expansion point are written to `state` and turned
        into the state in place (the kernels read each entry before writing it).
        """
        self.rows.logits_into(X_chunk, W_at, state)
        self.chunk_datafit.hessian_state(
            state, intercept_at, self.weights[rows[0] : rows[1]], self.logit_penalty, state
        )

    def _hessp(self, v, W_at, intercept_at, state_rows):
        V, v_b = self.unpack(v)
        v_intercept = self._zero_intercept if v_b is None else v_b
        out = self.ops.empty((self.n_params,))
        out_W, out_b = self.unpack(out)
        intercept_hessp = self.ops.float64_zeros((self.n_outputs,))
        for i, (start, stop), X_chunk in self.rows:
            z = self._logits_buffer(stop - start)
            self.rows.logits_into(X_chunk, V, z)
            if stop <= state_rows:
                state = self._state[start:stop]
            else:
                if self._state_chunk is None:
                    self._state_chunk = self.ops.empty((self.chunk_rows, self.n_outputs))
                state = self._state_chunk[: stop - start]
                self._hessian_state_into(X_chunk, (start, stop), W_at, intercept_at, state)
            self.chunk_datafit.hessp(
                z,
                v_intercept,
                state,
                self.weights[start:stop],
                self.logit_penalty,
                intercept_hessp,
            )
            self.rows.add_back_product(z, X_chunk, out_W, first=i == 0)
        self._add_penalty(V, out_W)
        if out_b is not None:
            out_b[...] = intercept_hessp
        return out

    def intercept_hessian(self, coef):
        """Hessian of the objective in the intercepts at `coef`: float64 (n_outputs, n_outputs).

        One pass over X (the logits); see `intercept_newton_step`.
        """
        W, b = self.unpack(coef)
        intercept = self._zero_intercept if b is None else b
        hessian = np.zeros((self.n_outputs, self.n_outputs), dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            for _, (start, stop), X_chunk in self.rows:
                state = self._logits_buffer(stop - start)
                self._hessian_state_into(X_chunk, (start, stop), W, intercept, state)
                hessian += self._intercept_hessian_of_state(state, self.weights[start:stop])
        return hessian

    def dual_step(self, coef, direction, steps):
        """The dual point at `coef` moved along `direction` (one pass over X).

        See `_duality.py` for what it is; `refined_duality_gap` uses it.

        Parameters
        ----------
        coef, direction : array of shape (n_params,)
        steps : float64 ndarray of shape (n_steps,)

        Returns
        -------
        DualStep
        """
        W, b = self.unpack(coef)
        V, v_b = self.unpack(direction)
        intercept = self._zero_intercept if b is None else b
        v_intercept = self._zero_intercept if v_b is None else v_b
        move = self.ops.empty((self.n_outputs, self.n_features))
        sums = self.ops.float64_zeros((len(steps) + 1, 2 * self.n_classes + 2))
        # Half chunks: their logits and the direction's share the one chunk
        # buffer, so the certificate needs no memory beyond a plain evaluation's.
        half = max(1, self.chunk_rows // 2)
        buffer = self._logits_buffer(min(2 * half, self.n_samples))
        if buffer.shape[0] < 2 * half:  # a one-row chunk
            buffer = self.ops.empty((2 * half, self.n_outputs))
        halves = [
            (start, min(start + half, self.n_samples)) for start in range(0, self.n_samples, half)
        ]
        with np.errstate(over="ignore", invalid="ignore"):
            for i, (start, stop), X_chunk in self.rows.iterate(halves):
                z = buffer[: stop - start]
                self.rows.logits_into(X_chunk, W, z)
                v = buffer[half : half + stop - start]
                self.rows.logits_into(X_chunk, V, v)
                self.chunk_datafit.dual_step(
                    z,
                    intercept,
                    v,
                    v_intercept,
                    self.y[start:stop],
                    self.weights[start:stop],
                    steps,
                    sums,
                )
                self.rows.add_back_product(v, X_chunk, move, first=i == 0)
        return DualStep.from_sums(self, move, self.to_numpy(sums))

    # ----------------------------------------------------------------- layout
    def unpack(self, coef):
        """Views ``(W, b)`` of a flat parameter vector; b is None without intercept."""
        n_coef = self.n_outputs * self.n_features
        W = coef[:n_coef].reshape(self.n_outputs, self.n_features)
        b = coef[n_coef:] if self.fit_intercept else None
        return W, b

    def _preconditioned(self, preconditioner, v, curvature, out=None):
        """`preconditioner` (see `_preconditioner.py`) applied to the flat vector v.

        Written to `out` (a new vector by default), which may be v itself;
        the only temporary is one array of v's size.
        """
        if out is None:
            out = self.ops.zeros((self.n_params,))
        preconditioner.apply_into(*self.unpack(v), curvature, self._l2, *self.unpack(out))
        return out

    def pack(self, W, b=None):
        """Flat parameter vector from W of shape (n_outputs, n_features) and b (NumPy)."""
        coef = np.zeros(self.n_params, dtype=np.float64)
        W_view, b_view = LinearObjective.unpack(self, coef)
        W_view[...] = W
        if self.fit_intercept and b is not None:
            b_view[...] = b
        return self.ops.asarray(coef)

    def deflate(self, v):
        """Remove from v, in place, its part along the directions f is flat along.

        The softmax ignores a common shift of the logits (the logit penalty
        too, which penalizes centred logits): the common shift of the
        unpenalized intercepts is in the Hessian's null space, and so is a
        common shift of the weights when no class is penalized. Gradients
        have no part there, but rounding gives them one; conjugate gradient
        cannot reduce it and, once the gradient is at rounding level, grows
        its solution along it. Removing it keeps the solves on the range of
        H. `canonical` removes the same directions from parameters. Returns v.
        """
        if self.datafit.shift_invariant:
            W, b = self.unpack(v)
            if b is not None:
                b -= b.mean()
            if not np.any(self.l2_strength):
                W -= W.mean(axis=0)
        return v

    def canonical(self, coef):
        """The equivalent parameters scikit-learn reports, as a new vector.

        The softmax ignores a common shift of every logit, so the intercepts
        are only defined up to a shift: return them with zero mean (where
        scikit-learn's lbfgs, started at zero, ends). When no class is
        penalized, the weights are defined up to a common vector too; centre
        them likewise.
        """
        return self.deflate(coef * 1)  # a copy, for NumPy arrays and torch tensors alike

    # ------------------------------------------------------------ certificate
    def duality_gap(self, coef, loss, gradient):
        """Upper bound on ``loss - min f`` from one evaluation (see `_duality.py`).

        Parameters
        ----------
        coef : array of shape (n_params,)
        loss, gradient
            What `loss_gradient(coef)` returned.

        Returns
        -------
        float or None
            The bound (absolute, on the scaled objective), ``inf`` when no
            finite bound holds, or None when some output is unpenalized
            (C = inf): no dual point of finite value exists then.
        """
        return duality_gap(self, coef, loss, gradient)

    def weight_gradient_bound(self, gradient):
        """sum_k ||grad_{w_k} f||^2 / (2 lambda_k), or None when an output is unpenalized.

        The duality gap where the intercepts' gradient is zero: what the
        intercept Newton step brings the refined bound near. Costs no pass
        over X, so a solver tests it before trying that step.
        """
        l2 = penalty_strengths(self)
        return None if l2 is None else gradient_term(self, self.unpack(gradient)[0], l2)

    def intercept_newton_step(self, coef, gradient):
        """The Newton step in the intercepts alone, with W fixed, as a full direction.

        At weak regularization the duality gap is mostly what makes the dual
        point feasible for the intercepts (`_duality.py`): along this
        direction, `refined_duality_gap` removes that part for one pass over
        X more than this one. None without intercepts.

        Parameters
        ----------
        coef, gradient : array of shape (n_params,)

        Returns
        -------
        array of shape (n_params,) or None
            Zero in W; in b, the solution of H_bb d_b = -g_b (least squares
            on the range of H_bb, so zero-mean for the softmax, whose H_bb
            has the constant vector in its null space).
        """
        if not self.fit_intercept:
            return None
        hessian = self.intercept_hessian(coef)
        if self.datafit.shift_invariant and self.logit_penalty:
            # the logit penalty's Hessian, beta (I - 11^T / K), in the logits
            hessian += self.logit_penalty * (np.eye(self.n_outputs) - 1.0 / self.n_outputs)
        g = self.to_numpy(self.unpack(gradient)[1]).astype(np.float64)
        values, vectors = np.linalg.eigh(hessian)
        keep = values > 1e-12 * max(values.max(), 0.0)
        step = vectors[:, keep] @ ((vectors[:, keep].T @ -g) / values[keep])
        direction = np.zeros(self.n_params, dtype=np.float64)
        direction[-self.n_outputs :] = step
        return self.ops.asarray(direction)

    def refined_duality_gap(self, coef, loss, gradient, direction):
        """A tighter bound on ``loss - min f``, moving the dual point along `direction`.

        One more pass over X (see `_duality.py`); with a Newton direction the
        bound is about the Newton decrement, where `duality_gap` can be orders
        of magnitude above ``loss - min f`` at weak regularization.

        Parameters
        ----------
        coef, direction : array of shape (n_params,)
        loss, gradient
            What `loss_gradient(coef)` returned.

        Returns
        -------
        float or None
            As for `duality_gap`; ``inf`` when no step along `direction`
            gives a bound.
        """
        return refined_duality_gap(self, coef, loss, gradient, direction)

    # ---------------------------------------------------------------- penalty
    def _strengths(self, C):
        """Validated per-output C -> (C as float64, unscaled L2 strengths 1 / C)."""
        C = np.asarray(C, dtype=np.float64)
        if C.shape != (self.n_outputs,):
            raise ValueError(f"C must have shape ({self.n_outputs},); got {C.shape}.")
        with np.errstate(divide="ignore"):
            return C, np.where(np.isinf(C), 0.0, 1.0 / C)

    def penalty_change(self, C):
        """How the Hessian changes when C becomes `C`: a function v -> (H_C - H) v.

        The penalty is the only part of the objective that depends on C, and
        its Hessian is diagonal: (H_C - H) v is v's weights of output k times
        the change of its scaled strength, and zero in the intercepts. So the
        loss at the new C is ``loss + v . product(v) / 2`` without a pass over
        X (`regularization_path` compares its starts so). Call it before
        `set_C`.

        Parameters
        ----------
        C : array-like of shape (n_outputs,)

        Returns
        -------
        callable
            ``product(v)``: a new parameter vector.
        """
        _, strengths = self._strengths(C)
        change = self.ops.asarray((strengths - self.l2_strength) / self.total_weight)

        def product(v):
            out = self.ops.zeros((self.n_params,))
            self.unpack(out)[0][...] = change[:, None] * self.unpack(v)[0]
            return out

        return product

    def _penalty(self, W):
        """The L2 penalty at weights W, sum_k l2_k ||w_k||^2 / 2 (scaled), as a float.

        Both products summed in float64.
        """
        return 0.5 * float(self._l2_float64 @ self.ops.row_squared_norms(W))

    def _add_penalty(self, V, out_W, buffer=None):
        """out_W += l2_k v_k on each row: the penalty's gradient at V (and its Hessian
        times V). `buffer`, an array like V, spares the temporary."""
        if buffer is None:
            out_W += self._l2[:, None] * V
        else:  # the same, without a temporary
            out_W += self.ops.multiply_into(self._l2[:, None], V, buffer)

    def set_C(self, C):
        """Change the per-output inverse L2 strengths (for warm-started paths).

        Parameters
        ----------
        C : array-like of shape (n_outputs,)
            Positive; ``np.inf`` for no penalty.
        """
        C, self.l2_strength = self._strengths(C)
        self.C = C.copy()
        # the strengths of the scaled objective (divided by the total weight)
        self._l2 = self.ops.asarray(self.l2_strength / self.total_weight)
        # the same strengths (rounded to the objective's dtype) on the host, for `_penalty`
        self._l2_float64 = self.to_numpy(self._l2).astype(np.float64)
