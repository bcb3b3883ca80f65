"""regularization_path: warm-started fits equal independent fits, in grid order."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
from sklearn_classreg import regularization_path
from sklearn_classreg.datasets import make_frozen_features


def data(n_classes=3, seed=0):
    X, y = make_classification(
        n_samples=200,
        n_features=6,
        n_informative=4,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
def test_each_point_equals_an_independent_fit(n_classes, solver):
    X, y = data(n_classes)
    Cs = [10.0, 0.01, 1.0, 0.1]  # deliberately unsorted
    path = regularization_path(X, y, Cs, tol=1e-13, max_iter=5000, solver=solver)
    assert path.coefs.shape == (4, 1 if n_classes == 2 else 3, 6) and len(path) == 4
    for i, C in enumerate(Cs):
        model = Model(C=C, tol=1e-13, max_iter=5000, solver=solver).fit(X, y)
        # both within 1e-13 of the optimal objective; the objective is 1 / (C n)-
        # strongly convex, so each is within sqrt(2e-13 f C n) ~ 1e-5 at C = 10
        np.testing.assert_allclose(path.coefs[i], model.coef_, atol=1e-5)
        np.testing.assert_allclose(path.intercepts[i], model.intercept_, atol=1e-5)
        np.testing.assert_array_equal(path.Cs[i], model.C_)
        estimator = path.estimator(i)
        np.testing.assert_allclose(estimator.predict_proba(X), model.predict_proba(X), atol=1e-5)
        assert estimator.n_features_in_ == 6 and estimator.get_params()["tol"] == 1e-13
    assert path.converged.all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_warm_starts_save_iterations(seed):
    """Measured: 0.69-0.72 of the cold iterations on these problems (0.76-0.78 without
    the extrapolated starts)."""
    X, y = make_frozen_features(1500, 48, 6, class_sep=0.3, random_state=seed)
    Cs = np.logspace(-3, 2, 12)
    path = regularization_path(X, y, Cs, tol=1e-7, max_iter=5000)
    cold = sum(Model(C=C, tol=1e-7, max_iter=5000).fit(X, y).n_iter_[0] for C in Cs)
    assert path.n_iter.sum() < 0.9 * cold


def test_per_class_grids_as_arrays_and_dicts():
    X, y = data(3)
    rows = np.array([[0.1, 1.0, 10.0], [1.0, 1.0, 1.0]])
    as_dicts = [dict(enumerate(row)) for row in rows]
    a = regularization_path(X, y, rows, tol=1e-13, max_iter=5000)
    b = regularization_path(X, y, as_dicts, tol=1e-13, max_iter=5000)
    np.testing.assert_array_equal(a.Cs, rows)
    np.testing.assert_allclose(a.coefs, b.coefs, atol=1e-9)
    single = Model(C=[0.1, 1.0, 10.0], tol=1e-13, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(a.coefs[0], single.coef_, atol=1e-7)


def test_objective_decreases_with_C():
    X, y = data(3)
    path = regularization_path(X, y, np.logspace(-2, 2, 6), tol=1e-8, max_iter=5000)
    assert np.all(np.diff(path.objective) < 0)


def test_points_that_do_not_converge_are_reported():
    X, y = data(3)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge at 3 of 3 points"):
        path = regularization_path(X, y, [0.1, 1.0, 10.0], max_iter=1, tol=1e-12)
    assert not path.converged.any()


def test_binary_per_class_values_warn_once():
    X, y = data(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = regularization_path(X, y, [[0.5, 1.5], [1.0, 3.0]], tol=1e-8)
    assert sum("no class-specific effect" in str(w.message) for w in caught) == 1
    np.testing.assert_array_equal(path.Cs, [[1.0, 1.0], [2.0, 2.0]])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(Cs=[1.0], C=2.0), TypeError, "takes the grid as Cs"),
        (dict(Cs=[]), ValueError, "Cs is empty"),
        (dict(Cs=[1.0, -2.0]), ValueError, r"Cs\[1\] must be positive"),
        (dict(Cs=[[1.0, 2.0]]), ValueError, r"Cs\[0\] has shape \(2,\) but there are 3 classes"),
        (dict(Cs=[1.0], tol=-1), ValueError, "'tol' parameter"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, error, message):
    X, y = data(3)
    with pytest.raises(error, match=message):
        regularization_path(X, y, **kwargs)


def test_verbose_shows_a_progress_bar(capsys):
    X, y = data(3)
    regularization_path(X, y, [0.1, 1.0], verbose=1)
    assert "regularization path" in capsys.readouterr().err


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_path_started_from_a_fitted_model_is_certified_on_both_sides(dtype):
    """Weak C on separable data on one side, strong C on the other: every point is
    certified and within its tolerance of an independent tight fit."""
    X, y = make_frozen_features(600, 16, 5, class_sep=2.0, random_state=0)
    X = X.astype(dtype)
    origin = Model(C=1.0, tol=1e-6).fit(X, y)
    Cs = [1e-3, 1e4, 0.1, 1.0, 100.0]  # both sides of the origin, unsorted
    path = regularization_path(X, y, Cs, tol=1e-6, max_iter=5000, start=origin)
    assert path.converged.all() and path.gaps.max() <= 1e-6
    assert path.n_iter[3] <= 1  # the origin's own C: its solution is already certified
    for i, C in enumerate(Cs):
        tight = regularization_path(X.astype(np.float64), y, [C], tol=1e-10, max_iter=20000)
        assert path.objective[i] <= tight.objective[0] * (1 + 2e-6)


def test_a_sparsified_start_starts_a_path_as_its_dense_twin():
    X, y = make_frozen_features(300, 8, 4, random_state=0)
    origin = Model(C=1.0, tol=1e-6).fit(X, y)
    dense = regularization_path(X, y, [1.0, 10.0], tol=1e-6, start=origin)
    sparse_start = regularization_path(X, y, [1.0, 10.0], tol=1e-6, start=origin.sparsify())
    np.testing.assert_array_equal(sparse_start.coefs, dense.coefs)
    assert sparse_start.n_iter[0] <= 1


def test_a_start_far_from_the_path_does_not_leak_into_its_answers():
    """The weak-C solution as the start of a strong-C path: each point still iterates
    to its own optimum (the warm start never passes its answer on)."""
    X, y = make_frozen_features(600, 16, 5, class_sep=2.0, random_state=1)
    weak = Model(C=1e4, tol=1e-8, max_iter=5000).fit(X, y)
    Cs = [1e-3, 1e-2]
    started = regularization_path(X, y, Cs, tol=1e-8, max_iter=5000, start=weak)
    cold = regularization_path(X, y, Cs, tol=1e-8, max_iter=5000)
    np.testing.assert_allclose(started.objective, cold.objective, rtol=2e-8)
    np.testing.assert_allclose(started.coefs, cold.coefs, atol=1e-4)
    assert np.all(started.n_iter > 0)


@pytest.mark.parametrize(
    "start, error, message",
    [
        ("model", TypeError, "start must be a fitted ClassWiseRegularizedLogisticRegression"),
        (Model(), ValueError, "start is not fitted"),
        (Model().fit(*data(4)), ValueError, "fitted on the classes"),
        (Model().fit(data(3)[0][:, :4], data(3)[1]), ValueError, "start has 4 features; X has 6"),
    ],
)
def test_a_start_that_does_not_fit_the_data_is_a_clear_error(start, error, message):
    X, y = data(3)
    with pytest.raises(error, match=message):
        regularization_path(X, y, [1.0], start=start)
