"""ClassWiseRegularizedLogisticRegression: validate, wire objective and solver, store."""

from numbers import Integral, Real

import numpy as np
from scipy import sparse
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, _fit_context
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._objective._penalty import check_C
from .._solvers import SOLVERS
from .._utils._backend import to_numpy_if_tensor
from ._engine import C_used, Engine, validate_problem

__all__ = ["ClassWiseRegularizedLogisticRegression", "dense_coef"]


def dense_coef(estimator):
    """`estimator.coef_` as a dense array, also after `sparsify()`."""
    coef = estimator.coef_
    return coef.toarray() if sparse.issparse(coef) else coef


class ProbabilisticLinearClassifierMixin(SparseCoefMixin, LinearClassifierMixin):
    """Probabilities of a fitted softmax / sigmoid linear model (coef_, intercept_).

    Shared by the estimators of this module; also accepts torch tensors.
    ``sparsify()`` and ``densify()`` convert ``coef_`` as in scikit-learn's
    linear models (a warm start or a path started from the model reads it
    dense either way).
    """

    def decision_function(self, X):
        """Decision values (logits); one column per class, or one vector for two classes.

        Parameters
        ----------
        X : {array-like, sparse matrix, torch.Tensor} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        return super().decision_function(to_numpy_if_tensor(X))

    def predict_proba(self, X):
        """Probability of each class (softmax; sigmoid for two classes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in ``classes_`` order.
        """
        check_is_fitted(self)
        scores = self.decision_function(X)
        if scores.ndim == 1:
            positive = expit(scores)
            return np.column_stack([1.0 - positive, positive])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of `predict_proba`, computed without underflow.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores, axis=1)


class ClassWiseRegularizedLogisticRegression(ProbabilisticLinearClassifierMixin, BaseEstimator):
    r"""Multinomial logistic regression with one L2 strength per class.

    Minimises, over weights W (one row w_k per class) and intercepts b::

        sum_i s_i * CE(t_i, softmax(W x_i + b)) + sum_k ||w_k||^2 / (2 C_k)
            [ + logit_penalty / 2 * sum_i s_i * ||z_i - mean_k z_ik||^2 ]

    with s_i the sample weights (times `class_weight`), t_i the one-hot target
    (smoothed by `label_smoothing`) and z_i = W x_i + b. The intercepts are
    never penalized. With the same C for every class the model equals
    :class:`sklearn.linear_model.LogisticRegression` with that C.

    Read more in the :ref:`User Guide <objective>`.

    Parameters
    ----------
    C : float, array-like of shape (n_classes,) or dict, default=1.0
        Inverse L2 regularization strength, per class: a float for all
        classes, an array in ``classes_`` order, or a dict {class label: C}
        with every class of y (keys for labels that y lacks are ignored, as
        for `class_weight`: a fold without a rare class still fits).
        ``np.inf`` leaves a class unpenalized; on separable
        data its weights then grow until `max_iter` (with a
        ConvergenceWarning), but stay finite.

        Two classes: like scikit-learn, the model has one weight vector v (the
        decision function of the second class), and per-class penalties on
        w_0 and w_1 would act on v only through C_0 + C_1. The model is fitted
        with C = (C_0 + C_1) / 2, so equal C reproduces ``LogisticRegression``;
        different values have no class-specific effect and raise a warning.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalized) intercept per class.
    class_weight : dict or "balanced", default=None
        Weights multiplied into the sample weights, as in scikit-learn.
    label_smoothing : float, array-like of shape (n_classes,) or dict, default=0.0
        Smoothing e in [0, 1): the target of a sample of class y is
        (1 - e) * onehot(y) + e / n_classes. Per class (indexed by the true
        class) as for `C`.
    logit_penalty : float, default=0.0
        Strength beta >= 0 of the penalty beta/2 * s_i * ||z_i - mean_k z_ik||^2
        on each sample's centred logits (convex; blind to the common shift the
        softmax ignores).
    solver : {"lbfgs", "newton-cg"}, default="lbfgs"
        "lbfgs": limited-memory BFGS, one loss-and-gradient evaluation per
        iteration, the fastest in most cases. "newton-cg": truncated Newton
        with Hessian-vector products, for tight tolerances or ill-conditioned
        problems; falls back to lbfgs if a Newton step fails.
    tol : float, default=1e-4
        Stop when the relative duality gap is at most tol: a certificate that
        the objective is within a factor (1 + tol) of its minimum (see
        :ref:`certificate`). The gap is computed from each iteration's
        gradient at no extra pass over X; float32 fits are checked, and if
        needed finished, in float64 arithmetic. When some class is
        unpenalized (C = inf) no gap exists, and the solver stops when the
        largest absolute entry of the gradient (of the objective divided by
        the total sample weight) is at most tol, which bounds nothing.
    max_iter : int, default=1000
        Maximum number of solver iterations. Higher than scikit-learn's 100:
        a certified gap at weak regularization (C = 1e3 to 1e4 on separable
        data) takes a few hundred L-BFGS iterations.
    warm_start : bool, default=False
        Start from the previous solution when refitting on the same classes
        and features.
    verbose : int, default=0
        Print the solver's progress when positive.
    backend : {"numba", "torch"}, default="numba"
        "numba": NumPy/BLAS products and numba kernels on the CPU. "torch":
        the same objective and solvers on torch tensors, on `device` (needs
        the ``torch`` extra). Fitted attributes are NumPy arrays either way,
        so a model fitted on a GPU predicts and unpickles without one.
    device : str or torch.device, default=None
        For ``backend="torch"``: "cuda" when available, else "cpu". X is
        moved to the device once, or streamed in row chunks from host memory
        when it would take more than half the free device memory.
    batch_size : int, default=None
        Rows of X processed at a time (the memory beyond X is a few buffers
        of batch_size x n_classes). By default logits of at most 1/32 of X's
        size and 8 MiB on CPU, and a share of the free memory on a GPU.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights, in the dtype of X (float32 stays float32). One row for two
        classes (the second class's decision function), as in scikit-learn.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``). For three or more
        classes they sum to zero (the softmax ignores a common shift).
    C_ : ndarray of shape (n_classes,)
        The C actually used for each class, in ``classes_`` order (for two
        classes, both entries are (C_0 + C_1) / 2).
    n_iter_ : ndarray of shape (1,)
        Number of solver iterations (float32 and float64 stages together).
    gap_ : float
        Relative duality gap of the fitted coefficients: a certified upper
        bound on (f - min f) / f, with f the objective divided by the total
        sample weight. At most `tol` unless a ConvergenceWarning was raised.
        ``inf`` when a class is unpenalized (C = inf), where no such bound
        exists.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during fit, when X has string feature names.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : One C for all classes.

    Notes
    -----
    Internally the objective is divided by the total sample weight, which does
    not change the solution; `tol` refers to that scale. float32 data is solved
    in float32 without a float64 copy of X; memory beyond X is a chunk of
    logits and a few parameter-sized vectors.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_classreg import ClassWiseRegularizedLogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = ClassWiseRegularizedLogisticRegression(C={0: 0.1, 1: 1.0, 2: 10.0}, max_iter=1000)
    >>> clf = clf.fit(X, y)
    >>> clf.C_
    array([ 0.1,  1. , 10. ])
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> round(clf.score(X, y), 3)
    0.987
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="right"), "array-like", dict],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left"), "array-like", dict],
        "logit_penalty": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions(set(SOLVERS))],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "backend": [StrOptions({"numba", "torch"})],
        "device": "no_validation",  # a str or torch.device: checked by the torch backend
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        C=1.0,
        *,
        fit_intercept=True,
        class_weight=None,
        label_smoothing=0.0,
        logit_penalty=0.0,
        solver="lbfgs",
        tol=1e-4,
        max_iter=1000,
        warm_start=False,
        verbose=0,
        backend="numba",
        device=None,
        batch_size=None,
    ):
        self.C = C
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.logit_penalty = logit_penalty
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.verbose = verbose
        self.backend = backend
        self.device = device
        self.batch_size = batch_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 and float64 are kept; other dtypes become
            float64. Sparse input is converted to CSR.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (multiplied by `class_weight`).

        Returns
        -------
        self
            The fitted estimator.
        """
        problem = validate_problem(self, X, y, sample_weight)
        C = check_C(self.C, problem.classes)
        engine = Engine.of(self)
        (point,) = engine.path(problem, C[None], start=self._warm_start(problem))
        engine.warn_if_not_converged(point.result)
        result = point.result
        return self._set_solution(
            problem.classes, C, point.coef, point.intercept, result.nit, gap=result.gap
        )

    def _set_solution(self, classes, C, coef, intercept, n_iter, *, gap=None):
        """Set the fitted attributes from a NumPy solution with per-class `C`.

        ``gap_`` is set only when the `gap` is known.
        """
        self.classes_ = classes
        self.C_ = C_used(C, classes)
        self.coef_ = coef.copy()
        self.intercept_ = (
            intercept.copy() if intercept is not None else np.zeros(len(coef), dtype=coef.dtype)
        )
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        if gap is not None:
            self.gap_ = gap
        return self

    def _warm_start(self, problem):
        """Where a warm start leaves from: (log C, coef_, intercept_) of the previous
        fit on the same classes, or None."""
        if not (self.warm_start and hasattr(self, "coef_")):
            return None
        if not np.array_equal(self.classes_, problem.classes):
            return None
        return float(np.log(self.C_).mean()), dense_coef(self), self.intercept_
