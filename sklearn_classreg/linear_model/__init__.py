"""Estimators: class-wise regularized logistic regression."""

from ._logistic import ClassWiseRegularizedLogisticRegression

__all__ = ["ClassWiseRegularizedLogisticRegression"]
