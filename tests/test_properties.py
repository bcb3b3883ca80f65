"""Invariances of the fitted model, checked on random problems (hypothesis)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_classreg import ClassWiseRegularizedLogisticRegression
from sklearn_classreg._objective._datafit import datafit_for
from sklearn_classreg._objective._logistic import LogisticObjective
from sklearn_classreg._solvers import LBFGS, NewtonCG

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw):
    """Small well-posed problems: 2 to 5 classes, positive C per class, weights."""
    n_classes = draw(st.integers(2, 5))
    n_features = draw(st.integers(1, 6))
    per_class = draw(st.integers(3, 12))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, n_features)) * draw(st.floats(0.2, 3.0))
    y = np.repeat(np.arange(n_classes), per_class)
    X = centres[y] + rng.standard_normal((len(y), n_features))
    C = 10.0 ** rng.uniform(-2, 2, n_classes)
    if n_classes == 2:
        C[:] = C[0]  # per-class values have no class-specific effect for two classes
    weights = rng.uniform(0.2, 3.0, len(y))
    return X, y, C, weights, rng


def fit(X, y, C, weights=None, **params):
    model = ClassWiseRegularizedLogisticRegression(
        C=C, tol=1e-13, max_iter=5000, **{"solver": "newton-cg", **params}
    )
    return model.fit(X, y, sample_weight=weights)


def close(a, b, scale):
    np.testing.assert_allclose(a, b, atol=1e-6 * max(1.0, scale))


@SETTINGS
@given(problems())
def test_permuting_the_samples_changes_nothing(problem):
    X, y, C, weights, rng = problem
    order = rng.permutation(len(y))
    reference = fit(X, y, C, weights)
    permuted = fit(X[order], y[order], C, weights[order])
    close(permuted.coef_, reference.coef_, np.abs(reference.coef_).max())
    close(permuted.intercept_, reference.intercept_, np.abs(reference.coef_).max())


@SETTINGS
@given(problems())
def test_relabelling_the_classes_permutes_the_model(problem):
    X, y, C, weights, rng = problem
    K = len(C)
    relabel = rng.permutation(K)  # class k becomes class relabel[k]
    reference = fit(X, y, C, weights)
    C_new = np.empty(K)
    C_new[relabel] = C
    relabelled = fit(X, relabel[y], C_new, weights)
    scale = np.abs(reference.coef_).max()
    if K == 2:
        sign = 1.0 if relabel[1] == 1 else -1.0  # one sigmoid vector: it flips
        close(relabelled.coef_, sign * reference.coef_, scale)
    else:
        close(relabelled.coef_[relabel], reference.coef_, scale)
        close(relabelled.intercept_[relabel], reference.intercept_, scale)


@SETTINGS
@given(problems())
def test_duplicating_samples_equals_doubling_their_weight(problem):
    X, y, C, weights, rng = problem
    chosen = rng.random(len(y)) < 0.5
    doubled = weights * np.where(chosen, 2.0, 1.0)
    by_weight = fit(X, y, C, doubled)
    by_copy = fit(
        np.vstack([X, X[chosen]]),
        np.concatenate([y, y[chosen]]),
        C,
        np.concatenate([weights, weights[chosen]]),
    )
    scale = np.abs(by_weight.coef_).max()
    close(by_copy.coef_, by_weight.coef_, scale)
    close(by_copy.intercept_, by_weight.intercept_, scale)


@SETTINGS
@given(problems(), st.floats(0.1, 10.0))
def test_scaling_the_data_term_and_C_together_changes_nothing(problem, alpha):
    """Weights times alpha and C divided by alpha: alpha times the objective, same optimum."""
    X, y, C, weights, _ = problem
    reference = fit(X, y, C, weights)
    scaled = fit(X, y, C / alpha, weights * alpha)
    close(scaled.coef_, reference.coef_, np.abs(reference.coef_).max())


@SETTINGS
@given(problems(), st.sampled_from([LBFGS, NewtonCG]))
def test_accepted_steps_never_increase_the_objective(problem, solver):
    X, y, C, weights, _ = problem
    classes, y_index = np.unique(y, return_inverse=True)
    datafit = datafit_for(len(classes))
    C_outputs = C[:1] if len(classes) == 2 else C
    objective = LogisticObjective(
        X,
        y_index,
        weights,
        datafit=datafit,
        C=C_outputs,
        label_smoothing=np.zeros(len(classes)),
        logit_penalty=0.1,
    )
    result = solver(tol=1e-12, max_iter=300).solve(objective, objective.zeros())
    losses = [objective.loss(objective.zeros())] + [loss for _, loss, _ in result.history]
    assert all(b <= a + 1e-12 * abs(a) for a, b in zip(losses, losses[1:], strict=False))
