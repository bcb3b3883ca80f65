"""Display objects of the class-wise study (matplotlib is imported only to plot)."""

from ._chance import ChanceLevelDisplay, RealisedGainDisplay
from ._heatmap import ClassWiseHeatmapDisplay
from ._joint import JointOptimaDisplay
from ._lda import AmbiguousClassLDADisplay
from ._loss import GlobalChoiceLossDisplay
from ._optima import OptimumHistogramDisplay
from ._upstream import UpstreamViewDisplay

__all__ = [
    "AmbiguousClassLDADisplay",
    "ChanceLevelDisplay",
    "ClassWiseHeatmapDisplay",
    "GlobalChoiceLossDisplay",
    "JointOptimaDisplay",
    "OptimumHistogramDisplay",
    "RealisedGainDisplay",
    "UpstreamViewDisplay",
]
