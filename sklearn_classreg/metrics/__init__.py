"""Per-class and worst-class metrics, as functions and as scikit-learn scorers."""

from ._classwise import (
    class_deviance,
    class_one_vs_all_accuracy,
    class_precision,
    class_recall,
    classwise_scores,
    global_scores,
    pairwise_accuracy,
    worst_class_accuracy,
    worst_k_recall,
    worst_pairwise_accuracy,
)
from ._scorers import (
    ClasswiseScorer,
    balanced_accuracy_scorer,
    make_classwise_scorer,
    neg_deviance_scorer,
    worst_class_accuracy_scorer,
    worst_k_recall_scorer,
    worst_pairwise_accuracy_scorer,
)

__all__ = [
    "ClasswiseScorer",
    "balanced_accuracy_scorer",
    "class_deviance",
    "class_one_vs_all_accuracy",
    "class_precision",
    "class_recall",
    "classwise_scores",
    "global_scores",
    "make_classwise_scorer",
    "neg_deviance_scorer",
    "pairwise_accuracy",
    "worst_class_accuracy",
    "worst_class_accuracy_scorer",
    "worst_k_recall",
    "worst_k_recall_scorer",
    "worst_pairwise_accuracy",
    "worst_pairwise_accuracy_scorer",
]
