"""Frozen-network features (with augmentation) and LDA of the ambiguous classes.

torch is imported only when a network runs: ``import
sklearn_classreg.feature_extraction`` works without it.
"""

from ._frozen import FrozenFeatureExtractor
from ._lda import AmbiguousClassLDA, find_ambiguous_classes, weight_lda_angle

__all__ = [
    "AmbiguousClassLDA",
    "FrozenFeatureExtractor",
    "find_ambiguous_classes",
    "weight_lda_angle",
]
