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
    per-class models on test data. Classes are sorted by the value and
    named. With many classes the chart keeps the `top` that pay most (oracle
    loss) or the `top` that gain most and the `top` that pay most (gains),
    with a gap between the two groups, so that the chart answers "which
    classes pay" without the table.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
    values : ndarray of shape (n_classes,)
    low, high : ndarray of shape (n_classes,) or None
        Interval bounds.
    label : str
    metric : str
    n_classes : int, default=None
        Classes of the study, when the chart shows only some of them.
    gap_after : int, default=None
        Leave a gap after this many bars (between the classes that gain most
        and those that pay most).

    Attributes
    ----------
    ax_, figure_ : matplotlib objects, after `plot`.
    """

    def __init__(self, classes, values, low, high, label, metric, n_classes=None, gap_after=None):
        self.n_classes = len(classes) if n_classes is None else n_classes
        self.gap_after = gap_after
        self.classes = classes
        self.values = values
        self.low = low
        self.high = high
        self.label = label
        self.metric = metric

    @classmethod
    def from_results(cls, study, *, kind="oracle", top=20, ax=None, **plot_kwargs):
        """Build and plot from a fitted ClassWiseStudy.

        Parameters
        ----------
        study : ClassWiseStudy
        kind : {"oracle", "honest", "coupled_oracle", "realised_per_class", \
"realised_hypergradient", "realised_naive"}, default="oracle"
        top : int or None, default=20
            With more classes than that (twice that for gains), show only the
            `top` that pay most, and for gains also the `top` that gain most.
            None shows every class.
        ax : matplotlib Axes, default=None
        **plot_kwargs
            Passed to `plot`.

        Returns
        -------
        GlobalChoiceLossDisplay
        """
        study = study_of(study)
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {list(_KINDS)}; got {kind!r}.")
        column, low, high, label = _KINDS[kind]
        summary = study.summary_
        if column not in summary:
            raise ValueError(f"kind={kind!r} needs {_NEEDS[kind]}.")
        values = summary[column].to_numpy(dtype=float)
        order = np.argsort(-values, kind="stable")
        order = order[np.isfinite(values[order])]
        gap_after = None
        if top is not None and kind == "oracle" and len(order) > top:
            order = order[:top]
            label = f"{label}: the {top} classes that pay most"
        elif top is not None and kind != "oracle" and len(order) > 2 * top:
            order, gap_after = np.r_[order[:top], order[-top:]], top
            label = f"{label}: the {top} classes that gain most and the {top} that pay most"
        display = cls(
            summary.index.to_numpy()[order],
            values[order],
            None if low is None else summary[low].to_numpy()[order],
            None if high is None else summary[high].to_numpy()[order],
            label,
            study.metric,
            n_classes=len(summary),
            gap_after=gap_after,
        )
        return display.plot(ax=ax, **plot_kwargs)

    def plot(self, ax=None, *, max_labels=60, color="tab:orange"):
        """Draw the bars (with interval whiskers when known).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            A new figure when None.
        max_labels : int, default=60
            Class labels are written when there are at most this many bars.
        color : str, default="tab:orange"

        Returns
        -------
        self
        """
        plt = import_pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(max(6, min(14, 0.15 * len(self.classes))), 3.5))
        positions = np.arange(len(self.classes), dtype=float)
        if self.gap_after is not None:
            positions[self.gap_after :] += 1.0  # an empty slot between the two groups
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
        shown = len(self.classes)
        ax.set_xlabel(
            f"class ({shown} of {self.n_classes}, sorted)"
            if shown < self.n_classes
            else f"class ({shown}, sorted)"
        )
        ax.set_ylabel(self.metric)
        ax.set_title(self.label, fontsize=9)
        self.ax_, self.figure_ = ax, ax.figure
        return self
