"""Frozen-network features (with augmentation) and LDA of the ambiguous classes.

torch is imported only when a network runs: ``import
sklearn_classreg.feature_extraction`` works without it.
"""

from ._banks import FeatureBanks, extract_feature_banks
from ._frozen import FrozenFeatureExtractor
from ._lda import AmbiguousClassLDA, find_ambiguous_classes, weight_lda_angle

__all__ = [
    "AmbiguousClassLDA",
    "FeatureBanks",
    "FrozenFeatureExtractor",
    "extract_feature_banks",
    "find_ambiguous_classes",
    "weight_lda_angle",
]
