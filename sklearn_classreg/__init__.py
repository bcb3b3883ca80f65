"""Class-wise regularized logistic regression for scikit-learn.

Multinomial logistic regression with one L2 strength per class, and tools to
study how regularization helps some classes and hurts others.
"""

from .linear_model import (
    ClassWiseRegularizationCV,
    ClassWiseRegularizedLogisticRegression,
    regularization_path,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "ClassWiseRegularizationCV",
    "ClassWiseRegularizedLogisticRegression",
    "regularization_path",
    "__version__",
]
