"""Per-class and worst-class scores of a probabilistic classifier, all classes at once.

Every function takes the true labels and the predicted probabilities (columns
in `labels` order, as ``predict_proba`` returns them) and works on all classes
in one vectorised pass (``np.bincount``), so K = 1000 classes cost little more
than 10.
"""

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_consistent_length

__all__ = [
    "class_recall",
    "class_precision",
    "class_one_vs_all_accuracy",
    "class_deviance",
    "classwise_scores",
    "worst_class_accuracy",
    "worst_k_recall",
    "pairwise_accuracy",
    "worst_pairwise_accuracy",
    "global_scores",
]

# log(p) is clipped at this probability: a sure mistake costs log(1e-300) ~ 690.
_PROBABILITY_FLOOR = 1e-300


def _check(y_true, y_proba, labels, sample_weight):
    """Validated (class index per sample, probabilities, labels, weights)."""
    y_proba = np.asarray(y_proba, dtype=np.float64)
    y_true = np.asarray(y_true)
    if y_proba.ndim != 2:
        raise ValueError(f"y_proba must have shape (n_samples, n_classes); got {y_proba.shape}.")
    check_consistent_length(y_true, y_proba, sample_weight)
    if len(y_true) == 0:
        raise ValueError("y_true is empty: scores need at least one sample.")
    if not np.all(np.isfinite(y_proba)):
        raise ValueError("y_proba contains NaN or infinity.")
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    if len(labels) != y_proba.shape[1]:
        raise ValueError(
            f"y_proba has {y_proba.shape[1]} columns but there are {len(labels)} labels "
            f"({'inferred from y_true' if labels is None else 'given'}); pass labels= with "
            "the columns' classes (the classifier's classes_)."
        )
    order = np.argsort(labels, kind="stable")
    position = np.searchsorted(labels[order], y_true)
    position = np.clip(position, 0, len(labels) - 1)
    index = order[position]
    unknown = labels[index] != y_true
    if np.any(unknown):
        missing = np.unique(y_true[unknown])[:10].tolist()
        raise ValueError(f"y_true has labels that are not in labels: {missing}.")
    weights = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight, float)
    return index, y_proba, labels, weights


def _counts(y_index, predicted, proba_of_true, weights, n_classes):
    """Per-class weighted counts: support, predicted, true positives, summed NLL."""
    support = np.bincount(y_index, weights=weights, minlength=n_classes)
    predicted_count = np.bincount(predicted, weights=weights, minlength=n_classes)
    hits = predicted == y_index
    true_positive = np.bincount(y_index[hits], weights=weights[hits], minlength=n_classes)
    nll = -np.log(np.maximum(proba_of_true, _PROBABILITY_FLOOR))
    summed_nll = np.bincount(y_index, weights=weights * nll, minlength=n_classes)
    return support, predicted_count, true_positive, summed_nll


def scores_from_counts(support, predicted_count, true_positive, summed_nll):
    """The four per-class scores from per-class counts (NaN where undefined).

    Returns
    -------
    dict of ndarray of shape (..., n_classes)
        "recall", "precision", "one_vs_all_accuracy", "deviance", "support".
    """
    total = support.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = true_positive / support
        precision = true_positive / predicted_count
        errors = (support - true_positive) + (predicted_count - true_positive)
        one_vs_all = 1.0 - errors / total
        deviance = summed_nll / support
    return {
        "recall": recall,
        "precision": precision,
        "one_vs_all_accuracy": one_vs_all,
        "deviance": deviance,
        "support": support,
    }


def classwise_scores(y_true, y_proba, *, labels=None, sample_weight=None):
    """Per-class recall, precision, one-vs-all accuracy and deviance, in one pass.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in `labels` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns (a classifier's ``classes_``); by default
        the sorted labels of y_true, which must then all be present.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    dict of ndarray of shape (n_classes,)
        "recall" (class accuracy), "precision", "one_vs_all_accuracy",
        "deviance" (mean negative log-likelihood of the class's samples) and
        "support" (weighted count). Undefined values (a class with no sample,
        or never predicted) are NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_classreg.metrics import classwise_scores
    >>> y_proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]])
    >>> classwise_scores([0, 0, 1], y_proba)["recall"]
    array([0.5, 1. ])
    """
    index, y_proba, labels, weights = _check(y_true, y_proba, labels, sample_weight)
    predicted = np.argmax(y_proba, axis=1)
    proba_of_true = y_proba[np.arange(len(index)), index]
    return scores_from_counts(*_counts(index, predicted, proba_of_true, weights, len(labels)))


def class_recall(y_true, y_proba, *, labels=None, sample_weight=None):
    """Recall of each class (its accuracy): the share of its samples predicted right.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in `labels` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; by default the sorted labels of y_true.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples.

    Returns
    -------
    ndarray of shape (n_classes,)
        NaN for a class without samples.
    """
    return classwise_scores(y_true, y_proba, labels=labels, sample_weight=sample_weight)["recall"]


def class_precision(y_true, y_proba, *, labels=None, sample_weight=None):
    """Precision of each class: the share of its predictions that are right.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in `labels` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; by default the sorted labels of y_true.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples.

    Returns
    -------
    ndarray of shape (n_classes,)
        NaN for a class never predicted.
    """
    scores = classwise_scores(y_true, y_proba, labels=labels, sample_weight=sample_weight)
    return scores["precision"]


def class_one_vs_all_accuracy(y_true, y_proba, *, labels=None, sample_weight=None):
    """Accuracy of each class's one-vs-all decision ("is it class k?").

    The share of all samples on which the classifier's prediction is right
    about membership of class k (Balestriero et al., 2022).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in `labels` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; by default the sorted labels of y_true.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples.

    Returns
    -------
    ndarray of shape (n_classes,)
    """
    scores = classwise_scores(y_true, y_proba, labels=labels, sample_weight=sample_weight)
    return scores["one_vs_all_accuracy"]


def class_deviance(y_true, y_proba, *, labels=None, sample_weight=None):
    """Mean negative log-likelihood of each class's samples (lower is better).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in `labels` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; by default the sorted labels of y_true.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples.

    Returns
    -------
    ndarray of shape (n_classes,)
        In nats; NaN for a class without samples.
    """
    scores = classwise_scores(y_true, y_proba, labels=labels, sample_weight=sample_weight)
    return scores["deviance"]


def worst_class_accuracy(y_true, y_proba, *, labels=None, sample_weight=None):
    """The smallest recall over the classes present (Bitterwolf et al., 2022).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in `labels` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; by default the sorted labels of y_true.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_classreg.metrics import worst_class_accuracy
    >>> worst_class_accuracy([0, 0, 1], np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]]))
    0.5
    """
    recall = class_recall(y_true, y_proba, labels=labels, sample_weight=sample_weight)
    return float(np.nanmin(recall))


def worst_k_recall(y_true, y_proba, *, k=5, labels=None, sample_weight=None):
    """Mean recall of the `k` classes with the lowest recall (among those present).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in `labels` order.
    k : int, default=5
        Number of worst classes averaged.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; by default the sorted labels of y_true.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples.

    Returns
    -------
    float
    """
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise ValueError(f"k must be a positive integer; got {k!r}.")
    recall = class_recall(y_true, y_proba, labels=labels, sample_weight=sample_weight)
    present = np.sort(recall[~np.isnan(recall)])
    return float(present[: min(k, len(present))].mean())


def pairwise_accuracy(y_true, y_proba, *, labels=None, sample_weight=None):
    """Two-class accuracy of every pair of classes.

    For classes a and b: the share of the samples of a and b whose true class
    has the larger probability of the two (ties count one half). One
    (n x K) comparison and one (K x n) @ (n x K) product for all pairs.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in `labels` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; by default the sorted labels of y_true.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        Symmetric; NaN on the diagonal and for pairs without samples.
    """
    index, y_proba, labels, weights = _check(y_true, y_proba, labels, sample_weight)
    n_classes = len(labels)
    proba_of_true = y_proba[np.arange(len(index)), index][:, None]
    wins = (proba_of_true > y_proba) + 0.5 * (proba_of_true == y_proba)
    # row a sums the wins of the samples of class a: a sparse one-hot product
    one_hot = sparse.csr_matrix(
        (weights, (index, np.arange(len(index)))), shape=(n_classes, len(index))
    )
    by_class = np.asarray(one_hot @ wins)
    support = np.bincount(index, weights=weights, minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = (by_class + by_class.T) / (support[:, None] + support[None, :])
    np.fill_diagonal(accuracy, np.nan)
    return accuracy


def worst_pairwise_accuracy(y_true, y_proba, *, labels=None, sample_weight=None):
    """The smallest two-class accuracy over pairs of classes (see `pairwise_accuracy`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in `labels` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; by default the sorted labels of y_true.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples.

    Returns
    -------
    float
    """
    accuracy = pairwise_accuracy(y_true, y_proba, labels=labels, sample_weight=sample_weight)
    return float(np.nanmin(accuracy))


def global_scores(y_true, y_proba, *, labels=None, sample_weight=None, k=5):
    """Scores of the whole classifier, including worst-class ones.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, columns in `labels` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; by default the sorted labels of y_true.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples.
    k : int, default=5
        Number of worst classes of "worst_k_recall".

    Returns
    -------
    dict of float
        "accuracy", "balanced_accuracy" (mean recall), "deviance" (mean
        negative log-likelihood), "worst_class_accuracy", "worst_k_recall"
        (mean recall of the `k` worst classes) and "worst_pairwise_accuracy".
    """
    index, y_proba, labels, weights = _check(y_true, y_proba, labels, sample_weight)
    predicted = np.argmax(y_proba, axis=1)
    proba_of_true = y_proba[np.arange(len(index)), index]
    counts = _counts(index, predicted, proba_of_true, weights, len(labels))
    scores = scores_from_counts(*counts)
    recall = scores["recall"][~np.isnan(scores["recall"])]
    total = weights.sum()
    return {
        "accuracy": float(counts[2].sum() / total),
        "balanced_accuracy": float(recall.mean()),
        "deviance": float(counts[3].sum() / total),
        "worst_class_accuracy": float(recall.min()),
        "worst_k_recall": float(np.sort(recall)[: min(k, len(recall))].mean()),
        "worst_pairwise_accuracy": worst_pairwise_accuracy(
            y_true, y_proba, labels=labels, sample_weight=sample_weight
        ),
    }
