"""TorchLogisticObjective: autograd as the oracle, and equal to the NumPy objective."""

import numpy as np
import pytest
from scipy import sparse

torch = pytest.importorskip("torch")

from sklearn_classreg._objective._datafit import BINOMIAL, MULTINOMIAL  # noqa: E402
from sklearn_classreg._objective._logistic import LogisticObjective  # noqa: E402
from sklearn_classreg._objective._torch import (  # noqa: E402
    _DATAFITS,
    TorchLogisticObjective,
)


def problem(n_classes=4, n_samples=150, n_features=6, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype(dtype)
    y = rng.integers(0, n_classes, n_samples)
    weights = rng.uniform(0.2, 2.0, n_samples)
    datafit = BINOMIAL if n_classes == 2 else MULTINOMIAL
    C = rng.uniform(0.2, 3.0, datafit.n_outputs(n_classes))
    if len(C) > 1:
        C[-1] = np.inf
    smoothing = rng.uniform(0.0, 0.3, n_classes)
    return X, y, weights, dict(datafit=datafit, C=C, label_smoothing=smoothing)


def both(
    n_classes=4,
    fit_intercept=True,
    logit_penalty=0.3,
    dtype=np.float64,
    device="cpu",
    **torch_options,
):
    X, y, weights, options = problem(n_classes, dtype=dtype)
    options.update(fit_intercept=fit_intercept, logit_penalty=logit_penalty)
    numpy_objective = LogisticObjective(X, y, weights, **options)
    torch_objective = TorchLogisticObjective(
        X, y, weights, device=device, **options, **torch_options
    )
    return numpy_objective, torch_objective


CASES = [
    pytest.param(dict(n_classes=4), id="multinomial"),
    pytest.param(dict(n_classes=2), id="binomial"),
    pytest.param(dict(n_classes=4, fit_intercept=False, logit_penalty=0.0), id="no-intercept"),
    pytest.param(dict(n_classes=2, fit_intercept=False), id="binomial-no-intercept"),
]


def autograd_loss(torch_objective, numpy_objective, coef):
    """The objective written with torch operations, differentiable by autograd."""
    X = torch.as_tensor(numpy_objective.X, dtype=torch.float64)
    y = torch.as_tensor(numpy_objective.y)
    w = torch.as_tensor(numpy_objective.weights, dtype=torch.float64)
    eps = torch.as_tensor(numpy_objective.label_smoothing)[y]
    l2 = torch.as_tensor(numpy_objective.l2_strength / numpy_objective.total_weight)
    W, b = numpy_objective.unpack(coef)
    z = X @ W.T + (0 if b is None else b)
    beta = numpy_objective.logit_penalty
    if numpy_objective.datafit is BINOMIAL:
        u = z[:, 0]
        t = (1 - eps) * y + eps / 2
        per_sample = torch.nn.functional.softplus(u) - t * u + beta / 4 * u**2
    else:
        K = z.shape[1]
        target = torch.nn.functional.one_hot(y, K) * (1 - eps)[:, None] + (eps / K)[:, None]
        centred = z - z.mean(dim=1, keepdim=True)
        per_sample = torch.logsumexp(z, dim=1) - (target * z).sum(dim=1)
        per_sample = per_sample + beta / 2 * (centred**2).sum(dim=1)
    return (w * per_sample).sum() + 0.5 * (l2 * (W**2).sum(dim=1)).sum()


@pytest.mark.parametrize("case", CASES)
def test_gradient_and_hessp_match_autograd(case, device):
    numpy_objective, torch_objective = both(device=device, **case)
    rng = np.random.default_rng(1)
    coef = torch.as_tensor(rng.standard_normal(torch_objective.n_params), device=device)
    loss, gradient, hessp = torch_objective.loss_gradient_hessp(coef)

    oracle_coef = coef.detach().cpu().clone().requires_grad_()
    oracle = autograd_loss(torch_objective, numpy_objective, oracle_coef)
    (oracle_gradient,) = torch.autograd.grad(oracle, oracle_coef, create_graph=True)
    np.testing.assert_allclose(loss, float(oracle.detach()), rtol=1e-12)
    np.testing.assert_allclose(gradient.cpu(), oracle_gradient.detach(), rtol=1e-10, atol=1e-12)
    v = torch.as_tensor(rng.standard_normal(torch_objective.n_params))
    (oracle_hv,) = torch.autograd.grad(oracle_gradient @ v, oracle_coef)
    np.testing.assert_allclose(hessp(v.to(device)).cpu(), oracle_hv, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-4)])
def test_equals_the_numpy_objective(case, dtype, rtol, device):
    numpy_objective, torch_objective = both(dtype=dtype, device=device, **case)
    rng = np.random.default_rng(2)
    coef = rng.standard_normal(numpy_objective.n_params).astype(dtype)
    coef_t = torch.as_tensor(coef, device=device)
    loss_n, grad_n, hessp_n = numpy_objective.loss_gradient_hessp(coef)
    loss_t, grad_t, hessp_t = torch_objective.loss_gradient_hessp(coef_t)
    assert grad_t.dtype == (torch.float32 if dtype == np.float32 else torch.float64)
    np.testing.assert_allclose(loss_t, loss_n, rtol=rtol)
    np.testing.assert_allclose(grad_t.cpu(), grad_n, rtol=rtol, atol=rtol)
    v = rng.standard_normal(numpy_objective.n_params).astype(dtype)
    np.testing.assert_allclose(
        hessp_t(torch.as_tensor(v, device=device)).cpu(), hessp_n(v), rtol=rtol, atol=rtol
    )
    np.testing.assert_allclose(
        torch_objective.precondition(grad_t).cpu(),
        numpy_objective.precondition(grad_n),
        rtol=10 * rtol,
        atol=10 * rtol,
    )
    np.testing.assert_allclose(torch_objective.class_curvature, numpy_objective.class_curvature)


@pytest.mark.parametrize("datafit", [MULTINOMIAL, BINOMIAL], ids=lambda d: d.name)
@pytest.mark.parametrize("logit_penalty", [0.0, 0.3])
def test_torch_kernels_equal_the_numba_kernels_in_the_datafit_signature(datafit, logit_penalty):
    # The torch datafit is the numba one written with torch operations: on one
    # chunk, each kernel leaves the same logits, state and sums.
    rng = np.random.default_rng(7)
    n_classes = 5 if datafit.shift_invariant else 2
    n_outputs, n_rows = datafit.n_outputs(n_classes), 40
    z = 3 * rng.standard_normal((n_rows, n_outputs))
    v = rng.standard_normal((n_rows, n_outputs))
    intercept, v_intercept = rng.standard_normal(n_outputs), rng.standard_normal(n_outputs)
    y = rng.integers(0, n_classes, n_rows)
    weights = rng.uniform(0.0, 2.0, n_rows)
    weights[:3] = 0.0  # rows without weight are skipped by the certificate's sums
    smoothing = rng.uniform(0.0, 0.3, n_classes)
    steps = np.array([0.5, 1.0, 1.6])
    torch_datafit = _DATAFITS[datafit.name]
    t = torch.as_tensor

    def run(kernels, array, labels):
        z_, v_ = array(z.copy()), array(v.copy())
        state, sums = array(np.empty_like(z)), array(np.zeros((4, n_classes)))
        loss = kernels.loss_gradient(
            z_,
            array(intercept),
            labels,
            array(weights),
            array(smoothing),
            logit_penalty,
            state,
            sums,
        )
        recomputed = array(z.copy())
        kernels.hessian_state(
            recomputed, array(intercept), array(weights), logit_penalty, recomputed
        )
        hessp_sums = array(np.zeros(n_outputs))
        kernels.hessp(v_, array(v_intercept), state, array(weights), logit_penalty, hessp_sums)
        dual_v = array(v.copy())
        dual_sums = array(np.zeros((len(steps) + 1, 2 * n_classes + 2)))
        kernels.dual_step(
            array(z.copy()),
            array(intercept),
            dual_v,
            array(v_intercept),
            labels,
            array(weights),
            steps,
            dual_sums,
        )
        outputs = (loss, z_, state, sums, recomputed, v_, hessp_sums, dual_v, dual_sums)
        return [np.asarray(o.cpu() if hasattr(o, "cpu") else o, dtype=float) for o in outputs]

    expected = run(datafit, np.asarray, y.astype(np.intp))
    got = run(torch_datafit, lambda a: t(a, dtype=torch.float64), t(y))
    for name, a, b in zip(
        [
            "loss",
            "gradient",
            "state",
            "sums",
            "hessian state",
            "hessp",
            "hessp sums",
            "dual move",
            "dual sums",
        ],
        got,
        expected,
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("n_classes", [2, 5])
def test_streaming_chunks_and_recomputed_state_equal_the_resident_path(n_classes, device):
    X, y, weights, options = problem(n_classes, n_samples=301)
    rng = np.random.default_rng(3)
    resident = TorchLogisticObjective(X, y, weights, device=device, **options)
    coef = torch.as_tensor(rng.standard_normal(resident.n_params), device=device)
    v = torch.as_tensor(rng.standard_normal(resident.n_params), device=device)
    loss, gradient, hessp = resident.loss_gradient_hessp(coef)
    expected_hv = hessp(v)
    for variant in (dict(stream=True, chunk_rows=64), dict(chunk_rows=7)):
        other = TorchLogisticObjective(X, y, weights, device=device, **options, **variant)
        other.hessian_state_rows = 0
        assert len(other.rows.chunks) > 1
        loss_o, gradient_o, hessp_o = other.loss_gradient_hessp(coef)
        np.testing.assert_allclose(loss_o, loss, rtol=1e-12)
        np.testing.assert_allclose(gradient_o.cpu(), gradient.cpu(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(hessp_o(v).cpu(), expected_hv.cpu(), rtol=1e-10, atol=1e-13)


def test_csr_input_equals_dense(device):
    X, y, weights, options = problem(4)
    X[np.abs(X) < 0.8] = 0.0
    dense = TorchLogisticObjective(X, y, weights, device=device, **options)
    csr = TorchLogisticObjective(
        sparse.csr_matrix(X), y, weights, device=device, chunk_rows=40, **options
    )
    coef = torch.as_tensor(np.random.default_rng(4).standard_normal(dense.n_params), device=device)
    for a, b in zip(dense.loss_gradient(coef), csr.loss_gradient(coef), strict=True):
        np.testing.assert_allclose(torch.as_tensor(b).cpu(), torch.as_tensor(a).cpu(), rtol=1e-12)
    np.testing.assert_allclose(
        csr.precondition(coef).cpu(), dense.precondition(coef).cpu(), rtol=1e-10
    )


def test_accepts_tensors_on_the_device(device):
    X, y, weights, options = problem(3)
    from_numpy = TorchLogisticObjective(X, y, weights, device=device, **options)
    from_tensor = TorchLogisticObjective(
        torch.as_tensor(X, device=device), y, weights, device=device, **options
    )
    coef = torch.zeros(from_numpy.n_params, dtype=torch.float64, device=device)
    assert from_tensor.loss(coef) == from_numpy.loss(coef)


def test_non_finite_parameters_give_an_infinite_loss():
    X, y, weights, options = problem(4)
    objective = TorchLogisticObjective(X, y, weights, device="cpu", **options)
    coef = torch.zeros(objective.n_params, dtype=torch.float64)
    coef[0] = float("nan")
    assert objective.loss(coef) == np.inf


def test_unavailable_device_is_a_clear_error():
    X, y, weights, options = problem(3)
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        TorchLogisticObjective(X, y, weights, device="cuda", **options)
    with pytest.raises(ValueError, match="not a torch device"):
        TorchLogisticObjective(X, y, weights, device="tpu:7", **options)


@pytest.mark.parametrize("case", CASES)
def test_penalty_change_equals_the_numpy_objective(case):
    numpy_objective, torch_objective = both(**case)
    rng = np.random.default_rng(5)
    v = rng.standard_normal(numpy_objective.n_params)
    new_C = rng.uniform(0.01, 100.0, numpy_objective.n_outputs)
    expected = numpy_objective.penalty_change(new_C)(v)
    got = torch_objective.penalty_change(new_C)(torch_objective.cast(v))
    np.testing.assert_allclose(torch_objective.to_numpy(got), expected, rtol=1e-12, atol=1e-15)


def test_truncated_preconditioner_equals_the_numpy_one(device, monkeypatch):
    """Few samples per feature: both backends keep the same leading eigenvectors."""
    import sklearn_classreg._objective._preconditioner as preconditioner_module

    monkeypatch.setattr(preconditioner_module, "_MIN_RANK", 3)
    rng = np.random.default_rng(6)
    X = rng.standard_normal((96, 20)) @ rng.standard_normal((20, 20))  # rank 96 // 16 = 6
    y = np.arange(96) % 4
    options = dict(
        datafit=MULTINOMIAL,
        C=np.array([0.5, 1.0, 2.0, np.inf]),
        label_smoothing=np.zeros(4),
    )
    numpy_objective = LogisticObjective(X, y, np.ones(96), **options)
    torch_objective = TorchLogisticObjective(X, y, np.ones(96), device=device, **options)
    v = rng.standard_normal(numpy_objective.n_params)
    expected = numpy_objective.precondition(v)
    assert numpy_objective._preconditioner.rank == 6
    got = torch_objective.precondition(torch.as_tensor(v, device=device))
    assert torch_objective._preconditioner.rank == 6
    np.testing.assert_allclose(got.cpu(), expected, rtol=1e-9, atol=1e-12)
