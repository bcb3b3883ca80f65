"""The package imports fast and light: no torch, no matplotlib, no compilation."""

import subprocess
import sys

import sklearn_classreg


def test_public_names():
    assert sklearn_classreg.__version__
    assert "ClassWiseRegularizedLogisticRegression" in sklearn_classreg.__all__


def test_import_does_not_pull_optional_dependencies():
    code = (
        "import sys, sklearn_classreg; "
        "heavy = [m for m in ('torch', 'matplotlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"imported at package import: {result.stdout}"
