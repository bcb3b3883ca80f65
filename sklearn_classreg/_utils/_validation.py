"""Input checks shared by the estimators and the cross-validation tools."""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples

__all__ = ["check_label_types", "check_targets"]


def check_label_types(y):
    """A clear error for labels that mix strings and numbers.

    scikit-learn's own check reports such labels as "Unknown label type:
    unknown", which does not say what is wrong.
    """
    if y is None:
        return  # validate_data reports a missing y
    if np.asarray(y).dtype.kind == "O" and len(y):
        kinds = {str if isinstance(v, str) else type(v).__name__ for v in y}
        if str in kinds and len(kinds) > 1:
            others = sorted(k for k in kinds if k is not str)
            raise ValueError(
                f"y mixes string labels with {', '.join(others)} labels: use one type of "
                "label (e.g. all strings)."
            )


def check_targets(X, y):
    """Check a classification problem's X and y before cross-validating it.

    Returns y as an array. Errors name the parameter: no samples in X, lengths
    that differ, mixed or continuous labels, a single class.
    """
    if y is None:
        raise ValueError(
            "A cross-validated study requires y to be passed, but the target y is None: give the "
            "class labels."
        )
    n_samples = _num_samples(X)
    if n_samples == 0:
        raise ValueError("X has 0 samples: it needs at least one sample per class.")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(f"y has shape {y.shape} but X has {n_samples} samples: they must match.")
    check_label_types(y)
    check_classification_targets(y)
    if len(np.unique(y)) < 2:
        raise ValueError("y contains only one class: there is nothing to classify.")
    return y
