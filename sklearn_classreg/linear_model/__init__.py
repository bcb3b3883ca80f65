"""Estimators: class-wise regularized logistic regression and its path."""

from ._logistic import ClassWiseRegularizedLogisticRegression
from ._path import RegularizationPath, regularization_path

__all__ = ["ClassWiseRegularizedLogisticRegression", "RegularizationPath", "regularization_path"]
