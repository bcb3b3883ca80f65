"""classwise_validation_curve: tidy, equal to brute force, fast path and generic path."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
from sklearn_classreg.datasets import make_frozen_features
from sklearn_classreg.model_selection import classwise_validation_curve

GRID = [0.01, 0.1, 1.0, 10.0]


def data(seed=0):
    return make_frozen_features(300, 12, 4, class_sep=0.4, random_state=seed)


def test_tidy_shape_and_columns():
    X, y = data()
    curve = classwise_validation_curve(
        Model(max_iter=1000),
        X,
        y,
        param_name="C",
        param_range=GRID,
        cv=3,
        metrics=["recall", "deviance", "worst_class_accuracy"],
    )
    assert list(curve.columns) == [
        "C",
        "value_index",
        "fold",
        "class",
        "metric",
        "value",
        "support",
    ]
    # recall and deviance per class, deviance and worst_class_accuracy for "all"
    assert len(curve) == 3 * 4 * (4 * 2 + 2)
    assert set(curve.loc[curve["class"] == "all", "metric"]) == {
        "deviance",
        "worst_class_accuracy",
    }
    assert curve.attrs["param_name"] == "C"
    table = curve[curve.metric == "recall"].pivot_table(index="C", columns="class", values="value")
    assert table.shape == (4, 4)


@pytest.mark.parametrize("pipeline", [False, True])
def test_fast_path_equals_brute_force_refits(pipeline):
    X, y = data(1)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    model = Model(tol=1e-10, max_iter=5000)
    estimator = make_pipeline(StandardScaler(), model) if pipeline else model
    name = "classwiseregularizedlogisticregression__C" if pipeline else "C"
    curve = classwise_validation_curve(
        estimator, X, y, param_name=name, param_range=GRID, cv=folds, metrics=["recall"]
    )
    for fold, (train, test) in enumerate(folds):
        for C in GRID:
            refit = estimator.set_params(**{name: C}).fit(X[train], y[train])
            expected = recall_score(y[test], refit.predict(X[test]), average=None)
            got = curve[(curve[name] == C) & (curve.fold == fold)].sort_values("class").value
            np.testing.assert_allclose(got, expected)


def test_generic_parameter_of_any_classifier():
    X, y = data(2)
    curve = classwise_validation_curve(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        X,
        y,
        param_name="logisticregression__C",
        param_range=[0.1, 1.0],
        cv=3,
        metrics=["recall"],
    )
    assert len(curve) == 2 * 3 * 4 and curve.value.between(0, 1).all()


def test_parallel_folds_give_the_same_curve():
    X, y = data(3)
    kwargs = dict(param_name="C", param_range=GRID, cv=3, metrics=["recall", "accuracy"])
    serial = classwise_validation_curve(Model(max_iter=1000), X, y, n_jobs=1, **kwargs)
    parallel = classwise_validation_curve(Model(max_iter=1000), X, y, n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(serial, parallel)


def test_a_class_missing_from_a_training_fold_is_aligned():
    X, y = data(4)
    rare = np.flatnonzero(y == 3)
    y = y.copy()
    y[rare[2:]] = 2  # class 3 keeps two samples
    test_first = np.r_[rare[:2], np.arange(0, 40)]
    test_first = np.unique(test_first)
    train_first = np.setdiff1d(np.arange(len(y)), test_first)
    folds = [(train_first, test_first), (test_first, train_first)]
    curve = classwise_validation_curve(
        Model(max_iter=1000),
        X,
        y,
        param_name="C",
        param_range=[1.0],
        cv=folds,
        metrics=["recall"],
    )
    first = curve[(curve.fold == 0)].set_index("class").value
    assert first.loc[3] == 0.0  # never seen in training: never predicted


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(param_name="gamma", param_range=[1.0]), "not a parameter"),
        (dict(param_name="C", param_range=[]), "param_range is empty"),
        (dict(param_name="C", param_range=[1.0], metrics=["f1"]), "Unknown metrics"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    X, y = data()
    with pytest.raises(ValueError, match=message):
        classwise_validation_curve(Model(), X, y, cv=3, **kwargs)


def test_verbose_progress_bar(capsys):
    X, y = data()
    classwise_validation_curve(
        Model(max_iter=1000),
        X,
        y,
        param_name="C",
        param_range=[1.0],
        cv=2,
        metrics=["recall"],
        verbose=1,
    )
    assert "folds (C)" in capsys.readouterr().err


# ------------------------------------------------------------- metadata, routing
WEIGHTS = np.random.default_rng(0).uniform(0.1, 3.0, 300)
STEP = "classwiseregularizedlogisticregression"


def weighted_by_hand(X, y, weights, *, scaler=None):
    """Each fold's per-class deviance of a weighted fit (tol 1e-10), averaged with the
    held-out weights. `scaler`: None, or "weighted" / "unweighted" StandardScaler."""
    values = []
    for train, test in StratifiedKFold(3).split(X, y):
        X_train, X_test = X[train], X[test]
        if scaler is not None:
            fitted = StandardScaler().fit(
                X_train, sample_weight=weights[train] if scaler == "weighted" else None
            )
            X_train, X_test = fitted.transform(X_train), fitted.transform(X_test)
        model = Model(tol=1e-10).fit(X_train, y[train], sample_weight=weights[train])
        proba = model.predict_proba(X_test)
        loss = -np.log(proba[np.arange(len(test)), np.searchsorted(model.classes_, y[test])])
        for k in model.classes_:
            mask = y[test] == k
            values.append(np.average(loss[mask], weights=weights[test][mask]))
    return np.array(values)


def per_class_values(curve, value_index=0):
    rows = curve[(curve.value_index == value_index) & (curve["class"] != "all")]
    return rows.sort_values(["fold", "class"]).value.to_numpy()


def test_sample_weight_weighs_fits_and_held_out_metrics():
    X, y = data()
    curve = classwise_validation_curve(
        Model(tol=1e-10), X, y, param_name="C", param_range=[1.0], cv=3,
        metrics=["deviance"], params={"sample_weight": WEIGHTS},
    )  # fmt: skip
    expected = weighted_by_hand(X, y, WEIGHTS)
    np.testing.assert_allclose(per_class_values(curve), expected, rtol=1e-5)
    unweighted = classwise_validation_curve(
        Model(tol=1e-10), X, y, param_name="C", param_range=[1.0], cv=3, metrics=["deviance"]
    )
    assert np.abs(per_class_values(unweighted) - expected).max() > 1e-3  # the weights matter


@pytest.mark.parametrize("scaler_asks", [True, False])
def test_routed_weights_reach_the_steps_that_ask_on_the_fast_path_too(scaler_asks):
    import sklearn

    X, y = data()
    with sklearn.config_context(enable_metadata_routing=True):
        pipeline = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=scaler_asks),
            Model(tol=1e-10).set_fit_request(sample_weight=True),
        )
        curve = classwise_validation_curve(
            pipeline, X, y, param_name=f"{STEP}__C", param_range=[0.1, 1.0], cv=3,
            metrics=["deviance"], params={"sample_weight": WEIGHTS},
        )  # fmt: skip
    expected = weighted_by_hand(X, y, WEIGHTS, scaler="weighted" if scaler_asks else "unweighted")
    np.testing.assert_allclose(per_class_values(curve, value_index=1), expected, rtol=1e-5)


def test_unrequested_routed_weights_raise_and_groups_reach_the_splitter():
    import sklearn
    from sklearn.exceptions import UnsetMetadataPassedError
    from sklearn.model_selection import GroupKFold

    X, y = data()
    groups = np.arange(len(y)) % 6
    kwargs = dict(param_name="C", param_range=[1.0], metrics=["accuracy"])
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            classwise_validation_curve(Model(), X, y, params={"sample_weight": WEIGHTS}, **kwargs)
        routed = classwise_validation_curve(
            Model(), X, y, cv=GroupKFold(3), groups=groups, **kwargs
        )
    folds = list(GroupKFold(3).split(X, y, groups))
    direct = classwise_validation_curve(Model(), X, y, cv=folds, **kwargs)
    pd.testing.assert_frame_equal(routed, direct)


@pytest.mark.parametrize(
    "estimator, params, message",
    [
        (make_pipeline(StandardScaler(), Model()), {"sample_weight": WEIGHTS}, "needs metadata"),
        (Model(), {"sample_weight": WEIGHTS, "check_input": False}, r"\['check_input'\]"),
    ],
)
def test_params_the_records_cannot_use_are_clear_errors(estimator, params, message):
    X, y = data()
    name = f"{STEP}__C" if hasattr(estimator, "steps") else "C"
    with pytest.raises(ValueError, match=message):
        classwise_validation_curve(
            estimator, X, y, param_name=name, param_range=[1.0], params=params
        )
