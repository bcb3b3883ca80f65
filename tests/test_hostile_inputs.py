"""Hostile inputs to every public entry point: a correct result or a clear error.

Never a crash, a hang, a silent NaN or a modified input.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from sklearn_classreg import (
    ClassWiseRegularizationCV,
    ClassWiseRegularizedLogisticRegression,
    regularization_path,
)
from sklearn_classreg.feature_extraction import AmbiguousClassLDA
from sklearn_classreg.metrics import classwise_scores
from sklearn_classreg.model_selection import ClassWiseStudy, classwise_validation_curve

RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 4)) + np.repeat(np.eye(3, 4) * 2, 20, axis=0)
Y = np.repeat([0, 1, 2], 20)


def _model(**params):
    return ClassWiseRegularizedLogisticRegression(max_iter=300, **params)


def result_of(output):
    """A numeric summary of an entry point's output, to compare runs."""
    if hasattr(output, "coef_"):
        return output.coef_
    if hasattr(output, "coefs"):
        return output.coefs
    if isinstance(output, pd.DataFrame):
        return output.select_dtypes("number").to_numpy()
    if hasattr(output, "summary_"):
        return output.summary_.select_dtypes("number").to_numpy()
    if hasattr(output, "lda_"):
        return output.lda_.scalings_
    if isinstance(output, dict):
        return np.concatenate([np.ravel(v) for v in output.values()])
    return np.asarray(output)


# name -> callable(X, y, sample_weight) that returns something to check
ENTRY_POINTS = {
    "fit": lambda X, y, w: _model().fit(X, y, sample_weight=w),
    "fit newton-cg": lambda X, y, w: _model(solver="newton-cg").fit(X, y, sample_weight=w),
    "cv": lambda X, y, w: ClassWiseRegularizationCV(
        Cs=[0.1, 1.0], cv=2, n_bootstrap=20, max_iter=300
    ).fit(X, y, sample_weight=w),
    "path": lambda X, y, w: regularization_path(X, y, [0.1, 1.0], sample_weight=w, max_iter=300),
    "curve": lambda X, y, w: classwise_validation_curve(
        _model(),
        X,
        y,
        param_name="C",
        param_range=[0.1, 1.0],
        cv=2,
        metrics=["recall", "accuracy"],
    ),
    "study": lambda X, y, w: ClassWiseStudy(
        _model(), param_range=[0.1, 1.0], cv=2, n_bootstrap=20, random_state=0
    ).fit(X, y),
    "lda": lambda X, y, w: AmbiguousClassLDA(n_classes=2, cv=2).fit(X, y),
}
WEIGHTED = {"fit", "fit newton-cg", "cv", "path"}


def _with(values, index, value):
    out = np.array(values, dtype=float)
    out[index] = value
    return out


# name -> (X, y, sample_weight, expected error regex or None for "works")
ERRORS = {
    "NaN in X": (_with(X, (3, 1), np.nan), Y, None, "Input X contains NaN"),
    "inf in X": (_with(X, (3, 1), np.inf), Y, None, "Input X contains infinity"),
    "NaN in y": (X, _with(Y, 4, np.nan), None, "Input y contains NaN"),
    "inf in y": (X, _with(Y, 4, np.inf), None, "Input y contains infinity"),
    "NaN in sample_weight": (X, Y, _with(np.ones(60), 2, np.nan), "sample_weight contains NaN"),
    "negative sample_weight": (
        X,
        Y,
        _with(np.ones(60), 2, -1.0),
        "Negative values in data passed to `sample_weight`",
    ),
    "all-zero sample_weight": (X, Y, np.zeros(60), "sample_weight"),
    "empty X": (X[:0], Y[:0], None, "0 sample|no samples|n_samples=0"),
    "one sample": (X[:1], Y[:1], None, "one class|1 sample|n_samples=1|n_splits"),
    "one class": (X, np.zeros(60, int), None, "one class"),
    "mixed label types": (
        X,
        np.array([1, "a", 2] * 20, dtype=object),
        None,
        "mixes string labels",
    ),
    "mismatched lengths": (X, Y[:50], None, "inconsistent numbers of samples|match"),
    "3-d X": (X[:, :, None], Y, None, "dim 3"),
    "continuous y": (X, RNG.standard_normal(60), None, "Unknown label type: continuous"),
}


APPLICABLE = [
    (entry, case)
    for entry in ENTRY_POINTS
    for case in ERRORS
    if ERRORS[case][2] is None or entry in WEIGHTED  # weights only where they are taken
]


@pytest.mark.parametrize("entry, case", APPLICABLE)
def test_bad_input_is_a_clear_error(entry, case):
    X_bad, y_bad, weight, message = ERRORS[case]
    copies = [
        np.array(a, copy=True) for a in (X_bad, y_bad) + ((weight,) if weight is not None else ())
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=message):
            ENTRY_POINTS[entry](X_bad, y_bad, weight)
    for before, after in zip(copies, (X_bad, y_bad, weight), strict=False):
        np.testing.assert_array_equal(before, after)


def _variants():
    """Inputs that must give the same result as the plain C-ordered float64 arrays."""
    fortran = np.asfortranarray(X)
    read_only = X.copy()
    read_only.flags.writeable = False
    strided = np.repeat(X, 2, axis=1)[:, ::2]
    csr = sparse.csr_matrix(X)
    csr_explicit_zeros = sparse.csr_matrix(
        (
            np.append(csr.data, 0.0),
            np.append(csr.indices, 0),
            np.append(csr.indptr[:-1], csr.indptr[-1] + 1),
        ),
        shape=X.shape,
    )
    return {
        "F-ordered": (fortran, Y),
        "read-only": (read_only, Y),
        "strided": (strided, Y),
        "CSR with explicit zeros": (csr_explicit_zeros, Y),
        "pandas with names": (pd.DataFrame(X, columns=list("abcd")), Y),
        "pandas Series y": (pd.DataFrame(X), pd.Series(Y)),
        "string labels": (X, np.array(["ant", "bee", "cat"])[Y]),
        "list input": (X.tolist(), Y.tolist()),
    }


@pytest.mark.parametrize("entry", ["fit", "fit newton-cg", "cv", "path", "curve", "study"])
@pytest.mark.parametrize("variant", list(_variants()))
def test_input_layouts_give_the_same_result(entry, variant, tmp_path):
    X_variant, y_variant = _variants()[variant]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = result_of(ENTRY_POINTS[entry](X, Y, None))
        got = result_of(ENTRY_POINTS[entry](X_variant, y_variant, None))
    assert np.all(np.isfinite(got))
    if variant != "CSR with explicit zeros" or entry in ("fit", "fit newton-cg", "path", "cv"):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_memory_mapped_read_only_input(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X.astype(np.float32))
    X_map = np.load(path, mmap_mode="r")
    model = _model().fit(X_map, Y)
    expected = _model().fit(X.astype(np.float32), Y)
    np.testing.assert_array_equal(model.coef_, expected.coef_)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.int64, np.uint8, bool])
def test_other_dtypes_are_converted_to_float64(dtype):
    values = (np.abs(X) * 3).astype(dtype)
    model = _model().fit(values, Y)
    assert model.coef_.dtype == np.float64 and np.all(np.isfinite(model.coef_))
    np.testing.assert_allclose(model.coef_, _model().fit(values.astype(np.float64), Y).coef_)


def test_feature_count_change_between_fit_and_predict():
    model = _model().fit(X, Y)
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4"):
            getattr(model, method)(X[:, :3])


def test_pandas_names_are_checked_at_predict():
    frame = pd.DataFrame(X, columns=list("abcd"))
    model = _model().fit(frame, Y)
    np.testing.assert_array_equal(model.feature_names_in_, list("abcd"))
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame[list("dcba")])
    with pytest.warns(UserWarning, match="valid feature names"):
        model.predict(X)


def test_a_class_without_weight_is_announced_and_stays_finite():
    weights = np.where(Y == 2, 0.0, 1.0)
    with pytest.warns(UserWarning, match=r"classes \[2\] have zero total sample weight"):
        model = _model().fit(X, Y, sample_weight=weights)
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.intercept_))
    assert not np.any(model.predict(X) == 2)


def test_metrics_refuse_bad_probabilities():
    proba = np.full((60, 3), 1 / 3)
    with pytest.raises(ValueError, match="NaN or infinity"):
        classwise_scores(Y, _with(proba, (0, 0), np.nan))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        classwise_scores(Y[:10], proba)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(C=[1.0, 2.0]), r"C has shape \(2,\)"),
        (dict(C=[1.0, 0.0, 1.0]), "C must be positive"),
        (dict(C=[1.0, -1.0, 1.0]), "C must be positive"),
        (dict(C=[1.0, np.nan, 1.0]), "C must be positive"),
        (dict(C={0: 1.0, 1: 1.0, "7": 1.0}), "cannot be class labels: '7'"),
        (dict(C={0: 1.0, 1: 1.0}), "no value for the classes 2"),
        (dict(label_smoothing=1.0), "label_smoothing"),
        (dict(label_smoothing=[0.1, -0.1, 0.0]), "label_smoothing"),
        (dict(logit_penalty=-1.0), "logit_penalty"),
        (dict(tol=np.nan), "'tol' parameter"),
        (dict(max_iter=-1), "'max_iter' parameter"),
        (dict(backend="jax"), "'backend' parameter"),
    ],
)
def test_bad_parameters_name_the_parameter(params, message):
    with pytest.raises(ValueError, match=message):
        ClassWiseRegularizedLogisticRegression(**params).fit(X, Y)
