"""AugmentationStudy: the class-wise study along the augmentation strength, on feature banks."""

import warnings

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_classreg import ClassWiseRegularizedLogisticRegression  # noqa: E402
from sklearn_classreg.datasets import load_omniglot_sample  # noqa: E402
from sklearn_classreg.feature_extraction import FrozenFeatureExtractor  # noqa: E402
from sklearn_classreg.model_selection import (  # noqa: E402
    AugmentationStudy,
    classwise_validation_curve,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*param_range|.*C_range:UserWarning")


def tiny_cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2),
        torch.nn.Flatten(),
    )


def omniglot(n_classes=5, per_class=12):
    """A few Omniglot characters (32 px), the same number of drawings each."""
    X, y = load_omniglot_sample()
    keep = np.concatenate([np.flatnonzero(y == label)[:per_class] for label in np.unique(y)])
    X, y = X[keep], y[keep]
    chosen = np.isin(y, np.unique(y)[:n_classes])
    return X[chosen], y[chosen]


def folds_of(y, n_splits=3):
    return list(StratifiedKFold(n_splits, shuffle=True, random_state=0).split(np.zeros(len(y)), y))


def test_global_optimum_equals_a_brute_force_pipeline_grid_search():
    X, y = omniglot()
    folds = folds_of(y)
    strengths = [0.0, 0.5, 1.0]
    probe = ClassWiseRegularizedLogisticRegression(C=0.1, tol=1e-8, max_iter=2000)
    extractor = FrozenFeatureExtractor(tiny_cnn(), augment="all", random_state=0)
    study = AugmentationStudy(
        extractor,
        probe,
        param_range=strengths,
        n_augment=1,
        cv=folds,
        global_metric="accuracy",
        n_bootstrap=50,
        chance=False,
        random_state=0,
    ).fit(X, y)
    grid = GridSearchCV(
        make_pipeline(extractor, probe),
        {"frozenfeatureextractor__strength": strengths},
        cv=folds,
        scoring="accuracy",
    ).fit(X, y)
    accuracy = study.curve_[(study.curve_["class"] == "all") & (study.curve_.metric == "accuracy")]
    for fold in range(len(folds)):
        ours = accuracy[accuracy.fold == fold].sort_values("value_index").value.to_numpy()
        np.testing.assert_allclose(ours, grid.cv_results_[f"split{fold}_test_score"], atol=1e-12)
    assert study.best_global_ == grid.best_params_["frozenfeatureextractor__strength"]
    assert len(set(grid.cv_results_["mean_test_score"])) > 1, "the strengths should matter"


class LeakSpy(ClassWiseRegularizedLogisticRegression):
    """Remembers its training rows; its predictions check that no test row is among them."""

    def fit(self, X, y, sample_weight=None):
        self.training_rows_ = {row.tobytes() for row in np.asarray(X)}
        return super().fit(X, y, sample_weight)

    def predict_log_proba(self, X):
        leaked = sum(row.tobytes() in self.training_rows_ for row in np.asarray(X))
        assert leaked == 0, f"{leaked} test rows were among the training rows"
        return super().predict_log_proba(X)


def test_views_of_a_test_image_never_reach_training():
    X, y = omniglot()
    spy = LeakSpy(C=0.1, max_iter=3000)
    # at strength 0 the views are the clean features: a leaked image would be found
    study = AugmentationStudy(
        FrozenFeatureExtractor(tiny_cnn(), augment="crop", random_state=0),
        spy,
        param_range=[0.0, 1.0],
        n_augment=2,
        include_clean=True,
        cv=3,
        n_bootstrap=20,
        chance=False,
    ).fit(X, y)
    assert len(study.curve_) > 0
    # and the spy does see a leak when there is one
    leaky = LeakSpy(C=0.1, max_iter=3000).fit(study.banks_.clean, y)
    with pytest.raises(AssertionError, match="test rows were among"):
        leaky.predict_log_proba(study.banks_.clean[:3])


def test_each_image_weighs_one_strength_zero_is_the_clean_fit():
    X, y = omniglot()
    folds = folds_of(y)
    probe = ClassWiseRegularizedLogisticRegression(C=0.3, tol=1e-10, max_iter=5000)
    study = AugmentationStudy(
        FrozenFeatureExtractor(tiny_cnn(), augment="all", random_state=0),
        probe,
        param_range=[0.0, 0.5],
        n_augment=3,
        include_clean=True,
        cv=folds,
        n_bootstrap=20,
        chance=False,
    ).fit(X, y)
    clean = classwise_validation_curve(
        probe,
        np.asarray(study.banks_.clean),
        y,
        param_name="C",
        param_range=[0.3],
        cv=folds,
        metrics=["deviance"],
    )
    ours = study.curve_[(study.curve_.metric == "deviance") & (study.curve_.value_index == 0)]
    # float32 features: the 4 copies of each row and the one row agree to float32 precision
    np.testing.assert_allclose(ours.value.to_numpy(), clean.value.to_numpy(), rtol=1e-4)


def test_class_conditional_refit_uses_each_class_strength():
    X, y = omniglot(n_classes=4)
    X_test, y_test = X[::4], y[::4]
    train = np.setdiff1d(np.arange(len(y)), np.arange(0, len(y), 4))
    X_train, y_train = X[train], y[train]
    probe = ClassWiseRegularizedLogisticRegression(C=0.5, tol=1e-8, max_iter=2000)
    study = AugmentationStudy(
        FrozenFeatureExtractor(tiny_cnn(), augment="all", random_state=0),
        probe,
        param_range=[0.0, 0.5, 1.0],
        n_augment=2,
        cv=3,
        n_bootstrap=100,
        random_state=0,
    ).fit(X_train, y_train, X_test=X_test, y_test=y_test)
    banks = study.banks_
    assert set(study.class_strength_) == set(study.classes_)
    assert study.class_strength_ == study.best_per_class_.to_dict()
    # the naive model's training rows, by hand: each image at its class's strength
    blocks = []
    for view in range(2):
        block = np.empty_like(np.asarray(banks.clean))
        for label, strength in study.class_strength_.items():
            block[y_train == label] = banks.views(strength)[view][y_train == label]
        blocks.append(block)
    by_hand = ClassWiseRegularizedLogisticRegression(C=0.25, tol=1e-8, max_iter=2000).fit(
        np.concatenate(blocks), np.tile(y_train, 2)
    )
    naive = study.models_["naive"]
    np.testing.assert_allclose(naive[-1].coef_, by_hand.coef_, rtol=1e-6, atol=1e-8)
    assert naive[0].class_strength == study.class_strength_
    assert study.models_["global"][0].strength == study.best_global_
    # the models predict images, from their clean features
    np.testing.assert_array_equal(
        naive.predict(X_test), by_hand.predict(naive[0].transform(X_test))
    )
    totals = study.totals_
    assert {"realised_gain_naive", "realised_gain_naive_low", "test_accuracy_naive"} <= set(
        totals.index
    )
    assert totals.realised_gain_naive_low <= totals.realised_gain_naive
    assert totals.realised_gain_naive <= totals.realised_gain_naive_high
    moved = sum(s != study.best_global_ for s in study.class_strength_.values())
    assert totals.n_classes_moved_naive == moved
    headings = [heading for heading, _ in study.verdict()]
    assert "What per-class augmentation could win at most" in headings
    sentence = dict(study.verdict())["What choosing per class wins on held-out data"]
    assert sentence.startswith("class-conditional augmentation")


def test_the_joint_grid_equals_one_study_per_C():
    X, y = omniglot(n_classes=4)
    folds = folds_of(y)
    extractor = FrozenFeatureExtractor(tiny_cnn(), augment="noise", random_state=0)
    probe = make_pipeline(
        StandardScaler(), ClassWiseRegularizedLogisticRegression(tol=1e-10, max_iter=5000)
    )
    joint = AugmentationStudy(
        extractor,
        probe,
        param_range=[0.0, 0.6],
        C_range=[0.01, 1.0],
        cv=folds,
        n_bootstrap=50,
        chance=False,
        random_state=0,
    ).fit(X, y)
    assert joint.param_name == "(strength, C)"
    assert joint.param_values_ == [(0.0, 0.01), (0.0, 1.0), (0.6, 0.01), (0.6, 1.0)]
    deviance = joint.curve_[(joint.curve_.metric == "deviance") & (joint.curve_["class"] != "all")]
    for C, offset in ((0.01, 0), (1.0, 1)):
        single = AugmentationStudy(
            extractor,
            probe.set_params(classwiseregularizedlogisticregression__C=C),
            param_range=[0.0, 0.6],
            cv=folds,
            n_bootstrap=50,
            chance=False,
        ).fit(X, y)
        theirs = single.curve_[
            (single.curve_.metric == "deviance") & (single.curve_["class"] != "all")
        ]
        for index in (0, 1):
            ours = deviance[deviance.value_index == 2 * index + offset].value.to_numpy()
            # float32 features: the two routes (a C path; a strength chain) agree to float32
            np.testing.assert_allclose(
                ours, theirs[theirs.value_index == index].value.to_numpy(), rtol=1e-4
            )
    assert joint.best_global_ in joint.param_values_
    assert np.isnan(joint.totals_.iqr_optimum)  # pairs have no spread


def test_bad_input_is_a_clear_error():
    X, y = omniglot(n_classes=3, per_class=6)
    augmenting = FrozenFeatureExtractor(tiny_cnn(), augment="noise")
    with pytest.raises(TypeError, match="FrozenFeatureExtractor"):
        AugmentationStudy("efficientnet-lite0").fit(X, y)
    with pytest.raises(ValueError, match="augment is None"):
        AugmentationStudy(FrozenFeatureExtractor(tiny_cnn()), cv=2).fit(X, y)
    with pytest.raises(ValueError, match="has no parameter 'C'"):
        AugmentationStudy(augmenting, KNeighborsClassifier(), cv=2).fit(X, y)
    with pytest.raises(ValueError, match=r"param_range holds strengths in \[0, 1\]"):
        AugmentationStudy(augmenting, param_range=[0.0, 2.0], cv=2).fit(X, y)
    with pytest.raises(ValueError, match="C_range must be positive"):
        AugmentationStudy(augmenting, C_range=[0.0, 1.0], cv=2).fit(X, y)
    with pytest.raises(ValueError, match="warm-started path"):
        AugmentationStudy(augmenting, LogisticRegression(), C_range=[1.0], cv=2).fit(X, y)
    with pytest.raises(ValueError, match="both X_test and y_test"):
        AugmentationStudy(augmenting, cv=2).fit(X, y, X_test=X)
    with pytest.raises(ValueError, match="include_clean"):
        AugmentationStudy(augmenting, include_clean="yes", cv=2).fit(X, y)
    with pytest.raises(ValueError, match="n_augment"):
        AugmentationStudy(augmenting, n_augment=0, cv=2).fit(X, y)
    with pytest.raises(ValueError, match="metric"):
        AugmentationStudy(augmenting, metric="f1", cv=2).fit(X, y)
    with pytest.raises(ValueError, match="X and y|inconsistent|samples"):
        AugmentationStudy(augmenting, cv=2).fit(X, y[:-1])


def test_real_efficientnet_lite0_features(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    X, y = omniglot(n_classes=6, per_class=20)
    X_test, y_test = X[::5], y[::5]
    train = np.setdiff1d(np.arange(len(y)), np.arange(0, len(y), 5))
    extractor = FrozenFeatureExtractor(
        "efficientnet-lite0", input_size=64, augment="all", memory=str(tmp_path), random_state=0
    )
    probe = make_pipeline(StandardScaler(), ClassWiseRegularizedLogisticRegression(C=0.01))
    study = AugmentationStudy(
        extractor, probe, param_range=[0.0, 0.5, 1.0], cv=3, n_bootstrap=200, random_state=0
    ).fit(X[train], y[train], X_test=X_test, y_test=y_test)
    assert study.banks_.clean.shape == (len(train), 1280)
    assert study.totals_.largest_gap <= 1e-4
    assert np.isfinite(study.totals_.realised_gain_naive)
    assert 0 <= study.totals_.test_accuracy_global <= 1
    assert study.models_["naive"].predict(X_test).shape == y_test.shape


def test_upstream_view_of_the_most_ambiguous_classes():
    from sklearn_classreg.feature_extraction import AmbiguousClassLDA, find_ambiguous_classes

    X, y = omniglot(n_classes=6)
    study = AugmentationStudy(
        FrozenFeatureExtractor(tiny_cnn(), augment="noise", random_state=0),
        ClassWiseRegularizedLogisticRegression(C=0.1, max_iter=3000),
        param_range=[0.0, 0.5, 1.0],
        n_augment=2,
        cv=3,
        n_bootstrap=50,
        random_state=0,
    ).fit(X, y)
    # the pooled out-of-fold confusion of the clean probe: every image once
    assert study.confusion_.sum() == len(y)
    np.testing.assert_array_equal(
        study.confusion_.sum(axis=1), np.bincount(np.searchsorted(study.classes_, y))
    )
    view = study.upstream_view(n_classes=3)
    expected = study.classes_[find_ambiguous_classes(study.confusion_, 3)]
    np.testing.assert_array_equal(view.classes, expected)
    assert len(view.separability) == 3 * 3  # strengths x pairs
    assert list(view.per_class.index) == list(expected)
    # cross-fitted: each half's LDA measured on the other half's views, averaged
    images = np.flatnonzero(np.isin(y, expected))
    halves = [
        (images[a], images[b])
        for a, b in StratifiedKFold(2, shuffle=True, random_state=0).split(images, y[images])
    ]
    by_hand = []
    for fitted_on, measured_on in halves:
        X_fit, rows_fit = study.banks_.training_features(fitted_on, 0.5)
        X_out, rows_out = study.banks_.training_features(measured_on, 0.5)
        lda = AmbiguousClassLDA(classes=expected).fit(X_fit, y[rows_fit])
        by_hand.append(lda.separability(X_out, y[rows_out]).fisher.to_numpy())
        in_sample = lda.fisher_separability_.fisher.to_numpy()
        assert np.all(by_hand[-1] < in_sample), "held out, LDA separates less than in sample"
    ours = view.separability[view.separability.strength == 0.5]
    np.testing.assert_allclose(ours.fisher.to_numpy(), np.mean(by_hand, axis=0), rtol=1e-10)
    strength, projected, labels = view.projections[1]
    assert strength == 0.5 and projected.shape == (2 * len(halves[0][1]), 2)
    np.testing.assert_array_equal(labels, np.tile(y[halves[0][1]], 2))
    # noise at full strength blurs these classes together, and the summary says so
    mean = view.separability.groupby("strength").fisher.mean()
    assert mean[1.0] < mean[0.0]
    assert "moves them together" in view.summary
    with pytest.raises(ValueError, match="n_classes must be in"):
        study.upstream_view(n_classes=1)


def test_upstream_view_needs_the_strength_alone():
    X, y = omniglot(n_classes=3, per_class=8)
    joint = AugmentationStudy(
        FrozenFeatureExtractor(tiny_cnn(), augment="noise"),
        param_range=[0.0, 1.0],
        C_range=[0.1, 1.0],
        cv=2,
        n_bootstrap=20,
        chance=False,
    ).fit(X, y)
    with pytest.raises(ValueError, match="strength alone"):
        joint.upstream_view()


_IMAGES, _LABELS = omniglot(n_classes=3, per_class=6)


def _hostile_cases():
    nan = _IMAGES.astype(np.float32)
    nan[2, 3, 3] = np.nan
    return {
        "NaN in images": (nan, _LABELS, "NaN or infinity"),
        "empty": (_IMAGES[:0], _LABELS[:0], "0 samples"),
        "one class": (_IMAGES, np.zeros(len(_LABELS)), "only one class"),
        "mismatched lengths": (_IMAGES, _LABELS[:-2], "must match"),
        "continuous y": (_IMAGES, np.linspace(0, 1, len(_LABELS)), "continuous"),
        "mixed label types": (_IMAGES, np.array([1, "a", 2] * 6, dtype=object), "mixes string"),
        "vectors": (np.zeros((len(_LABELS), 5)), _LABELS, "vectors"),
    }


@pytest.mark.parametrize("case", list(_hostile_cases()))
def test_hostile_inputs_are_clear_errors_and_left_untouched(case):
    images, labels, message = _hostile_cases()[case]
    copies = np.array(images, copy=True), np.array(labels, copy=True)
    study = AugmentationStudy(
        FrozenFeatureExtractor(tiny_cnn(), augment="noise"), cv=2, n_bootstrap=20
    )
    with pytest.raises(ValueError, match=message):
        study.fit(images, labels)
    np.testing.assert_array_equal(copies[0], images)
    np.testing.assert_array_equal(copies[1], labels)


def test_the_ends_of_C_with_few_samples_are_certified():
    """C from 1e-4 to 1e4 on 8 images per class (separable views), float32 features."""
    from sklearn.exceptions import ConvergenceWarning

    X, y = omniglot(n_classes=4, per_class=8)
    probe = make_pipeline(StandardScaler(), ClassWiseRegularizedLogisticRegression(tol=1e-4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        study = AugmentationStudy(
            FrozenFeatureExtractor(tiny_cnn(), augment="all", random_state=0),
            probe,
            param_range=[0.0, 1.0],
            C_range=[1e-4, 1e4],
            cv=2,
            n_bootstrap=20,
            chance=False,
        ).fit(X, y)
    assert study.banks_.clean.dtype == np.float32
    assert study.totals_.largest_gap <= 1e-4


def test_a_study_of_images_is_a_scikit_learn_estimator():
    # what scikit-learn's checks test on feature matrices, on images
    import pickle

    import joblib
    from sklearn.base import clone

    X, y = omniglot(n_classes=3, per_class=6)
    study = AugmentationStudy(
        FrozenFeatureExtractor(tiny_cnn(), augment="noise", random_state=0),
        param_range=[0.0, 0.5],
        cv=2,
        n_bootstrap=20,
        chance=False,
    )
    params = joblib.hash(study.get_params())
    assert study.fit(X, y) is study
    assert joblib.hash(study.get_params()) == params  # fit leaves its parameters alone
    assert "n_bootstrap=20" in repr(study)
    restored = pickle.loads(pickle.dumps(study))
    assert restored.best_global_ == study.best_global_
    pd.testing.assert_frame_equal(restored.summary_, study.summary_)
    fresh = clone(study)  # the extractor's network is copied
    assert not hasattr(fresh, "best_global_")
    assert repr(fresh) == repr(study)
