"""ONNX export: onnxruntime's probabilities and labels equal predict_proba and predict."""

import sys

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_classreg import ClassWiseRegularizationCV, ClassWiseRegularizedLogisticRegression
from sklearn_classreg.onnx import register_onnx_converters, to_onnx

skl2onnx = pytest.importorskip("skl2onnx")  # the "onnx" extra, part of "test"
ort = pytest.importorskip("onnxruntime")

IRIS_X, IRIS_Y = load_iris(return_X_y=True)


def problem(n_classes, labels):
    keep = IRIS_Y < n_classes
    X, y = IRIS_X[keep], IRIS_Y[keep]
    if labels == "str":
        y = np.array(["setosa", "versicolor", "virginica"])[y]
    return X, y


def run(onx, X):
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    return session.run(None, {name: X})


def assert_same_predictions(model, onx, X):
    labels, proba = run(onx, X)
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(labels, model.predict(X))
    assert proba.dtype == X.dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("in_pipeline", [False, True])
def test_onnxruntime_equals_predict_proba(n_classes, labels, dtype, in_pipeline):
    X, y = problem(n_classes, labels)
    X = X.astype(dtype)
    C = dict(zip(np.unique(y), [0.05, 1.0, 20.0], strict=True)) if n_classes == 3 else 0.3
    model = ClassWiseRegularizedLogisticRegression(C=C)
    if in_pipeline:
        model = make_pipeline(StandardScaler(), model)
    model.fit(X, y)
    onx = to_onnx(model, X[:1], options={"zipmap": False})
    assert_same_predictions(model, onx, X)


def test_binary_probabilities_are_a_sigmoid_not_a_softmax_of_minus_z_and_z():
    # skl2onnx's generic linear classifier would give softmax([-z, z]) = sigmoid(2 z).
    X, y = problem(2, "int")
    model = ClassWiseRegularizedLogisticRegression(C=0.01).fit(X, y)
    _, proba = run(
        to_onnx(model, X[:1].astype(np.float32), options={"zipmap": False}), X.astype(np.float32)
    )
    z = model.decision_function(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)), atol=1e-6)
    assert np.abs(proba[:, 1] - 1 / (1 + np.exp(-2 * z))).max() > 0.05  # the two differ here


def test_cross_validated_sparsified_and_interceptless_models_convert():
    X, y = problem(3, "int")
    X = StandardScaler().fit_transform(X).astype(np.float32)
    for model in (
        ClassWiseRegularizationCV(Cs=[0.1, 1.0], cv=3, strategy="global").fit(X, y),
        ClassWiseRegularizedLogisticRegression().fit(X, y).sparsify(),
        ClassWiseRegularizedLogisticRegression(fit_intercept=False).fit(X, y),
    ):
        assert_same_predictions(model, to_onnx(model, X[:1], options={"zipmap": False}), X)


def test_skl2onnx_converts_after_registration_with_its_default_zipmap():
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    X, y = problem(3, "str")
    X = X.astype(np.float32)
    model = ClassWiseRegularizedLogisticRegression(C=0.5).fit(X, y)
    register_onnx_converters()
    register_onnx_converters()  # twice is harmless
    onx = convert_sklearn(model, initial_types=[("features", FloatTensorType([None, 4]))])
    labels, proba = run(onx, X)  # proba: one {label: probability} dict per row
    np.testing.assert_array_equal(labels, model.predict(X))
    expected = model.predict_proba(X)
    for row, dictionary in zip(expected, proba, strict=True):
        np.testing.assert_allclose([dictionary[c] for c in model.classes_], row, atol=1e-5)
    labels, _ = run(
        convert_sklearn(
            model,
            initial_types=[("features", FloatTensorType([None, 4]))],
            options={id(model): {"nocl": True, "zipmap": False}},
        ),
        X,
    )
    np.testing.assert_array_equal(labels, np.searchsorted(model.classes_, model.predict(X)))


def test_without_skl2onnx_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'sklearn-classreg\[onnx\]'"):
        register_onnx_converters()
