"""JointOptimaDisplay: where the classes' best (strength, C) pairs lie on a joint grid."""

import numpy as np

from ._base import import_pyplot, study_of, tick_labels

__all__ = ["JointOptimaDisplay"]


class JointOptimaDisplay:
    """How many classes have their best pair in each cell of a two-parameter grid.

    Parameters
    ----------
    counts : ndarray of shape (n_first, n_second)
        Classes whose optimum is each pair.
    first_values, second_values : sequence
        The grid of each parameter (rows, columns).
    global_cell : (int, int)
        The cell of the best global pair.
    names : (str, str)
        The parameters' names.

    Attributes
    ----------
    ax_, figure_ : matplotlib objects, after `plot`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_classreg.plotting import JointOptimaDisplay
    >>> display = JointOptimaDisplay(np.array([[3, 0], [1, 2]]), [0.0, 0.5], [0.1, 1.0],
    ...                              (0, 1), ("strength", "C")).plot()
    >>> display.ax_.get_xlabel()
    'C'
    """

    def __init__(self, counts, first_values, second_values, global_cell, names):
        self.counts = counts
        self.first_values = first_values
        self.second_values = second_values
        self.global_cell = global_cell
        self.names = names

    @classmethod
    def from_results(cls, study, *, ax=None, **plot_kwargs):
        """Build and plot from a fitted study whose swept values are pairs.

        Parameters
        ----------
        study : AugmentationStudy
            Fitted with `C_range` (the pairs (strength, C)).
        ax : matplotlib Axes, default=None
        **plot_kwargs
            Passed to `plot`.

        Returns
        -------
        JointOptimaDisplay
        """
        study = study_of(study)
        values = list(study.param_values_)
        if not values or not all(isinstance(v, tuple) and len(v) == 2 for v in values):
            raise ValueError("JointOptimaDisplay needs a study whose swept values are pairs.")
        first = sorted({v[0] for v in values})
        second = sorted({v[1] for v in values})
        cell = {v: (first.index(v[0]), second.index(v[1])) for v in values}
        counts = np.zeros((len(first), len(second)), dtype=int)
        for index in study.best_per_class_index_:
            counts[cell[values[index]]] += 1
        names = tuple(name.strip() for name in study.param_name.strip("()").split(",")) or (
            "first",
            "second",
        )
        display = cls(counts, first, second, cell[values[study.best_global_index_]], names)
        return display.plot(ax=ax, **plot_kwargs)

    def plot(self, ax=None, *, cmap="Blues"):
        """Draw the counts as a grid, the global best pair framed.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            A new figure when None.
        cmap : str, default="Blues"

        Returns
        -------
        self
        """
        plt = import_pyplot()
        if ax is None:
            _, ax = plt.subplots(
                figsize=(1.2 + 0.7 * len(self.second_values), 1.2 + 0.5 * len(self.first_values))
            )
        image = ax.imshow(self.counts, cmap=cmap, aspect="auto", origin="lower")
        for (row, column), count in np.ndenumerate(self.counts):
            dark = count > 0.6 * max(self.counts.max(), 1)
            ax.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                color="white" if dark else "black",
                fontsize=8,
            )
        row, column = self.global_cell
        ax.add_patch(
            plt.Rectangle(
                (column - 0.5, row - 0.5),
                1,
                1,
                fill=False,
                edgecolor="black",
                linewidth=2,
                label="best global pair",
            )
        )
        ax.set_xticks(range(len(self.second_values)), tick_labels(self.second_values))
        ax.set_yticks(range(len(self.first_values)), tick_labels(self.first_values))
        ax.set_xlabel(self.names[1] if len(self.names) > 1 else "")
        ax.set_ylabel(self.names[0])
        ax.set_title("Classes whose best pair is each cell")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        ax.figure.colorbar(image, ax=ax, label="classes", fraction=0.05)
        self.ax_, self.figure_ = ax, ax.figure
        return self
