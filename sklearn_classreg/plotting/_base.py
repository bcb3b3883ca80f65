"""What the study's Displays share: reading a study, matplotlib on demand."""

import numpy as np

__all__ = ["import_pyplot", "study_of", "tick_labels"]


def import_pyplot():
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib: pip install 'sklearn-classreg[plot]'."
        ) from error
    return plt


def study_of(results):
    """A fitted ClassWiseStudy from a study (checked to be fitted)."""
    if not hasattr(results, "summary_"):
        raise TypeError(
            f"Expected a fitted ClassWiseStudy (call .fit first); got {type(results).__name__}."
        )
    return results


def fit_study(estimator, X, y, *, param_name, param_range, cv, metric, study_kwargs):
    """Run the ClassWiseStudy behind a Display's `from_estimator`."""
    from ..model_selection import ClassWiseStudy

    return ClassWiseStudy(
        estimator,
        param_name=param_name,
        param_range=param_range,
        cv=cv,
        metric=metric,
        **(study_kwargs or {}),
    ).fit(X, y)


def tick_labels(values):
    """Short labels for parameter values (powers of ten shown as 1e-3...)."""
    labels = []
    for value in values:
        if isinstance(value, tuple):  # a pair of a joint grid
            labels.append(", ".join(tick_labels(value)))
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            labels.append(str(value))
            continue
        labels.append(
            f"{number:.2g}" if 1e-2 <= abs(number) < 1e3 or number == 0 else f"{number:.0e}"
        )
    return labels


def log10_or_raw(values):
    """log10 of positive numeric values (and whether it was taken), else the values."""
    numeric = np.asarray(values, dtype=float)
    if np.all(numeric > 0):
        return np.log10(numeric), True
    return numeric, False
