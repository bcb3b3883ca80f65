"""ClassWiseStudy: its choices against brute force, its intervals, its totals."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
from sklearn_classreg.datasets import make_frozen_features
from sklearn_classreg.linear_model._selection import poisson_bootstrap
from sklearn_classreg.model_selection import ClassWiseStudy

GRID = list(np.logspace(-3, 1, 6))


def data(seed=0, n=900):
    """Classes of unequal size and separation, so their best C differ."""
    return make_frozen_features(
        n,
        16,
        5,
        class_sep=[0.15, 0.3, 0.5, 0.8, 1.2],
        weights=[5, 3, 2, 1, 1],
        random_state=seed,
    )


@pytest.fixture(scope="module")
def fitted():
    X, y = data()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X_train, y_train))
    study = ClassWiseStudy(
        Model(tol=1e-8, max_iter=2000), param_range=GRID, cv=folds, n_bootstrap=300, random_state=0
    )
    study.fit(X_train, y_train, X_test=X_test, y_test=y_test)
    return study, X_train, y_train, folds


def test_global_optimum_equals_grid_search(fitted):
    study, X, y, folds = fitted
    grid = GridSearchCV(
        Model(tol=1e-8, max_iter=2000), {"C": GRID}, cv=folds, scoring="accuracy"
    ).fit(X, y)
    assert study.best_global_ == grid.best_params_["C"]
    assert study.totals_["global_metric_at_best"] == pytest.approx(grid.best_score_)


def test_per_class_optima_match_brute_force_refits(fitted):
    study, X, y, folds = fitted
    recall = np.zeros((len(GRID), 5))
    for train, test in folds:
        for i, C in enumerate(GRID):
            model = Model(C=C, tol=1e-8, max_iter=2000).fit(X[train], y[train])
            recall[i] += recall_score(y[test], model.predict(X[test]), average=None) / len(folds)
    for k in range(5):
        best = recall[:, k].max()
        chosen = GRID.index(study.best_per_class_.loc[k])
        assert recall[chosen, k] == pytest.approx(best)  # an optimum (ties: nearest global)
        assert study.summary_.loc[k, "metric_at_best"] == pytest.approx(best)
        global_index = GRID.index(study.best_global_)
        assert study.summary_.loc[k, "metric_at_global"] == pytest.approx(recall[global_index, k])


def test_summary_and_totals_are_consistent(fitted):
    study = fitted[0]
    summary, totals = study.summary_, study.totals_
    assert list(summary.index) == [0, 1, 2, 3, 4]
    assert (summary.oracle_loss >= 0).all()
    assert totals["oracle_gap"] == pytest.approx(summary.oracle_loss.mean())
    assert (summary.honest_gain_low <= summary.honest_gain).all()
    assert (summary.honest_gain <= summary.honest_gain_high).all()
    assert totals["n_significant"] == int(summary.significant.sum())
    assert totals["honest_gain_low"] <= totals["honest_gain"] <= totals["honest_gain_high"]
    assert totals["worst_class_accuracy_per_class"] >= totals["worst_class_accuracy_global"]
    assert totals["iqr_log10_optimum"] >= 0
    # the realised gain on the test data, with the refitted models
    assert {"realised_gain", "realised_gain_low", "realised_gain_high"} <= set(summary)
    np.testing.assert_allclose(study.per_class_model_.C_, study.best_per_class_.to_numpy())
    assert study.global_model_.C_[0] == study.best_global_
    assert totals["test_accuracy_global"] == pytest.approx(
        study.global_model_.score(*_test_split()), abs=1e-12
    )


def _test_split():
    X, y = data()
    _, X_test, _, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    return X_test, y_test


def test_oracle_selection_gains_equal_oracle_losses():
    X, y = data(1)
    study = ClassWiseStudy(
        Model(tol=1e-8, max_iter=2000),
        param_range=GRID,
        cv=4,
        selection="oracle",
        n_bootstrap=50,
        random_state=0,
    ).fit(X, y)
    # stratified folds of (nearly) equal class counts: pooled and fold means agree
    np.testing.assert_allclose(study.summary_.honest_gain, study.summary_.oracle_loss, atol=0.02)


def test_deviance_metric_and_curve_access():
    X, y = data(2)
    study = ClassWiseStudy(
        param_range=GRID, cv=3, metric="deviance", n_bootstrap=50, random_state=0
    ).fit(X, y)
    assert study.global_metric_ == "deviance"
    assert (study.summary_.metric_at_best <= study.summary_.metric_at_global + 1e-12).all()
    assert isinstance(study.curve_, pd.DataFrame) and "deviance" in set(study.curve_.metric)


def test_any_parameter_of_a_pipeline():
    """An upstream 'augmentation' strength: noise added to the features."""
    X, y = data(3)
    rng = np.random.default_rng(0)

    def add_noise(X, strength=0.0):
        return X + strength * rng.standard_normal(X.shape)

    pipeline = make_pipeline(FunctionTransformer(add_noise), Model(max_iter=1000))
    study = ClassWiseStudy(
        pipeline,
        param_name="functiontransformer__kw_args",
        param_range=[{"strength": s} for s in (0.0, 0.5, 2.0)],
        cv=3,
        n_bootstrap=50,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="realised gain needs"):
        study.fit(X, y, X_test=X[:50], y_test=y[:50])
    assert study.best_global_ in [{"strength": s} for s in (0.0, 0.5, 2.0)]
    assert np.isnan(study.totals_["iqr_log10_optimum"])


def test_poisson_bootstrap_intervals_cover():
    """95 % intervals of class means cover the true mean about 95 % of the time."""
    rng = np.random.default_rng(0)
    covered, trials = 0, 300
    for _ in range(trials):
        y_index = np.repeat(np.arange(2), 60)
        values = rng.normal(0.3, 1.0, 120)
        replicates = poisson_bootstrap(values, y_index, 2, 400, rng)
        low, high = np.quantile(replicates, [0.025, 0.975], axis=0)
        covered += np.sum((low <= 0.3) & (0.3 <= high))
    assert 0.91 <= covered / (2 * trials) <= 0.98


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(metric="precision"), "selects per class"),
        (dict(selection="best"), "selection must be"),
        (dict(global_metric="f1"), "global_metric"),
        (dict(confidence_level=1.5), "confidence_level"),
        (dict(n_bootstrap=0), "n_bootstrap"),
        (dict(param_name="tol"), "param_range is needed"),
    ],
)
def test_bad_parameters_are_clear_errors(kwargs, message):
    X, y = data()
    with pytest.raises(ValueError, match=message):
        ClassWiseStudy(**kwargs).fit(X, y)


def test_test_data_needs_both_parts():
    X, y = data()
    with pytest.raises(ValueError, match="both X_test and y_test"):
        ClassWiseStudy(param_range=[1.0, 10.0], cv=2, n_bootstrap=10).fit(X, y, X_test=X)
