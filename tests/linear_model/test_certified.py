"""Every fit, path point and curve value is a certified optimum, weak regularization included.

The reference is an independent dense Newton solve (`tests/conftest.py`).
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
from sklearn_classreg import regularization_path
from sklearn_classreg.model_selection import classwise_validation_curve

TOL = 1e-4


def separable(n_classes, n=150, d=6, seed=0):
    """Linearly separable classes: far-apart centres, small noise."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.standard_normal((n_classes, d))
    y = np.arange(n) % n_classes
    return centres[y] + 0.4 * rng.standard_normal((n, d)), y


def relative_suboptimality(reference, X, y, C, model):
    """(f(model) - min f) / min f, both from the independent reference, in float64."""
    tight = reference(np.asarray(X, dtype=np.float64), y, C)
    return (tight.objective(model.coef_, model.intercept_) - tight.value) / tight.value


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
@pytest.mark.parametrize("n_classes", [2, 6])
@pytest.mark.parametrize("C", [1e-4, 1e-2, 1.0, 1e2, 1e4])
def test_a_default_fit_is_within_tol_of_the_optimum(reference, C, n_classes, solver, dtype):
    X, y = separable(n_classes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = Model(C=C, solver=solver).fit(X.astype(dtype), y)
    assert not [w for w in caught if "failed to converge" in str(w.message)]
    suboptimality = relative_suboptimality(reference, X.astype(dtype), y, C, model)
    assert model.gap_ <= TOL
    assert suboptimality <= model.gap_ + 1e-12  # the certificate bounds the truth


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
@pytest.mark.parametrize("C", [1e-4, 1.0, 1e4])
def test_the_torch_backend_is_certified_too(reference, device, C, solver, dtype):
    X, y = separable(6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = Model(C=C, solver=solver, backend="torch", device=device)
        model.fit(X.astype(dtype), y)
    assert not [w for w in caught if "failed to converge" in str(w.message)]
    assert model.gap_ <= TOL
    assert relative_suboptimality(reference, X.astype(dtype), y, C, model) <= model.gap_ + 1e-12


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_path_point_matches_an_independent_tight_fit(reference, dtype):
    X, y = separable(12, n=240, d=8)
    X = X.astype(dtype)
    Cs = np.logspace(-2, 4, 13)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        path = regularization_path(X, y, Cs)
    assert np.all(path.gaps <= TOL) and path.converged.all()
    assert np.all(path.n_iter[1:] >= 1)  # no point took its neighbour's answer as is
    for index, C in enumerate(Cs):
        suboptimality = relative_suboptimality(reference, X, y, C, path.estimator(index))
        assert suboptimality <= path.gaps[index] + 1e-12, (C, suboptimality)


def test_the_validation_curve_at_weak_C_equals_independent_fits():
    X, y = separable(5, n=200)
    Cs = [1e2, 1e3, 1e4]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    curve = classwise_validation_curve(
        Model(), X, y, param_name="C", param_range=Cs, cv=cv, metrics=["deviance"]
    )
    deviance = curve[(curve.metric == "deviance") & (curve["class"] == "all")]
    for fold, (train, test) in enumerate(cv.split(X, y)):
        for C in Cs:
            model = Model(C=C, tol=1e-9, max_iter=10000).fit(X[train], y[train])
            proba = model.predict_proba(X[test])[np.arange(len(test)), y[test]]
            expected = -np.mean(np.log(proba))  # the held-out mean negative log-likelihood
            got = deviance[(deviance.fold == fold) & (deviance.C == C)].value.item()
            # the curve's own fits are within tol of the optimum: deviance agrees closely
            assert got == pytest.approx(expected, rel=2e-2, abs=1e-6), (fold, C)
    # and the curve keeps moving at weak C (it used to freeze once warm starts stopped)
    means = deviance.groupby("C").value.mean()
    assert not np.isclose(means[1e3], means[1e4], rtol=1e-6)


def test_the_convergence_warning_gives_the_gap_reached():
    X, y = separable(6)
    with pytest.warns(ConvergenceWarning, match=r"relative duality gap [0-9.e+-]+ > tol"):
        model = Model(C=1e4, max_iter=3).fit(X, y)
    assert model.gap_ > TOL


def test_unpenalized_classes_have_no_certificate_and_say_so():
    X, y = separable(3)
    rng = np.random.default_rng(0)
    y = np.where(rng.uniform(size=len(y)) < 0.3, rng.integers(0, 3, len(y)), y)  # overlap
    C = {0: 1.0, 1: 1.0, 2: np.inf}
    model = Model(C=C, max_iter=1000).fit(X, y)
    assert model.gap_ == np.inf


def test_float32_fits_are_certified_in_float64_arithmetic(reference):
    X, y = separable(6, n=300)
    X32 = X.astype(np.float32)
    model = Model(C=1e4, tol=1e-6, max_iter=5000).fit(X32, y)
    assert model.coef_.dtype == np.float32
    assert model.gap_ <= 1e-6
    assert relative_suboptimality(reference, X32, y, 1e4, model) <= model.gap_ + 1e-12
