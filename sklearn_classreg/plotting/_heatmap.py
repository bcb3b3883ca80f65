"""ClassWiseHeatmapDisplay: classes x strength, relative to the global choice."""

import numpy as np

from .._utils._params import parameter_label
from ..metrics._names import CLASS_METRICS
from ._base import fit_study, import_pyplot, study_of, tick_labels

__all__ = ["ClassWiseHeatmapDisplay"]


class ClassWiseHeatmapDisplay:
    """Heat map of a per-class metric along the swept parameter, relative to the global choice.

    Each cell is the class's metric at that value minus its metric at the best
    global value, in the metric's own units and signed so that positive
    (blue) is better for the class and negative (red) worse; the global
    choice's column is therefore 0. A one-sample difference stays a small
    colour step (a per-class min-max scaling would fill the whole range with
    it). Each class's optimum is marked with a dot and the best global value
    with a dashed line; row labels carry the class's support. Rows are sorted
    by the class's optimum, so the spread of optima reads as a diagonal; with
    many classes rows are thin and unlabelled.

    Create it with `from_results` (a fitted ClassWiseStudy) or
    `from_estimator` (runs the study), as scikit-learn's Display objects.

    Parameters
    ----------
    values : ndarray of shape (n_classes, n_values)
        Signed metric relative to the global choice (positive: better for the
        class), rows in display order.
    classes : ndarray of shape (n_classes,)
        Class labels in display order.
    param_values : list
    best_index : ndarray of shape (n_classes,)
        Column of each class's optimum.
    global_index : int
        Column of the best global value.
    metric : str
    param_name : str
    support : ndarray of shape (n_classes,), default=None
        Samples of each class (in display order), shown with its label.

    Attributes
    ----------
    ax_, figure_, image_ : matplotlib objects, after `plot`.
    """

    def __init__(
        self,
        values,
        classes,
        param_values,
        best_index,
        global_index,
        metric,
        param_name,
        support=None,
    ):
        self.values = values
        self.support = support
        self.classes = classes
        self.param_values = param_values
        self.best_index = best_index
        self.global_index = global_index
        self.metric = metric
        self.param_name = param_name

    @classmethod
    def from_results(cls, study, *, metric=None, ax=None, **plot_kwargs):
        """Build and plot from a fitted ClassWiseStudy.

        Parameters
        ----------
        study : ClassWiseStudy
            Fitted.
        metric : str, default=None
            Per-class metric of the curve to show; by default the study's.
        ax : matplotlib Axes, default=None
        **plot_kwargs
            Passed to `plot`.

        Returns
        -------
        ClassWiseHeatmapDisplay
        """
        study = study_of(study)
        metric = metric or study.metric
        if metric not in CLASS_METRICS:
            raise ValueError(f"metric must be one of {list(CLASS_METRICS)}; got {metric!r}.")
        curve = study.curve_
        table = (
            curve[curve.metric == metric]
            .groupby(["class", "value_index"])["value"]
            .mean()
            .unstack("value_index")
            .reindex(index=list(study.classes_), columns=range(len(study.param_values_)))
            .to_numpy(dtype=float)
        )
        sign = CLASS_METRICS[metric]
        global_index = int(study.best_global_index_)
        relative = sign * (table - table[:, [global_index]])
        best = np.asarray(study.best_per_class_index_)
        order = np.lexsort((-np.nan_to_num(relative[np.arange(len(best)), best]), best))
        support = study.summary_["support"].reindex(list(study.classes_)).to_numpy()
        display = cls(
            relative[order],
            np.asarray(study.classes_)[order],
            list(study.param_values_),
            best[order],
            global_index,
            metric,
            parameter_label(study.param_name),
            support=support[order],
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
        ClassWiseHeatmapDisplay
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

    def plot(self, ax=None, *, cmap="RdBu", max_labels=60):
        """Draw the heat map.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            A new figure when None.
        cmap : str, default="RdBu"
            A diverging map: its middle is 0 (the class's value at the global
            choice), its ends +- the 99th percentile of the absolute values.
        max_labels : int, default=60
            Class labels are written when there are at most this many classes.

        Returns
        -------
        self
        """
        plt = import_pyplot()
        if ax is None:
            n_classes = len(self.classes)
            _, ax = plt.subplots(figsize=(7, min(12, 2 + 0.18 * min(n_classes, 60))))
        n_classes, n_values = self.values.shape
        finite = np.abs(self.values[np.isfinite(self.values)])
        limit = float(np.percentile(finite, 99)) if finite.size else 0.0
        limit = limit if limit > 0 else 1.0
        self.image_ = ax.imshow(
            self.values,
            aspect="auto",
            cmap=cmap,
            vmin=-limit,
            vmax=limit,
            interpolation="nearest",
        )
        rows = np.arange(n_classes)
        ax.scatter(
            self.best_index,
            rows,
            s=max(2, 200 / max(n_classes, 1)),
            c="black",
            marker="o",
            label="class optimum",
            zorder=3,
        )
        ax.axvline(
            self.global_index, color="black", linestyle="--", linewidth=1.2, label="global optimum"
        )
        step = max(1, n_values // 10)
        ax.set_xticks(np.arange(0, n_values, step))
        ax.set_xticklabels(tick_labels(self.param_values[::step]), rotation=45)
        if n_classes <= max_labels:
            ax.set_yticks(rows)
            labels = [str(c) for c in self.classes]
            if self.support is not None:
                labels = [f"{c} (n={int(n)})" for c, n in zip(labels, self.support, strict=True)]
            ax.set_yticklabels(labels, fontsize=7)
        else:
            ax.set_yticks([])
        ax.set_xlabel(self.param_name)
        ax.set_ylabel(f"class ({n_classes}, sorted by optimum)")
        support = ""
        if self.support is not None and len(self.support):
            support = f"; support {int(np.min(self.support))}-{int(np.max(self.support))}"
        ax.set_title(f"{self.metric} per class relative to the global choice{support}", fontsize=9)
        colorbar = ax.figure.colorbar(self.image_, ax=ax, fraction=0.04)
        colorbar.set_label(f"{self.metric} gained (+) or lost (-) vs the global choice")
        # below the rotated tick labels and the axis label: about 0.85 inch under the axes
        axes_height = ax.get_position().height * ax.figure.get_figheight()
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.85 / max(axes_height, 0.5)),
            ncol=2,
            fontsize=7,
            frameon=False,
        )
        self.ax_, self.figure_ = ax, ax.figure
        return self
