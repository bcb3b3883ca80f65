"""The engine every fit goes through: validate once, build the objective, solve a path.

`ClassWiseRegularizedLogisticRegression.fit` is a path of one point;
`regularization_path`, the cross-validation estimator and the hypergradient
call the same three steps (as scikit-learn's ``LogisticRegression`` and
``LogisticRegressionCV`` call one path function)::

    problem = validate_problem(estimator, X, y, sample_weight)   # once
    engine = Engine.of(estimator)                                # the solve settings
    for point in engine.path(problem, Cs):                       # certified, warm-started
        point.coef, point.intercept, point.result.gap

The backend (numba or torch) is chosen once, in `Engine.objective`; solvers
and everything above them only see the objective protocol.
"""

import warnings
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    _check_sample_weight,
    validate_data,
)

from .._objective._datafit import datafit_for
from .._objective._logistic import LogisticObjective
from .._objective._penalty import binary_C, check_label_smoothing
from .._solvers import SOLVERS, solve_certified
from .._utils._backend import import_torch, is_tensor, to_numpy_if_tensor
from .._utils._validation import check_label_types

__all__ = [
    "Engine",
    "PathPoint",
    "Problem",
    "C_per_output",
    "C_used",
    "ignore_binary_C_warning",
    "validate_problem",
]


# --------------------------------------------------------------------- the problem
@dataclass(frozen=True)
class Problem:
    """Validated training data, shared by every fit of a path.

    Attributes
    ----------
    X : {ndarray, CSR matrix, torch.Tensor} of shape (n_samples, n_features)
        float32 or float64, never copied after validation.
    classes : ndarray of shape (n_classes,)
    y_index : ndarray of shape (n_samples,)
        Each sample's class as an index into `classes`.
    sample_weight : ndarray of shape (n_samples,)
        Sample weights times class weights, in X's dtype.
    label_smoothing : ndarray of shape (n_classes,)
    """

    X: object
    classes: np.ndarray
    y_index: np.ndarray
    sample_weight: np.ndarray
    label_smoothing: np.ndarray


def validate_problem(estimator, X, y, sample_weight, *, classes=None):
    """Validate the data once, as `estimator` would in `fit`: a `Problem`.

    Sets ``n_features_in_`` (and ``feature_names_in_``) on `estimator`, as
    scikit-learn's ``validate_data`` does. Reads its ``backend``, ``device``,
    ``label_smoothing`` and ``class_weight``.

    Parameters
    ----------
    estimator : ClassWiseRegularizedLogisticRegression
    X, y, sample_weight
        As for ``fit``.
    classes : ndarray, default=None
        Held-out data: encode y with these (training) classes. y may then
        hold one class or lack some (a small validation fold), but no label
        outside `classes`.

    Returns
    -------
    Problem
    """
    if estimator.backend != "torch" and estimator.device not in (None, "cpu"):
        raise ValueError(
            f"device={estimator.device!r} needs backend='torch'; the numba backend runs on "
            "the CPU."
        )
    y = to_numpy_if_tensor(y)
    sample_weight = to_numpy_if_tensor(sample_weight)
    if estimator.backend == "torch" and is_tensor(X):
        X, y = _validate_tensor(estimator, X, y)  # stays on its device
    else:
        X = to_numpy_if_tensor(X)
        X, y = validate_data(estimator, X, y, accept_sparse="csr", dtype=[np.float64, np.float32])
        if not sparse.issparse(X) and not (X.flags.c_contiguous or X.flags.f_contiguous):
            X = np.ascontiguousarray(X)  # one copy, rather than one per product
    check_label_types(y)
    check_classification_targets(y)
    held_out = classes is not None
    classes, y_index = _encoded(y, classes)
    label_smoothing = check_label_smoothing(estimator.label_smoothing, classes)
    sample_weight = _total_sample_weight(
        estimator.class_weight, X, y, y_index, classes, sample_weight
    )
    weightless = np.bincount(y_index, weights=sample_weight, minlength=len(classes)) == 0
    if weightless.any() and not held_out:
        warnings.warn(
            f"The classes {classes[weightless].tolist()} have zero total sample weight "
            "(sample_weight times class_weight): nothing pulls their intercepts up, which "
            "have no finite optimum, and the model will not predict them.",
            UserWarning,
        )
    return Problem(X, classes, y_index, sample_weight, label_smoothing)


def _encoded(y, classes):
    """(classes, y as indices into them): y's own classes, or the given ones."""
    seen, y_index = np.unique(y, return_inverse=True)
    if classes is None:
        if len(seen) < 2:
            raise ValueError(
                f"y contains only one class ({seen.tolist()[0]!r}): a classifier "
                "needs samples of at least 2 classes."
            )
        return seen, y_index
    unknown = np.setdiff1d(seen, classes)
    if len(unknown):
        raise ValueError(
            f"The held-out labels {unknown.tolist()[:10]} are not among the training "
            "classes: a model cannot be scored on classes it was not fitted on."
        )
    return classes, np.searchsorted(classes, seen)[y_index]


def _validate_tensor(estimator, X, y):
    """Check a torch tensor X without moving it: shape, dtype, finite values."""
    import torch

    if X.ndim != 2:
        raise ValueError(f"Expected a 2D tensor X, got shape {tuple(X.shape)}.")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"X has shape {tuple(X.shape)}: it needs at least one sample and feature."
        )
    if X.is_sparse or X.is_sparse_csr:
        raise ValueError("Sparse torch tensors are not supported; pass a scipy CSR matrix.")
    if X.dtype not in (torch.float32, torch.float64):
        X = X.to(torch.float64)
    if not bool(torch.isfinite(X).all()):
        raise ValueError("Input X contains NaN or infinity.")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != X.shape[0]:
        raise ValueError(f"y has shape {y.shape} but X has {X.shape[0]} samples: they must match.")
    _check_n_features(estimator, X, reset=True)
    _check_feature_names(estimator, X, reset=True)
    return X, y


def _total_sample_weight(class_weight, X, y, y_index, classes, sample_weight):
    """sample_weight times class_weight, as a new array in X's dtype."""
    sample_weight = _check_sample_weight(
        sample_weight,
        X,
        dtype=X.dtype,
        ensure_non_negative=True,
        copy=True,
        allow_all_zero_weights=True,  # our check below also covers class_weight
    )
    if class_weight is not None:
        weights = compute_class_weight(
            class_weight, classes=classes, y=y, sample_weight=sample_weight
        )
        sample_weight *= weights[y_index].astype(X.dtype)
    if not np.sum(sample_weight, dtype=np.float64) > 0:
        raise ValueError(
            "sample_weight (times class_weight) sums to zero: at least one sample "
            "needs a positive weight."
        )
    return sample_weight


# ----------------------------------------------------------------- C of the outputs
_BINARY_C_MESSAGE = "C has different values for the two classes"


def C_per_output(C, classes):
    """Per-class C -> the C of each output row of the model.

    Three or more classes: one row per class. Two classes: scikit-learn's one
    vector, with C = (C_0 + C_1) / 2 (see `binary_C`), and a warning when the
    two differ, since they have no class-specific effect.
    """
    if len(classes) == 2 and C[0] != C[1]:
        warnings.warn(
            f"{_BINARY_C_MESSAGE} {classes.tolist()}: "
            "with two classes, per-class penalties act only through their sum, "
            "so they have no class-specific effect. Fitting one weight vector "
            f"with C = (C_0 + C_1) / 2 = {binary_C(C):g}.",
            UserWarning,
        )
    return _outputs_C(C, classes)


def _outputs_C(C, classes):
    """`C_per_output` without its warning (given once by whoever builds the objective)."""
    return C if len(classes) > 2 else np.array([binary_C(C)])


def ignore_binary_C_warning():
    """Silence `C_per_output`'s two-class warning (and only it) in a
    ``warnings.catch_warnings()`` block, where a caller gives it once itself."""
    warnings.filterwarnings("ignore", message=_BINARY_C_MESSAGE, category=UserWarning)


def C_used(C, classes):
    """Per-class C actually used: C itself, or (C_0 + C_1) / 2 twice for two classes."""
    return np.full(2, binary_C(C)) if len(classes) == 2 else np.array(C, dtype=np.float64)


# ----------------------------------------------------------------------- the engine
class PathPoint(NamedTuple):
    """One solved point of `Engine.path`.

    Attributes
    ----------
    index : int
        The point's row in the grid.
    result : OptimizeResult
        The certified solve (``nit``, ``fun``, ``gap``, ``success``...).
    coef : ndarray of shape (n_outputs, n_features)
        The solution as NumPy, in X's dtype, intercepts centred as
        scikit-learn reports them (`canonical`).
    intercept : ndarray of shape (n_outputs,) or None
        None without intercept.
    """

    index: int
    result: object
    coef: np.ndarray
    intercept: np.ndarray


@dataclass(frozen=True)
class Engine:
    """The settings of a solve, and the three steps every fit takes.

    The estimator's parameters other than C and the data-side ones
    (``class_weight``, ``label_smoothing``, read by `validate_problem`).
    """

    fit_intercept: bool = True
    logit_penalty: float = 0.0
    solver: str = "lbfgs"
    tol: float = 1e-4
    max_iter: int = 1000
    verbose: int = 0
    backend: str = "numba"
    device: object = None
    batch_size: int = None

    @classmethod
    def of(cls, estimator, **changes):
        """The engine of `estimator`'s parameters (with `changes`)."""
        params = estimator.get_params()
        settings = {f.name: params[f.name] for f in fields(cls) if f.name in params}
        return cls(**{**settings, **changes})

    def objective(self, problem, C):
        """The objective of `problem` with per-class inverse strengths `C`.

        The one place the backend is chosen: numba kernels on NumPy arrays,
        or torch tensors on ``device``.
        """
        arguments = dict(
            datafit=datafit_for(len(problem.classes)),
            C=C_per_output(C, problem.classes),
            label_smoothing=problem.label_smoothing,
            logit_penalty=self.logit_penalty,
            fit_intercept=self.fit_intercept,
            # Newton-CG's conjugate gradients need the whole eigenbasis (`basis_rank`)
            whole_basis=self.solver == "newton-cg",
        )
        data = (problem.X, problem.y_index, problem.sample_weight)
        if self.backend == "torch":
            import_torch()  # an ImportError that says how to install it
            from .._objective._torch import TorchLogisticObjective

            return TorchLogisticObjective(
                *data, device=self.device, chunk_rows=self.batch_size, **arguments
            )
        return LogisticObjective(*data, chunk_rows=self.batch_size, **arguments)

    def solve(self, objective, x0):
        """Minimise `objective` from `x0` until its gap is certified (`solve_certified`)."""
        solver = SOLVERS[self.solver](tol=self.tol, max_iter=self.max_iter, verbose=self.verbose)
        return solve_certified(solver, objective, x0)

    @staticmethod
    def solution(objective, x):
        """(coef, intercept) of a parameter vector, as NumPy, as scikit-learn reports them."""
        return objective.unpack(objective.to_numpy(objective.canonical(x)))

    def path(self, problem, grid, *, start=None):
        """Solve `problem` at each row of `grid`, warm-started: yields `PathPoint`.

        A warm start only chooses where a point's solver begins (the previous
        solution, or the line through the last two extended to this C when
        its loss is lower); each point iterates until its own gap, at its own
        C, is at most ``tol``.

        Parameters
        ----------
        problem : Problem
        grid : ndarray of shape (n_points, n_classes)
            Validated per-class C (see `check_C`); two-class rows are
            combined by `C_per_output` (building the objective warns when
            its point's two values differ; the other points do not warn).
        start : tuple (log C, coef, intercept), default=None
            A solution to leave from instead of zero: the points on either
            side of its log C are visited outward from it (see `_branches`).
            A coef of another shape (other classes or features) is ignored.

        Yields
        ------
        PathPoint
            In the order visited, not the order of `grid`.
        """
        log_C = _mean_log_C(grid)
        order = _branches(log_C, None if start is None else start[0])
        objective = self.objective(problem, grid[order[0][0]])
        origin = None
        if start is not None and start[1].shape == (objective.n_outputs, objective.n_features):
            origin = (start[0], objective.pack(*start[1:]))
        for branch in order:
            # (log C, solution) of the last two points; each branch leaves from the origin
            solved, last_loss = ([] if origin is None else [origin]), None
            for index in branch:
                C = _outputs_C(grid[index], problem.classes)
                x0 = _next_start(objective, solved, last_loss, C, log_C[index])
                result = self.solve(objective, x0)
                last_loss = result.fun
                solved = [*solved[-1:], (log_C[index], result.x)]
                yield PathPoint(index, result, *self.solution(objective, result.x))

    def warn_if_not_converged(self, result, where=""):
        """A ConvergenceWarning when `result` is not certified (or fell back to lbfgs)."""
        if result.fell_back and result.success:
            warnings.warn(
                f"{result.message}{where}. The result is converged; lbfgs may be the "
                "faster solver for this problem.",
                ConvergenceWarning,
            )
        elif not result.success:
            # scikit-learn's wording first: code that filters warnings by it works
            warnings.warn(
                f"{self.solver} failed to converge after {result.nit} iteration(s){where}: "
                f"{result.message}. Increase the number of iterations (max_iter), scale "
                "the features (e.g. StandardScaler), or loosen tol.",
                ConvergenceWarning,
            )


# ------------------------------------------------------------------ path machinery
def _mean_log_C(grid):
    """A point's place on the path: the mean log C of its classes."""
    with np.errstate(divide="ignore"):
        return np.log(grid).mean(axis=1)


def _branches(log_C, origin):
    """The order of the points: increasing C, or outward from an origin's log C.

    Without an origin, one branch from the smallest C up. With one, the
    points at or above it in increasing C, then those below in decreasing C.
    """
    if origin is None:
        return [np.argsort(log_C, kind="stable")]
    above = np.flatnonzero(log_C >= origin)
    below = np.flatnonzero(log_C < origin)
    above = above[np.argsort(log_C[above], kind="stable")]
    below = below[np.argsort(-log_C[below], kind="stable")]
    return [branch for branch in (above, below) if len(branch)]


def _extrapolated_start(objective, solved, log_C, loss_there):
    """Where the next point's solver starts: the last solution, or better.

    The line through the last two solutions, in log C, extended to the next
    point, when its loss is lower than the last solution's (`loss_there`, at
    the new C): one pass over X. At weak regularization the solutions move
    steadily with log C (their norms grow with it on near-separable data),
    and the extrapolated start is within about 1e-4 of the next optimum's
    loss. On one fold of the main job's Omniglot path (20 values of C from
    1e-4 to 1e2) it cut the iterations from 2,227 to 700.
    """
    last = solved[-1][1]
    if len(solved) < 2:
        return last
    (before, x_before), (now, x_now) = solved
    if not (np.isfinite(log_C) and np.isfinite(before) and now != before):
        return last
    guess = x_now + float((log_C - now) / (now - before)) * (x_now - x_before)
    return guess if objective.loss(guess) < loss_there else last


def _next_start(objective, solved, last_loss, C, log_C):
    """Set the objective's C to the next point's; return where its solver starts.

    Zero on an empty branch, the origin at its first point, then the last
    solution or the extrapolation through the last two (`_extrapolated_start`).
    """
    if not solved or last_loss is None:
        objective.set_C(C)
        return solved[-1][1] if solved else objective.zeros()
    last = solved[-1][1]
    # the last solution's loss at the new C, without a pass over X
    loss_there = last_loss + 0.5 * objective.ops.dot(last, objective.penalty_change(C)(last))
    objective.set_C(C)
    return _extrapolated_start(objective, solved, log_C, loss_there)
