"""scikit-learn's estimator checks on every public estimator, discovered."""

import importlib
import inspect
import pkgutil

import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_classreg


def public_estimator_classes():
    """Every estimator class exported by a public (non-underscore) module."""
    found = {}
    modules = [sklearn_classreg] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(sklearn_classreg.__path__, "sklearn_classreg.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found[obj.__name__] = obj
    return [found[name] for name in sorted(found)]


# Parameters that make an estimator testable on the checks' small 2-d data.
TEST_PARAMS = {
    "ClassWiseRegularizationCV": lambda: dict(Cs=3, cv=3, n_bootstrap=50, max_outer_iter=3),
    "FrozenFeatureExtractor": lambda: dict(model=_any_width_network()),
    "AmbiguousClassLDA": lambda: dict(n_classes=2, cv=3),
}


def _any_width_network():
    """A torch module for any number of features (the checks vary it), picklable."""
    torch = pytest.importorskip("torch")
    return torch.nn.Identity()


def all_estimators():
    instances = []
    for cls in public_estimator_classes():
        params = TEST_PARAMS.get(cls.__name__, dict)()
        instances.append(cls(**params))
    return instances


def test_estimators_are_discovered():
    names = {cls.__name__ for cls in public_estimator_classes()}
    assert {
        "ClassWiseRegularizedLogisticRegression",
        "ClassWiseRegularizationCV",
        "FrozenFeatureExtractor",
        "AmbiguousClassLDA",
    } <= names


@parametrize_with_checks(all_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
