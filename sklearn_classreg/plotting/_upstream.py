"""UpstreamViewDisplay: the most ambiguous classes' separability and projections per strength."""

import numpy as np

from ._base import import_pyplot

__all__ = ["UpstreamViewDisplay"]


class UpstreamViewDisplay:
    """Fisher separability and LDA projections of the ambiguous classes along the strength.

    Parameters
    ----------
    view : UpstreamView
        From `AugmentationStudy.upstream_view`.
    kind : {"separability", "projections"}, default="separability"
        "separability": each pair's Fisher criterion (log scale) and each
        class's cross-validated metric against the strength; "projections":
        one panel per strength, the views on the two discriminant axes.

    Attributes
    ----------
    axes_, figure_ : matplotlib objects, after `plot`.
    """

    def __init__(self, view, kind="separability"):
        if kind not in ("separability", "projections"):
            raise ValueError(f"kind must be 'separability' or 'projections'; got {kind!r}.")
        self.view = view
        self.kind = kind

    @classmethod
    def from_view(cls, view, *, kind="separability", **plot_kwargs):
        """Build and plot from an UpstreamView.

        Parameters
        ----------
        view : UpstreamView
            From `AugmentationStudy.upstream_view`.
        kind : {"separability", "projections"}, default="separability"
        **plot_kwargs
            Passed to `plot`.

        Returns
        -------
        UpstreamViewDisplay
        """
        return cls(view, kind).plot(**plot_kwargs)

    def plot(self, axes=None):
        """Draw the figure.

        Parameters
        ----------
        axes : array of matplotlib Axes, default=None
            Two for "separability", one per strength for "projections"; a
            new figure when None.

        Returns
        -------
        self
        """
        plt = import_pyplot()
        if self.kind == "separability":
            return self._separability(plt, axes)
        return self._projections(plt, axes)

    def _separability(self, plt, axes):
        view = self.view
        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        left, right = axes
        for (a, b), pair in view.separability.groupby(["class_a", "class_b"], sort=False):
            left.plot(pair.strength, pair.fisher, marker="o", label=f"{a} | {b}")
        left.set_yscale("log")
        left.set_xlabel("augmentation strength")
        left.set_ylabel("Fisher separability (pair)")
        left.set_title("Pairs of ambiguous classes")
        left.legend(fontsize=6)
        columns = [c for c in view.per_class.columns if c.startswith(f"{view.metric} at ")]
        for label, row in view.per_class.iterrows():
            right.plot(view.strengths, row[columns].to_numpy(float), marker="o", label=str(label))
        right.set_xlabel("augmentation strength")
        right.set_ylabel(f"cross-validated {view.metric}")
        right.set_title("The same classes in the probe")
        right.legend(fontsize=6)
        self.axes_, self.figure_ = list(axes), left.figure
        return self

    def _projections(self, plt, axes):
        view = self.view
        n = len(view.projections)
        if axes is None:
            _, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.3), squeeze=False)
            axes = axes[0]
        for ax, (strength, projected, labels) in zip(axes, view.projections, strict=True):
            for label in view.classes:
                points = projected[labels == label]
                scatter = ax.scatter(points[:, 0], points[:, 1], s=8, alpha=0.5, label=str(label))
                ax.scatter(
                    *points.mean(axis=0),
                    s=90,
                    marker="X",
                    color=scatter.get_facecolor()[0],
                    edgecolor="black",
                )
            ax.set_title(f"strength {strength:g}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0].set_xlabel("discriminant 1")
        axes[0].set_ylabel("discriminant 2")
        axes[-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        self.axes_, self.figure_ = list(np.ravel(axes)), axes[0].figure
        return self
