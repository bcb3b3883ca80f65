"""AmbiguousClassLDA, find_ambiguous_classes and weight_lda_angle."""

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from sklearn_classreg import ClassWiseRegularizedLogisticRegression
from sklearn_classreg.feature_extraction import (
    AmbiguousClassLDA,
    find_ambiguous_classes,
    weight_lda_angle,
)


def blobs(seed=0):
    """Six classes; 0 and 1 overlap, 2 and 3 overlap a little, 4 and 5 are apart."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [0.4, 0], [5, 5], [6, 5], [-8, 8], [8, -8]], dtype=float)
    X = np.vstack([c + rng.standard_normal((60, 2)) for c in centres])
    X = np.hstack([X, rng.standard_normal((len(X), 3))])
    return X, np.repeat(np.arange(6), 60)


def test_find_ambiguous_classes_greedy_order_and_labels():
    confusion = np.array([[50, 30, 0, 0], [25, 55, 5, 0], [0, 10, 70, 0], [0, 0, 1, 99]])
    np.testing.assert_array_equal(find_ambiguous_classes(confusion, 2), [0, 1])
    np.testing.assert_array_equal(find_ambiguous_classes(confusion, 3), [0, 1, 2])
    np.testing.assert_array_equal(
        find_ambiguous_classes(confusion, 2, labels=np.array(list("abcd"))), ["a", "b"]
    )
    with pytest.raises(ValueError, match="n_classes must be"):
        find_ambiguous_classes(confusion, 5)
    with pytest.raises(ValueError, match="square"):
        find_ambiguous_classes(np.ones((2, 3)))


def test_lda_finds_the_confused_pair_and_projects_any_sample():
    X, y = blobs()
    lda = AmbiguousClassLDA(n_classes=2, shrinkage=None).fit(X, y)
    np.testing.assert_array_equal(np.sort(lda.ambiguous_classes_), [0, 1])
    assert lda.confusion_.shape == (6, 6)
    mask = np.isin(y, [0, 1])
    reference = LinearDiscriminantAnalysis(solver="eigen").fit(X[mask], y[mask])
    np.testing.assert_allclose(
        np.abs(lda.transform(X)), np.abs(reference.transform(X)), rtol=1e-8, atol=1e-8
    )
    assert lda.transform(X).shape == (len(X), 1)
    assert lda.fisher_separability_.shape == (1, 3)


def test_given_classes_and_separability_order():
    X, y = blobs(1)
    lda = AmbiguousClassLDA(classes=[0, 1, 2, 3]).fit(X, y)
    assert lda.confusion_ is None and lda.transform(X).shape == (len(X), 3)
    separation = lda.fisher_separability_.set_index(["class_a", "class_b"]).fisher
    assert separation.loc[(0, 1)] < separation.loc[(0, 2)]  # the confused pair is closest
    with pytest.raises(ValueError, match="at least 2 labels of y"):
        AmbiguousClassLDA(classes=[0, 9]).fit(X, y)


def test_weight_lda_angle_is_small_for_logistic_regression_on_gaussian_classes():
    """Gaussian classes with a shared covariance: both directions estimate Fisher's."""
    rng = np.random.default_rng(0)
    covariance = np.array([[2.0, 1.2], [1.2, 1.0]])
    factor = np.linalg.cholesky(covariance)
    X = np.vstack(
        [rng.standard_normal((4000, 2)) @ factor.T + mean for mean in ([0, 0], [1, -0.5])]
    )
    y = np.repeat([0, 1], 4000)
    model = ClassWiseRegularizedLogisticRegression(C=1e4, max_iter=1000).fit(X, y)
    assert weight_lda_angle(model, X, y, (0, 1)) < 3.0
    # a direction unrelated to the data is far from Fisher's
    model.coef_ = np.array([[1.0, 1.0]])
    assert weight_lda_angle(model, X, y, (0, 1)) > 30.0
