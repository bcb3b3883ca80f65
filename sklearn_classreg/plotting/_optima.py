"""OptimumHistogramDisplay: how far apart the classes' best strengths lie."""

import numpy as np

from .._utils._params import parameter_label
from ._base import fit_study, import_pyplot, log10_or_raw, study_of

__all__ = ["OptimumHistogramDisplay"]


class OptimumHistogramDisplay:
    """Histogram of the per-class optimal values (log10 when positive).

    Parameters
    ----------
    optima : ndarray of shape (n_classes,)
        The per-class optimum, in log10 when `log_scale`.
    global_optimum : float
        The best global value, in the same scale.
    grid : ndarray
        The swept values, in the same scale (bin edges follow them).
    param_name : str
    log_scale : bool

    Attributes
    ----------
    ax_, figure_ : matplotlib objects, after `plot`.
    """

    def __init__(self, optima, global_optimum, grid, param_name, log_scale):
        self.optima = optima
        self.global_optimum = global_optimum
        self.grid = grid
        self.param_name = param_name
        self.log_scale = log_scale

    @classmethod
    def from_results(cls, study, *, ax=None, **plot_kwargs):
        """Build and plot from a fitted ClassWiseStudy.

        Parameters
        ----------
        study : ClassWiseStudy
            Fitted.
        ax : matplotlib Axes, default=None
        **plot_kwargs
            Passed to `plot`.

        Returns
        -------
        OptimumHistogramDisplay
        """
        study = study_of(study)
        grid, log_scale = log10_or_raw(study.param_values_)
        optima = grid[np.asarray(study.best_per_class_index_)]
        display = cls(
            optima,
            grid[study.best_global_index_],
            grid,
            parameter_label(study.param_name),
            log_scale,
        )
        return display.plot(ax=ax, **plot_kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        param_name="C",
        param_range=None,
        cv=5,
        metric="recall",
        ax=None,
        study_kwargs=None,
        **plot_kwargs,
    ):
        """Run a ClassWiseStudy of `estimator` on (X, y), then plot.

        Parameters
        ----------
        estimator : estimator
            A classifier with `param_name` (this library's estimator, or a
            Pipeline ending in one, takes the warm-started path).
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        param_name : str, default="C"
            The swept parameter.
        param_range : array-like, default=None
            Its values; by default 20 values of C from 1e-4 to 1e4.
        cv : int or cross-validation generator, default=5
        metric : str, default="recall"
            The per-class metric ("recall", "deviance" or "one_vs_all_accuracy").
        ax : matplotlib Axes, default=None
        study_kwargs : dict, default=None
            Further parameters of `ClassWiseStudy`.
        **plot_kwargs
            Passed to `plot`.

        Returns
        -------
        OptimumHistogramDisplay
        """
        study = fit_study(
            estimator,
            X,
            y,
            param_name=param_name,
            param_range=param_range,
            cv=cv,
            metric=metric,
            study_kwargs=study_kwargs,
        )
        return cls.from_results(study, ax=ax, **plot_kwargs)

    def plot(self, ax=None, *, color="tab:blue"):
        """Draw the histogram; one bin per value of the grid.

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
            _, ax = plt.subplots(figsize=(6, 3.5))
        grid = np.sort(self.grid)
        steps = np.diff(grid) if len(grid) > 1 else np.array([1.0])
        edges = np.concatenate(
            [[grid[0] - steps[0] / 2], grid[:-1] + steps / 2, [grid[-1] + steps[-1] / 2]]
        )
        ax.hist(self.optima, bins=edges, color=color, edgecolor="white")
        ax.axvline(self.global_optimum, color="black", linestyle="--", label="global optimum")
        quartiles = np.percentile(self.optima, [25, 75])
        ax.axvspan(
            *quartiles,
            color="grey",
            alpha=0.2,
            label=f"interquartile range ({quartiles[1] - quartiles[0]:.2g})",
        )
        scale = "log10 " if self.log_scale else ""
        ax.set_xlabel(f"{scale}{self.param_name} of each class's optimum")
        ax.set_ylabel("classes")
        ax.set_title("Per-class optimal strength")
        ax.legend(fontsize=8)
        self.ax_, self.figure_ = ax, ax.figure
        return self
