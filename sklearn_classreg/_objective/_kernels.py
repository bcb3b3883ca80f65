"""Numba kernels: the per-sample arithmetic of the logistic objective.

Every kernel works on a block of rows, in place, and returns what it sums; the
objective (`_linear.py`) does the matrix products with BLAS and runs one kernel
per row block on a small thread pool (`_utils/_threads.py`).

Design notes, each backed by a measurement on the 2-core development machine
(50,000 x 100 float32 logits):

* No ``parallel=True``: numba's OpenMP threading layer leaves its threads
  spinning after a parallel loop, which slowed the BLAS product that follows by
  20 % and the kernel itself 5 x. The workqueue layer has no such cost, but the
  threading layer is a process-wide setting that a library must not choose for
  its users. Single-threaded ``nogil`` kernels on a thread pool showed neither
  cost.
* Our own vectorisable ``exp``: numba's ``np.exp`` compiles to a scalar libm
  call (pip's llvmlite has no SVML), 2.1 ns per logit; the range-reduced
  polynomial below lets LLVM vectorise the softmax loops, 0.56 ns per logit,
  with an error below 0.7 units in the last place (tested).
* ``fastmath`` without ``nnan``/``ninf``: re-association lets LLVM vectorise
  the sums over classes; infinities and NaN keep their IEEE meaning.

Conventions: ``z`` holds logits *without* the intercept, shape (n_rows,
n_outputs), C-contiguous; ``intercept`` has shape (n_outputs,) (zeros when the
model has none); ``weights`` are the normalised sample weights s_i / sum(s);
losses are accumulated in float64 whatever the data dtype.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload

__all__ = [
    "vexp",
    "exp_row",
    "multinomial_loss_gradient",
    "multinomial_proba",
    "multinomial_hessp",
    "binomial_loss_gradient",
    "binomial_hessp",
    "multinomial_dual_step",
    "binomial_dual_step",
]

FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
JIT = dict(nogil=True, cache=True, fastmath=FASTMATH)
# Without "reassoc", for code whose rounding must stay as written (see `vexp`).
EXACT_JIT = dict(nogil=True, cache=True, fastmath={"contract", "nsz", "arcp"})

# float64 range reduction: ln 2 = LN2_HI + LN2_LO, with LN2_HI short enough
# that n * LN2_HI is exact for every exponent n (Cody & Waite). LN2_HI is ln 2
# rounded to 32 fractional bits; LN2_LO is the remainder, computed with
# 60-digit decimals (see tests/_objective/test_kernels.py).
_LN2_HI_F64 = 0.6931471806019545
_LN2_LO_F64 = -4.2009150726810846e-11
_LN2 = 0.6931471805599453
_LOG2E = 1.4426950408889634
# exp(x) underflows below these: clamp so that 2**n stays a normal number.
_EXP_MIN_F32 = -87.0
_EXP_MIN_F64 = -708.0


@intrinsic
def _int32_bits_as_float32(typingctx, bits):
    """Reinterpret the bits of an int32 as a float32 (LLVM bitcast)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return sig, codegen


@intrinsic
def _int64_bits_as_float64(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64 (LLVM bitcast)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@intrinsic
def _float32_bits(typingctx, value):
    """The bits of a float32 as an int32 (LLVM bitcast)."""
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int32))

    return sig, codegen


@intrinsic
def _float64_bits(typingctx, value):
    """The bits of a float64 as an int64 (LLVM bitcast)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


def is_finite(x):
    """Whether x is neither infinite nor NaN, tested on its IEEE bits.

    ``np.isfinite`` is not reliable in code compiled with ``fastmath``
    re-association (measured: a sum containing inf passed it), so the
    kernels test the exponent bits, which no floating-point flag can change.
    """
    return np.isfinite(x)  # pure-Python behaviour


@overload(is_finite, inline="always")
def _is_finite_overload(x):
    if x == types.float32:
        return lambda x: (_float32_bits(x) & np.int32(0x7F800000)) != np.int32(0x7F800000)
    if x == types.float64:
        exponent = np.int64(0x7FF0000000000000)
        return lambda x: (_float64_bits(x) & exponent) != exponent
    return None


def vexp(x):
    """exp(x) for x <= 0, in the dtype of x, written so that LLVM vectorises it.

    exp(x) = 2**n * exp(r) with n = round(x / ln 2) and |r| <= ln(2) / 2; exp(r)
    is its Taylor polynomial (degree 7 for float32, 13 for float64: truncation
    error below 0.1 ulp), and 2**n is built from its IEEE bits. Inputs below
    the smallest normal result are clamped (exp(-87) ~ 1.6e-38 in float32):
    in a softmax such terms are far below rounding error.

    The reduction r = x - n ln 2 must not lose bits. float32 computes it in
    float64 with one constant, exact under any compiler flags. float64 needs
    ln 2 split in two, r = (x - n * HI) - n * LO, which ``fastmath``
    re-association would fold back into x - n * (HI + LO) (measured: 107 ulp
    at x = -707): call the float64 version only from code compiled with
    `EXACT_JIT`, as `exp_row` does.
    """
    return np.exp(x)  # pure-Python behaviour; compiled code uses the overload


@overload(vexp, inline="always")
def _vexp_overload(x):
    if x == types.float32:

        def exp_float32(x):
            x = max(x, np.float32(_EXP_MIN_F32))
            n = np.floor(x * np.float32(_LOG2E) + np.float32(0.5))
            r = np.float32(np.float64(x) - np.float64(n) * _LN2)
            p = np.float32(1.0 / 5040.0)
            p = p * r + np.float32(1.0 / 720.0)
            p = p * r + np.float32(1.0 / 120.0)
            p = p * r + np.float32(1.0 / 24.0)
            p = p * r + np.float32(1.0 / 6.0)
            p = p * r + np.float32(0.5)
            p = p * r + np.float32(1.0)
            p = p * r + np.float32(1.0)
            scale = _int32_bits_as_float32((np.int32(n) + np.int32(127)) << np.int32(23))
            return p * scale

        return exp_float32
    if x == types.float64:

        def exp_float64(x):
            x = max(x, _EXP_MIN_F64)
            n = np.floor(x * _LOG2E + 0.5)
            r = (x - n * _LN2_HI_F64) - n * _LN2_LO_F64
            p = 1.0 / 6227020800.0
            p = p * r + 1.0 / 479001600.0
            p = p * r + 1.0 / 39916800.0
            p = p * r + 1.0 / 3628800.0
            p = p * r + 1.0 / 362880.0
            p = p * r + 1.0 / 40320.0
            p = p * r + 1.0 / 5040.0
            p = p * r + 1.0 / 720.0
            p = p * r + 1.0 / 120.0
            p = p * r + 1.0 / 24.0
            p = p * r + 1.0 / 6.0
            p = p * r + 0.5
            p = p * r + 1.0
            p = p * r + 1.0
            scale = _int64_bits_as_float64((np.int64(n) + np.int64(1023)) << np.int64(52))
            return p * scale

        return exp_float64
    return None


@njit(**EXACT_JIT)
def _exp_row_exact(values, shift, out):
    for k in range(values.shape[0]):
        out[k] = vexp(values[k] - shift)


def exp_row(values, shift, out):
    """out[k] = exp(values[k] - shift) for one row, values[k] <= shift."""
    out[:] = np.exp(values - shift)  # pure-Python behaviour


@overload(exp_row, inline="always")
def _exp_row_overload(values, shift, out):
    if values.dtype == types.float32:
        # Exact under any flags: inlined into the caller's vectorised loops.
        def exp_row_float32(values, shift, out):
            for k in range(values.shape[0]):
                out[k] = vexp(values[k] - shift)

        return exp_row_float32

    # float64: a call into code compiled without re-association (see vexp).
    def exp_row_float64(values, shift, out):
        _exp_row_exact(values, shift, out)

    return exp_row_float64


@njit(**JIT)
def exp_row_array(x, out):
    """`exp_row` on a 1-d array, compiled like the kernels: a test entry point."""
    exp_row(x, x.dtype.type(0.0), out)
    return out


# --------------------------------------------------------------------------
# Multinomial (softmax) cross-entropy
# --------------------------------------------------------------------------


@njit(**JIT)
def multinomial_loss_gradient(z, intercept, y, weights, smoothing, logit_penalty, proba_out, sums):
    """Loss of a block of rows; overwrite the logits with the loss gradient.

    For row i with logits z_i = x_i W^T + b, target t_i = (1 - e) onehot(y_i) + e/K
    (e = smoothing[y_i]) and weight s_i::

        loss_i = s_i * (logsumexp(z_i) - t_i . z_i
                        + logit_penalty / 2 * ||z_i - mean(z_i)||^2)
        z_i   <- s_i * (softmax(z_i) - t_i + logit_penalty * (z_i - mean(z_i)))

    Parameters
    ----------
    z : ndarray of shape (n_rows, K), modified in place
    intercept : ndarray of shape (K,)
    y : integer ndarray of shape (n_rows,), class indices
    weights : ndarray of shape (n_rows,)
    smoothing : ndarray of shape (K,), label smoothing per true class
    logit_penalty : float
    proba_out : ndarray of shape (n_rows, K) or (0, K)
        Receives softmax(z_i) when it has rows (kept for Hessian products).
    sums : float64 ndarray of shape (4, K), added to
        Row 0 receives the column sums of the gradient (the intercept's
        gradient); row 1 the class curvatures sum_i s_i p_ik (1 - p_ik), the
        diagonal of the per-sample Hessians (for preconditioning); rows 2 and
        3, per true class k, sum_{i: y_i = k} s_i (-log p_ik) and
        s_i / p_ik (for the duality gap, see `_duality.py`).

    Returns
    -------
    loss : float
        Sum of loss_i over the block.
    """
    n_rows, n_classes = z.shape
    dtype = z.dtype.type
    keep_proba = proba_out.shape[0] > 0
    inv_k = 1.0 / n_classes
    beta = dtype(logit_penalty)
    proba = np.empty(n_classes, dtype=z.dtype)  # one row, in L1
    total = 0.0
    for i in range(n_rows):
        zi = z[i]
        w = weights[i]
        yi = y[i]
        zmax = zi[0] + intercept[0]
        zsum = dtype(0.0)
        for k in range(n_classes):
            v = zi[k] + intercept[k]
            zi[k] = v
            zmax = max(zmax, v)
            zsum += v
        if not is_finite(zsum):  # an inf or NaN logit: reject this point
            total = np.inf
            continue
        zmean = zsum * dtype(inv_k)
        top = 0  # where the maximum is: its exponential, exactly 1, is left out of `rest`
        while zi[top] != zmax:
            top += 1
        exp_row(zi, zmax, proba)
        proba[top] = dtype(0.0)
        rest = dtype(0.0)
        for k in range(n_classes):
            rest += proba[k]
        proba[top] = dtype(1.0)
        sumexp = dtype(1.0) + rest
        eps = smoothing[yi]
        # -log p_iy = (zmax - z_iy) + log(1 + rest): exact to rounding even when the
        # loss is tiny next to the logits (confident fits, weak regularization)
        neg_log_p = np.float64(zmax - zi[yi]) + np.log1p(np.float64(rest))
        # loss = logsumexp(z_i) - t_i . z_i with t_i . z_i = (1 - eps) z_iy + eps mean(z_i)
        loss = neg_log_p + eps * np.float64(zi[yi] - zmean)
        if w > 0:
            sums[2, yi] += w * neg_log_p  # before zi is overwritten
        if logit_penalty != 0.0:
            sqdev = dtype(0.0)
            for k in range(n_classes):
                dev = zi[k] - zmean
                sqdev += dev * dev
            loss += 0.5 * logit_penalty * sqdev
        total += w * loss
        inv_sum = dtype(1.0) / sumexp
        off_target = dtype(eps * inv_k)
        for k in range(n_classes):
            p = proba[k] * inv_sum
            proba[k] = p
            residual = w * (p - off_target + beta * (zi[k] - zmean))
            zi[k] = residual
            sums[0, k] += residual
            sums[1, k] += w * p * (dtype(1.0) - p)
        if w > 0:
            sums[3, yi] += w / proba[yi]
        on_target = w * dtype(1.0 - eps)
        zi[yi] -= on_target
        sums[0, yi] -= on_target
        if keep_proba:
            for k in range(n_classes):
                proba_out[i, k] = proba[k]
    return total


@njit(**JIT)
def multinomial_proba(z, intercept, proba_out):
    """softmax(z_i + intercept) for a block of rows, written to `proba_out`."""
    n_rows, n_classes = z.shape
    dtype = z.dtype.type
    for i in range(n_rows):
        zi = z[i]
        pi = proba_out[i]
        zmax = zi[0] + intercept[0]
        for k in range(n_classes):
            pi[k] = zi[k] + intercept[k]
            zmax = max(zmax, pi[k])
        exp_row(pi, zmax, pi)
        sumexp = dtype(0.0)
        for k in range(n_classes):
            sumexp += pi[k]
        inv_sum = dtype(1.0) / sumexp
        for k in range(n_classes):
            pi[k] *= inv_sum


@njit(**JIT)
def multinomial_hessp(v, v_intercept, proba, weights, logit_penalty, intercept_hessp):
    """Hessian of the per-row loss times a direction, in place.

    With v_i = x_i V^T + v_b the direction in logit space and p_i the
    probabilities::

        v_i <- s_i * (p_i * (v_i - p_i . v_i)
                      + logit_penalty * (v_i - mean(v_i)))

    `intercept_hessp` (float64, shape (K,)) receives the column sums (added).
    """
    n_rows, n_classes = v.shape
    dtype = v.dtype.type
    inv_k = dtype(1.0 / n_classes)
    beta = dtype(logit_penalty)
    for i in range(n_rows):
        vi = v[i]
        pi = proba[i]
        w = weights[i]
        p_dot_v = dtype(0.0)
        vsum = dtype(0.0)
        for k in range(n_classes):
            val = vi[k] + v_intercept[k]
            vi[k] = val
            p_dot_v += pi[k] * val
            vsum += val
        vmean = vsum * inv_k
        for k in range(n_classes):
            vi[k] = w * (pi[k] * (vi[k] - p_dot_v) + beta * (vi[k] - vmean))
            intercept_hessp[k] += vi[k]


# --------------------------------------------------------------------------
# Binomial (sigmoid) cross-entropy, scikit-learn's two-class model
# --------------------------------------------------------------------------


@njit(**EXACT_JIT)
def binomial_loss_gradient(
    z, intercept, y, weights, smoothing, logit_penalty, curvature_out, sums
):
    """Loss of a block of rows of the sigmoid model; overwrite z with the gradient.

    With u_i = x_i w + b, y_i in {0, 1}, target t_i = (1 - e) y_i + e / 2
    (e = smoothing[y_i])::

        loss_i = s_i * (log(1 + exp(u_i)) - t_i u_i + logit_penalty / 4 * u_i^2)
        z_i   <- s_i * (sigmoid(u_i) - t_i + logit_penalty / 2 * u_i)

    The logit penalty is the softmax one, beta/2 ||z - mean(z)||^2, written for
    the two logits (0, u): it equals beta/4 u^2.

    Parameters
    ----------
    z : ndarray of shape (n_rows, 1), modified in place
    intercept : ndarray of shape (1,)
    y : integer ndarray of shape (n_rows,), 0 or 1
    weights : ndarray of shape (n_rows,)
    smoothing : ndarray of shape (2,)
    logit_penalty : float
    curvature_out : ndarray of shape (n_rows, 1) or (0, 1)
        Receives s_i * (sigmoid'(u_i) + logit_penalty / 2) when it has rows.
    sums : float64 ndarray of shape (4, 2), added to
        Row 0, column 0: sum of the gradient (the intercept's); row 1, column
        0: sum of s_i * sigmoid'(u_i), the curvature (for preconditioning);
        rows 2 and 3, per true class k in {0, 1}: sum of s_i (-log p_ik) and
        of s_i / p_ik, with p_i1 = sigmoid(u_i) (for the duality gap).

    Returns
    -------
    loss : float
    """
    n_rows = z.shape[0]
    dtype = z.dtype.type
    keep_curvature = curvature_out.shape[0] > 0
    half_beta = dtype(0.5 * logit_penalty)
    total = 0.0
    grad_sum = 0.0
    curvature_sum = 0.0
    for i in range(n_rows):
        u = z[i, 0] + intercept[0]
        if not is_finite(u):  # reject this point
            total = np.inf
            continue
        w = weights[i]
        eps = smoothing[y[i]]
        target = dtype((1.0 - eps) * y[i] + 0.5 * eps)
        e = vexp(-abs(u))  # exp(-|u|) in (0, 1]
        # log(1 + exp(u)) = max(u, 0) + log1p(exp(-|u|)), exact for any u.
        log1p_e = np.log1p(np.float64(e))
        # the loss with its large terms first: (max(u, 0) - t u) is exact when t = 1, u > 0
        total += w * ((max(u, dtype(0.0)) - target * u) + log1p_e + 0.25 * logit_penalty * u * u)
        inv = dtype(1.0) / (dtype(1.0) + e)
        proba = inv if u >= 0 else e * inv
        if w > 0:  # the probability of the true class, without cancellation
            yi = y[i]
            p_true = proba if yi == 1 else (e * inv if u >= 0 else inv)
            positive_part = max(u, dtype(0.0))
            sums[2, yi] += w * ((positive_part - u if yi == 1 else positive_part) + log1p_e)
            sums[3, yi] += w / p_true
        grad = w * (proba - target + half_beta * u)
        z[i, 0] = grad
        grad_sum += grad
        curvature = w * proba * (dtype(1.0) - proba)
        curvature_sum += curvature
        if keep_curvature:
            curvature_out[i, 0] = curvature + w * half_beta
    sums[0, 0] += grad_sum
    sums[1, 0] += curvature_sum
    return total


@njit(**JIT)
def binomial_hessp(v, v_intercept, curvature, weights, logit_penalty, intercept_hessp):
    """v_i <- curvature_i * (v_i + v_b), in place; column sum added to intercept_hessp.

    `weights` and `logit_penalty` are already folded into `curvature`; they are
    accepted so that both model kinds share one signature.
    """
    total = 0.0
    for i in range(v.shape[0]):
        val = curvature[i, 0] * (v[i, 0] + v_intercept[0])
        v[i, 0] = val
        total += val
    intercept_hessp[0] += total


@njit(**EXACT_JIT)
def binomial_curvature(z, intercept, weights, logit_penalty, curvature_out):
    """s_i * (sigmoid'(u_i) + logit_penalty / 2) for a block of rows."""
    dtype = z.dtype.type
    half_beta = dtype(0.5 * logit_penalty)
    for i in range(z.shape[0]):
        u = z[i, 0] + intercept[0]
        e = vexp(-abs(u))
        inv = dtype(1.0) / (dtype(1.0) + e)
        proba = inv if u >= 0 else e * inv
        curvature_out[i, 0] = weights[i] * (proba * (dtype(1.0) - proba) + half_beta)


# --------------------------------------------------------------------------
# Moving the dual point along a direction (the refined certificate)
# --------------------------------------------------------------------------


# A row's move s_i is scaled so that its lowest entry is at least -TRIM_FLOOR:
# then p_i (1 + c s_i) stays positive for every step c < 1 / TRIM_FLOOR (the
# largest of `_duality.STEPS` is 1.6). Near the optimum no row is trimmed.
TRIM_FLOOR = 0.5


@njit(**EXACT_JIT)
def _trim(lowest):
    """The factor min(1, TRIM_FLOOR / -lowest) of a row whose move's lowest entry is `lowest`."""
    return 1.0 if lowest >= -TRIM_FLOOR else TRIM_FLOOR / -lowest


@njit(**EXACT_JIT)
def _add_step_sums(proba, s, neg_log_p_true, y, w, steps, sums):
    """Per step c: what the moved probabilities p' = p (1 + c s) of one row add.

    Row j of `sums` (float64, shape (n_steps + 1, 2 K + 2)) receives
    w (-log p'_y) in column y, w / p'_y in column K + y, w KL(p' || p) in
    column 2 K, and 1 in column 2 K + 1 when p' leaves the open simplex.
    """
    n_classes = proba.shape[0]
    for j in range(steps.shape[0]):
        c = steps[j]
        kl = 0.0
        inside = True
        for k in range(n_classes):
            move = c * s[k]
            if move <= -1.0:
                inside = False
                break
            kl += proba[k] * (1.0 + move) * np.log1p(move)
        if not inside:
            sums[j, 2 * n_classes + 1] += 1.0
            continue
        move = c * s[y]
        sums[j, 2 * n_classes] += w * kl
        sums[j, y] += w * (neg_log_p_true - np.log1p(move))
        sums[j, n_classes + y] += w / (proba[y] * (1.0 + move))


@njit(**EXACT_JIT)
def multinomial_dual_step(z, intercept, v, v_intercept, y, weights, steps, sums):
    """The dual point moved along a direction, for a block of rows (see `_duality.py`).

    With p_i = softmax(z_i + b) and the direction's logits v_i + v_b, the move of
    row i is a_i = p_i * s_i, s_i = (v_i + v_b) - p_i . (v_i + v_b), trimmed
    (scaled down) where its lowest entry is below -TRIM_FLOOR; for each step c
    of `steps` the moved probabilities p_i (1 + c s_i) stay a probability
    vector (their sum is 1) while they are positive.

    Parameters
    ----------
    z : ndarray of shape (n_rows, K)
        Logits at the point, without the intercept (not modified).
    intercept, v_intercept : ndarray of shape (K,)
    v : ndarray of shape (n_rows, K)
        The direction's logits, overwritten with w_i a_i.
    y, weights
        As for `multinomial_loss_gradient`.
    steps : float64 ndarray of shape (n_steps,)
    sums : float64 ndarray of shape (n_steps + 1, 2 K + 2), added to
        Rows j < n_steps: see `_add_step_sums`; row n_steps, columns :K: the
        column sums of w_i a_i (the move of the intercept's gradient). A row
        with a non-finite logit counts as leaving the simplex at every step.
    """
    n_rows, n_classes = z.shape
    n_steps = steps.shape[0]
    proba = np.empty(n_classes, dtype=np.float64)
    s = np.empty(n_classes, dtype=np.float64)
    for i in range(n_rows):
        w = weights[i]
        zi = z[i]
        vi = v[i]
        zmax = np.float64(zi[0]) + intercept[0]
        for k in range(n_classes):
            proba[k] = np.float64(zi[k]) + intercept[k]
            zmax = max(zmax, proba[k])
        if w == 0.0:
            for k in range(n_classes):
                vi[k] = 0.0
            continue
        yi = y[i]
        z_true = proba[yi]
        rest = 0.0  # the sum of exp(z - zmax) but for one maximum's (exactly 1)
        top = -1
        for k in range(n_classes):
            if top < 0 and proba[k] == zmax:
                top = k
                proba[k] = 1.0
            else:
                proba[k] = np.exp(proba[k] - zmax)
                rest += proba[k]
        neg_log_p_true = (zmax - z_true) + np.log1p(rest)
        p_dot_v = 0.0
        for k in range(n_classes):
            proba[k] /= 1.0 + rest
            s[k] = np.float64(vi[k]) + v_intercept[k]
            p_dot_v += proba[k] * s[k]
        if not is_finite(neg_log_p_true + p_dot_v):  # no finite point or direction here
            for k in range(n_classes):
                vi[k] = 0.0
            for j in range(n_steps):
                sums[j, 2 * n_classes + 1] += 1.0
            continue
        lowest = 0.0
        for k in range(n_classes):
            s[k] -= p_dot_v
            lowest = min(lowest, s[k])
        trim = _trim(lowest)
        for k in range(n_classes):
            s[k] *= trim
            move = w * proba[k] * s[k]
            vi[k] = move
            sums[n_steps, k] += move
        _add_step_sums(proba, s, neg_log_p_true, yi, w, steps, sums)


@njit(**EXACT_JIT)
def binomial_dual_step(z, intercept, v, v_intercept, y, weights, steps, sums):
    """`multinomial_dual_step` for the sigmoid model, written for its two classes.

    The sigmoid of u_i = z_i + b is the softmax of the logits (0, u_i), and the
    direction's logits are (0, v_i + v_b): the move of the output is
    w_i p_i1 (1 - p_i1) (v_i + v_b), which overwrites v. `sums` has shape
    (n_steps + 1, 6) (K = 2); its last row's column 1 gets the output's move.
    """
    n_steps = steps.shape[0]
    proba = np.empty(2, dtype=np.float64)
    s = np.empty(2, dtype=np.float64)
    for i in range(z.shape[0]):
        w = weights[i]
        u = np.float64(z[i, 0]) + intercept[0]
        direction = np.float64(v[i, 0]) + v_intercept[0]
        if w == 0.0 or not is_finite(u + direction):
            v[i, 0] = 0.0
            if w != 0.0:
                for j in range(n_steps):
                    sums[j, 5] += 1.0
            continue
        e = np.exp(-abs(u))
        # (p_i0, p_i1) without cancellation: the smaller one is e / (1 + e)
        small, large = e / (1.0 + e), 1.0 / (1.0 + e)
        proba[0], proba[1] = (small, large) if u >= 0 else (large, small)
        yi = y[i]
        # -log p_iy = log(1 + exp(u)) - u for class 1, log(1 + exp(u)) for class 0
        neg_log_p_true = max(u, 0.0) - (u if yi == 1 else 0.0) + np.log1p(e)
        s[0] = -proba[1] * direction
        s[1] = proba[0] * direction
        trim = _trim(min(s[0], s[1]))
        s[0] *= trim
        s[1] *= trim
        move = w * proba[1] * s[1]
        v[i, 0] = move
        sums[n_steps, 1] += move
        _add_step_sums(proba, s, neg_log_p_true, yi, w, steps, sums)
