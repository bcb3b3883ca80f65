"""ClassWiseRegularizedLogisticRegression against scikit-learn and its own objective."""

import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import sparse
from scipy.special import expit, logsumexp, softmax
from sklearn.datasets import load_digits, load_iris, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model

SOLVERS = ["lbfgs", "newton-cg"]


def dataset(name, n_classes=3, seed=0):
    if name == "generated":
        X, y = make_classification(
            n_samples=300,
            n_features=8,
            n_informative=5,
            n_classes=n_classes,
            n_clusters_per_class=1,
            random_state=seed,
        )
    elif name == "digits":
        X, y = load_digits(n_class=n_classes, return_X_y=True)
        X = X / 16.0
    else:
        X, y = load_wine(return_X_y=True)
        if n_classes == 2:
            X, y = X[y < 2], y[y < 2]
    return StandardScaler().fit_transform(X) if name != "digits" else X, y


def reference(X, y, C, sample_weight=None, **kwargs):
    """scikit-learn's exact Newton solver, run to the last digits."""
    model = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000, **kwargs)
    return model.fit(X, y, sample_weight=sample_weight)


def assert_same_model(ours, theirs, X, atol=1e-6):
    scale = max(1.0, np.abs(theirs.coef_).max())
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=atol * scale)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=atol * scale)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=atol * scale)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


# --------------------------------------------------------- equal C = scikit-learn
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("name", ["generated", "digits", "wine"])
@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_equal_C_equals_sklearn(solver, n_classes, name, C):
    X, y = dataset(name, n_classes)
    ours = Model(C=C, solver=solver, tol=1e-13, max_iter=5000).fit(X, y)
    assert_same_model(ours, reference(X, y, C), X)
    assert ours.coef_.shape == ((1 if n_classes == 2 else n_classes), X.shape[1])


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_equal_C_equals_sklearn_with_weights(solver, n_classes, fit_intercept, seed):
    X, y = dataset("generated", n_classes, seed)
    rng = np.random.default_rng(seed)
    sample_weight = rng.uniform(0.0, 3.0, len(y))
    class_weight = {label: 1.0 + label for label in range(n_classes)}
    options = dict(fit_intercept=fit_intercept, class_weight=class_weight)
    # tol bounds the relative objective gap: coefficients agree to about its square
    # root in ill-conditioned directions (weights up to 3x12 here), so 1e-13
    ours = Model(C=0.7, solver=solver, tol=1e-13, max_iter=5000, **options)
    ours.fit(X, y, sample_weight=sample_weight)
    theirs = reference(X, y, 0.7, sample_weight=sample_weight, **options)
    assert_same_model(ours, theirs, X)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_balanced_class_weight_equals_sklearn(n_classes):
    X, y = dataset("generated", n_classes)
    keep = np.r_[np.flatnonzero(y == 0)[:30], np.flatnonzero(y != 0)]
    X, y = X[keep], y[keep]
    ours = Model(C=2.0, class_weight="balanced", tol=1e-13, max_iter=5000).fit(X, y)
    assert_same_model(ours, reference(X, y, 2.0, class_weight="balanced"), X)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_csr_equals_dense(solver, n_classes):
    X, y = dataset("digits", n_classes)
    dense = Model(C=0.5, solver=solver, tol=1e-13, max_iter=5000).fit(X, y)
    csr = Model(C=0.5, solver=solver, tol=1e-13, max_iter=5000).fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(csr.coef_, dense.coef_, atol=1e-7)
    np.testing.assert_allclose(csr.intercept_, dense.intercept_, atol=1e-7)
    assert_same_model(csr, reference(X, y, 0.5), X)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("as_sparse", [False, True])
def test_float32_is_solved_in_float32(solver, n_classes, as_sparse):
    X, y = dataset("generated", n_classes)
    X32 = X.astype(np.float32)
    X32 = sparse.csr_matrix(X32) if as_sparse else X32
    tol = 1e-10
    ours = Model(C=1.0, solver=solver, tol=tol, max_iter=1000).fit(X32, y)
    assert ours.coef_.dtype == np.float32 and ours.intercept_.dtype == np.float32
    assert ours.decision_function(X32).dtype == np.float32
    theirs = reference(X, y, 1.0)
    # the gap bounds f - min f by tol |f| <= tol log K; the scaled objective is
    # 1 / (C n)-strongly convex, so ||coef - optimum||^2 <= 2 tol log(K) C n;
    # plus float32's rounding of the coefficients
    bound = np.sqrt(2 * tol * np.log(n_classes) * 1.0 * len(y)) + 1e-6
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=bound)
    np.testing.assert_allclose(ours.predict_proba(X32), theirs.predict_proba(X), atol=bound)


@pytest.mark.parametrize("solver, max_iter", [("lbfgs", 12), ("newton-cg", 2)])
@pytest.mark.parametrize(
    "n_classes, batch_size",
    [
        pytest.param(50, None, id="200-per-class"),
        pytest.param(100, 256, id="100-per-class"),
    ],
)
def test_float32_fit_adds_at_most_a_quarter_of_X(solver, max_iter, n_classes, batch_size):
    """Peak memory of a float32 fit, beyond X itself: no copy of X, small buffers.

    10,000 x 256 features. With 50 classes, the shape of the benchmark's S
    problem: 12 L-BFGS iterations fill its history of 10 pairs. With 100
    classes, 100 samples per class as in the L problem, where a parameter
    vector is 1 % of X: 10 pairs would take about 30 % of X, and L-BFGS keeps
    fewer. (Chunks of 256 rows take the share of X that L's 8 MiB chunks
    take; the default 1/32 of X would leave no room for 5 pairs.)
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10_000, 256)).astype(np.float32)  # 10 MB
    y = rng.integers(0, n_classes, len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Model(max_iter=2, solver=solver).fit(X[:300], y[:300])  # compile outside
        tracemalloc.start()
        model = Model(max_iter=max_iter, tol=1e-12, solver=solver, batch_size=batch_size)
        model.fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert model.n_iter_[0] == max_iter
    assert peak < 0.25 * X.nbytes, (
        f"peak {peak / 2**20:.2f} MiB for X of {X.nbytes / 2**20:.1f} MiB"
    )


def test_the_refined_certificate_keeps_a_float32_fit_within_a_quarter_of_X(monkeypatch):
    """At weak regularization the solver certifies along Newton directions (one
    more pass over X each, `dual_step`), in float32 and in the float64 check: no
    copy of X, a chunk of logits and parameter-sized vectors, as for a plain fit.

    10,000 x 256 frozen-feature-like data, 50 classes, C = 100.
    """
    from sklearn_classreg._objective._logistic import LogisticObjective
    from sklearn_classreg.datasets import make_frozen_features

    X, y = make_frozen_features(10_000, 256, 50, class_sep=0.3, noise=1.0, random_state=0)
    assert X.dtype == np.float32
    refined = []
    dual_step = LogisticObjective.dual_step

    def counted(self, *args):
        refined.append(self.dtype)
        return dual_step(self, *args)

    Model(C=100.0).fit(X[:2000], y[:2000])  # compile (and load) every kernel outside
    monkeypatch.setattr(LogisticObjective, "dual_step", counted)
    tracemalloc.start()
    model = Model(C=100.0).fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert refined, "the refined certificate did not run"
    assert model.gap_ <= 1e-4
    assert peak < 0.25 * X.nbytes, (
        f"peak {peak / 2**20:.2f} MiB for X of {X.nbytes / 2**20:.1f} MiB"
    )


# ------------------------------------------------------------------ per-class C
def data_gradient(model, X, y, sample_weight=None):
    """Gradient of sum_i s_i CE_i w.r.t. W, written out (softmax, no smoothing)."""
    Y = np.eye(len(model.classes_))[np.searchsorted(model.classes_, y)]
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    P = softmax(X @ model.coef_.T + model.intercept_, axis=1)
    return (s[:, None] * (P - Y)).T @ X


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_class_optimality_condition(solver, seed):
    """At the optimum, for every class k: d(data term)/d w_k = -w_k / C_k."""
    X, y = dataset("generated", 4, seed)
    rng = np.random.default_rng(seed)
    C = 10.0 ** rng.uniform(-2, 2, 4)
    sample_weight = rng.uniform(0.5, 2.0, len(y))
    model = Model(C=C, solver=solver, tol=1e-13, max_iter=5000).fit(X, y, sample_weight)
    np.testing.assert_array_equal(model.C_, C)
    gradient = data_gradient(model, X, y, sample_weight)
    scale = sample_weight.sum() * 1e-8
    for k in range(4):
        np.testing.assert_allclose(gradient[k], -model.coef_[k] / C[k], atol=scale)
    # the intercepts are not penalized: their gradient vanishes
    Y = np.eye(4)[y]
    P = model.predict_proba(X)
    np.testing.assert_allclose(sample_weight @ (P - Y), 0.0, atol=scale)


def test_unpenalized_class_has_zero_data_gradient():
    X, y = dataset("generated", 3)
    model = Model(C=[0.1, np.inf, 1.0], tol=1e-13, max_iter=5000).fit(X, y)
    gradient = data_gradient(model, X, y)
    np.testing.assert_allclose(gradient[1], 0.0, atol=1e-7)
    np.testing.assert_allclose(gradient[0], -model.coef_[0] / 0.1, atol=1e-7)


def test_scalar_array_and_dict_C_give_the_same_model():
    X, y = dataset("generated", 3)
    labels = np.array(["cat", "dog", "emu"])[y]
    fits = [
        Model(C=C, tol=1e-13, max_iter=5000).fit(X, labels)
        for C in (0.5, [0.5, 0.5, 0.5], np.full(3, 0.5), {"emu": 0.5, "cat": 0.5, "dog": 0.5})
    ]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.coef_, fits[0].coef_)
    vector = Model(C=[0.1, 1.0, 10.0], tol=1e-13, max_iter=5000).fit(X, labels)
    mapping = Model(C={"dog": 1.0, "emu": 10.0, "cat": 0.1}, tol=1e-13, max_iter=5000).fit(
        X, labels
    )
    np.testing.assert_array_equal(vector.coef_, mapping.coef_)
    np.testing.assert_array_equal(mapping.C_, [0.1, 1.0, 10.0])


@pytest.mark.parametrize("k", [0, 1, 2])
def test_raising_one_C_raises_that_class_norm(k):
    X, y = dataset("generated", 3)
    base = Model(C=0.5, tol=1e-13, max_iter=5000).fit(X, y)
    C = np.full(3, 0.5)
    C[k] = 5.0
    raised = Model(C=C, tol=1e-13, max_iter=5000).fit(X, y)
    assert np.linalg.norm(raised.coef_[k]) > np.linalg.norm(base.coef_[k])


# ---------------------------------------------------------------- two classes
def test_binary_with_different_C_warns_and_uses_the_mean():
    X, y = dataset("generated", 2)
    with pytest.warns(UserWarning, match="no class-specific effect"):
        model = Model(C=[0.2, 1.8], tol=1e-13).fit(X, y)
    np.testing.assert_array_equal(model.C_, [1.0, 1.0])
    assert_same_model(model, reference(X, y, 1.0), X)


def test_binary_conventions_match_sklearn():
    X, y = dataset("generated", 2)
    labels = np.array(["no", "yes"])[y]
    model = Model(tol=1e-13).fit(X, labels)
    assert model.coef_.shape == (1, X.shape[1]) and model.intercept_.shape == (1,)
    decision = model.decision_function(X)
    assert decision.shape == (len(y),)
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], expit(decision))
    np.testing.assert_array_equal(model.predict(X), np.where(decision > 0, "yes", "no"))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_predict_log_proba_is_the_log_of_predict_proba(n_classes):
    X, y = dataset("generated", n_classes)
    model = Model(C=1e4, max_iter=300).fit(X * 50, y)
    log_proba = model.predict_log_proba(X * 50)
    assert np.all(np.isfinite(log_proba))
    with np.errstate(divide="ignore"):
        reference_log = np.log(model.predict_proba(X * 50))
    finite = np.isfinite(reference_log)
    np.testing.assert_allclose(log_proba[finite], reference_log[finite], atol=1e-12)


# ---------------------------------------------- label smoothing, logit penalty
def smoothed_objective_gradient(model, X, y, smoothing, beta):
    """Gradient (W, b) of the DESIGN objective written out, at the fitted model."""
    K = len(model.classes_)
    eps = np.broadcast_to(smoothing, (K,))[y]
    T = np.eye(K)[y] * (1 - eps)[:, None] + (eps / K)[:, None]
    Z = X @ model.coef_.T + model.intercept_
    R = softmax(Z, axis=1) - T + beta * (Z - Z.mean(axis=1, keepdims=True))
    return R.T @ X + model.coef_ / model.C_[:, None], R.sum(axis=0)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    "smoothing, beta", [(0.1, 0.0), (np.array([0.0, 0.2, 0.4]), 0.0), (0.0, 0.5), (0.15, 0.3)]
)
def test_smoothing_and_logit_penalty_minimise_the_written_objective(solver, smoothing, beta):
    X, y = dataset("generated", 3)
    model = Model(
        C=[0.3, 1.0, 3.0],
        label_smoothing=smoothing,
        logit_penalty=beta,
        solver=solver,
        tol=1e-13,
        max_iter=5000,
    ).fit(X, y)
    grad_W, grad_b = smoothed_objective_gradient(model, X, y, smoothing, beta)
    # a gap of 1e-13 of the (scaled) objective leaves gradients of the summed
    # objective up to about n sqrt(2 L 1e-13) ~ 1e-4; a wrong objective leaves O(1)
    np.testing.assert_allclose(grad_W, 0.0, atol=1e-5)
    np.testing.assert_allclose(grad_b, 0.0, atol=1e-5)


def test_label_smoothing_objective_value():
    """The fitted loss equals the smoothed cross-entropy computed directly."""
    X, y = dataset("wine", 3)
    eps = 0.2
    model = Model(C=1.0, label_smoothing=eps, tol=1e-13, max_iter=5000).fit(X, y)
    Z = model.decision_function(X)
    T = np.eye(3)[y] * (1 - eps) + eps / 3
    direct = np.sum(logsumexp(Z, axis=1) - (T * Z).sum(1)) + 0.5 * np.sum(model.coef_**2)
    # any other point has a larger objective
    for shift in (1e-3, -1e-3):
        W = model.coef_ * (1 + shift)
        Z2 = X @ W.T + model.intercept_
        other = np.sum(logsumexp(Z2, axis=1) - (T * Z2).sum(1)) + 0.5 * np.sum(W**2)
        assert other > direct


def test_binary_label_smoothing_and_logit_penalty_match_the_softmax_form():
    """Two classes: BCE with target 1 - e/2 and penalty beta/4 u^2 is the softmax objective."""
    X, y = dataset("generated", 2)
    eps, beta = 0.2, 0.4
    model = Model(C=1.0, label_smoothing=eps, logit_penalty=beta, tol=1e-13).fit(X, y)
    u = model.decision_function(X)
    t = (1 - eps) * y + eps / 2
    residual = expit(u) - t + beta / 2 * u
    np.testing.assert_allclose(residual @ X + model.coef_[0] / 1.0, 0.0, atol=1e-7)
    np.testing.assert_allclose(residual.sum(), 0.0, atol=1e-7)


# -------------------------------------------------------------- other behaviour
def test_separable_data_without_penalty_stays_finite_and_warns():
    X, y = dataset("generated", 3)
    X = np.r_[X, X + 10]
    y = np.r_[np.zeros(300, int), np.ones(300, int)]
    with pytest.warns(ConvergenceWarning):
        model = Model(C=np.inf, max_iter=30, tol=1e-12).fit(X, y)
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.intercept_))
    assert model.score(X, y) == 1.0


def test_newton_cg_fallback_is_reported(monkeypatch):
    """A failed Newton step (here: forced to be an ascent direction) hands over
    to lbfgs, which still finds the optimum; the user is told."""
    from sklearn_classreg._solvers import NewtonCG

    monkeypatch.setattr(NewtonCG, "direction", lambda self: (1.0 * self.gradient, 1.0))
    X, y = dataset("generated", 3)
    with pytest.warns(ConvergenceWarning, match="fell back to lbfgs"):
        model = Model(C=0.5, solver="newton-cg", tol=1e-13, max_iter=5000).fit(X, y)
    assert_same_model(model, reference(X, y, 0.5), X)


def test_unpenalized_multinomial_reports_centred_weights():
    X, y = dataset("wine", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = Model(C=np.inf, max_iter=50).fit(X, y)
    np.testing.assert_allclose(model.coef_.sum(axis=0), 0.0, atol=1e-13)
    np.testing.assert_allclose(model.intercept_.sum(), 0.0, atol=1e-13)


@pytest.mark.parametrize("solver", SOLVERS)
def test_convergence_warning_at_max_iter_starts_with_scikit_learns_words(solver):
    # scikit-learn's wording first ("lbfgs failed to converge after 3 iteration(s)",
    # "newton-cg failed to converge ... Increase the number of iterations"), so that
    # filters written for LogisticRegression catch it; then the gap reached.
    X, y = dataset("digits", 3)
    with pytest.warns(ConvergenceWarning) as record:
        model = Model(max_iter=3, tol=1e-12, solver=solver).fit(X, y)
    assert model.n_iter_.tolist() == [3]
    (message,) = [str(w.message) for w in record]
    assert message.startswith(f"{solver} failed to converge after 3 iteration(s): ")
    assert "reached max_iter=3 with relative duality gap" in message
    assert "Increase the number of iterations (max_iter)" in message


def test_sparsify_and_densify_as_in_scikit_learn():
    X, y = dataset("digits", 3)
    model = Model(C=0.1, warm_start=True).fit(X, y)
    dense_proba = model.predict_proba(X)
    assert model.sparsify() is model and sparse.issparse(model.coef_)
    np.testing.assert_allclose(model.predict_proba(X), dense_proba, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.predict_proba(sparse.csr_matrix(X)), dense_proba, atol=1e-14)
    model.fit(X, y)  # the warm start reads the sparse coef_ and has nothing left to do
    assert model.n_iter_.tolist() == [0] and not sparse.issparse(model.coef_)
    model.sparsify().densify()
    assert isinstance(model.coef_, np.ndarray)
    with pytest.raises(NotFittedError, match="must be fitted before sparsifying"):
        Model().sparsify()


def test_warm_start_continues_from_the_previous_solution():
    X, y = dataset("digits", 3)
    cold = Model(C=1.0, tol=1e-8, max_iter=1000).fit(X, y)
    model = Model(C=1.0, tol=1e-8, max_iter=1000, warm_start=True).fit(X, y)
    iterations = model.n_iter_[0]
    model.set_params(C=1.1).fit(X, y)
    assert model.n_iter_[0] < iterations
    model.fit(X, y)
    assert model.n_iter_[0] <= 1
    np.testing.assert_allclose(cold.coef_, Model(C=1.0, tol=1e-8, max_iter=1000).fit(X, y).coef_)


def test_fit_is_deterministic():
    X, y = dataset("digits", 5)
    first = Model(C=0.3, max_iter=50, tol=1e-12)
    second = Model(C=0.3, max_iter=50, tol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first.fit(X, y)
        second.fit(X, y)
    np.testing.assert_array_equal(first.coef_, second.coef_)


def test_verbose_prints_the_iterations(capsys):
    X, y = dataset("wine", 3)
    Model(verbose=1).fit(X, y)
    assert "[lbfgs] iter    1" in capsys.readouterr().out


def test_inputs_are_never_modified():
    X, y = dataset("generated", 3)
    X = np.asfortranarray(X)
    sample_weight = np.linspace(0.5, 1.5, len(y))
    C = np.array([0.5, 1.0, 2.0])
    smoothing = {0: 0.1, 1: 0.0, 2: 0.2}
    copies = (X.copy(), y.copy(), sample_weight.copy(), C.copy(), dict(smoothing))
    model = Model(C=C, label_smoothing=smoothing, class_weight="balanced")
    model.fit(X, y, sample_weight=sample_weight)
    for before, after in zip(copies[:4], (X, y, sample_weight, C), strict=True):
        np.testing.assert_array_equal(before, after)
    assert smoothing == copies[4] and model.C is C and model.label_smoothing is smoothing


def test_pipeline_and_grid_search_drop_in():
    X, y = dataset("wine", 3)
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), Model()),
        {"classwiseregularizedlogisticregression__C": [0.1, {0: 1.0, 1: 0.1, 2: 1.0}]},
        cv=3,
    ).fit(X, y)
    assert grid.best_score_ > 0.9


def test_dict_C_applies_to_folds_that_lack_a_class():
    # Unshuffled KFold on iris: each training fold lacks one of the three classes.
    X, y = load_iris(return_X_y=True)
    C = {0: 1.0, 1: 0.5, 2: 2.0}
    scores = cross_validate(Model(C=C), X, y, cv=KFold(3), error_score="raise")
    assert np.isfinite(scores["test_score"]).all()
    train = y != 0
    model = Model(C=C).fit(X[train], y[train])
    reference = Model(C=0.5 * (0.5 + 2.0)).fit(X[train], y[train])  # two classes: the mean
    np.testing.assert_allclose(model.coef_, reference.coef_)


def test_grid_search_over_dict_C_with_a_class_rarer_than_the_folds():
    X, y = make_classification(
        n_samples=120, n_features=6, n_informative=4, n_classes=4,
        weights=[0.4, 0.3, 0.28, 0.02], random_state=0,
    )  # fmt: skip
    folds = KFold(5, shuffle=True, random_state=2)
    assert min(len(np.unique(y[train])) for train, _ in folds.split(X)) == 3  # class 3 lacks
    candidates = [{0: 1.0, 1: 1.0, 2: 1.0, 3: 0.1}, {0: 0.1, 1: 1.0, 2: 1.0, 3: 1.0}]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitFailedWarning)
        grid = GridSearchCV(Model(), {"C": candidates}, cv=folds).fit(X, y)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "C, message",
    [
        ([1.0, 2.0], r"C has shape \(2,\) but there are 3 classes"),
        ([1.0, 0.0, 1.0], "C must be positive"),
        ([1.0, -1.0, 1.0], "C must be positive"),
        ([1.0, np.nan, 1.0], "C must be positive"),
        ({0: 1.0, 1: 1.0}, r"C has no value for the classes 2"),
        ({0: 1.0, 1: 1.0, 2: 1.0, "7": 1.0}, "C has keys that cannot be class labels: '7'"),
        ({0: 1.0, 1: "a", 2: 1.0}, r"C\[1\] must be a number"),
    ],
)
def test_bad_C_is_a_clear_error(C, message):
    X, y = dataset("wine", 3)
    with pytest.raises(ValueError, match=message):
        Model(C=C).fit(X, y)


@pytest.mark.parametrize("C", [0.0, -1.0, np.nan, "big"])
def test_bad_scalar_C_is_rejected_by_parameter_validation(C):
    X, y = dataset("wine", 3)
    with pytest.raises(ValueError, match="'C' parameter"):
        Model(C=C).fit(X, y)


@pytest.mark.parametrize("smoothing", [1.0, -0.1, [0.1, 1.0, 0.0], {0: 0.1, 1: 2.0, 2: 0.0}])
def test_bad_label_smoothing_is_a_clear_error(smoothing):
    X, y = dataset("wine", 3)
    with pytest.raises(ValueError, match="label_smoothing"):
        Model(label_smoothing=smoothing).fit(X, y)


def test_one_class_is_a_clear_error():
    X, y = dataset("wine", 3)
    with pytest.raises(ValueError, match="only one class"):
        Model().fit(X, np.zeros(len(y)))


@pytest.mark.parametrize(
    "sample_weight, message",
    [
        ("negative", "Negative values in data passed to `sample_weight`"),
        ("zero", "sample_weight .* sums to zero"),
        ("short", "sample_weight"),
    ],
)
def test_bad_sample_weight_is_a_clear_error(sample_weight, message):
    X, y = dataset("wine", 3)
    sample_weight = {"negative": -np.ones(len(y)), "zero": np.zeros(len(y)), "short": np.ones(3)}[
        sample_weight
    ]
    with pytest.raises(ValueError, match=message):
        Model().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_X_is_a_clear_error(value):
    X, y = dataset("wine", 3)
    X = X.copy()
    X[3, 2] = value
    with pytest.raises(ValueError, match="Input X contains"):
        Model().fit(X, y)


def test_unknown_class_weight_label_is_a_clear_error():
    X, y = dataset("wine", 3)
    with pytest.raises(ValueError, match="class_weight"):
        Model(class_weight={0: 1.0, 5: 2.0}).fit(X, y)
