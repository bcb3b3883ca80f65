"""The numba kernels against direct NumPy/SciPy computations."""

from decimal import Decimal, getcontext

import numpy as np
import pytest
from scipy.special import expit, logsumexp, softmax

from sklearn_classreg._objective import _kernels

DTYPES = [np.float32, np.float64]


def test_ln2_split_constants():
    """LN2_HI is ln 2 on 32 fractional bits and LN2_HI + LN2_LO = ln 2."""
    getcontext().prec = 60
    ln2 = Decimal(2).ln()
    assert _kernels._LN2_HI_F64 == float(round(ln2 * 2**32)) / 2**32
    assert _kernels._LN2_LO_F64 == float(ln2 - Decimal(_kernels._LN2_HI_F64))
    assert _kernels._LN2 == float(ln2)


def _exp_inputs(dtype, seed=0):
    lowest = _kernels._EXP_MIN_F32 if dtype == np.float32 else _kernels._EXP_MIN_F64
    return np.concatenate(
        [
            np.linspace(lowest, 0.0, 200_001),
            -np.logspace(-30, np.log10(-lowest), 10_001),
            np.random.default_rng(seed).uniform(lowest, 0.0, 10_000),
            [0.0, -0.0, -np.finfo(dtype).tiny, -10.0],
        ]
    ).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_row_is_accurate_to_the_last_bit(dtype):
    """Within 0.7 ulp of exp over the whole range, as compiled in the kernels."""
    x = _exp_inputs(dtype)
    out = _kernels.exp_row_array(x, np.empty_like(x))
    reference = np.exp(x.astype(np.longdouble))
    assert np.max(np.abs(out - reference) / (np.finfo(dtype).eps * reference)) < 0.7


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_row_is_accurate_in_the_scalar_remainder_loop(dtype):
    """Short rows run (partly) outside the vectorised loop: same accuracy."""
    rng = np.random.default_rng(1)
    for length in range(1, 40):
        x = -rng.uniform(0.0, 80.0, length).astype(dtype)
        out = _kernels.exp_row_array(x, np.empty_like(x))
        reference = np.exp(x.astype(np.longdouble))
        assert np.max(np.abs(out - reference) / (np.finfo(dtype).eps * reference)) < 0.7


@pytest.mark.parametrize("dtype", DTYPES)
def test_vexp_below_the_normal_range_is_tiny_not_nan(dtype):
    x = np.array([-1e4, -1e30, -np.inf], dtype=dtype)
    out = _kernels.exp_row_array(x, np.empty_like(x))
    assert np.all(np.isfinite(out))
    assert np.all(out >= 0) and np.all(out < 1e-37)


def _multinomial_case(rng, dtype, n=50, K=6, scale=3.0):
    z = (rng.standard_normal((n, K)) * scale).astype(dtype)
    intercept = rng.standard_normal(K).astype(dtype)
    y = rng.integers(0, K, n).astype(np.intp)
    weights = rng.uniform(0.1, 1.0, n).astype(dtype)
    smoothing = rng.uniform(0.0, 0.3, K)
    return z, intercept, y, weights, smoothing


def _multinomial_reference(z, intercept, y, weights, smoothing, beta):
    # the kernel adds the intercept in the data's dtype; the rest in float64
    z = (z + intercept).astype(np.float64)
    n, K = z.shape
    eps = smoothing[y]
    target = np.eye(K)[y] * (1 - eps)[:, None] + (eps / K)[:, None]
    centred = z - z.mean(axis=1, keepdims=True)
    loss = logsumexp(z, axis=1) - (target * z).sum(axis=1)
    loss += 0.5 * beta * (centred**2).sum(axis=1)
    grad = weights[:, None] * (softmax(z, axis=1) - target + beta * centred)
    return (weights * loss).sum(), grad, softmax(z, axis=1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [0.0, 0.7])
def test_multinomial_loss_gradient_matches_reference(dtype, beta):
    rng = np.random.default_rng(0)
    z, intercept, y, weights, smoothing = _multinomial_case(rng, dtype)
    inputs = [a.copy() for a in (intercept, y, weights, smoothing)]
    expected_loss, expected_grad, expected_proba = _multinomial_reference(
        z, intercept, y, weights, smoothing, beta
    )
    proba = np.full_like(z, np.nan)
    sums = np.full((4, z.shape[1]), 10.0)
    loss = _kernels.multinomial_loss_gradient(
        z, intercept, y, weights, smoothing, beta, proba, sums
    )
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss, expected_loss, rtol=rtol)
    np.testing.assert_allclose(z, expected_grad, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(proba, expected_proba, rtol=rtol, atol=rtol)
    # sums are added to, not overwritten: gradient column sums, class curvature
    np.testing.assert_allclose(sums[0], 10.0 + expected_grad.sum(axis=0), rtol=rtol)
    curvature = (weights[:, None] * expected_proba * (1 - expected_proba)).sum(axis=0)
    np.testing.assert_allclose(sums[1], 10.0 + curvature, rtol=rtol)
    # per true class: weighted -log p_iy and s_i / p_iy (for the duality gap)
    p_true = expected_proba[np.arange(len(y)), y].astype(np.float64)
    w = weights.astype(np.float64)
    n_classes = z.shape[1]
    np.testing.assert_allclose(
        sums[2], 10.0 + np.bincount(y, w * -np.log(p_true), n_classes), rtol=rtol
    )
    np.testing.assert_allclose(sums[3], 10.0 + np.bincount(y, w / p_true, n_classes), rtol=rtol)
    for before, after in zip(inputs, (intercept, y, weights, smoothing), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multinomial_without_proba_buffer_leaves_it_alone(dtype):
    rng = np.random.default_rng(1)
    z, intercept, y, weights, smoothing = _multinomial_case(rng, dtype)
    z2 = z.copy()
    no_state = np.empty((0, z.shape[1]), dtype=dtype)
    loss_a = _kernels.multinomial_loss_gradient(
        z, intercept, y, weights, smoothing, 0.0, no_state, np.zeros((4, z.shape[1]))
    )
    proba = np.empty_like(z2)
    loss_b = _kernels.multinomial_loss_gradient(
        z2, intercept, y, weights, smoothing, 0.0, proba, np.zeros((4, z.shape[1]))
    )
    assert no_state.shape == (0, z.shape[1])
    # the two loop versions may contract differently: equal to rounding
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(loss_a, loss_b, rtol=4 * eps)
    np.testing.assert_allclose(z, z2, rtol=4 * eps, atol=4 * eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multinomial_is_finite_at_huge_logits(dtype):
    rng = np.random.default_rng(2)
    z, intercept, y, weights, smoothing = _multinomial_case(rng, dtype, scale=1.0)
    z = np.sign(z) * dtype(1e4)
    expected_loss, expected_grad, _ = _multinomial_reference(
        z, intercept, y, weights, smoothing, 0.0
    )
    loss = _kernels.multinomial_loss_gradient(
        z, intercept, y, weights, smoothing, 0.0, np.empty((0, 6), dtype), np.zeros((4, 6))
    )
    assert np.isfinite(loss) and np.all(np.isfinite(z))
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-6)
    np.testing.assert_allclose(z, expected_grad, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multinomial_proba_and_hessp(dtype):
    rng = np.random.default_rng(3)
    z, intercept, y, weights, smoothing = _multinomial_case(rng, dtype)
    proba = np.empty_like(z)
    _kernels.multinomial_proba(z, intercept, proba)
    expected = softmax(z.astype(np.float64) + intercept, axis=1)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(proba, expected, rtol=rtol, atol=rtol)

    beta = 0.3
    v = rng.standard_normal(z.shape).astype(dtype)
    v_intercept = rng.standard_normal(z.shape[1]).astype(dtype)
    vv = v.astype(np.float64) + v_intercept
    p = proba.astype(np.float64)
    expected_hv = weights[:, None] * (
        p * (vv - (p * vv).sum(axis=1, keepdims=True))
        + beta * (vv - vv.mean(axis=1, keepdims=True))
    )
    intercept_hessp = np.zeros(z.shape[1])
    _kernels.multinomial_hessp(v, v_intercept, proba, weights, beta, intercept_hessp)
    np.testing.assert_allclose(v, expected_hv, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(intercept_hessp, expected_hv.sum(axis=0), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_binomial_kernels_match_reference(dtype, beta):
    rng = np.random.default_rng(4)
    n = 60
    u = (rng.standard_normal((n, 1)) * 5).astype(dtype)
    u[:3, 0] = [1e4, -1e4, 0.0]
    intercept = np.array([0.3], dtype=dtype)
    y = rng.integers(0, 2, n).astype(np.intp)
    weights = rng.uniform(0.1, 1.0, n).astype(dtype)
    smoothing = np.array([0.1, 0.2])
    t = (1 - smoothing[y]) * y + smoothing[y] / 2
    uu = u[:, 0].astype(np.float64) + intercept[0]
    expected_loss = np.sum(weights * (np.logaddexp(0, uu) - t * uu + beta / 4 * uu**2))
    expected_grad = weights * (expit(uu) - t + beta / 2 * uu)
    expected_curv = weights * (expit(uu) * expit(-uu) + beta / 2)

    curvature = np.empty_like(u)
    sums = np.zeros((4, 2))
    loss = _kernels.binomial_loss_gradient(
        u, intercept, y, weights, smoothing, beta, curvature, sums
    )
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss, expected_loss, rtol=rtol)
    np.testing.assert_allclose(u[:, 0], expected_grad, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(curvature[:, 0], expected_curv, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(sums[0, 0], expected_grad.sum(), rtol=rtol)
    np.testing.assert_allclose(sums[1, 0], np.sum(weights * expit(uu) * expit(-uu)), rtol=rtol)
    # per true class: weighted -log p_iy (exact for any u) and s_i / p_iy (huge, not
    # inf, where p_iy underflows: the three extreme samples are class 0)
    w = weights.astype(np.float64)
    neg_log_p = np.where(y == 1, np.logaddexp(0, -uu), np.logaddexp(0, uu))
    np.testing.assert_allclose(sums[2], np.bincount(y, w * neg_log_p, 2), rtol=rtol)
    assert y[0] == 0 and 1e30 < sums[3, 0] < np.inf
    rest = slice(3, None)
    expected = np.bincount(y[rest], w[rest] * np.exp(neg_log_p[rest]), 2)
    np.testing.assert_allclose(sums[3, 1], expected[1], rtol=rtol)

    recomputed = np.empty_like(curvature)
    _kernels.binomial_curvature(
        (uu - intercept[0]).astype(dtype)[:, None], intercept, weights, beta, recomputed
    )
    np.testing.assert_allclose(recomputed, curvature, rtol=rtol, atol=rtol)
