"""scikit-learn's estimator checks on every public estimator, discovered."""

import inspect

from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_classreg


def all_estimators():
    """Every public estimator class exported by the package, instantiated."""
    return [
        obj()
        for name, obj in sorted(vars(sklearn_classreg).items())
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator) and not name.startswith("_")
    ]


def test_estimators_are_discovered():
    assert all_estimators(), "no public estimator found"


@parametrize_with_checks(all_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
