"""The objective on torch tensors, on any device: the protocol of `LogisticObjective`.

This module imports torch: import it only where torch is needed (the engine
does, for ``backend="torch"``, after `import_torch` has said how to install it).

Closed-form gradients and Hessian-vector products (autograd is only the
tests' oracle). X moves to the device once when it fits; otherwise its rows
are streamed from host memory in chunks, the copy of the next chunk
overlapping the computation on the current one (CUDA streams).

Precision: the matrix products run in the data's dtype. TF32 is used for
float32 products only if the user enabled it in torch
(``torch.backends.cuda.matmul.allow_tf32`` or
``torch.set_float32_matmul_precision``); torch's default keeps it off.
"""

import warnings

import numpy as np
import torch
from scipy import sparse

from .._utils._backend import resolve_device
from .._utils._ops import ArrayOps
from ._duality import DualStep
from ._kernels import TRIM_FLOOR
from ._layout import LinearLayout
from ._preconditioner import (
    FeatureCovariancePreconditioner,
    truncated_basis,
    use_full_basis,
)

__all__ = ["TorchLogisticObjective", "TorchOps"]

# Device memory for the temporaries of one chunk (several chunk x n_outputs
# buffers): a quarter of the free memory, at most this much.
_CHUNK_BYTES_CPU = 16 * 2**20
_CHUNK_BYTES_CUDA = 512 * 2**20
# X is moved to the device whole when it takes at most this share of the free
# device memory; otherwise its rows are streamed.
_RESIDENT_SHARE = 0.5
# The per-sample Hessian state (n_samples x n_outputs) is kept for Hessian
# products when it takes at most this share of X's size.
_STATE_SHARE = 0.25


class TorchOps(ArrayOps):
    """`ArrayOps` of torch tensors of one dtype on one device.

    Parameters
    ----------
    dtype : torch.dtype
        torch.float32 or torch.float64.
    device : torch.device
    """

    def __init__(self, dtype, device):
        self.dtype, self.device = dtype, device
        self.eps = float(torch.finfo(dtype).eps)

    def zeros(self, shape):
        return torch.zeros(shape, dtype=self.dtype, device=self.device)

    def empty(self, shape):
        return torch.empty(shape, dtype=self.dtype, device=self.device)

    def asarray(self, values):
        return torch.as_tensor(
            np.asarray(values, dtype=np.float64), dtype=self.dtype, device=self.device
        )

    def to_numpy(self, a):
        return a.detach().cpu().numpy()

    def copy(self, a):
        return a.clone()

    def max_abs(self, a):
        if not a.shape[0]:
            return 0.0
        return float(a.abs().max())

    def matmul_into(self, a, b, out):
        torch.matmul(a, b, out=out)

    def multiply_into(self, a, b, out):
        return torch.mul(a, b, out=out)

    def clip_below_(self, a, floor):
        a.clamp_(min=floor)

    def row_squared_norms(self, A):
        return self.to_numpy((A.double() ** 2).sum(dim=1))


def _free_device_bytes(device):
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free
    return None


def _as_tensor(X):
    """X as a torch tensor on its current device, sharing memory with a NumPy X."""
    if isinstance(X, torch.Tensor):
        return X
    with warnings.catch_warnings():
        # read-only X (a memory map): torch warns, but X is never written
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.asarray(X))


class _RowSource:
    """Rows of X on the device, chunk by chunk: resident, or streamed from host.

    Streaming keeps X in host memory (page-locked when possible, so copies
    are asynchronous) and copies chunk i + 1 on a side stream while chunk i
    is used.
    """

    def __init__(self, X, device, chunks, stream, dtype=None):
        self.device, self.chunks, self.dtype = device, chunks, dtype
        self.sparse = sparse.issparse(X)
        self.streaming = stream and not self.sparse
        if self.sparse:
            self.sparse_chunks = [self._sparse_to_device(X[a:b]) for a, b in chunks]
        elif self.streaming:
            host = _as_tensor(X).cpu()
            if device.type == "cuda":
                try:
                    host = host.pin_memory()
                except RuntimeError:  # not enough page-locked memory: plain copies
                    pass
            self.host = host
        else:
            self.resident = _as_tensor(X).to(device)

    def _sparse_to_device(self, block):
        block = block.tocsr()
        with warnings.catch_warnings():
            # torch calls its sparse CSR support "beta"; the operations used
            # here (products with dense matrices) are covered by our tests.
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            tensor = torch.sparse_csr_tensor(
                torch.from_numpy(block.indptr.astype(np.int64)),
                torch.from_numpy(block.indices.astype(np.int64)),
                torch.from_numpy(block.data),
                size=block.shape,
                check_invariants=True,  # once per chunk: scipy's CSR is valid
            )
        return tensor.to(self.device)

    def __iter__(self):
        """Yield ``(chunk index, (start, stop), X_chunk on the device)``, in `dtype`."""
        for i, rows, chunk in self._chunks_on_device():
            if self.dtype is not None and chunk.dtype != self.dtype:
                chunk = chunk.to(self.dtype)
            yield i, rows, chunk

    def _chunks_on_device(self):
        if self.sparse:
            for i, rows in enumerate(self.chunks):
                yield i, rows, self.sparse_chunks[i]
        elif not self.streaming:
            for i, (start, stop) in enumerate(self.chunks):
                yield i, (start, stop), self.resident[start:stop]
        elif self.device.type != "cuda":
            for i, (start, stop) in enumerate(self.chunks):
                yield i, (start, stop), self.host[start:stop].to(self.device)
        else:
            yield from self._stream_cuda()

    def _stream_cuda(self):
        copy_stream = torch.cuda.Stream(self.device)
        compute_stream = torch.cuda.current_stream(self.device)

        def start_copy(start, stop):
            with torch.cuda.stream(copy_stream):
                chunk = self.host[start:stop].to(self.device, non_blocking=True)
                event = torch.cuda.Event()
                event.record(copy_stream)
            return chunk, event

        pending = start_copy(*self.chunks[0])
        for i, rows in enumerate(self.chunks):
            chunk, event = pending
            compute_stream.wait_event(event)
            chunk.record_stream(compute_stream)
            if i + 1 < len(self.chunks):
                pending = start_copy(*self.chunks[i + 1])
            yield i, rows, chunk


class TorchLogisticObjective(LinearLayout):
    """Regularized logistic loss of a linear model on torch tensors.

    The same objective, scaling, parameter layout and methods as
    `LogisticObjective` (see there); vectors are 1-d tensors on `device`.

    Parameters
    ----------
    X : {ndarray, CSR matrix, torch.Tensor} of shape (n_samples, n_features)
        float32 or float64.
    y, sample_weight, datafit, C, label_smoothing, logit_penalty, fit_intercept, whole_basis
        As for `LogisticObjective`.
    device : str or torch.device, default=None
        "cuda" when available, else "cpu".
    chunk_rows : int, default=None
        Rows per chunk; by default from the free device memory.
    stream : bool, default=None
        Stream X's rows from host memory instead of moving X to the device;
        by default only when X would take more than half the free device memory.
    dtype : {np.float32, np.float64}, default=None
        Precision of the arithmetic; by default X's dtype. float64 on float32
        X casts one chunk at a time (see `LogisticObjective`).
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
        device=None,
        chunk_rows=None,
        stream=None,
        whole_basis=False,
        dtype=None,
    ):
        self.device = resolve_device(device)
        self.datafit = datafit
        self.fit_intercept = fit_intercept
        self.n_samples, self.n_features = X.shape
        self.n_classes = len(label_smoothing)
        self.n_outputs = datafit.n_outputs(self.n_classes)
        numpy_dtype = (
            np.dtype(str(X.dtype).replace("torch.", ""))
            if isinstance(X, torch.Tensor)
            else X.dtype
        )
        data_dtype = numpy_dtype
        if dtype is not None:
            numpy_dtype = np.dtype(dtype)
        self.numpy_dtype = numpy_dtype
        self.dtype = torch.float32 if numpy_dtype == np.float32 else torch.float64
        self.ops = TorchOps(self.dtype, self.device)
        self._arguments = dict(
            X=X,
            y=y,
            sample_weight=sample_weight,
            datafit=datafit,
            label_smoothing=label_smoothing,
            logit_penalty=logit_penalty,
            fit_intercept=fit_intercept,
            device=device,
            chunk_rows=chunk_rows,
            stream=stream,
            whole_basis=whole_basis,
        )
        self._true_class_accumulator = None
        self._init_layout(whole_basis)
        self.total_weight = float(np.sum(sample_weight, dtype=np.float64))
        self.set_C(C)
        self.logit_penalty = float(logit_penalty)

        device = self.device
        self.y = torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
        self.weights = self.ops.asarray(np.asarray(sample_weight) / self.total_weight)
        smoothing = np.asarray(label_smoothing, dtype=np.float64)
        self.label_smoothing = self.ops.asarray(smoothing)
        self.smoothing_of_sample = self.label_smoothing[self.y]

        itemsize = np.dtype(numpy_dtype).itemsize
        x_bytes = (
            X.data.nbytes
            if sparse.issparse(X)
            else self.n_samples * self.n_features * np.dtype(data_dtype).itemsize
        )
        free = _free_device_bytes(device)
        if stream is None:
            stream = free is not None and x_bytes > _RESIDENT_SHARE * free
        if chunk_rows is None:
            budget = _CHUNK_BYTES_CUDA if device.type == "cuda" else _CHUNK_BYTES_CPU
            if free is not None:
                budget = min(budget, free // 4)
            # about six chunk x n_outputs temporaries per chunk
            chunk_rows = budget // (6 * self.n_outputs * itemsize)
        self.chunk_rows = int(max(1, min(self.n_samples, chunk_rows)))
        chunks = [
            (start, min(start + self.chunk_rows, self.n_samples))
            for start in range(0, self.n_samples, self.chunk_rows)
        ]
        self.rows = _RowSource(X, device, chunks, stream, dtype=self.dtype)
        # Rows whose Hessian state is kept (as `LogisticObjective`): all of them, when
        # the state takes at most _STATE_SHARE of X (or 16 MiB), else none.
        keeps_all = self.n_samples * self.n_outputs * itemsize <= max(
            16 * 2**20, _STATE_SHARE * x_bytes
        )
        self.hessian_state_rows = self.n_samples if keeps_all else 0
        self._state = None
        self._preconditioner = None
        self._x_bytes = x_bytes
        self.class_curvature = np.full(
            self.n_outputs, (1.0 / self.n_classes) * (1 - 1.0 / self.n_classes)
        )

    # --------------------------------------------------------------- backend
    def _class_sums(self):
        with torch.no_grad():
            class_sums = torch.zeros(
                (self.n_classes, self.n_features), dtype=self.dtype, device=self.device
            )
            for _, (start, stop), X_chunk in self.rows:
                indicator = torch.zeros(
                    (stop - start, self.n_classes), dtype=self.dtype, device=self.device
                )
                indicator.scatter_(1, self.y[start:stop, None], self.weights[start:stop, None])
                class_sums.addmm_(indicator.T, X_chunk)
        return class_sums

    # ----------------------------------------------------------- the datafits
    def _logits(self, X_chunk, W, b):
        logits = X_chunk @ W.T
        return logits if b is None else logits.add_(b)

    def _multinomial_chunk(self, z, rows):
        """(loss, residual, probabilities, curvature sums) of a chunk of logits."""
        start, stop = rows
        y = self.y[start:stop, None]
        w = self.weights[start:stop, None]
        eps = self.smoothing_of_sample[start:stop, None]
        beta = self.logit_penalty
        zmean = z.mean(dim=1, keepdim=True)
        zmax, top = z.max(dim=1, keepdim=True)
        # exp(z - zmax) with the maximum's (exactly 1) left out of `rest`, so that
        # -log p_iy = (zmax - z_iy) + log1p(rest) is exact to rounding even when the
        # loss is tiny next to the logits (as in the numba kernels)
        proba = torch.exp(z - zmax)
        proba.scatter_(1, top, 0.0)
        rest = proba.sum(dim=1, keepdim=True)
        proba.scatter_(1, top, 1.0)
        proba /= 1 + rest
        z_true = z.gather(1, y)
        neg_log_p = (zmax - z_true).double() + torch.log1p(rest.double())
        # per-sample losses combined in float64, like the numba kernels
        loss = neg_log_p + eps.double() * (z_true - zmean).double()
        if beta:
            deviation = z - zmean
            loss += 0.5 * beta * (deviation * deviation).sum(dim=1, keepdim=True).double()
        residual = proba - eps / self.n_classes
        residual.scatter_add_(1, y, -(1 - eps))
        if beta:
            residual += beta * deviation
        residual *= w
        curvature = (w * proba * (1 - proba)).sum(dim=0, dtype=torch.float64)
        total = (w.double() * loss).sum()
        self._add_true_class_sums(y[:, 0], w[:, 0], neg_log_p[:, 0])
        return total, residual, proba, curvature

    def _add_true_class_sums(self, y, w, neg_log_p):
        """Per true class: sum of w_i (-log p_iy) and w_i / p_iy (see `_duality.py`).

        Only while `_evaluate` accumulates them (not in Hessian products).
        """
        sums = self._true_class_accumulator
        if sums is None:
            return
        neg_log_p = neg_log_p.double()
        w = w.double()
        inverse = torch.where(w > 0, w * torch.exp(neg_log_p), torch.zeros_like(w))
        sums[0].index_add_(0, y, w * neg_log_p)
        sums[1].index_add_(0, y, inverse)

    def _binomial_chunk(self, u, rows):
        start, stop = rows
        y = self.y[start:stop, None].to(self.dtype)
        w = self.weights[start:stop, None]
        eps = self.smoothing_of_sample[start:stop, None]
        beta = self.logit_penalty
        target = (1 - eps) * y + 0.5 * eps
        # log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|)), exact for any u
        log1p_e = torch.log1p(torch.exp(-u.abs()))
        positive_part = u.clamp(min=0)
        # large terms first: (max(u, 0) - t u) is exact when t = 1 and u > 0
        loss = (positive_part - target * u) + log1p_e + 0.25 * beta * u * u
        proba = torch.sigmoid(u)
        sigmoid_curvature = proba * (1 - proba)
        residual = w * (proba - target + 0.5 * beta * u)
        curvature = (w * sigmoid_curvature).sum(dim=0, dtype=torch.float64)
        state = w * (sigmoid_curvature + 0.5 * beta)
        total = (w * loss).sum(dtype=torch.float64)
        label = self.y[start:stop]
        # -log p_iy: log(1 + exp(u)) - u for class 1, log(1 + exp(u)) for class 0
        drop = torch.where(label == 1, u[:, 0], torch.zeros_like(u[:, 0]))
        neg_log_p = (positive_part[:, 0] - drop) + log1p_e[:, 0]
        self._add_true_class_sums(label, w[:, 0], neg_log_p)
        return total, residual, state, curvature

    def _chunk(self, z, rows):
        if self.datafit.shift_invariant:
            return self._multinomial_chunk(z, rows)
        return self._binomial_chunk(z, rows)

    def _hessian_state_of(self, z, rows):
        """Per-sample Hessian state of a chunk of logits (probabilities or curvature)."""
        return self._chunk(z, rows)[2]

    # -------------------------------------------------------------- objective
    def _evaluate(self, coef, keep_state):
        with torch.no_grad():
            W, b = self.unpack(coef)
            grad = torch.zeros_like(coef)
            grad_W, grad_b = self.unpack(grad)
            keep_state = keep_state and self.hessian_state_rows == self.n_samples
            if keep_state and self._state is None:
                self._state = torch.empty(
                    (self.n_samples, self.n_outputs), dtype=self.dtype, device=self.device
                )
            loss = torch.zeros((), dtype=torch.float64, device=self.device)
            curvature = torch.zeros(self.n_outputs, dtype=torch.float64, device=self.device)
            self._true_class_accumulator = torch.zeros(
                (2, self.n_classes), dtype=torch.float64, device=self.device
            )
            for _, rows, X_chunk in self.rows:
                z = self._logits(X_chunk, W, b)
                total, residual, state, chunk_curvature = self._chunk(z, rows)
                loss += total
                curvature += chunk_curvature
                grad_W.addmm_(residual.T, X_chunk)
                if grad_b is not None:
                    grad_b += residual.sum(dim=0)
                if keep_state:
                    self._state[rows[0] : rows[1]] = state
            loss = float(loss) + self._penalty(W)
            self._add_penalty(W, grad_W)
            penalty_curvature = self.logit_penalty * (1.0 - 1.0 / self.n_classes)
            self.class_curvature = curvature.cpu().numpy() + penalty_curvature
            self.true_class_sums = self._true_class_accumulator.cpu().numpy()
            self._true_class_accumulator = None
        if not np.isfinite(loss):
            loss = np.inf
        return loss, grad

    def intercept_hessian(self, coef):
        """Hessian of the objective in the intercepts (see `LogisticObjective`)."""
        hessian = np.zeros((self.n_outputs, self.n_outputs), dtype=np.float64)
        with torch.no_grad():
            W, b = self.unpack(coef)
            for _, rows, X_chunk in self.rows:
                state = self._hessian_state_of(self._logits(X_chunk, W, b), rows)
                weights = self.weights[rows[0] : rows[1]]
                hessian += self._intercept_hessian_of_state(state.double(), weights.double())
        return hessian

    def dual_step(self, coef, direction, steps):
        """The dual point at `coef` moved along `direction` (see `LogisticObjective`)."""
        K = self.n_classes
        with torch.no_grad():
            W, b = self.unpack(coef)
            V, v_b = self.unpack(direction)
            move = torch.zeros_like(W)
            sums = torch.zeros(
                (len(steps) + 1, 2 * K + 2), dtype=torch.float64, device=self.device
            )
            for _, rows, X_chunk in self.rows:
                start, stop = rows
                z = self._logits(X_chunk, W, b).double()
                v = self._logits(X_chunk, V, v_b).double()
                proba, neg_log_p = self._two_or_more_classes(z, rows)
                if not self.datafit.shift_invariant:  # the logits (0, u) and (0, v)
                    v = torch.cat([torch.zeros_like(v), v], dim=1)
                w = self.weights[start:stop].double()
                s = v - (proba * v).sum(dim=1, keepdim=True)
                active = w > 0
                finite = torch.isfinite(neg_log_p) & torch.isfinite(s).all(dim=1) & active
                s = torch.where(finite[:, None], s, 0.0)
                lowest = s.min(dim=1, keepdim=True).values
                s *= torch.where(lowest < -TRIM_FLOOR, TRIM_FLOOR / -lowest, 1.0)  # see _kernels
                proba = torch.where(finite[:, None], proba, 0.0)
                weighted_move = w[:, None] * proba * s
                output_move = (
                    weighted_move if self.datafit.shift_invariant else weighted_move[:, 1:]
                )
                move.addmm_(output_move.to(self.dtype).T, X_chunk)
                sums[-1, :K] += weighted_move.sum(dim=0)
                y = self.y[start:stop]
                p_true = proba.gather(1, y[:, None])[:, 0]
                neg_log_p = torch.where(finite, neg_log_p, 0.0)
                for j, c in enumerate(steps):
                    # the rows whose moved probabilities stay positive
                    step_move = float(c) * s
                    counted = (step_move > -1.0).all(dim=1) & finite
                    sums[j, 2 * K + 1] += (active & ~counted).sum().double()
                    step_move = torch.where(counted[:, None], step_move, 0.0)
                    weight = torch.where(counted, w, 0.0)
                    kl = (proba * (1.0 + step_move) * torch.log1p(step_move)).sum(dim=1)
                    sums[j, 2 * K] += (weight * kl).sum()
                    true_move = step_move.gather(1, y[:, None])[:, 0]
                    neg_log = weight * (neg_log_p - torch.log1p(true_move))
                    inverse = torch.where(counted, weight / (p_true * (1.0 + true_move)), 0.0)
                    sums[j, :K].index_add_(0, y, neg_log)
                    sums[j, K : 2 * K].index_add_(0, y, inverse)
        return DualStep.from_sums(self, move, sums.cpu().numpy())

    def _two_or_more_classes(self, z, rows):
        """(probabilities (rows, K), -log p_iy) at float64 logits z of a chunk.

        The sigmoid's u becomes the two-class softmax of (0, u).
        """
        labels = self.y[rows[0] : rows[1]]
        if not self.datafit.shift_invariant:
            z = torch.cat([torch.zeros_like(z), z], dim=1)
        log_proba = torch.log_softmax(z, dim=1)
        return log_proba.exp(), -log_proba.gather(1, labels[:, None])[:, 0]

    def loss(self, coef):
        """Objective value at `coef` (a float)."""
        return self._evaluate(coef, keep_state=False)[0]

    def loss_gradient(self, coef):
        """Objective value and gradient at `coef`."""
        return self._evaluate(coef, keep_state=False)

    def loss_gradient_hessp(self, coef, *, many_products=False):
        """Objective value, gradient and Hessian-product function at `coef`.

        `many_products` is accepted for the objectives' common protocol; the
        torch objective keeps the Hessian state whenever its memory rule
        allows (``hessian_state_rows``), for few products or many.
        """
        loss, grad = self._evaluate(coef, keep_state=True)
        W, b = self.unpack(coef)
        W_at, b_at = W.clone(), (None if b is None else b.clone())
        return loss, grad, lambda v: self._hessp(v, W_at, b_at)

    def _hessp(self, v, W_at, b_at):
        with torch.no_grad():
            V, v_b = self.unpack(v)
            out = torch.zeros_like(v)
            out_W, out_b = self.unpack(out)
            beta = self.logit_penalty
            for _, rows, X_chunk in self.rows:
                start, stop = rows
                direction = self._logits(X_chunk, V, v_b)
                if self.hessian_state_rows == self.n_samples:
                    state = self._state[start:stop]
                else:
                    state = self._hessian_state_of(self._logits(X_chunk, W_at, b_at), rows)
                w = self.weights[start:stop, None]
                if self.datafit.shift_invariant:
                    along = (state * direction).sum(dim=1, keepdim=True)
                    product = state * (direction - along)
                    if beta:
                        product += beta * (direction - direction.mean(dim=1, keepdim=True))
                    product *= w
                else:
                    product = state * direction
                out_W.addmm_(product.T, X_chunk)
                if out_b is not None:
                    out_b += product.sum(dim=0)
            self._add_penalty(V, out_W)
        return out

    # --------------------------------------------------------- preconditioner
    def _weighted_gram(self):
        """B = X~^T diag(w) X~ (float64, on the device), and whether it is the full one."""
        size = self.n_features + int(self.fit_intercept)
        full = use_full_basis(size, np.dtype(self.numpy_dtype).itemsize, self._x_bytes)
        shape = (size, size) if full else (size,)
        gram = torch.zeros(shape, dtype=torch.float64, device=self.device)
        for _, (start, stop), X_chunk in self.rows:
            w = self.weights[start:stop]
            if X_chunk.is_sparse_csr:
                X_chunk = X_chunk.to_dense()
            weighted = X_chunk * w[:, None]
            if full:
                gram[: self.n_features, : self.n_features] += (weighted.T @ X_chunk).double()
                if self.fit_intercept:
                    column_sums = weighted.sum(dim=0, dtype=torch.float64)
                    gram[: self.n_features, -1] += column_sums
                    gram[-1, : self.n_features] += column_sums
            else:
                gram[: self.n_features] += (weighted * X_chunk).sum(dim=0, dtype=torch.float64)
        if self.fit_intercept:
            if full:
                gram[-1, -1] = 1.0
            else:
                gram[-1] = 1.0
        return gram, full

    def precondition(self, v, out=None):
        """Approximate inverse Hessian times v, at the last evaluated point.

        Written to `out` (which may be v) when given, else to a new tensor.
        """
        with torch.no_grad():
            if self._preconditioner is None:
                gram, full = self._weighted_gram()
                if full:
                    trace = float(gram.trace())
                    eigenvalues, eigenvectors = torch.linalg.eigh(gram)
                    eigenvalues, eigenvectors, rest = truncated_basis(
                        eigenvalues, eigenvectors, self.basis_rank, trace
                    )
                    self._preconditioner = FeatureCovariancePreconditioner(
                        eigenvalues.to(self.dtype),
                        eigenvectors.to(self.dtype),
                        self.ops,
                        rest,
                    )
                else:
                    self._preconditioner = FeatureCovariancePreconditioner(
                        gram.to(self.dtype), None, self.ops
                    )
            curvature = float(np.mean(self.class_curvature))
            return self._preconditioned(self._preconditioner, v, curvature, out)
