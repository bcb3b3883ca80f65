"""Test configuration shared by the whole suite."""

import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

# Lets scikit-learn's estimator checks run their array-API input check
# (it is skipped otherwise). Must be set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")


def _devices():
    """cpu always; cuda where a GPU is present (skipped cleanly elsewhere)."""
    try:
        import torch
    except ImportError:
        return []
    has_cuda = torch.cuda.is_available()
    return [
        "cpu",
        pytest.param("cuda", marks=pytest.mark.skipif(not has_cuda, reason="no CUDA device here")),
    ]


@pytest.fixture(params=_devices() or [pytest.param("cpu", marks=pytest.mark.skip("no torch"))])
def device(request):
    """A torch device to run the torch backend on."""
    pytest.importorskip("torch")
    return request.param


# Makes torch unimportable in a fresh interpreter, as if it were not installed.
_BLOCK_TORCH = """
import importlib.abc, sys

class BlockTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")

sys.meta_path.insert(0, BlockTorch())
"""


@pytest.fixture
def python_without_torch():
    """Run Python code in a fresh interpreter where torch cannot be imported.

    Returns the CompletedProcess (text output); a non-zero exit fails the test.
    """

    def run(code):
        return subprocess.run(
            [sys.executable, "-c", _BLOCK_TORCH + code], capture_output=True, text=True, check=True
        )

    return run


def _reference_objective(X, y, C, *, sample_weight, smoothing, logit_penalty, fit_intercept):
    """The library's objective written again, densely, with its exact Hessian (float64).

    Parameters: theta of shape (n_outputs, n_features + fit_intercept), rows
    [w_k, b_k]. Returns f(theta) -> (loss, gradient, Hessian), the objective
    divided by the total weight, as in DESIGN.md.
    """
    from scipy.special import expit, softmax

    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    Xt = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    classes = np.unique(y)
    K = len(classes)
    y = np.searchsorted(classes, y)
    s = np.asarray(sample_weight, dtype=np.float64)
    s = s / s.sum()
    total = float(np.sum(sample_weight, dtype=np.float64))
    eps = np.broadcast_to(np.asarray(smoothing, dtype=np.float64), (K,))[y]
    beta = float(logit_penalty)
    C = np.broadcast_to(np.asarray(C, dtype=np.float64), (K,))
    penalised = np.ones(Xt.shape[1])
    if fit_intercept:
        penalised[-1] = 0.0
    if K == 2:
        c = 0.5 * (C[0] + C[1])
        lam = np.array([0.0 if np.isinf(c) else 1.0 / (c * total)])
        target = ((1 - eps) * y + 0.5 * eps)[:, None]
    else:
        lam = np.where(np.isinf(C), 0.0, 1.0 / (C * total))
        target = np.eye(K)[y] * (1 - eps)[:, None] + (eps / K)[:, None]
    outputs = len(lam)

    def f(theta):
        theta = theta.reshape(outputs, -1)
        Z = Xt @ theta.T
        penalty = 0.5 * np.sum(lam[:, None] * penalised * theta**2)
        # losses written without cancellation (they can be 1e-5 next to logits of 20)
        if K == 2:
            u = Z[:, 0]
            loss = (np.maximum(u, 0) - target[:, 0] * u) + np.log1p(np.exp(-np.abs(u)))
            loss += 0.25 * beta * u * u
            p = expit(u)
            R = (p - target[:, 0] + 0.5 * beta * u)[:, None]
            A = (p * (1 - p) + 0.5 * beta)[:, None, None]
        else:
            P = softmax(Z, axis=1)
            dev = Z - Z.mean(axis=1, keepdims=True)
            top = Z.max(axis=1, keepdims=True)
            others = np.exp(Z - top)
            others[np.arange(n), Z.argmax(axis=1)] = 0.0
            z_true = Z[np.arange(n), y]
            loss = (top[:, 0] - z_true) + np.log1p(others.sum(1))  # -log p_iy
            loss += eps * (z_true - Z.mean(axis=1))  # smoothed: t.z = (1 - eps) z_y + eps mean z
            loss += 0.5 * beta * (dev**2).sum(1)
            R = P - target + beta * dev
            A = (
                np.einsum("ik,kl->ikl", P, np.eye(K))
                - P[:, :, None] * P[:, None, :]
                + beta * (np.eye(K) - 1.0 / K)
            )
        value = float(s @ loss) + penalty
        grad = (s[:, None] * R).T @ Xt + lam[:, None] * penalised * theta
        outer = Xt[:, :, None] * Xt[:, None, :]
        H = np.tensordot(s[:, None, None] * A, outer, axes=(0, 0)).transpose(0, 2, 1, 3)
        identity = np.eye(len(penalised))
        H = H + np.einsum("k,a,kl,ac->kalc", lam, penalised, np.eye(outputs), identity)
        size = theta.size
        return value, grad.ravel(), H.reshape(size, size)

    return f, outputs, Xt.shape[1]


def tight_optimum(
    X, y, C, *, sample_weight=None, smoothing=0.0, logit_penalty=0.0, fit_intercept=True
):
    """Minimum of the objective by dense damped Newton to machine precision.

    Independent of the library (its own loss, gradient and exact Hessian,
    pseudo-inverse for the softmax's shift).
    """
    if sample_weight is None:
        sample_weight = np.ones(len(y))
    f, outputs, width = _reference_objective(
        X,
        y,
        C,
        sample_weight=sample_weight,
        smoothing=smoothing,
        logit_penalty=logit_penalty,
        fit_intercept=fit_intercept,
    )
    theta = np.zeros(outputs * width)
    value, grad, H = f(theta)
    for _ in range(500):
        step = -np.linalg.lstsq(H, grad, rcond=1e-14)[0]
        slope = grad @ step
        if not slope < -1e-17 * abs(value):  # Newton decrement below rounding: optimal
            break
        t = 1.0
        while t > 1e-12:
            new_value, new_grad, new_H = f(theta + t * step)
            if new_value <= value + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            break
        theta += t * step
        if value - new_value <= 1e-16 * abs(value) and t == 1.0:
            value, grad, H = new_value, new_grad, new_H
            break
        value, grad, H = new_value, new_grad, new_H
    theta = theta.reshape(outputs, width)

    def value_at(coef, intercept=None):
        """The objective at (coef, intercept), e.g. a fitted model's coef_ and intercept_."""
        parts = [np.atleast_2d(coef)] + ([np.reshape(intercept, (-1, 1))] if fit_intercept else [])
        return f(np.hstack(parts).astype(np.float64).ravel())[0]

    return SimpleNamespace(
        value=value,
        W=theta[:, : X.shape[1]],
        b=theta[:, -1] if fit_intercept else None,
        objective=value_at,
    )


@pytest.fixture
def reference():
    """`tight_optimum`: an independent, tight minimum of the library's objective.

    ``reference(X, y, C, **options)`` has ``value`` (the minimum), ``W``, ``b``
    and ``objective(coef, intercept)``.
    """
    return tight_optimum


def pytest_terminal_summary(terminalreporter):
    """Print how scikit-learn's own LogisticRegression tests fared on this estimator."""
    counts = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        reports = terminalreporter.stats.get(outcome, [])
        counts[outcome] = sum(
            "test_sklearn_suite.py" in getattr(report, "nodeid", "")
            and getattr(report, "when", "call") in ("call", "setup")
            and (outcome != "passed" or report.when == "call")
            for report in reports
        )
    if any(counts.values()):
        terminalreporter.write_line(
            "scikit-learn's linear_model/tests/test_logistic.py on this estimator: "
            f"{counts['passed']} passed, {counts['failed'] + counts['error']} failed, "
            f"{counts['skipped']} not applicable (skipped with their reasons)"
        )
