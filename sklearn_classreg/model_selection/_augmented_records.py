"""Out-of-fold records along an augmentation strength, from feature banks.

The folds split the images; a fold's training rows are the augmented views of
its training images (and, as an option, their clean features), its test rows
the clean features of its test images, so that the views of one image never
cross folds. Each image weighs 1 in the probe's objective, shared equally by
its rows: the probe's C is divided by the number of rows per image, so that
strength 0 is the clean fit at the same C and C keeps its meaning whatever
the number of views.
"""

import copy

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils.parallel import Parallel, delayed
from tqdm.auto import tqdm

from ..linear_model._records import fast_fold, gap_of, score_fold

__all__ = ["augmented_records", "check_probe", "fit_probe", "probe_C_name"]


def probe_C_name(probe):
    """The name of the probe's C (``C``, or ``<last step>__C``), or a clear error."""
    name = f"{probe.steps[-1][0]}__C" if isinstance(probe, Pipeline) else "C"
    if name not in probe.get_params():
        raise ValueError(
            f"The probe ({type(probe).__name__}) has no parameter {name!r}: the augmentation "
            "study shares each image's weight among its views by dividing C, so it needs a "
            "classifier with a C (e.g. ClassWiseRegularizedLogisticRegression), alone or last "
            "in a Pipeline."
        )
    return name


def check_probe(probe):
    """The probe as given, checked to be a classifier with a C and predict_proba."""
    if not is_classifier(probe) or not hasattr(probe, "predict_proba"):
        raise TypeError(f"estimator must be a classifier with predict_proba; got {probe!r}.")
    probe_C_name(probe)
    return probe


def _divided(C, rows_per_image):
    """C (a float, per-class array or {label: C} dict) divided by the rows per image."""
    if isinstance(C, dict):
        return {label: value / rows_per_image for label, value in C.items()}
    if np.ndim(C):
        return np.asarray(C, dtype=float) / rows_per_image
    return C / rows_per_image


def fit_probe(probe, X, y, rows_per_image, C=None, start=None):
    """A clone of the probe fitted with each image's weight shared by its rows.

    `C` replaces the probe's C (a value, or per-class values) when given.
    `start`, a fitted copy of the probe (a neighbouring strength's), is
    where the solver starts when the probe has ``warm_start``: each fit still
    stops on its own convergence test (this library's estimator: its own
    certified duality gap), so the start saves iterations without passing on
    its answer. The returned model keeps the probe's own ``warm_start``.
    """
    name = probe_C_name(probe)
    C = _divided(probe.get_params()[name] if C is None else C, rows_per_image)
    warm_start = name[: -len("C")] + "warm_start"
    if start is None or warm_start not in probe.get_params():
        return clone(probe).set_params(**{name: C}).fit(X, y)
    model = copy.deepcopy(start)
    model.set_params(**{name: C, warm_start: True}).fit(X, y)
    return model.set_params(**{warm_start: probe.get_params()[warm_start]})


def _fold(probe, banks, y, classes, fold, train, test, strengths, include_clean, C_range):
    """The records of one fold: a fit per strength, or a C path per strength."""
    X_test, y_test = np.asarray(banks.clean[test]), y[test]
    rows_per_image = banks.rows_per_image(include_clean)
    models, n_iter, gaps = [], [], []
    model = None
    for strength in strengths:
        X_train, images = banks.training_features(train, strength, include_clean=include_clean)
        y_train = y[images]
        if C_range is None:  # from the previous strength's solution
            model = fit_probe(probe, X_train, y_train, rows_per_image, start=model)
            models.append((model, X_test))
            n_iter.append(-1)
            gaps.append(gap_of(model))
        else:
            pairs, path = fast_fold(
                probe,
                X_train,
                y_train,
                X_test,
                np.asarray(C_range, dtype=float) / rows_per_image,
                None,
                None,
            )
            models.extend(pairs)
            n_iter.extend(path.n_iter)
            gaps.extend(path.gaps)
    return score_fold(fold, test, y_test, classes, models, n_iter=n_iter, gaps=gaps)


def augmented_records(
    probe,
    banks,
    y,
    folds,
    strengths,
    *,
    include_clean=False,
    C_range=None,
    n_jobs=None,
    verbose=0,
):
    """Out-of-fold records along the strength (or a strength x C grid) from banks.

    Parameters
    ----------
    probe : classifier
        With a C (alone or last in a Pipeline); fitted on features.
    banks : FeatureBanks
    y : ndarray of shape (n_images,)
    folds : list of (train, test)
        Positions of images.
    strengths : sequence of float
        Values of the banks' grid.
    include_clean : bool, default=False
        Train on the clean features too.
    C_range : array-like, default=None
        A grid of C: the values are then the pairs (strength, C), strength
        after strength, each strength's C warm-started along a
        `regularization_path` (the probe must then be this library's
        estimator, alone or last in a Pipeline).
    n_jobs : int, default=None
    verbose : int, default=0

    Returns
    -------
    classes : ndarray of shape (n_classes,)
    records : list of FoldRecords, in fold order
    """
    classes = np.unique(y)
    jobs = (
        delayed(_fold)(
            probe, banks, y, classes, fold, train, test, strengths, include_clean, C_range
        )
        for fold, (train, test) in enumerate(folds)
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    records = list(tqdm(results, total=len(folds), disable=verbose < 1, desc="folds (strength)"))
    return classes, sorted(records, key=lambda record: record.fold)
