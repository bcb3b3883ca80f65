"""The study's verdict in figures: the spread against chance, realised gain against oracle."""

import numpy as np

from .._utils._params import parameter_label
from ._base import import_pyplot, study_of

__all__ = ["ChanceLevelDisplay", "RealisedGainDisplay"]


class ChanceLevelDisplay:
    """The observed spread of optima and oracle gap on their null distributions.

    Two histograms: the IQR of the log10 per-class optima, and the oracle gap,
    each over the replicates of one shared optimum (see `ClassWiseStudy`,
    ``chance=True``), with the observed value and its p-value.

    Parameters
    ----------
    spread, spread_null : float, ndarray
    oracle_gap, oracle_gap_null : float, ndarray
    spread_p_value, oracle_gap_p_value : float
    param_name, metric : str
    spread_scale : {"log10", "linear", ""}, default="log10"
        The scale of the spread of optima (the study's ``spread_scale``).

    Attributes
    ----------
    axes_, figure_ : matplotlib objects, after `plot`.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_classreg.model_selection import ClassWiseStudy
    >>> from sklearn_classreg.plotting import ChanceLevelDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> study = ClassWiseStudy(param_range=[0.01, 0.1, 1.0], cv=2, n_bootstrap=50,
    ...                        coupled_oracle=False, random_state=0).fit(X / 16, y)
    >>> display = ChanceLevelDisplay.from_results(study)
    >>> len(display.axes_)
    2
    """

    def __init__(
        self,
        spread,
        spread_null,
        oracle_gap,
        oracle_gap_null,
        spread_p_value,
        oracle_gap_p_value,
        param_name,
        metric,
        spread_scale="log10",
    ):
        self.spread = spread
        self.spread_null = spread_null
        self.oracle_gap = oracle_gap
        self.oracle_gap_null = oracle_gap_null
        self.spread_p_value = spread_p_value
        self.oracle_gap_p_value = oracle_gap_p_value
        self.param_name = param_name
        self.metric = metric
        self.spread_scale = spread_scale

    @classmethod
    def from_results(cls, study, **plot_kwargs):
        """Build and plot from a ClassWiseStudy fitted with ``chance=True``.

        Parameters
        ----------
        study : ClassWiseStudy
            Fitted with ``chance=True``.
        **plot_kwargs
            Passed to `plot`.

        Returns
        -------
        ChanceLevelDisplay
        """
        study = study_of(study)
        chance = getattr(study, "chance_", None)
        if chance is None:
            raise ValueError("The study has no chance level: fit it with chance=True.")
        display = cls(
            chance.spread,
            chance.spread_null,
            chance.oracle_gap,
            chance.oracle_gap_null,
            chance.spread_p_value,
            chance.oracle_gap_p_value,
            parameter_label(study.param_name),
            study.metric,
            study.totals_.get("spread_scale", "log10"),
        )
        return display.plot(**plot_kwargs)

    def plot(self, axes=None, *, color="tab:grey"):
        """Draw both histograms, the observed values as red lines.

        Parameters
        ----------
        axes : pair of matplotlib Axes, default=None
            A new figure when None.
        color : str, default="tab:grey"
            Of the null histograms.

        Returns
        -------
        self
        """
        plt = import_pyplot()
        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(10, 3.2))
        panels = (
            (
                self.spread_null,
                self.spread,
                self.spread_p_value,
                f"IQR of {'log10 ' if self.spread_scale == 'log10' else ''}per-class "
                f"optimal {self.param_name}",
            ),
            (
                self.oracle_gap_null,
                self.oracle_gap,
                self.oracle_gap_p_value,
                f"oracle gap ({self.metric})",
            ),
        )
        for ax, (null, observed, p_value, label) in zip(axes, panels, strict=True):
            null = np.asarray(null, dtype=float)
            null = null[np.isfinite(null)]
            if len(null):
                ax.hist(null, bins=30, color=color, alpha=0.8, label="one shared optimum")
            if np.isfinite(observed):
                ax.axvline(observed, color="tab:red", linewidth=2, label="observed")
            ax.set_xlabel(label)
            ax.set_ylabel("replicates")
            ax.set_title(f"p = {p_value:.3g}", fontsize=10)
            if len(null) or np.isfinite(observed):
                ax.legend(fontsize=8)
            else:
                ax.text(0.5, 0.5, "not defined here", ha="center", transform=ax.transAxes)
        self.axes_, self.figure_ = list(axes), axes[0].figure
        return self


class RealisedGainDisplay:
    """Per class: the gain realised on held-out data against the oracle loss.

    Each point is a class: its uncoupled oracle loss (what the global choice
    costs it, cross-validated) on the x axis, and the gain of a refitted
    per-class model on test data on the y axis. Points near the diagonal are
    classes whose oracle loss was realised; below zero, classes the
    per-class model hurt.

    Parameters
    ----------
    oracle_loss, realised_gain : ndarray of shape (n_classes,)
    choice : str
        Which refitted model ("per_class", "hypergradient", "naive").
    metric : str

    Attributes
    ----------
    ax_, figure_ : matplotlib objects, after `plot`.
    """

    def __init__(self, oracle_loss, realised_gain, choice, metric):
        self.oracle_loss = oracle_loss
        self.realised_gain = realised_gain
        self.choice = choice
        self.metric = metric

    @classmethod
    def from_results(cls, study, *, choice=None, ax=None, **plot_kwargs):
        """Build and plot from a ClassWiseStudy fitted with test data.

        Parameters
        ----------
        study : ClassWiseStudy
        choice : {"per_class", "hypergradient", "naive"}, default=None
            By default the first computed of "hypergradient", "per_class",
            "naive".
        ax : matplotlib Axes, default=None
        **plot_kwargs
            Passed to `plot`.

        Returns
        -------
        RealisedGainDisplay
        """
        study = study_of(study)
        summary = study.summary_
        computed = [
            name
            for name in ("hypergradient", "per_class", "naive")
            if f"realised_gain_{name}" in summary
        ]
        if not computed:
            raise ValueError("The study has no realised gain: fit it with X_test and y_test.")
        choice = computed[0] if choice is None else choice
        if choice not in computed:
            raise ValueError(f"choice={choice!r} was not computed; the study has {computed}.")
        display = cls(
            summary["oracle_loss"].to_numpy(dtype=float),
            summary[f"realised_gain_{choice}"].to_numpy(dtype=float),
            choice,
            study.metric,
        )
        return display.plot(ax=ax, **plot_kwargs)

    def plot(self, ax=None, *, color="tab:blue"):
        """Draw the points, the zero line and the diagonal.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            A new figure when None.
        color : str, default="tab:blue"

        Returns
        -------
        self
        """
        plt = import_pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(4.8, 4.2))
        ax.scatter(self.oracle_loss, self.realised_gain, s=14, color=color, alpha=0.7)
        finite = np.concatenate([self.oracle_loss, self.realised_gain])
        finite = finite[np.isfinite(finite)]
        if len(finite):
            low, high = min(finite.min(), 0.0), max(finite.max(), 0.0)
            ax.plot([low, high], [low, high], color="grey", linewidth=0.8, linestyle="--")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"oracle loss under the global choice ({self.metric}, CV)")
        ax.set_ylabel(f"realised gain on test data ({self.metric})")
        ax.set_title(f"refitted: {self.choice}", fontsize=10)
        self.ax_, self.figure_ = ax, ax.figure
        return self
