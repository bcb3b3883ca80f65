"""Test configuration shared by the whole suite."""

import os
import subprocess
import sys

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
