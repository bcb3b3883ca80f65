"""Warm-started fits along a grid of C: `regularization_path`."""

import warnings
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from .._objective._penalty import check_C
from ._engine import C_per_output, C_used, Engine, ignore_binary_C_warning, validate_problem
from ._logistic import ClassWiseRegularizedLogisticRegression, dense_coef

__all__ = ["RegularizationPath", "regularization_path"]


@dataclass
class RegularizationPath:
    """Solutions of `regularization_path`, one per point of the C grid.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
    Cs : ndarray of shape (n_points, n_classes)
        The per-class C used at each point, in the order the grid was given
        (for two classes, (C_0 + C_1) / 2 twice, as ``C_`` of the estimator).
    coefs : ndarray of shape (n_points, n_outputs, n_features)
        ``coef_`` at each point (n_outputs is 1 for two classes).
    intercepts : ndarray of shape (n_points, n_outputs)
    n_iter : ndarray of shape (n_points,)
        Solver iterations spent on each point.
    objective : ndarray of shape (n_points,)
        Objective value at each solution, divided by the total sample weight.
    gaps : ndarray of shape (n_points,)
        Relative duality gap of each solution: a certified bound on
        (objective - min) / objective at that point's own C (``inf`` where a
        class is unpenalized). At most `tol` where `converged`.
    converged : ndarray of shape (n_points,), dtype=bool
    estimator_params : dict
        The parameters the estimators along the path share.
    """

    classes: np.ndarray
    Cs: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    n_iter: np.ndarray
    objective: np.ndarray
    gaps: np.ndarray
    converged: np.ndarray
    estimator_params: dict = field(default_factory=dict)
    _fitted_attributes: dict = field(default_factory=dict, repr=False)

    def __len__(self):
        return len(self.Cs)

    def estimator(self, index):
        """The fitted `ClassWiseRegularizedLogisticRegression` at one point.

        Parameters
        ----------
        index : int
            Position in the grid.

        Returns
        -------
        ClassWiseRegularizedLogisticRegression
            Fitted (``coef_``, ``intercept_``, ``classes_``...), as if fitted
            with ``C=Cs[index]``; it predicts without refitting.
        """
        C = self.Cs[index]
        model = ClassWiseRegularizedLogisticRegression(C=C.copy(), **self.estimator_params)
        model.classes_ = self.classes
        model.C_ = C.copy()
        model.coef_ = self.coefs[index].copy()
        model.intercept_ = self.intercepts[index].copy()
        model.n_iter_ = np.array([self.n_iter[index]], dtype=np.int32)
        model.gap_ = float(self.gaps[index])
        for name, value in self._fitted_attributes.items():
            setattr(model, name, value)
        return model


def _per_class_grid(Cs, classes):
    """The grid as an array (n_points, n_classes) of validated per-class C."""
    if isinstance(Cs, Real) or isinstance(Cs, dict):
        Cs = [Cs]
    points = list(Cs) if not isinstance(Cs, np.ndarray) or Cs.ndim > 0 else [Cs.item()]
    if not points:
        raise ValueError("Cs is empty: give at least one C (a float, a per-class array or dict).")
    return np.array([check_C(point, classes, name=f"Cs[{i}]") for i, point in enumerate(points)])


def _check_start(start, problem, template):
    """(mean log C, coef, intercept) of a fitted `start` that fits this problem."""
    if not isinstance(start, ClassWiseRegularizedLogisticRegression):
        raise TypeError(
            "start must be a fitted ClassWiseRegularizedLogisticRegression (e.g. "
            f"path.estimator(i)); got {type(start).__name__}."
        )
    if not hasattr(start, "coef_"):
        raise ValueError("start is not fitted: fit it first, or leave start=None.")
    if not np.array_equal(start.classes_, problem.classes):
        raise ValueError(
            f"start was fitted on the classes {start.classes_.tolist()[:10]}, not on this "
            f"data's {problem.classes.tolist()[:10]}: it cannot start this path."
        )
    if start.coef_.shape[1] != template.n_features_in_:
        raise ValueError(
            f"start has {start.coef_.shape[1]} features; X has {template.n_features_in_}."
        )
    return float(np.log(start.C_).mean()), dense_coef(start), start.intercept_


def regularization_path(X, y, Cs, *, sample_weight=None, start=None, **estimator_params):
    """Fit ClassWiseRegularizedLogisticRegression along a grid of C, warm-started.

    The data are validated once and one objective is built; each point of the
    grid starts from the solution of the previous one, visited from the
    strongest regularization (smallest C) to the weakest, where warm starts
    help most. Results come back in the order of `Cs`.

    A warm start only chooses where a point's solver begins (the previous
    solution, or the line through the last two extended to this C when its
    loss is lower): every point iterates until its own duality gap, at its
    own C, is at most `tol` (see ``gaps``), so no point inherits its
    neighbour's answer.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    Cs : array-like of shape (n_points,) or (n_points, n_classes), or list of dicts
        Either one scalar C per point (the same for all classes), or one
        per-class specification per point (an array in ``classes_`` order or a
        dict {label: C}).
    sample_weight : array-like of shape (n_samples,), default=None
    start : ClassWiseRegularizedLogisticRegression, default=None
        A fitted model (on the same classes and features, e.g.
        ``path.estimator(i)`` of an earlier path on this data) to start from,
        instead of zero at the smallest C. The points on either side of its
        ``C_`` (by mean log C) are then visited outward from it: those above
        in increasing C, those below in decreasing C, each side starting at
        its solution. Only where the solvers begin changes: every point is
        still certified at its own C.
    **estimator_params
        Any other parameter of `ClassWiseRegularizedLogisticRegression`
        (``tol``, ``max_iter``, ``solver``, ``label_smoothing``...).
        ``verbose=1`` shows a progress bar; ``verbose=2`` also the solver's
        iterations.

    Returns
    -------
    RegularizationPath
        Coefficients, intercepts, iterations and objective value per point.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_classreg import regularization_path
    >>> X, y = load_iris(return_X_y=True)
    >>> path = regularization_path(X, y, Cs=np.logspace(-2, 2, 5), max_iter=1000)
    >>> path.coefs.shape
    (5, 3, 4)
    >>> norms = np.linalg.norm(path.coefs, axis=(1, 2))
    >>> bool(np.all(np.diff(norms) > 0))
    True
    >>> bool(path.gaps.max() <= 1e-4)  # every point certified at the default tol
    True
    >>> path.estimator(4).score(X, y) > 0.97
    True
    """
    if "C" in estimator_params:
        raise TypeError("regularization_path takes the grid as Cs, not C.")
    template = ClassWiseRegularizedLogisticRegression(**estimator_params)
    template._validate_params()
    verbose = template.verbose
    problem = validate_problem(template, X, y, sample_weight)
    classes = problem.classes
    grid = _per_class_grid(Cs, classes)
    if len(classes) == 2 and np.any(grid[:, 0] != grid[:, 1]):
        C_per_output(grid[np.flatnonzero(grid[:, 0] != grid[:, 1])[0]], classes)  # warn once
    origin = None if start is None else _check_start(start, problem, template)

    n_points = len(grid)
    coefs = intercepts = None
    n_iter = np.zeros(n_points, dtype=np.int32)
    values = np.zeros(n_points)
    gaps = np.full(n_points, np.inf)
    converged = np.zeros(n_points, dtype=bool)
    used = np.array([C_used(C, classes) for C in grid])
    engine = Engine.of(template, verbose=max(0, verbose - 1))
    with warnings.catch_warnings():
        ignore_binary_C_warning()  # given once above
        points = engine.path(problem, grid, start=origin)
        for index, result, coef, intercept in tqdm(
            points, total=n_points, disable=verbose < 1, desc="regularization path"
        ):
            if coefs is None:
                coefs = np.empty((n_points, *coef.shape), coef.dtype)
                intercepts = np.zeros((n_points, coef.shape[0]), coef.dtype)
            coefs[index] = coef
            if intercept is not None:
                intercepts[index] = intercept
            n_iter[index], values[index], gaps[index] = result.nit, result.fun, result.gap
            converged[index] = result.success
    if not converged.all():
        missed = ", ".join(
            f"{i} (C={grid[i].mean():.3g}, relative gap {gaps[i]:.2g})"
            for i in np.flatnonzero(~converged)[:10]
        )
        warnings.warn(
            f"{template.solver} failed to converge at {np.sum(~converged)} of "
            f"{n_points} points of the path (tol={template.tol:g}): {missed}. "
            "Increase the number of iterations (max_iter) or loosen tol.",
            ConvergenceWarning,
        )
    params = {k: v for k, v in template.get_params().items() if k != "C"}
    fitted = {"n_features_in_": template.n_features_in_}
    if hasattr(template, "feature_names_in_"):
        fitted["feature_names_in_"] = template.feature_names_in_
    return RegularizationPath(
        classes=classes,
        Cs=used,
        coefs=coefs,
        intercepts=intercepts,
        n_iter=n_iter,
        objective=values,
        gaps=gaps,
        converged=converged,
        estimator_params=params,
        _fitted_attributes=fitted,
    )
