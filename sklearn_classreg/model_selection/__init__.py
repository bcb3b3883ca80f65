"""Class-wise validation curves and the global-vs-per-class studies."""

from ._augmentation import AugmentationStudy
from ._study import ClassWiseStudy
from ._validation_curve import classwise_validation_curve

__all__ = ["AugmentationStudy", "ClassWiseStudy", "classwise_validation_curve"]
