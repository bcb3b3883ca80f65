"""Class-wise validation curves and the global-vs-per-class study."""

from ._study import ClassWiseStudy
from ._validation_curve import classwise_validation_curve

__all__ = ["ClassWiseStudy", "classwise_validation_curve"]
