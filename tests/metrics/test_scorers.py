"""The scorers under scikit-learn's metadata routing: weights only when asked for."""

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_iris
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.model_selection import cross_validate

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
from sklearn_classreg.metrics import (
    balanced_accuracy_scorer,
    make_classwise_scorer,
    neg_deviance_scorer,
    worst_class_accuracy,
    worst_class_accuracy_scorer,
    worst_k_recall_scorer,
    worst_pairwise_accuracy_scorer,
)

SHIPPED = [
    worst_class_accuracy_scorer,
    worst_k_recall_scorer,
    worst_pairwise_accuracy_scorer,
    balanced_accuracy_scorer,
    neg_deviance_scorer,
]
X, Y = load_iris(return_X_y=True)
WEIGHTS = np.random.default_rng(0).uniform(0.1, 3.0, len(Y))


def cross_validated(scorer, **kwargs):
    return cross_validate(Model(), X, Y, cv=3, scoring=scorer, **kwargs)["test_score"]


def weighted_by_hand(scorer):
    """Each fold's score of an unweighted fit with its test weights, outside any routing."""
    scores = []
    for estimator, (_, test) in zip(
        cross_validate(Model(), X, Y, cv=3, return_estimator=True, return_indices=True)[
            "estimator"
        ],
        _test_folds(),
        strict=True,
    ):
        scores.append(scorer(estimator, X[test], Y[test], sample_weight=WEIGHTS[test]))
    return np.array(scores)


def _test_folds():
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(3).split(X, Y))


@pytest.mark.parametrize("scorer", SHIPPED, ids=repr)
def test_called_directly_the_weights_count(scorer):
    model = Model().fit(X, Y)
    weighted = scorer(model, X, Y, sample_weight=WEIGHTS)
    proba = model.predict_proba(X)
    expected = scorer.score_func(
        Y, proba, labels=model.classes_, sample_weight=WEIGHTS, **scorer.kwargs
    )
    assert weighted == pytest.approx(
        expected if scorer.greater_is_better else -expected, rel=1e-12
    )
    assert weighted != pytest.approx(scorer(model, X, Y), rel=1e-6)


@pytest.mark.parametrize("scorer", SHIPPED, ids=repr)
def test_with_routing_unrequested_weights_raise_as_in_scikit_learn(scorer):
    with sklearn.config_context(enable_metadata_routing=True):
        model = Model().set_fit_request(sample_weight=False)
        with pytest.raises(UnsetMetadataPassedError, match=r"ClasswiseScorer\.score"):
            cross_validate(model, X, Y, cv=3, scoring=scorer, params={"sample_weight": WEIGHTS})


@pytest.mark.parametrize("scorer", SHIPPED, ids=repr)
def test_with_routing_requested_weights_reach_the_scorer(scorer):
    with sklearn.config_context(enable_metadata_routing=True):
        model = Model().set_fit_request(sample_weight=False)  # the fits stay unweighted
        asked = make_classwise_scorer(
            scorer.score_func, greater_is_better=scorer.greater_is_better, **scorer.kwargs
        ).set_score_request(sample_weight=True)
        weighted = cross_validate(
            model, X, Y, cv=3, scoring=asked, params={"sample_weight": WEIGHTS}
        )["test_score"]
    np.testing.assert_allclose(weighted, weighted_by_hand(scorer))
    assert not np.allclose(weighted, cross_validated(scorer))  # the weights mattered


def test_an_alias_routes_another_name():
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_classwise_scorer(worst_class_accuracy).set_score_request(
            sample_weight="test_weight"
        )
        model = Model().set_fit_request(sample_weight=False)
        weighted = cross_validate(
            model, X, Y, cv=3, scoring=scorer, params={"test_weight": WEIGHTS}
        )["test_score"]
    np.testing.assert_allclose(weighted, weighted_by_hand(worst_class_accuracy_scorer))


def test_set_score_request_needs_routing_and_other_keywords_raise():
    with pytest.raises(RuntimeError, match="enable_metadata_routing=True"):
        make_classwise_scorer(worst_class_accuracy).set_score_request(sample_weight=True)
    model = Model().fit(X, Y)
    with pytest.raises(ValueError, match="only supported if enable_metadata_routing=True"):
        worst_class_accuracy_scorer(model, X, Y, groups=np.zeros(len(Y)))
