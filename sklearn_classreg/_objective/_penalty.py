"""Per-class specifications -> one value per class, in ``classes_`` order.

``C`` and ``label_smoothing`` may be given as a scalar, as an array with one
value per class (in ``classes_`` order), or as a dict {class label: value}.
These helpers turn any of them into a float64 vector of shape (n_classes,)
and raise errors that name the parameter and say how to fix it.
"""

from numbers import Real

import numpy as np

__all__ = ["per_class_vector", "check_C", "check_label_smoothing", "binary_C"]


def _labels(labels):
    """Labels as the user wrote them (Python scalars), at most 20."""
    labels = labels.tolist() if isinstance(labels, np.ndarray) else list(labels)
    labels = [label.item() if isinstance(label, np.generic) else label for label in labels]
    shown = ", ".join(repr(label) for label in labels[:20])
    return shown + (", ..." if len(labels) > 20 else "")


def per_class_vector(value, classes, *, name):
    """One float per class from a scalar, an array in `classes` order, or a dict.

    Parameters
    ----------
    value : float, array-like of shape (n_classes,) or dict
        A dict needs a value for every class of `classes`. Keys for other
        labels of the same type are ignored, as scikit-learn's ``class_weight``
        does: a dict written for the whole dataset still applies to a
        cross-validation fold that lacks a class. Keys of another type (the
        string '0' for integer labels) are an error.
    classes : ndarray of shape (n_classes,)
        Sorted class labels (``classes_``).
    name : str
        Parameter name, for error messages.

    Returns
    -------
    ndarray of shape (n_classes,), float64

    Examples
    --------
    >>> import numpy as np
    >>> per_class_vector({"b": 2.0, "a": 1.0}, np.array(["a", "b"]), name="C")
    array([1., 2.])
    >>> per_class_vector({"a": 1.0, "b": 2.0, "c": 3.0}, np.array(["a", "b"]), name="C")
    array([1., 2.])
    """
    n_classes = len(classes)
    if isinstance(value, dict):
        foreign = [key for key in value if not _can_be_label(key, classes)]
        if foreign:
            strings = _string_labels(classes)
            example = "'0', not 0, for string" if strings else "0, not '0', for numeric"
            raise ValueError(
                f"{name} has keys that cannot be class labels: {_labels(foreign)}. "
                f"The classes seen in y are {_labels(classes)}: keys must be labels of "
                f"the same type (e.g. {example} labels)."
            )
        index = {label: i for i, label in enumerate(classes.tolist())}
        missing = [label for label in classes.tolist() if label not in value]
        if missing:
            raise ValueError(
                f"{name} has no value for the classes {_labels(missing)}. A dict {name} "
                "needs one entry per class; give a scalar to use one value for all."
            )
        vector = np.empty(n_classes, dtype=np.float64)
        for key, item in value.items():
            item = _as_float(item, name, f"{name}[{key!r}]")  # every entry, used or not
            if key in index:  # other labels are absent from this y: ignored
                vector[index[key]] = item
        return vector
    if isinstance(value, Real):
        return np.full(n_classes, _as_float(value, name, name), dtype=np.float64)
    try:
        vector = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} must be a number, an array of shape (n_classes,) or a dict "
            f"{{label: value}}; got {value!r}."
        ) from error
    if vector.shape != (n_classes,):
        raise ValueError(
            f"{name} has shape {vector.shape} but there are {n_classes} classes "
            f"({_labels(classes)}): give one value per class in classes_ order, "
            "a dict {label: value}, or a scalar."
        )
    return vector


def _can_be_label(key, classes):
    """Whether a dict key has the type of the labels: a string for string
    labels, a number for numeric ones. Only such keys may name a class absent
    from the data at hand."""
    if _string_labels(classes):
        return isinstance(key, str)
    return isinstance(key, Real)


def _string_labels(classes):
    return classes.dtype.kind in "US" or (
        classes.dtype.kind == "O" and all(isinstance(label, str) for label in classes)
    )


def _as_float(item, name, where):
    try:
        return float(item)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where} must be a number; got {item!r}.") from error


def check_C(C, classes, *, name="C"):
    """Per-class inverse regularization strengths: each in (0, inf]."""
    vector = per_class_vector(C, classes, name=name)
    bad = np.isnan(vector) | (vector <= 0)
    if bad.any():
        raise ValueError(
            f"{name} must be positive (np.inf for no penalty); got "
            f"{vector[bad].tolist()} for the classes {_labels(classes[bad])}."
        )
    return vector


def check_label_smoothing(label_smoothing, classes, *, name="label_smoothing"):
    """Per-class label smoothing: each in [0, 1)."""
    vector = per_class_vector(label_smoothing, classes, name=name)
    bad = ~((vector >= 0) & (vector < 1))
    if bad.any():
        raise ValueError(
            f"{name} must be in [0, 1); got {vector[bad].tolist()} for the classes "
            f"{_labels(classes[bad])}."
        )
    return vector


def binary_C(C_per_class):
    """The C of scikit-learn's one-vector binary model: (C_0 + C_1) / 2.

    In the softmax form, per-class penalties on w_0 and w_1 act on the decision
    vector v = w_1 - w_0 only through C_0 + C_1; halving it makes equal C
    reproduce ``LogisticRegression(C=C)``, whose binary model penalises v with
    that C.
    """
    return 0.5 * (C_per_class[0] + C_per_class[1])
