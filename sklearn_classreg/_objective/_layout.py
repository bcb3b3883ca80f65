"""The parameter layout shared by the NumPy and torch objectives.

Both objectives store the same flat vector, ``concat(W.ravel(), b)``, change
C the same way and bound their suboptimality the same way (`duality_gap`);
their arrays are made and reduced by their backend's ``ops`` (`ArrayOps`),
and their data's class sums by `_class_sums`.
"""

import numpy as np

from .._utils._backend import to_numpy_if_tensor
from .._utils._threads import split_rows
from ._duality import duality_gap, gradient_term, penalty_strengths, refined_duality_gap
from ._preconditioner import basis_rank

__all__ = ["LinearLayout"]


class LinearLayout:
    """Layout of the parameters of a linear model with n_outputs rows.

    Subclasses set ``ops`` (their backend's `ArrayOps`), ``n_outputs``,
    ``n_samples``, ``n_features``, ``fit_intercept``, ``n_classes``, ``total_weight``,
    ``datafit`` and ``dtype``, then call `_init_layout` and `set_C`, and
    implement `_class_sums`.
    """

    def _init_layout(self, whole_basis=False):
        """Derived sizes; `whole_basis` keeps the preconditioner's whole eigenbasis."""
        size = self.n_features + int(self.fit_intercept)
        self.n_params = self.n_outputs * size
        # eigenvectors of the preconditioner's basis (see `basis_rank`)
        self.basis_rank = size if whole_basis else basis_rank(size, self.n_samples)
        self._gap_moments = None  # what the duality gap needs of the data, made once
        self._twin = None  # float64 twin, built on first use

    # ----------------------------------------------------- backend specifics
    def to_numpy(self, array):
        """An array of the objective's type as a NumPy array (on the host)."""
        return self.ops.to_numpy(array)

    def _class_sums(self):
        """Per class c: sum_{y_i = c} w_i x_i, shape (n_classes, n_features), in the
        objective's array type (one pass over X; the duality gap keeps it)."""
        raise NotImplementedError

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
            share[np.diag_indices_from(share)] += self.to_numpy(weighted.sum(0)).astype(
                np.float64
            )
        return share

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
        W_view, b_view = LinearLayout.unpack(self, coef)
        W_view[...] = W
        if self.fit_intercept and b is not None:
            b_view[...] = b
        return self.ops.asarray(coef)

    def cast(self, x):
        """A parameter vector (NumPy or torch, any dtype) in this objective's type and dtype."""
        return self.ops.asarray(np.asarray(to_numpy_if_tensor(x)))

    def zeros(self):
        """The all-zero parameter vector."""
        return self.ops.zeros((self.n_params,))

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
