"""LogisticObjective: value, gradient and Hessian products, and their invariances."""

import numpy as np
import pytest
from scipy import sparse
from scipy.special import logsumexp

from sklearn_classreg._objective._datafit import BINOMIAL, MULTINOMIAL
from sklearn_classreg._objective._logistic import LogisticObjective


def make_objective(
    n_classes=4,
    n_samples=120,
    n_features=5,
    *,
    dtype=np.float64,
    fit_intercept=True,
    logit_penalty=0.3,
    seed=0,
    X=None,
    **kwargs,
):
    rng = np.random.default_rng(seed)
    X_drawn = rng.standard_normal((n_samples, n_features)).astype(dtype)
    X = X_drawn if X is None else X  # same labels and weights either way
    y = rng.integers(0, n_classes, X.shape[0])
    sample_weight = rng.uniform(0.2, 2.0, X.shape[0])
    datafit = BINOMIAL if n_classes == 2 else MULTINOMIAL
    n_outputs = datafit.n_outputs(n_classes)
    C = rng.uniform(0.2, 3.0, n_outputs)
    C[-1] = np.inf if n_outputs > 1 else C[-1]
    smoothing = rng.uniform(0.0, 0.3, n_classes)
    objective = LogisticObjective(
        X,
        y,
        sample_weight,
        datafit=datafit,
        C=C,
        label_smoothing=smoothing,
        logit_penalty=logit_penalty,
        fit_intercept=fit_intercept,
        **kwargs,
    )
    return objective, (X, y, sample_weight, C, smoothing)


def reference_loss(objective, coef, data):
    """The objective written out with NumPy/SciPy, in float64."""
    X, y, sample_weight, C, smoothing = data
    X = X.toarray() if sparse.issparse(X) else X
    W, b = objective.unpack(np.asarray(coef, dtype=np.float64))
    z = X.astype(np.float64) @ W.T + (0.0 if b is None else b)
    beta = objective.logit_penalty
    if objective.datafit is BINOMIAL:
        u = z[:, 0]
        t = (1 - smoothing[y]) * y + smoothing[y] / 2
        per_sample = np.logaddexp(0, u) - t * u + beta / 4 * u**2
    else:
        K = z.shape[1]
        target = np.eye(K)[y] * (1 - smoothing[y])[:, None] + (smoothing[y] / K)[:, None]
        centred = z - z.mean(axis=1, keepdims=True)
        per_sample = logsumexp(z, axis=1) - (target * z).sum(axis=1)
        per_sample += beta / 2 * (centred**2).sum(axis=1)
    with np.errstate(divide="ignore"):
        l2 = np.where(np.isinf(C), 0.0, 1.0 / C)
    penalty = 0.5 * np.sum(l2 * (W**2).sum(axis=1))
    return (np.sum(sample_weight * per_sample) + penalty) / np.sum(sample_weight)


CASES = [
    pytest.param(dict(n_classes=4), id="multinomial"),
    pytest.param(dict(n_classes=2), id="binomial"),
    pytest.param(dict(n_classes=4, fit_intercept=False), id="multinomial-no-intercept"),
    pytest.param(dict(n_classes=2, fit_intercept=False), id="binomial-no-intercept"),
    pytest.param(dict(n_classes=5, logit_penalty=0.0, chunk_rows=17), id="multinomial-chunks"),
]


@pytest.mark.parametrize("case", CASES)
def test_loss_matches_the_objective_written_out(case):
    objective, data = make_objective(**case)
    coef = np.random.default_rng(1).standard_normal(objective.n_params)
    np.testing.assert_allclose(
        objective.loss(coef), reference_loss(objective, coef, data), rtol=1e-13
    )


@pytest.mark.parametrize("case", CASES)
def test_gradient_matches_five_point_finite_differences(case):
    objective, _ = make_objective(**case)
    rng = np.random.default_rng(2)
    coef = rng.standard_normal(objective.n_params)
    _, gradient = objective.loss_gradient(coef)
    h = 1e-3
    for _ in range(5):
        direction = rng.standard_normal(objective.n_params)

        def f(t, direction=direction):
            return objective.loss(coef + t * direction)

        derivative = (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h)
        np.testing.assert_allclose(gradient @ direction, derivative, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kept_state", ["all", "none", "leading chunks"])
def test_hessp_matches_gradient_differences(case, kept_state):
    # Hessian state kept for every row, recomputed for every chunk, or kept
    # for the leading chunks and recomputed for the others.
    objective, _ = make_objective(**{"chunk_rows": 30, **case})
    objective.hessian_state_rows = {
        "all": objective.n_samples,
        "none": 0,
        "leading chunks": objective.n_samples // 2,
    }[kept_state]
    rng = np.random.default_rng(3)
    coef = rng.standard_normal(objective.n_params)
    loss, gradient, hessp = objective.loss_gradient_hessp(coef)
    np.testing.assert_allclose(
        (loss, *gradient), (objective.loss(coef), *objective.loss_gradient(coef)[1])
    )
    h = 1e-4
    for _ in range(3):
        v = rng.standard_normal(objective.n_params)
        g_plus = objective.loss_gradient(coef + h * v)[1]
        g_minus = objective.loss_gradient(coef - h * v)[1]
        np.testing.assert_allclose(hessp(v), (g_plus - g_minus) / (2 * h), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", CASES)
def test_hessian_is_symmetric_and_positive_semidefinite(case):
    objective, _ = make_objective(**case)
    rng = np.random.default_rng(4)
    _, _, hessp = objective.loss_gradient_hessp(rng.standard_normal(objective.n_params))
    u, v = rng.standard_normal((2, objective.n_params))
    np.testing.assert_allclose(u @ hessp(v), v @ hessp(u), rtol=1e-12)
    assert u @ hessp(u) >= 0


def test_hessp_stays_valid_after_plain_evaluations():
    objective, _ = make_objective(n_classes=4)
    rng = np.random.default_rng(5)
    coef, other = rng.standard_normal((2, objective.n_params))
    v = rng.standard_normal(objective.n_params)
    _, _, hessp = objective.loss_gradient_hessp(coef)
    before = hessp(v)
    objective.loss_gradient(other)  # must not touch the stored state
    np.testing.assert_array_equal(hessp(v), before)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_chunks_threads_and_layouts_agree(n_classes):
    objective, data = make_objective(n_classes, n_samples=300, seed=6)
    X = data[0]
    coef = np.random.default_rng(7).standard_normal(objective.n_params)
    expected_loss, expected_gradient = objective.loss_gradient(coef)
    variants = {
        "chunks": dict(chunk_rows=7),
        "one thread": dict(n_threads=1),
        "three threads": dict(n_threads=3),
        "F order": dict(X=np.asfortranarray(X)),
        "CSR": dict(X=sparse.csr_matrix(X)),
        "CSR chunks": dict(X=sparse.csr_matrix(X), chunk_rows=11),
    }
    for name, kwargs in variants.items():
        variant, _ = make_objective(n_classes, n_samples=300, seed=6, **kwargs)
        loss, gradient = variant.loss_gradient(coef)
        np.testing.assert_allclose(loss, expected_loss, rtol=1e-13, err_msg=name)
        np.testing.assert_allclose(
            gradient, expected_gradient, rtol=1e-12, atol=1e-14, err_msg=name
        )


def test_results_are_bitwise_reproducible():
    objective, _ = make_objective(n_classes=6, n_samples=5000, n_features=20, chunk_rows=999)
    coef = np.random.default_rng(8).standard_normal(objective.n_params)
    first = objective.loss_gradient(coef)
    for _ in range(3):
        again = objective.loss_gradient(coef)
        assert again[0] == first[0]
        np.testing.assert_array_equal(again[1], first[1])


def test_products_in_blocks_on_several_threads_agree_with_one_block():
    """Products big enough to be cut into blocks (each of at least 2**22
    multiply-adds), over three chunks: the same values as one block on one
    thread, and the same bits run after run."""
    from sklearn_classreg._utils._threads import product_blocks

    kwargs = dict(n_classes=100, n_samples=3000, n_features=256, chunk_rows=1000, seed=3)
    several, _ = make_objective(**kwargs, n_threads=2)
    one, _ = make_objective(**kwargs, n_threads=1)
    assert len(product_blocks(1000, 1000 * 256 * 100)) > 1  # logits: blocks of rows
    assert len(product_blocks(256, 1000 * 256 * 100)) > 1  # back product: of features
    rng = np.random.default_rng(9)
    coef, v = rng.standard_normal((2, several.n_params)) * 0.1
    expected_loss, expected_gradient, expected_hessp = one.loss_gradient_hessp(coef)
    runs = []
    for _ in range(3):
        loss, gradient, hessp = several.loss_gradient_hessp(coef)
        runs.append((loss, gradient, hessp(v), several.precondition(v)))
    np.testing.assert_allclose(runs[0][0], expected_loss, rtol=1e-13)
    np.testing.assert_allclose(runs[0][1], expected_gradient, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(runs[0][2], expected_hessp(v), rtol=1e-11, atol=1e-14)
    one.loss_gradient(coef)  # the preconditioner follows the last evaluation
    np.testing.assert_allclose(runs[0][3], one.precondition(v), rtol=1e-11, atol=1e-14)
    for again in runs[1:]:
        assert again[0] == runs[0][0]
        for a, b in zip(again[1:], runs[0][1:], strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_float32_is_computed_in_float32_and_close_to_float64(n_classes):
    objective64, data = make_objective(n_classes, n_samples=200)
    objective32, _ = make_objective(n_classes, n_samples=200, X=data[0].astype(np.float32))
    coef = np.random.default_rng(9).standard_normal(objective64.n_params)
    loss32, gradient32 = objective32.loss_gradient(coef.astype(np.float32))
    loss64, gradient64 = objective64.loss_gradient(coef)
    assert gradient32.dtype == np.float32
    assert isinstance(loss32, float)
    np.testing.assert_allclose(loss32, loss64, rtol=1e-6)
    np.testing.assert_allclose(gradient32, gradient64, rtol=1e-4, atol=1e-6)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(10)
    X = rng.standard_normal((50, 3))
    y = rng.integers(0, 3, 50)
    w = rng.uniform(0.5, 1.0, 50)
    C, smoothing = np.array([1.0, 2.0, np.inf]), np.array([0.1, 0.0, 0.2])
    copies = [a.copy() for a in (X, y, w, C, smoothing)]
    objective = LogisticObjective(
        X, y, w, datafit=MULTINOMIAL, C=C, label_smoothing=smoothing, logit_penalty=0.1
    )
    coef = rng.standard_normal(objective.n_params)
    coef_copy = coef.copy()
    _, _, hessp = objective.loss_gradient_hessp(coef)
    v = rng.standard_normal(objective.n_params)
    v_copy = v.copy()
    hessp(v)
    for before, after in zip(
        copies + [coef_copy, v_copy], (X, y, w, C, smoothing, coef, v), strict=True
    ):
        np.testing.assert_array_equal(before, after)


def test_canonical_centres_intercepts_without_changing_the_loss():
    objective, _ = make_objective(n_classes=4)
    coef = np.random.default_rng(11).standard_normal(objective.n_params)
    canonical = objective.canonical(coef)
    assert abs(objective.unpack(canonical)[1].sum()) < 1e-12
    np.testing.assert_allclose(objective.loss(canonical), objective.loss(coef), rtol=1e-13)


@pytest.mark.parametrize(
    "n_classes, logit_penalty, all_unpenalized, flat",
    [
        (4, 0.0, False, ["intercepts"]),
        (4, 0.3, False, ["intercepts"]),  # the logit penalty acts on centred logits
        (4, 0.0, True, ["intercepts", "weights"]),
        (2, 0.3, True, []),  # one output: the sigmoid has no flat direction
    ],
)
def test_deflate_removes_exactly_the_directions_the_loss_is_flat_along(
    n_classes, logit_penalty, all_unpenalized, flat
):
    objective, _ = make_objective(n_classes, logit_penalty=logit_penalty)
    if all_unpenalized:
        objective.set_C(np.full(objective.n_outputs, np.inf))
    rng = np.random.default_rng(3)
    x = rng.standard_normal(objective.n_params)
    _, _, hessp = objective.loss_gradient_hessp(x)
    shifts = {"intercepts": np.zeros(objective.n_params), "weights": np.zeros(objective.n_params)}
    objective.unpack(shifts["intercepts"])[1][...] = 1.0
    objective.unpack(shifts["weights"])[0][...] = rng.standard_normal(objective.n_features)
    for name, shift in shifts.items():
        curvature = np.abs(hessp(shift)).max()
        assert (curvature < 1e-12) == (name in flat)  # H is flat exactly there
        removed = objective.deflate(shift.copy())
        assert (np.abs(removed).max() < 1e-15) == (name in flat)
    v = rng.standard_normal(objective.n_params)
    deflated = objective.deflate(v.copy())
    np.testing.assert_allclose(hessp(deflated), hessp(v), atol=1e-12)  # nothing else moves


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_loss_is_not_finite_for_non_finite_parameters(n_classes, bad):
    """Never a finite loss at a non-finite point: the line search relies on it."""
    objective, _ = make_objective(n_classes=n_classes)
    coef = np.zeros(objective.n_params)
    coef[0] = bad
    assert not np.isfinite(objective.loss(coef))


def test_huge_logits_give_finite_loss_and_gradient():
    objective, data = make_objective(n_classes=4, logit_penalty=0.0)
    coef = np.random.default_rng(12).standard_normal(objective.n_params) * 3e3
    loss, gradient = objective.loss_gradient(coef)
    assert np.isfinite(loss) and np.all(np.isfinite(gradient))
    np.testing.assert_allclose(loss, reference_loss(objective, coef, data), rtol=1e-10)


@pytest.mark.parametrize(
    "n_samples, n_features, n_classes, kept_rows",
    [
        (20_000, 128, 10, 20_000),  # n x K is 1/13 of X: all kept for Hessian products
        (20_000, 64, 10, 16_000),  # 1/6 of X: the leading 4 of 5 chunks fit the plan
        # The plan far out of reach (the rest alone takes twice the share or more): the
        # state takes at most the share by itself. 12 x X: one chunk of 256 rows.
        (20_000, 8, 100, 256),
        # 40 samples per class: n x K is 1/5 of X, all kept
        (2_000, 256, 50, 2_000),
    ],
)
def test_buffers_are_a_small_share_of_X(n_samples, n_features, n_classes, kept_rows):
    objective, (X, *_) = make_objective(n_classes, n_samples, n_features, dtype=np.float32)
    chunk_bytes = objective.chunk_rows * n_classes * 4
    assert objective.chunk_rows < n_samples
    assert chunk_bytes <= max(X.nbytes / 32, 256 * n_classes * 4)
    assert objective.hessian_state_rows == kept_rows
    assert kept_rows * n_classes * 4 <= X.nbytes / 4
    coef = np.zeros(objective.n_params, dtype=np.float32)
    objective.loss_gradient_hessp(coef)[2](coef)
    kept = 0 if objective._state is None else objective._state.nbytes
    assert kept == kept_rows * n_classes * 4


@pytest.mark.parametrize(
    "n_features, n_classes, kept_for_many",
    [
        (64, 10, True),  # n x K is 1/6 of X: every row kept when many products follow
        (8, 100, False),  # 12 x X: more than the share, only the planned chunk kept
    ],
)
def test_many_products_keep_the_whole_state_when_it_fits_the_share_alone(
    n_features, n_classes, kept_for_many
):
    objective, (X, *_) = make_objective(n_classes, 20_000, n_features, dtype=np.float32)
    rng = np.random.default_rng(5)
    coef = (0.1 * rng.standard_normal(objective.n_params)).astype(np.float32)
    v = rng.standard_normal(objective.n_params).astype(np.float32)

    def kept_rows():
        return 0 if objective._state is None else len(objective._state)

    planned = objective.loss_gradient_hessp(coef)[2](v)
    assert kept_rows() == objective.hessian_state_rows < objective.n_samples
    many = objective.loss_gradient_hessp(coef, many_products=True)[2](v)
    full = objective.n_samples if kept_for_many else objective.hessian_state_rows
    assert kept_rows() == full
    np.testing.assert_allclose(many, planned, rtol=2e-4, atol=1e-6)  # float32 sums
    kept = 0 if objective._state is None else objective._state.nbytes
    assert kept <= X.nbytes / 4


def test_chunks_keep_a_minimum_of_rows():
    objective, _ = make_objective(3, n_samples=2000, n_features=2, dtype=np.float32)
    assert objective.chunk_rows == 256


@pytest.mark.parametrize("case", CASES)
def test_penalty_change_is_the_gradient_change_of_a_new_C(case):
    # The penalty is the only part that depends on C, and it is quadratic:
    # (H_new - H) v is exactly gradient_new(v) - gradient(v), an unpenalized
    # output (C = inf) included, going to and from it.
    objective, _ = make_objective(**case)
    rng = np.random.default_rng(7)
    v = rng.standard_normal(objective.n_params)
    new_C = rng.uniform(0.01, 100.0, objective.n_outputs)
    if objective.n_outputs > 1:
        new_C[0] = np.inf  # the last one is already inf: both directions
    before = objective.loss_gradient(v)[1]
    product = objective.penalty_change(new_C)
    objective.set_C(new_C)
    after = objective.loss_gradient(v)[1]
    np.testing.assert_allclose(product(v), after - before, rtol=1e-9, atol=1e-12)
    if objective.fit_intercept:
        assert not np.any(objective.unpack(product(v))[1])
    with pytest.raises(ValueError, match="C must have shape"):
        objective.penalty_change(np.ones(objective.n_outputs + 1))


def test_parameters_of_another_dtype_are_a_clear_error():
    # a float64 vector for a float32 objective once reached the kernels (and crashed)
    objective, _ = make_objective(dtype=np.float32)
    with pytest.raises(TypeError, match=r"objective.cast\(coef\)"):
        objective.loss_gradient(np.zeros(objective.n_params))
    objective.loss_gradient(objective.cast(np.zeros(objective.n_params)))
