"""scikit-learn's estimator checks on every public estimator, discovered."""

import importlib
import inspect
import pkgutil

import pytest
from sklearn.base import BaseEstimator
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_param_validation,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
    parametrize_with_checks,
)

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
    "ClassWiseStudy": lambda: dict(param_range=[0.1, 1.0, 10.0], cv=3, n_bootstrap=50),
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
        "ClassWiseStudy",
        "AugmentationStudy",
    } <= names


@parametrize_with_checks(all_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# scikit-learn's checks run on feature matrices; an estimator of images (tag
# two_d_array=False) gets none of them from parametrize_with_checks. These
# need no feature matrix (parameter validation fails before the data is read);
# its fits on images are tested with the estimator.
CHECKS_WITHOUT_A_FEATURE_MATRIX = [
    check_estimator_cloneable,
    check_estimator_tags_renamed,
    check_valid_tag_types,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_do_not_raise_errors_in_init_or_set_params,
    check_mixin_order,
    check_parameters_default_constructible,
    check_get_params_invariance,
    check_set_params,
    check_param_validation,
]


def image_estimators():
    return [e for e in all_estimators() if not get_tags(e).input_tags.two_d_array]


def test_the_image_estimators_are_known():
    assert [type(e).__name__ for e in image_estimators()] == ["AugmentationStudy"]


@pytest.mark.parametrize("estimator", image_estimators(), ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    "check", CHECKS_WITHOUT_A_FEATURE_MATRIX, ids=lambda check: check.__name__
)
def test_image_estimators_pass_the_checks_without_a_feature_matrix(estimator, check):
    check(type(estimator).__name__, estimator)
