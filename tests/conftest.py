"""Test configuration shared by the whole suite."""

import os

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
