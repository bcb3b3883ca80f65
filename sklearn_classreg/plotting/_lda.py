"""AmbiguousClassLDADisplay: the ambiguous classes in their discriminant plane."""

import numpy as np

from ._base import import_pyplot

__all__ = ["AmbiguousClassLDADisplay"]


class AmbiguousClassLDADisplay:
    """Scatter of the samples of the ambiguous classes on two LDA axes.

    Parameters
    ----------
    projection : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
    classes : ndarray
        The classes shown.
    title : str

    Attributes
    ----------
    ax_, figure_ : matplotlib objects, after `plot`.
    """

    def __init__(self, projection, y, classes, title="Ambiguous classes, LDA projection"):
        self.projection = projection
        self.y = y
        self.classes = classes
        self.title = title

    @classmethod
    def from_estimator(cls, lda, X, y, *, components=(0, 1), ax=None, title=None, **plot_kwargs):
        """Project (X, y) with a fitted AmbiguousClassLDA and plot its classes.

        Parameters
        ----------
        lda : AmbiguousClassLDA
            Fitted.
        X : array-like of shape (n_samples, n_features)
            The samples to show (only those of the ambiguous classes are).
        y : array-like of shape (n_samples,)
            Their labels.
        components : pair of int, default=(0, 1)
            The discriminant axes (one axis when the LDA has only one).
        ax : matplotlib Axes, default=None
        title : str, default=None
        **plot_kwargs
            Passed to `plot`.

        Returns
        -------
        AmbiguousClassLDADisplay
        """
        y = np.asarray(y)
        mask = np.isin(y, lda.ambiguous_classes_)
        projected = lda.transform(np.asarray(X)[mask])
        if projected.shape[1] == 1:
            projected = np.column_stack([projected[:, 0], np.zeros(len(projected))])
            components = (0, 1)
        display = cls(
            projected[:, list(components)],
            y[mask],
            lda.ambiguous_classes_,
            title or "Ambiguous classes, LDA projection",
        )
        return display.plot(ax=ax, **plot_kwargs)

    def plot(self, ax=None, *, alpha=0.6):
        """Draw one colour per class, with each class mean marked.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            A new figure when None.
        alpha : float, default=0.6
            Opacity of the points.

        Returns
        -------
        self
        """
        plt = import_pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4.5))
        for label in self.classes:
            points = self.projection[self.y == label]
            scatter = ax.scatter(points[:, 0], points[:, 1], s=12, alpha=alpha, label=str(label))
            mean = points.mean(axis=0)
            ax.scatter(
                *mean, s=120, marker="X", color=scatter.get_facecolor()[0], edgecolor="black"
            )
        ax.set_xlabel("discriminant 1")
        ax.set_ylabel("discriminant 2")
        ax.set_title(self.title)
        ax.legend(fontsize=7, markerscale=1.5)
        self.ax_, self.figure_ = ax, ax.figure
        return self
