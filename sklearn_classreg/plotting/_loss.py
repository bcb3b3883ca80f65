"""GlobalChoiceLossDisplay: what the global choice costs each class."""

import numpy as np

from ._base import import_pyplot, study_of

__all__ = ["GlobalChoiceLossDisplay"]

_KINDS = {
    "oracle": ("oracle_loss", None, None, "loss under the global choice (oracle)"),
    "honest": (
        "honest_gain",
        "honest_gain_low",
        "honest_gain_high",
        "gain of the per-class choice (cross-fitted, with interval)",
    ),
    "coupled_oracle": (
        "coupled_oracle_gain",
        "coupled_oracle_gain_low",
        "coupled_oracle_gain_high",
        "gain of the coupled oracle (per-class C tuned on the folds, with interval)",
    ),
    **{
        f"realised_{choice}": (
            f"realised_gain_{choice}",
            f"realised_gain_{choice}_low",
            f"realised_gain_{choice}_high",
            f"{label} on test data (with interval)",
        )
        for choice, label in (
            ("per_class", "realised gain of the 'per_class' choice"),
            ("hypergradient", "realised gain of the hypergradient's choice"),
            ("naive", "naive transfer of each class's own optimum"),
        )
    },
}
# what a study must have computed for each kind
_NEEDS = {
    "coupled_oracle": "the coupled oracle: sweep the C of this library's estimator "
    "with coupled_oracle=True",
    "realised_naive": "held-out data: fit the study with X_test and y_test",
    "realised_per_class": "held-out data and 'per_class' in the study's tuned",
    "realised_hypergradient": "held-out data and 'hypergradient' in the study's tuned",
}


class GlobalChoiceLossDisplay:
    """Bar chart, per class, of the metric lost under the global choice.

    kind="oracle" shows the oracle loss (each class's best against the
    global best, on the same folds); "honest" the cross-fitted gain with its
    bootstrap interval; "coupled_oracle" the gain of the per-class C tuned by
    hypergradient on the folds, scored there; "realised_per_class",
    "realised_hypergradient" and "realised_naive" the gains of the refitted
    per-class models on test data. Classes are sorted by the value.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
    values : ndarray of shape (n_classes,)
    low, high : ndarray of shape (n_classes,) or None
        Interval bounds.
    label : str
    metric : str

    Attributes
    ----------
    ax_, figure_ : matplotlib objects, after `plot`.
    """

    def __init__(self, classes, values, low, high, label, metric):
        self.classes = classes
        self.values = values
        self.low = low
        self.high = high
        self.label = label
        self.metric = metric

    @classmethod
    def from_results(cls, study, *, kind="oracle", ax=None, **plot_kwargs):
        """Build and plot from a fitted ClassWiseStudy.

        Parameters
        ----------
        study : ClassWiseStudy
        kind : {"oracle", "honest", "coupled_oracle", "realised_per_class", \
"realised_hypergradient", "realised_naive"}, default="oracle"
        """
        study = study_of(study)
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {list(_KINDS)}; got {kind!r}.")
        column, low, high, label = _KINDS[kind]
        summary = study.summary_
        if column not in summary:
            raise ValueError(f"kind={kind!r} needs {_NEEDS[kind]}.")
        order = np.argsort(-summary[column].to_numpy(), kind="stable")
        display = cls(
            summary.index.to_numpy()[order],
            summary[column].to_numpy()[order],
            None if low is None else summary[low].to_numpy()[order],
            None if high is None else summary[high].to_numpy()[order],
            label,
            study.metric,
        )
        return display.plot(ax=ax, **plot_kwargs)

    def plot(self, ax=None, *, max_labels=60, color="tab:orange"):
        """Draw the bars (with interval whiskers when known).

        Returns
        -------
        self
        """
        plt = import_pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(max(6, min(14, 0.15 * len(self.classes))), 3.5))
        positions = np.arange(len(self.classes))
        errors = None
        if self.low is not None:
            errors = np.vstack([self.values - self.low, self.high - self.values])
            errors = np.nan_to_num(np.maximum(errors, 0))
        ax.bar(
            positions,
            self.values,
            yerr=errors,
            color=color,
            width=0.8,
            error_kw=dict(elinewidth=0.6, ecolor="grey"),
        )
        ax.axhline(0, color="black", linewidth=0.8)
        if len(self.classes) <= max_labels:
            ax.set_xticks(positions)
            ax.set_xticklabels([str(c) for c in self.classes], rotation=90, fontsize=7)
        else:
            ax.set_xticks([])
        ax.set_xlabel(f"class ({len(self.classes)}, sorted)")
        ax.set_ylabel(self.metric)
        ax.set_title(self.label)
        self.ax_, self.figure_ = ax, ax.figure
        return self
