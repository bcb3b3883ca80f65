"""The engine: one validation, one objective per backend, certified warm-started paths."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
from sklearn_classreg._objective._logistic import LogisticObjective
from sklearn_classreg.linear_model._engine import (
    Engine,
    PathPoint,
    validate_problem,
)


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


def test_engine_of_reads_the_solve_settings_and_takes_changes():
    model = Model(solver="newton-cg", tol=1e-7, max_iter=17, logit_penalty=0.5, verbose=2)
    engine = Engine.of(model, verbose=0)
    assert (engine.solver, engine.tol, engine.max_iter) == ("newton-cg", 1e-7, 17)
    assert (engine.logit_penalty, engine.verbose, engine.backend) == (0.5, 0, "numba")


def test_the_numba_backend_builds_the_numpy_objective():
    X, y = data(3)
    problem = validate_problem(Model(), X, y, None)
    objective = Engine().objective(problem, np.ones(3))
    assert isinstance(objective, LogisticObjective)
    assert objective.n_outputs == 3


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fit_is_a_path_of_one_point(n_classes):
    X, y = data(n_classes)
    model = Model(C=0.7, tol=1e-8).fit(X, y)
    problem = validate_problem(Model(), X, y, None)
    (point,) = Engine(tol=1e-8).path(problem, np.full((1, n_classes), 0.7))
    assert isinstance(point, PathPoint) and point.index == 0
    np.testing.assert_array_equal(point.coef, model.coef_)
    np.testing.assert_array_equal(point.intercept, model.intercept_)
    assert point.result.gap == model.gap_ <= 1e-8
    assert point.result.nit == model.n_iter_[0]


def test_a_path_visits_points_by_increasing_C_and_certifies_each():
    X, y = data(3)
    problem = validate_problem(Model(), X, y, None)
    grid = np.array([[10.0] * 3, [0.1] * 3, [1.0] * 3])
    points = list(Engine(tol=1e-6).path(problem, grid))
    assert [p.index for p in points] == [1, 2, 0]
    assert all(p.result.gap <= 1e-6 for p in points)


def test_the_branches_leave_the_origin_outward():
    from sklearn_classreg.linear_model._engine import _branches

    log_C = np.log([1e-3, 1e4, 0.1, 1.0, 100.0])
    above, below = _branches(log_C, np.log(1.0))
    np.testing.assert_array_equal(above, [3, 4, 1])
    np.testing.assert_array_equal(below, [2, 0])
    (only,) = _branches(log_C, None)
    np.testing.assert_array_equal(only, [0, 2, 3, 4, 1])
    (only,) = _branches(log_C, np.log(1e5))  # every point below: one branch, downward
    np.testing.assert_array_equal(only, [1, 4, 3, 2, 0])


def test_a_start_of_another_shape_is_ignored():
    X, y = data(3)
    problem = validate_problem(Model(), X, y, None)
    start = (0.0, np.ones((3, 99)), np.zeros(3))  # another number of features
    (point,) = Engine().path(problem, np.ones((1, 3)), start=start)
    (cold,) = Engine().path(problem, np.ones((1, 3)))
    np.testing.assert_array_equal(point.coef, cold.coef)


def test_held_out_labels_are_encoded_with_the_training_classes():
    X, y = data(3)
    keep = y == 1  # one class only: an error for training data, fine held out
    with pytest.raises(ValueError, match="only one class"):
        validate_problem(Model(), X[keep], y[keep], None)
    problem = validate_problem(Model(), X[keep], y[keep], None, classes=np.array([0, 1, 2]))
    np.testing.assert_array_equal(problem.classes, [0, 1, 2])
    np.testing.assert_array_equal(problem.y_index, np.ones(keep.sum()))
    with pytest.raises(ValueError, match=r"held-out labels \[2\] are not among"):
        validate_problem(Model(), X, y, None, classes=np.array([0, 1]))


def test_a_two_class_grid_warns_once_when_building_its_objective():
    X, y = data(2)
    problem = validate_problem(Model(), X, y, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(Engine().path(problem, np.array([[1.0, 3.0], [2.0, 4.0]])))
    assert sum("different values for the two classes" in str(w.message) for w in caught) == 1


def test_the_extrapolated_start_is_taken_only_where_its_loss_is_lower():
    from sklearn_classreg._objective._datafit import MULTINOMIAL
    from sklearn_classreg._objective._logistic import LogisticObjective
    from sklearn_classreg.linear_model._engine import _extrapolated_start

    X, y = data(3)
    objective = LogisticObjective(
        X, y, np.ones(len(y)), datafit=MULTINOMIAL, C=np.ones(3), label_smoothing=np.zeros(3)
    )
    x_before, x_now = np.zeros(objective.n_params), np.full(objective.n_params, 0.1)
    solved = [(0.0, x_before), (1.0, x_now)]
    guess = _extrapolated_start(objective, solved, 2.0, loss_there=np.inf)
    np.testing.assert_allclose(guess, 0.2)  # the line through both, one step further
    assert _extrapolated_start(objective, solved, 2.0, loss_there=-np.inf) is x_now
    assert _extrapolated_start(objective, solved[1:], 2.0, loss_there=np.inf) is x_now
    assert _extrapolated_start(objective, [(1.0, x_before), (1.0, x_now)], 2.0, np.inf) is x_now
    assert _extrapolated_start(objective, solved, np.inf, loss_there=np.inf) is x_now


