"""The most confused classes, projected by linear discriminant analysis."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._utils._validation import check_label_types
from ..linear_model import ClassWiseRegularizedLogisticRegression
from ..linear_model._logistic import dense_coef

__all__ = ["AmbiguousClassLDA", "find_ambiguous_classes", "weight_lda_angle"]


def find_ambiguous_classes(confusion, n_classes=5, *, labels=None):
    """The `n_classes` classes that are most confused with one another.

    Greedy: start from the pair with the largest mutual confusion
    (C_ij + C_ji, rows normalised to recall), then add the class most
    confused with those chosen, until `n_classes`.

    Parameters
    ----------
    confusion : array-like of shape (K, K)
        Confusion matrix, rows = true class (counts or row-normalised).
    n_classes : int, default=5
        At least 2 (at most K).
    labels : array-like of shape (K,), default=None
        Labels to return instead of indices.

    Returns
    -------
    ndarray of shape (n_classes,)
        Indices (or labels), in the order they were chosen.

    Examples
    --------
    >>> import numpy as np
    >>> confusion = np.array([[8, 2, 0], [3, 7, 0], [0, 1, 9]])
    >>> find_ambiguous_classes(confusion, 2)
    array([0, 1])
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must be square; got shape {confusion.shape}.")
    K = confusion.shape[0]
    if not (isinstance(n_classes, Integral) and 2 <= n_classes <= K):
        raise ValueError(f"n_classes must be an integer in [2, {K}]; got {n_classes!r}.")
    totals = confusion.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(totals > 0, confusion / totals, 0.0)
    mutual = rates + rates.T
    np.fill_diagonal(mutual, -np.inf)
    first, second = np.unravel_index(np.argmax(mutual), mutual.shape)
    chosen = [int(min(first, second)), int(max(first, second))]
    np.fill_diagonal(mutual, 0.0)
    while len(chosen) < n_classes:
        affinity = mutual[:, chosen].sum(axis=1)
        affinity[chosen] = -np.inf
        chosen.append(int(np.argmax(affinity)))
    chosen = np.array(chosen)
    return chosen if labels is None else np.asarray(labels)[chosen]


def weight_lda_angle(estimator, X, y, classes):
    """Angle (degrees) between a linear classifier's direction and Fisher's, for two classes.

    For classes a and b, the classifier separates them along w_a - w_b (its
    ``coef_`` rows; for a binary model, its single row); Fisher's linear
    discriminant along S_w^{-1} (mu_a - mu_b), with S_w the pooled
    within-class covariance of their samples (pseudo-inverse). Logit
    regularization is claimed to align the first with the second (Beck et
    al., 2026): the angle measures it.

    Parameters
    ----------
    estimator : fitted linear classifier (``coef_``, ``classes_``)
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    classes : pair of labels

    Returns
    -------
    float
        The angle in [0, 90] degrees (the sign of a direction is irrelevant).
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    a, b = classes
    labels = list(estimator.classes_)
    coef = np.asarray(dense_coef(estimator), dtype=np.float64)
    if coef.shape[0] == 1:
        direction = coef[0]
    else:
        direction = coef[labels.index(a)] - coef[labels.index(b)]
    samples_a, samples_b = X[y == a], X[y == b]
    if len(samples_a) < 2 or len(samples_b) < 2:
        raise ValueError(f"Each of the classes {a!r}, {b!r} needs at least 2 samples.")
    within = np.cov(samples_a, rowvar=False) * (len(samples_a) - 1)
    within += np.cov(samples_b, rowvar=False) * (len(samples_b) - 1)
    fisher = np.linalg.pinv(within) @ (samples_a.mean(axis=0) - samples_b.mean(axis=0))
    cosine = abs(direction @ fisher) / (np.linalg.norm(direction) * np.linalg.norm(fisher))
    return float(np.degrees(np.arccos(np.clip(cosine, 0.0, 1.0))))


class AmbiguousClassLDA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """LDA fitted on the most mutually confused classes; projects any sample.

    The ambiguous classes are given (`classes`) or found from a
    cross-validated confusion matrix of `classifier` (by default this
    library's logistic regression). scikit-learn's LinearDiscriminantAnalysis
    is then fitted on their samples only, and `transform` projects any sample
    onto its discriminant axes, to see how a representation (or an
    augmentation) separates these classes.

    Parameters
    ----------
    classes : array-like, default=None
        The classes to analyse; found from the confusion matrix when None.
    n_classes : int, default=5
        How many to find (at most the number of classes).
    n_components : int, default=None
        LDA components (at most len(classes) - 1).
    solver : {"svd", "lsqr", "eigen"}, default="eigen"
        As in LinearDiscriminantAnalysis ("eigen" can shrink and projects).
    shrinkage : "auto", float or None, default="auto"
        Ledoit-Wolf shrinkage of the covariance ("auto"), a value in [0, 1],
        or none; helps when features outnumber the samples of these classes.
    classifier : classifier, default=None
        For the confusion matrix: ClassWiseRegularizedLogisticRegression() by default.
    cv : int, default=5
        Folds of the cross-validated predictions (fewer if a class is smaller).

    Attributes
    ----------
    ambiguous_classes_ : ndarray
        The analysed classes.
    confusion_ : ndarray of shape (n_all_classes, n_all_classes) or None
        Cross-validated confusion matrix (counts; None when `classes` is given).
    all_classes_ : ndarray
        The classes of y.
    lda_ : LinearDiscriminantAnalysis
    fisher_separability_ : pandas.DataFrame
        Per pair of analysed classes: the squared distance between their
        means in the discriminant space, in units of the within-class
        standard deviation (Fisher's criterion).
    """

    _parameter_constraints: dict = {
        "classes": ["array-like", None],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "solver": [StrOptions({"svd", "lsqr", "eigen"})],
        "shrinkage": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both"), None],
        "classifier": "no_validation",
        "cv": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        classes=None,
        *,
        n_classes=5,
        n_components=None,
        solver="eigen",
        shrinkage="auto",
        classifier=None,
        cv=5,
    ):
        self.classes = classes
        self.n_classes = n_classes
        self.n_components = n_components
        self.solver = solver
        self.shrinkage = shrinkage
        self.classifier = classifier
        self.cv = cv

    def fit(self, X, y):
        """Find the ambiguous classes (if not given) and fit LDA on their samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features (e.g. a frozen network's).
        y : array-like of shape (n_samples,)
            Class labels of all classes; the ambiguous ones are chosen among them.

        Returns
        -------
        self
        """
        self._validate_params()
        check_label_types(y)
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.all_classes_ = np.unique(y)
        if len(self.all_classes_) < 2:
            raise ValueError("y contains only one class: LDA needs at least 2.")
        if self.classes is None:
            self.confusion_ = self._confusion(X, y)
            n_classes = min(self.n_classes, len(self.all_classes_))
            self.ambiguous_classes_ = find_ambiguous_classes(
                self.confusion_, n_classes, labels=self.all_classes_
            )
        else:
            chosen = np.asarray(self.classes)
            unknown = np.setdiff1d(chosen, self.all_classes_)
            if len(unknown) or len(np.unique(chosen)) < 2:
                raise ValueError(
                    f"classes must be at least 2 labels of y; got {chosen.tolist()} "
                    f"(not in y: {unknown.tolist()})."
                )
            self.confusion_ = None
            self.ambiguous_classes_ = chosen
        mask = np.isin(y, self.ambiguous_classes_)
        shrinkage = None if self.solver == "svd" else self.shrinkage
        self.lda_ = LinearDiscriminantAnalysis(
            solver=self.solver, shrinkage=shrinkage, n_components=self.n_components
        ).fit(X[mask], y[mask])
        self._n_features_out = self.lda_.transform(X[:1]).shape[1]
        self.fisher_separability_ = self._separability(X[mask], y[mask])
        return self

    def _confusion(self, X, y):
        classifier = self.classifier
        if classifier is None:
            classifier = ClassWiseRegularizedLogisticRegression(max_iter=500)
        smallest = np.bincount(np.unique(y, return_inverse=True)[1]).min()
        if smallest < 2:
            raise ValueError(
                "Finding the ambiguous classes needs at least 2 samples per class; "
                "give them as classes=..."
            )
        folds = StratifiedKFold(min(self.cv, smallest), shuffle=True, random_state=0)
        predicted = cross_val_predict(clone(classifier), X, y, cv=folds)
        return confusion_matrix(y, predicted, labels=self.all_classes_)

    def _separability(self, X, y):
        projected = self.lda_.transform(X)
        classes = self.lda_.classes_
        means = np.array([projected[y == c].mean(axis=0) for c in classes])
        centred = projected - means[np.searchsorted(classes, y)]
        scale = centred.var(axis=0, ddof=len(classes)).mean()
        rows = []
        for i in range(len(classes)):
            for j in range(i + 1, len(classes)):
                distance = float(np.sum((means[i] - means[j]) ** 2) / max(scale, 1e-300))
                rows.append({"class_a": classes[i], "class_b": classes[j], "fisher": distance})
        return pd.DataFrame(rows)

    def separability(self, X, y):
        """Fisher's criterion per pair of the ambiguous classes, on other samples.

        The samples of (X, y) from the ambiguous classes are projected onto
        this LDA's discriminant axes, and each pair's squared distance
        between means is measured in units of their within-class standard
        deviation there (as `fisher_separability_`, which measures it on the
        training samples, where LDA's own fit inflates it when features
        outnumber samples).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Every ambiguous class must have at least one sample.

        Returns
        -------
        pandas.DataFrame
            Columns "class_a", "class_b", "fisher".
        """
        check_is_fitted(self, "lda_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} samples but X has {len(X)}.")
        mask = np.isin(y, self.ambiguous_classes_)
        missing = np.setdiff1d(self.ambiguous_classes_, y[mask])
        if len(missing):
            raise ValueError(f"y has no samples of the classes {missing.tolist()}.")
        return self._separability(X[mask], y[mask])

    def transform(self, X):
        """Project any sample onto the discriminant axes of the ambiguous classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self, "lda_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.lda_.transform(X)
