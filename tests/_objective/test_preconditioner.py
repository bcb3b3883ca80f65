"""The feature-covariance preconditioner: its matrix, and that it helps."""

import numpy as np
import pytest
from scipy import sparse

import sklearn_classreg._objective._preconditioner as preconditioner_module
from sklearn_classreg._objective._datafit import BINOMIAL, MULTINOMIAL
from sklearn_classreg._objective._logistic import LogisticObjective
from sklearn_classreg._objective._preconditioner import numpy_preconditioner
from sklearn_classreg._solvers import LBFGS, NewtonCG
from sklearn_classreg.datasets import make_frozen_features


def explicit_inverse(X, weights, fit_intercept, curvature, l2, diagonal_only):
    """(c B + l2_k I)^{-1} per class, built densely."""
    Xa = np.hstack([X, np.ones((len(X), 1))]) if fit_intercept else X
    B = (Xa * weights[:, None]).T @ Xa
    if diagonal_only:
        B = np.diag(np.diag(B))
    c = curvature.mean()
    return [np.linalg.inv(c * B + lam * np.eye(len(B))) for lam in l2]


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("as_sparse", [False, True])
@pytest.mark.parametrize("diagonal_only", [False, True])
def test_apply_is_the_inverse_of_the_block_matrix(
    fit_intercept, as_sparse, diagonal_only, monkeypatch
):
    if diagonal_only:
        monkeypatch.setattr(preconditioner_module, "_DENSE_BYTES", 0)
        monkeypatch.setattr(preconditioner_module, "_DENSE_FRACTION_OF_X", 0.0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4)) @ rng.standard_normal((4, 4))
    weights = rng.uniform(0.5, 1.5, 50)
    weights /= weights.sum()
    curvature, l2 = np.array([0.2, 0.1, 0.3]), np.array([0.01, 0.0, 0.5])
    matrix = sparse.csr_matrix(X) if as_sparse else X
    preconditioner = numpy_preconditioner(matrix, weights, fit_intercept, np.float64)
    assert preconditioner.full is not diagonal_only
    V = rng.standard_normal((3, 4 + fit_intercept))
    expected = np.array(
        [
            inverse @ v
            for inverse, v in zip(
                explicit_inverse(X, weights, fit_intercept, curvature, l2, diagonal_only),
                V,
                strict=True,
            )
        ]
    )
    np.testing.assert_allclose(preconditioner.apply(V, curvature.mean(), l2), expected, rtol=1e-8)
    # The same, from and into the (weights, intercepts) parts of a parameter
    # vector, here in place: the outputs are the inputs.
    W, b = V[:, :4].copy(), (V[:, 4].copy() if fit_intercept else None)
    preconditioner.apply_into(W, b, curvature.mean(), l2, W, b)
    np.testing.assert_allclose(W, expected[:, :4], rtol=1e-8)
    if fit_intercept:
        np.testing.assert_allclose(b, expected[:, 4], rtol=1e-8)


def test_float32_basis_matches_the_float64_one():
    """B is built and decomposed in float32 for float32 data; it stays accurate."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3000, 40)) @ rng.standard_normal((40, 40))
    weights = rng.uniform(0.5, 1.5, len(X))
    weights /= weights.sum()
    exact = numpy_preconditioner(X, weights, True, np.float64)
    single = numpy_preconditioner(X.astype(np.float32), weights, True, np.float32)
    assert single.full and single.eigenvectors.dtype == np.float32
    V = rng.standard_normal((2, 41))
    for l2 in ([1e-5, 1e-5], [1e-3, 1e-2]):
        expected = exact.apply(V, 0.2, np.array(l2))
        got = single.apply(V.astype(np.float32), 0.2, np.array(l2, np.float32))
        assert got.dtype == np.float32
        # small components carry float32 rounding of an ill-conditioned B
        assert np.linalg.norm(got - expected) <= 1e-3 * np.linalg.norm(expected)


def test_the_full_basis_is_kept_within_the_memory_budget():
    weights = np.full(4000, 1 / 4000)
    # (d + 1)^2 floats twice against an eighth of X, with a floor of 32 MiB
    assert preconditioner_module.use_full_basis(101, 4, 4000 * 100 * 4)
    assert not preconditioner_module.use_full_basis(3001, 4, 4000 * 3000 * 4)
    X = np.ones((4000, 3000), np.float32)
    assert not numpy_preconditioner(X, weights, True, np.float32).full


def test_float32_data_gives_a_float32_preconditioner():
    X = np.random.default_rng(1).standard_normal((30, 3)).astype(np.float32)
    preconditioner = numpy_preconditioner(X, np.full(30, 1 / 30), True, np.float32)
    out = preconditioner.apply(np.ones((2, 4), np.float32), 1.0, np.ones(2, np.float32))
    assert out.dtype == np.float32


@pytest.mark.parametrize("solver", [LBFGS, NewtonCG])
@pytest.mark.parametrize("n_classes", [2, 12])
def test_preconditioning_reaches_the_same_optimum_with_fewer_evaluations(solver, n_classes):
    """On correlated, frozen-feature-like data (the case it is built for)."""
    X, y = make_frozen_features(2000, 128, n_classes, class_sep=0.4, random_state=0)
    X = X.astype(np.float64)
    datafit = BINOMIAL if n_classes == 2 else MULTINOMIAL
    results = {}
    for precondition in (False, True):
        objective = LogisticObjective(
            X,
            y,
            np.ones(len(y)),
            datafit=datafit,
            C=np.full(datafit.n_outputs(n_classes), 1.0),
            label_smoothing=np.zeros(n_classes),
        )
        result = solver(tol=1e-12, max_iter=5000, precondition=precondition).solve(
            objective, objective.zeros()
        )
        assert result.success
        results[precondition] = (result.nfev + result.nhessp, objective.canonical(result.x))
    # Each solve is within tol f of the minimum, and the objective is mu-strongly
    # convex off the softmax's common shift (which canonical removes), with mu the
    # smaller of the L2 strength 1 / (C n) and the intercepts' curvature (their
    # Hessian's smallest non-zero eigenvalue): each solution is within
    # sqrt(2 tol f / mu) of the optimum (to second order).
    x = results[True][1]
    curvatures = np.linalg.eigvalsh(objective.intercept_hessian(x))
    mu = min(1.0 / len(y), curvatures[curvatures > 1e-10].min())
    bound = 2 * np.sqrt(2 * 1e-12 * objective.loss_gradient(x)[0] / mu)
    np.testing.assert_allclose(results[True][1], results[False][1], rtol=0, atol=bound)
    assert results[True][0] < results[False][0]


def spiked_inverse(X, weights, curvature, l2, rank):
    """(c B_r + l2_k I)^{-1} per class, B_r the leading `rank` eigenpairs of B = X~^T W X~
    and the mean of its other eigenvalues on their complement, built densely."""
    Xa = np.hstack([X, np.ones((len(X), 1))])
    B = (Xa * weights[:, None]).T @ Xa
    values, vectors = np.linalg.eigh(B)
    top, U = values[-rank:], vectors[:, -rank:]
    rest = (np.trace(B) - top.sum()) / (len(B) - rank)
    spiked = U @ np.diag(top) @ U.T + rest * (np.eye(len(B)) - U @ U.T)
    return [np.linalg.inv(curvature * spiked + lam * np.eye(len(B))) for lam in l2]


@pytest.mark.parametrize("as_sparse", [False, True])
def test_truncated_basis_applies_the_spiked_inverse(as_sparse, monkeypatch):
    """Few samples per feature: the leading eigenvectors, and the rest's mean."""
    monkeypatch.setattr(preconditioner_module, "_MIN_RANK", 3)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((80, 12)) @ rng.standard_normal((12, 12))  # rank 80 // 16 = 5
    weights = rng.uniform(0.5, 1.5, 80)
    weights /= weights.sum()
    matrix = sparse.csr_matrix(X) if as_sparse else X
    preconditioner = numpy_preconditioner(matrix, weights, True, np.float64)
    assert preconditioner.rank == 5 and preconditioner.eigenvectors.shape == (13, 5)
    curvature, l2 = 0.3, np.array([0.02, 0.0, 1.5])
    V = rng.standard_normal((3, 13))
    expected = np.array(
        [inv @ v for inv, v in zip(spiked_inverse(X, weights, curvature, l2, 5), V, strict=True)]
    )
    np.testing.assert_allclose(preconditioner.apply(V, curvature, l2), expected, rtol=1e-9)
    W, b = V[:, :12].copy(), V[:, 12].copy()
    preconditioner.apply_into(W, b, curvature, l2, W, b)  # in place
    np.testing.assert_allclose(np.column_stack([W, b]), expected, rtol=1e-9)
    # the whole basis again when there are samples enough
    more = numpy_preconditioner(np.vstack([X] * 3), np.full(240, 1 / 240), True, np.float64)
    assert more.rank == 13 and more.rest is None


def test_basis_rank_follows_the_samples_per_feature():
    rank = preconditioner_module.basis_rank
    assert rank(257, 10_000) == 257  # many samples per feature: the whole basis
    assert rank(1281, 4_840) == 4_840 // 16  # Omniglot features
    assert rank(1281, 100) == 64  # never fewer than the floor
    assert rank(20, 100) == 20
    # the memory plan counts the vectors kept
    kept = preconditioner_module.preconditioner_bytes(1281, 4, 4_840 * 1280 * 4, 302)
    assert kept == 1281 * 302 * 4


@pytest.mark.parametrize("solver", [LBFGS, NewtonCG])
def test_the_truncated_basis_reaches_the_optimum(solver):
    """Few samples per feature (the truncated basis) and weak regularization:
    the same certified optimum as without the preconditioner."""
    X, y = make_frozen_features(600, 150, 8, class_sep=0.4, random_state=1)
    X = X.astype(np.float64)
    results = {}
    for precondition in (False, True):
        objective = LogisticObjective(
            X,
            y,
            np.ones(len(y)),
            datafit=MULTINOMIAL,
            C=np.full(8, 10.0),
            label_smoothing=np.zeros(8),
        )
        result = solver(tol=1e-10, max_iter=5000, precondition=precondition).solve(
            objective, objective.zeros()
        )
        assert result.success
        if precondition:
            assert 64 <= objective._preconditioner.rank < 151
        results[precondition] = objective.canonical(result.x)
    np.testing.assert_allclose(results[True], results[False], atol=1e-4)


def test_newton_cg_keeps_the_whole_basis():
    """The engine asks for the whole eigenbasis for Newton-CG, and the objective
    plans its memory with the basis it keeps."""
    from sklearn_classreg import ClassWiseRegularizedLogisticRegression
    from sklearn_classreg.linear_model._engine import Engine, validate_problem

    X, y = make_frozen_features(600, 150, 8, class_sep=0.4, random_state=1)
    for solver, rank in (("lbfgs", 64), ("newton-cg", 151)):
        model = ClassWiseRegularizedLogisticRegression(solver=solver, C=10.0)
        problem = validate_problem(model, X, y, None)
        objective = Engine.of(model).objective(problem, np.full(8, 10.0))
        assert objective.basis_rank == rank
        objective.precondition(objective.zeros())
        assert objective._preconditioner.rank == rank
        assert objective.float64_twin().basis_rank == rank
