"""Every fitted object survives pickle and joblib, and predicts the same afterwards."""

import pickle

import joblib
import numpy as np
import pytest

from sklearn_classreg import (
    ClassWiseRegularizationCV,
    ClassWiseRegularizedLogisticRegression,
    regularization_path,
)
from sklearn_classreg.datasets import make_frozen_features
from sklearn_classreg.feature_extraction import AmbiguousClassLDA
from sklearn_classreg.model_selection import ClassWiseStudy

X, y = make_frozen_features(240, 8, 4, random_state=0)


def fitted_objects():
    objects = {
        "model": ClassWiseRegularizedLogisticRegression(C=[0.1, 1, 10, 1]).fit(X, y),
        "model newton-cg": ClassWiseRegularizedLogisticRegression(solver="newton-cg").fit(X, y),
        "cv per_class": ClassWiseRegularizationCV(Cs=3, cv=2, n_bootstrap=20).fit(X, y),
        "path": regularization_path(X, y, [0.1, 1.0]),
        "study": ClassWiseStudy(param_range=[0.1, 1.0], cv=2, n_bootstrap=20, random_state=0).fit(
            X, y
        ),
        "lda": AmbiguousClassLDA(n_classes=2, cv=2).fit(X, y),
    }
    try:
        import torch

        objects["model torch"] = ClassWiseRegularizedLogisticRegression(
            backend="torch", device="cpu"
        ).fit(X, y)
        from sklearn_classreg.feature_extraction import FrozenFeatureExtractor

        objects["extractor"] = FrozenFeatureExtractor(torch.nn.Linear(8, 3)).fit(X)
    except ImportError:
        pass
    return objects


def outputs(obj):
    """What an object computes, to compare before and after the round trip."""
    if hasattr(obj, "predict_proba"):
        return obj.predict_proba(X)
    if hasattr(obj, "transform"):
        return obj.transform(X)
    if hasattr(obj, "estimator") and hasattr(obj, "coefs"):
        return obj.estimator(1).predict_proba(X)
    return obj.summary_.select_dtypes("number").to_numpy()


@pytest.mark.parametrize("name", list(fitted_objects()))
@pytest.mark.parametrize("way", ["pickle", "joblib"])
def test_round_trip(name, way, tmp_path):
    obj = fitted_objects()[name]
    if way == "pickle":
        loaded = pickle.loads(pickle.dumps(obj))
    else:
        joblib.dump(obj, tmp_path / "object.joblib")
        loaded = joblib.load(tmp_path / "object.joblib")
    np.testing.assert_array_equal(outputs(loaded), outputs(obj))


@pytest.mark.parametrize("make", ["model", "cv"])
def test_torch_fitted_objects_load_and_predict_without_torch(make, tmp_path, python_without_torch):
    pytest.importorskip("torch")
    if make == "model":
        obj = ClassWiseRegularizedLogisticRegression(backend="torch", device="cpu").fit(X, y)
    else:
        obj = ClassWiseRegularizationCV(
            Cs=3, cv=2, n_bootstrap=20, backend="torch", device="cpu"
        ).fit(X, y)
    joblib.dump(obj, tmp_path / "object.joblib")
    np.save(tmp_path / "X.npy", X)
    python_without_torch(
        "import joblib, numpy as np\n"
        f"obj = joblib.load({str(tmp_path / 'object.joblib')!r})\n"
        f"np.save({str(tmp_path / 'proba.npy')!r}, obj.predict_proba(np.load("
        f"{str(tmp_path / 'X.npy')!r})))\n"
    )
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), obj.predict_proba(X))
