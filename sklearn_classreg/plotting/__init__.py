"""Display objects of the class-wise study (matplotlib is imported only to plot)."""

from ._heatmap import ClassWiseHeatmapDisplay
from ._lda import AmbiguousClassLDADisplay
from ._loss import GlobalChoiceLossDisplay
from ._optima import OptimumHistogramDisplay

__all__ = [
    "AmbiguousClassLDADisplay",
    "ClassWiseHeatmapDisplay",
    "GlobalChoiceLossDisplay",
    "OptimumHistogramDisplay",
]
