"""The objective on torch tensors, on any device: `LinearObjective`'s torch backend.

This module imports torch: import it only where torch is needed (the engine
does, for ``backend="torch"``, after `import_torch` has said how to install it).

The backend is three pieces: `TorchOps`; `_RowSource`, the rows of X on the
device (moved there once when X fits; otherwise streamed from host memory in
chunks, the copy of the next chunk overlapping the computation on the current
one with CUDA streams); and the datafits' kernels written with torch
operations, in the `Datafit` signature (closed-form gradients and Hessian
products; autograd is only the tests' oracle). The passes over X are
`LinearObjective`'s.

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
from ._datafit import Datafit
from ._kernels import TRIM_FLOOR
from ._linear import LinearObjective
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

    def float64_zeros(self, shape):
        return torch.zeros(shape, dtype=torch.float64, device=self.device)

    def as_float64(self, values):
        return torch.as_tensor(np.asarray(values, dtype=np.float64), device=self.device)

    def as_labels(self, y):
        return torch.as_tensor(np.asarray(y, dtype=np.int64), device=self.device)

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
    """X as a torch tensor on its current device (sharing memory with a NumPy X),
    detached: the objective never differentiates through X."""
    if isinstance(X, torch.Tensor):
        return X.detach()
    with warnings.catch_warnings():
        # read-only X (a memory map): torch warns, but X is never written
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.asarray(X))


class _RowSource:
    """Rows of X on the device, chunk by chunk: resident, or streamed from host.

    Streaming keeps X in host memory (page-locked when possible, so copies
    are asynchronous) and copies chunk i + 1 on a side stream while chunk i
    is used. Chunks come in `dtype` (cast on the device when X's differs).
    """

    scratch = None  # torch accumulates R^T X in place: no buffer

    def __init__(self, X, device, chunk_rows, stream, *, ops, x_bytes):
        self.device, self.ops, self.x_bytes = device, ops, x_bytes
        self.dtype = ops.dtype
        self.n_features = X.shape[1]
        self.chunk_rows = chunk_rows
        n_samples = X.shape[0]
        self.chunks = [
            (start, min(start + chunk_rows, n_samples))
            for start in range(0, n_samples, chunk_rows)
        ]
        self.sparse = sparse.issparse(X)
        self.streaming = stream and not self.sparse
        if self.sparse:
            self.source = X
            self.sparse_chunks = [self._sparse_to_device(X[a:b]) for a, b in self.chunks]
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
        return self.iterate()

    def iterate(self, bounds=None):
        """Yield ``(i, (start, stop), X_chunk on the device)`` for the chunks (or `bounds`)."""
        for i, rows, chunk in self._chunks_on_device(bounds):
            if chunk.dtype != self.dtype:
                chunk = chunk.to(self.dtype)
            yield i, rows, chunk

    def _chunks_on_device(self, bounds):
        chunks = self.chunks if bounds is None else bounds
        if self.sparse:
            for i, (start, stop) in enumerate(chunks):
                if bounds is None:
                    yield i, (start, stop), self.sparse_chunks[i]
                else:
                    yield i, (start, stop), self._sparse_to_device(self.source[start:stop])
        elif not self.streaming:
            for i, (start, stop) in enumerate(chunks):
                yield i, (start, stop), self.resident[start:stop]
        elif self.device.type != "cuda":
            for i, (start, stop) in enumerate(chunks):
                yield i, (start, stop), self.host[start:stop].to(self.device)
        else:
            yield from self._stream_cuda(chunks)

    def _stream_cuda(self, chunks):
        copy_stream = torch.cuda.Stream(self.device)
        compute_stream = torch.cuda.current_stream(self.device)

        def start_copy(start, stop):
            with torch.cuda.stream(copy_stream):
                chunk = self.host[start:stop].to(self.device, non_blocking=True)
                event = torch.cuda.Event()
                event.record(copy_stream)
            return chunk, event

        pending = start_copy(*chunks[0])
        for i, rows in enumerate(chunks):
            chunk, event = pending
            compute_stream.wait_event(event)
            chunk.record_stream(compute_stream)
            if i + 1 < len(chunks):
                pending = start_copy(*chunks[i + 1])
            yield i, rows, chunk

    def release_buffers(self):
        pass

    @staticmethod
    def logits_into(X_chunk, W, out):
        """out <- X_chunk @ W^T."""
        if X_chunk.is_sparse_csr:
            out.copy_(X_chunk @ W.T)
        else:
            torch.matmul(X_chunk, W.T, out=out)

    @staticmethod
    def add_back_product(R, X_chunk, out, first):
        """out (+)= R^T @ X_chunk, out of shape (n_outputs, n_features)."""
        if first:
            out.zero_()
        out.addmm_(R.T, X_chunk)

    def class_sums(self, y, weights, n_classes):
        """Per class c: sum_{y_i = c} w_i x_i (n_classes, n_features)."""
        sums = torch.zeros((n_classes, self.n_features), dtype=self.dtype, device=self.device)
        for _, (start, stop), X_chunk in self:
            indicator = torch.zeros(
                (stop - start, n_classes), dtype=self.dtype, device=self.device
            )
            indicator.scatter_(1, y[start:stop, None], weights[start:stop, None])
            sums.addmm_(indicator.T, X_chunk)
        return sums

    def _weighted_gram(self, weights, fit_intercept):
        """B = X~^T diag(w) X~ (float64, on the device), and whether it is the full one."""
        size = self.n_features + int(fit_intercept)
        full = use_full_basis(size, self.ops.dtype.itemsize, self.x_bytes)
        shape = (size, size) if full else (size,)
        gram = torch.zeros(shape, dtype=torch.float64, device=self.device)
        for _, (start, stop), X_chunk in self:
            w = weights[start:stop]
            if X_chunk.is_sparse_csr:
                X_chunk = X_chunk.to_dense()
            weighted = X_chunk * w[:, None]
            if full:
                gram[: self.n_features, : self.n_features] += (weighted.T @ X_chunk).double()
                if fit_intercept:
                    column_sums = weighted.sum(dim=0, dtype=torch.float64)
                    gram[: self.n_features, -1] += column_sums
                    gram[-1, : self.n_features] += column_sums
            else:
                gram[: self.n_features] += (weighted * X_chunk).sum(dim=0, dtype=torch.float64)
        if fit_intercept:
            if full:
                gram[-1, -1] = 1.0
            else:
                gram[-1] = 1.0
        return gram, full

    def preconditioner(self, weights, fit_intercept, rank):
        """The feature-covariance preconditioner of X (see `_preconditioner.py`)."""
        gram, full = self._weighted_gram(weights, fit_intercept)
        if not full:
            return FeatureCovariancePreconditioner(gram.to(self.dtype), None, self.ops)
        trace = float(gram.trace())
        eigenvalues, eigenvectors = torch.linalg.eigh(gram)
        eigenvalues, eigenvectors, rest = truncated_basis(eigenvalues, eigenvectors, rank, trace)
        return FeatureCovariancePreconditioner(
            eigenvalues.to(self.dtype), eigenvectors.to(self.dtype), self.ops, rest
        )


# ------------------------------------------------------------------ datafits
# The kernels of `_kernels.py` written with torch operations, in the `Datafit`
# signature: each works on a chunk of logits in place and adds its sums (float64
# tensors on the device) to the caller's.


def _add_true_class_sums(sums, y, weights, neg_log_p):
    """Per true class: sum of w_i (-log p_iy) and w_i / p_iy (rows 2 and 3 of `sums`)."""
    neg_log_p = neg_log_p.double()
    w = weights.double()
    inverse = torch.where(w > 0, w * torch.exp(neg_log_p), torch.zeros_like(w))
    sums[2].index_add_(0, y, w * neg_log_p)
    sums[3].index_add_(0, y, inverse)


def _softmax(z):
    """(softmax(z), max, rest) with rest = sum of exp(z - max) but for the maximum's.

    The maximum's exponential (exactly 1) is left out of `rest`, so that
    -log p_iy = (zmax - z_iy) + log1p(rest) is exact to rounding even when the
    loss is tiny next to the logits (as in the numba kernels).
    """
    zmax, top = z.max(dim=1, keepdim=True)
    proba = torch.exp(z - zmax)
    proba.scatter_(1, top, 0.0)
    rest = proba.sum(dim=1, keepdim=True)
    proba.scatter_(1, top, 1.0)
    proba /= 1 + rest
    return proba, zmax, rest


def _multinomial_loss_gradient(z, intercept, y, weights, smoothing, logit_penalty, state, sums):
    """`_kernels.multinomial_loss_gradient` on a chunk: z becomes the gradient."""
    z += intercept
    n_classes = z.shape[1]
    labels = y[:, None]
    w = weights[:, None]
    eps = smoothing[labels].to(z.dtype)
    zmean = z.mean(dim=1, keepdim=True)
    proba, zmax, rest = _softmax(z)
    z_true = z.gather(1, labels)
    neg_log_p = (zmax - z_true).double() + torch.log1p(rest.double())
    # per-sample losses combined in float64, like the numba kernels
    loss = neg_log_p + eps.double() * (z_true - zmean).double()
    if logit_penalty:
        deviation = z - zmean
        loss += 0.5 * logit_penalty * (deviation * deviation).sum(dim=1, keepdim=True).double()
    residual = proba - eps / n_classes
    residual.scatter_add_(1, labels, -(1 - eps))
    if logit_penalty:
        residual += logit_penalty * deviation
    residual *= w
    sums[0] += residual.sum(dim=0, dtype=torch.float64)
    sums[1] += (w * proba * (1 - proba)).sum(dim=0, dtype=torch.float64)
    _add_true_class_sums(sums, y, weights, neg_log_p[:, 0])
    if state.shape[0]:
        state.copy_(proba)
    z.copy_(residual)
    return (w.double() * loss).sum()


def _multinomial_proba(z, intercept, weights, logit_penalty, state):
    state.copy_(_softmax(z + intercept)[0])


def _multinomial_hessp(v, v_intercept, proba, weights, logit_penalty, intercept_hessp):
    """`_kernels.multinomial_hessp` on a chunk, in place."""
    v += v_intercept
    along = (proba * v).sum(dim=1, keepdim=True)
    product = proba * (v - along)
    if logit_penalty:
        product += logit_penalty * (v - v.mean(dim=1, keepdim=True))
    product *= weights[:, None]
    v.copy_(product)
    intercept_hessp += product.sum(dim=0, dtype=torch.float64)


def _binomial_loss_gradient(z, intercept, y, weights, smoothing, logit_penalty, state, sums):
    """`_kernels.binomial_loss_gradient` on a chunk: z becomes the gradient."""
    u = z.add_(intercept)
    w = weights[:, None]
    eps = smoothing[y][:, None].to(z.dtype)
    target = (1 - eps) * y[:, None].to(z.dtype) + 0.5 * eps
    # log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|)), exact for any u
    log1p_e = torch.log1p(torch.exp(-u.abs()))
    positive_part = u.clamp(min=0)
    # large terms first: (max(u, 0) - t u) is exact when t = 1 and u > 0
    loss = (positive_part - target * u) + log1p_e + 0.25 * logit_penalty * u * u
    proba = torch.sigmoid(u)
    sigmoid_curvature = proba * (1 - proba)
    residual = w * (proba - target + 0.5 * logit_penalty * u)
    sums[0, :1] += residual.sum(dim=0, dtype=torch.float64)
    sums[1, :1] += (w * sigmoid_curvature).sum(dim=0, dtype=torch.float64)
    # -log p_iy: log(1 + exp(u)) - u for class 1, log(1 + exp(u)) for class 0
    drop = torch.where(y == 1, u[:, 0], torch.zeros_like(u[:, 0]))
    neg_log_p = (positive_part[:, 0] - drop) + log1p_e[:, 0]
    _add_true_class_sums(sums, y, weights, neg_log_p)
    if state.shape[0]:
        state.copy_(w * (sigmoid_curvature + 0.5 * logit_penalty))
    total = (w * loss).sum(dtype=torch.float64)
    z.copy_(residual)
    return total


def _binomial_curvature(z, intercept, weights, logit_penalty, state):
    proba = torch.sigmoid(z + intercept)
    state.copy_(weights[:, None] * (proba * (1 - proba) + 0.5 * logit_penalty))


def _binomial_hessp(v, v_intercept, curvature, weights, logit_penalty, intercept_hessp):
    """`_kernels.binomial_hessp` on a chunk, in place."""
    v += v_intercept
    v *= curvature
    intercept_hessp += v.sum(dim=0, dtype=torch.float64)


def _dual_step(z, intercept, v, v_intercept, y, weights, steps, sums):
    """`_kernels.multinomial_dual_step` (and the binomial one) on a chunk, in float64.

    The sigmoid's u is the two-class softmax of (0, u), its direction (0, v).
    """
    shift_invariant = z.shape[1] > 1
    n_classes = (sums.shape[1] - 2) // 2
    z = z.double() + intercept.double()
    direction = v.double() + v_intercept.double()
    if not shift_invariant:
        z = torch.cat([torch.zeros_like(z), z], dim=1)
        direction = torch.cat([torch.zeros_like(direction), direction], dim=1)
    log_proba = torch.log_softmax(z, dim=1)
    proba = log_proba.exp()
    neg_log_p = -log_proba.gather(1, y[:, None])[:, 0]
    w = weights.double()
    s = direction - (proba * direction).sum(dim=1, keepdim=True)
    active = w > 0
    finite = torch.isfinite(neg_log_p) & torch.isfinite(s).all(dim=1) & active
    s = torch.where(finite[:, None], s, 0.0)
    lowest = s.min(dim=1, keepdim=True).values
    s *= torch.where(lowest < -TRIM_FLOOR, TRIM_FLOOR / -lowest, 1.0)  # see _kernels
    proba = torch.where(finite[:, None], proba, 0.0)
    weighted_move = w[:, None] * proba * s
    # the outputs' moves: every class's, or the sigmoid's one output (class 1)
    outputs = slice(0, n_classes) if shift_invariant else slice(1, 2)
    v.copy_(weighted_move[:, outputs])
    sums[-1, outputs] += weighted_move[:, outputs].sum(dim=0)
    p_true = proba.gather(1, y[:, None])[:, 0]
    neg_log_p = torch.where(finite, neg_log_p, 0.0)
    K = n_classes
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


_DATAFITS = {
    "multinomial": Datafit(
        name="multinomial",
        shift_invariant=True,
        loss_gradient=_multinomial_loss_gradient,
        hessian_state=_multinomial_proba,
        hessp=_multinomial_hessp,
        dual_step=_dual_step,
    ),
    "binomial": Datafit(
        name="binomial",
        shift_invariant=False,
        loss_gradient=_binomial_loss_gradient,
        hessian_state=_binomial_curvature,
        hessp=_binomial_hessp,
        dual_step=_dual_step,
    ),
}


class TorchLogisticObjective(LinearObjective):
    """The regularized logistic objective (`LinearObjective`) on torch tensors.

    Vectors are 1-d tensors on `device`.

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
        data_dtype = (
            np.dtype(str(X.dtype).replace("torch.", ""))
            if isinstance(X, torch.Tensor)
            else np.dtype(X.dtype)
        )
        self.numpy_dtype = data_dtype if dtype is None else np.dtype(dtype)
        self.dtype = torch.float32 if self.numpy_dtype == np.float32 else torch.float64
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
        self.chunk_datafit = _DATAFITS[datafit.name]
        n_samples, n_features = X.shape
        n_outputs = datafit.n_outputs(len(label_smoothing))
        x_bytes = (
            X.data.nbytes if sparse.issparse(X) else n_samples * n_features * data_dtype.itemsize
        )
        free = _free_device_bytes(self.device)
        if stream is None:
            stream = free is not None and x_bytes > _RESIDENT_SHARE * free
        if chunk_rows is None:
            budget = _CHUNK_BYTES_CUDA if self.device.type == "cuda" else _CHUNK_BYTES_CPU
            if free is not None:
                budget = min(budget, free // 4)
            # about six chunk x n_outputs temporaries per chunk
            chunk_rows = budget // (6 * n_outputs * self.numpy_dtype.itemsize)
        chunk_rows = int(max(1, min(n_samples, chunk_rows)))
        self.rows = _RowSource(X, self.device, chunk_rows, stream, ops=self.ops, x_bytes=x_bytes)
        self._set_up(X.shape, C, x_bytes)
