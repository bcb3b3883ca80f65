"""Estimators: class-wise regularized logistic regression and its path."""

from ._cv import ClassWiseRegularizationCV
from ._logistic import ClassWiseRegularizedLogisticRegression
from ._path import RegularizationPath, regularization_path

__all__ = [
    "ClassWiseRegularizationCV",
    "ClassWiseRegularizedLogisticRegression",
    "RegularizationPath",
    "regularization_path",
]
