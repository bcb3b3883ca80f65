"""backend="torch" gives the numba backend's model, on every device; torch stays optional."""

import pickle
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model

SOLVERS = ["lbfgs", "newton-cg"]


def data(n_classes=3, seed=0, n_samples=240):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=7,
        n_informative=5,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


def fit_both(X, y, device, sample_weight=None, **params):
    numba = Model(**params).fit(X, y, sample_weight=sample_weight)
    torch_model = Model(backend="torch", device=device, **params).fit(
        X, y, sample_weight=sample_weight
    )
    return numba, torch_model


CASES = [
    pytest.param(dict(n_classes=3), {}, id="multinomial"),
    pytest.param(dict(n_classes=2), {}, id="binary"),
    pytest.param(dict(n_classes=4), dict(fit_intercept=False), id="no-intercept"),
    pytest.param(dict(n_classes=4), dict(C=[0.1, 1.0, 10.0, 30.0]), id="per-class-C"),
    pytest.param(dict(n_classes=3), dict(label_smoothing=0.1, logit_penalty=0.3), id="logit-reg"),
    pytest.param(dict(n_classes=3), dict(class_weight="balanced"), id="class-weight"),
]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("problem, params", CASES)
def test_float64_equals_numba_tightly(problem, params, solver, device):
    X, y = data(**problem)
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    numba, torch_model = fit_both(
        X, y, device, sample_weight, solver=solver, tol=1e-10, max_iter=5000, **params
    )
    # max|gradient| <= tol bounds coefficient errors by tol * n * max(C)
    atol = max(1e-7, 1e-10 * len(y) * np.max(params.get("C", 1.0)))
    for name in ("coef_", "intercept_", "C_"):
        value = getattr(torch_model, name)
        assert isinstance(value, np.ndarray), name
        np.testing.assert_allclose(value, getattr(numba, name), atol=atol, err_msg=name)
    np.testing.assert_array_equal(torch_model.classes_, numba.classes_)
    np.testing.assert_allclose(torch_model.predict_proba(X), numba.predict_proba(X), atol=1e-7)


@pytest.mark.parametrize("problem, params", CASES[:2])
def test_float32_equals_numba_loosely(problem, params, device):
    X, y = data(**problem)
    numba, torch_model = fit_both(X.astype(np.float32), y, device, tol=1e-6, max_iter=2000)
    assert torch_model.coef_.dtype == np.float32
    np.testing.assert_allclose(torch_model.coef_, numba.coef_, atol=1e-3)


def test_csr_and_batches_equal_dense(device):
    X, y = data(3)
    X[np.abs(X) < 0.5] = 0.0
    dense = Model(backend="torch", device=device, tol=1e-10, max_iter=5000).fit(X, y)
    for variant in (dict(X=sparse.csr_matrix(X)), dict(X=X, batch_size=50)):
        other = Model(
            backend="torch",
            device=device,
            tol=1e-10,
            max_iter=5000,
            batch_size=variant.get("batch_size"),
        ).fit(variant["X"], y)
        np.testing.assert_allclose(other.coef_, dense.coef_, atol=1e-8)


def test_tensor_inputs_and_numpy_outputs(device):
    import torch

    X, y = data(3)
    X_t = torch.as_tensor(X, device=device)
    model = Model(backend="torch", device=device, tol=1e-10, max_iter=5000)
    model.fit(X_t, torch.as_tensor(y, device=device))
    reference = Model(tol=1e-10, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-7)
    assert model.n_features_in_ == 7 and not hasattr(model, "feature_names_in_")
    proba = model.predict_proba(X_t)  # tensors are accepted at prediction too
    assert isinstance(proba, np.ndarray)
    np.testing.assert_allclose(proba, reference.predict_proba(X), atol=1e-7)
    # a tensor X also works with the numba backend (converted to NumPy)
    numba = Model(tol=1e-10, max_iter=5000).fit(X_t.cpu(), y)
    np.testing.assert_allclose(numba.coef_, reference.coef_)


def test_fitted_model_pickles_and_predicts_without_torch(tmp_path, device, python_without_torch):
    X, y = data(3)
    model = Model(backend="torch", device=device).fit(X, y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    np.save(tmp_path / "X.npy", X)
    out = python_without_torch(
        "import pickle, numpy as np\n"
        f"model = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        f"print(model.predict(np.load({str(tmp_path / 'X.npy')!r}))[:5].tolist())\n"
    )
    assert out.stdout.strip() == str(model.predict(X)[:5].tolist())


def test_non_finite_tensor_is_a_clear_error(device):
    import torch

    X, y = data(3)
    X_t = torch.as_tensor(X, device=device)
    X_t[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinity"):
        Model(backend="torch", device=device).fit(X_t, y)


def test_device_needs_the_torch_backend():
    X, y = data(3)
    with pytest.raises(ValueError, match="needs backend='torch'"):
        Model(device="cuda").fit(X, y)


def test_missing_torch_is_a_clear_error_and_the_rest_works(python_without_torch):
    """With torch unimportable: backend='torch' names the extra, numba still fits."""
    out = python_without_torch(
        """
import numpy as np
from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
X = np.random.default_rng(0).standard_normal((60, 3)); y = np.arange(60) % 3
Model().fit(X, y)
try:
    Model(backend='torch').fit(X, y)
except ImportError as error:
    print(error)
"""
    )
    assert "sklearn-classreg[torch]" in out.stdout
    assert "torch" not in out.stderr


def test_convergence_warning_and_warm_start_work_on_torch(device):
    X, y = data(3)
    with pytest.warns(ConvergenceWarning):
        Model(backend="torch", device=device, max_iter=2, tol=1e-12).fit(X, y)
    model = Model(backend="torch", device=device, warm_start=True, tol=1e-8, max_iter=500)
    first = model.fit(X, y).n_iter_[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = model.fit(X, y).n_iter_[0]
    assert second < first


def test_regularization_path_on_torch_equals_numba(device):
    from sklearn_classreg import regularization_path

    X, y = data(3)
    Cs = [0.01, 1.0, 100.0]
    numba = regularization_path(X, y, Cs, tol=1e-10, max_iter=5000)
    torch_path = regularization_path(
        X, y, Cs, tol=1e-10, max_iter=5000, backend="torch", device=device
    )
    assert isinstance(torch_path.coefs, np.ndarray)
    np.testing.assert_allclose(torch_path.coefs, numba.coefs, atol=1e-6)
    np.testing.assert_allclose(torch_path.objective, numba.objective, rtol=1e-10)
