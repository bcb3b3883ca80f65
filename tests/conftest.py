"""Test configuration shared by the whole suite."""

import os

# Lets scikit-learn's estimator checks run their array-API input check
# (it is skipped otherwise). Must be set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
