"""The backends' array operations agree, and solvers need nothing else of an array."""

import numpy as np
import pytest

from sklearn_classreg._utils._ops import ArrayOps, NumpyOps, ops_of


def _arrays():
    rng = np.random.default_rng(0)
    return rng.standard_normal(7), rng.standard_normal(7), rng.standard_normal((3, 5))


def _numpy_and_torch():
    yield "numpy", NumpyOps(np.float64), lambda a: a
    torch = pytest.importorskip("torch")
    from sklearn_classreg._objective._torch import TorchOps

    yield "torch", TorchOps(torch.float64, torch.device("cpu")), torch.as_tensor


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_operations_agree_across_backends(backend):
    name, ops, array = dict((n, (n, o, a)) for n, o, a in _numpy_and_torch())[backend]
    a, b, A = _arrays()
    assert ops.dot(array(a), array(b)) == pytest.approx(a @ b, rel=1e-15)
    assert ops.norm(array(a)) == pytest.approx(np.linalg.norm(a), rel=1e-15)
    assert ops.max_abs(array(a)) == np.abs(a).max()
    assert ops.max_abs(ops.zeros((0,))) == 0.0
    assert ops.eps == np.finfo(np.float64).eps
    copy = ops.copy(array(a))
    copy *= 2
    np.testing.assert_array_equal(ops.to_numpy(copy), 2 * a)
    out = ops.empty((3, 3))
    ops.matmul_into(array(A), array(A.T), out)
    np.testing.assert_allclose(ops.to_numpy(out), A @ A.T, rtol=1e-14)
    product = ops.empty((3, 5))
    assert ops.multiply_into(array(A), array(A), product) is product
    np.testing.assert_array_equal(ops.to_numpy(product), A * A)
    clipped = ops.asarray(np.array([-1.0, 0.5]))
    ops.clip_below_(clipped, 0.0)
    np.testing.assert_array_equal(ops.to_numpy(clipped), [0.0, 0.5])
    np.testing.assert_allclose(ops.row_squared_norms(array(A)), (A**2).sum(axis=1), rtol=1e-14)


def test_float32_rows_are_summed_in_float64():
    A = np.full((2, 10**6), 1e-4, dtype=np.float32)
    norms = NumpyOps(np.float32).row_squared_norms(A)
    assert norms.dtype == np.float64
    np.testing.assert_allclose(norms, 10**6 * np.float64(np.float32(1e-4)) ** 2, rtol=1e-12)


def test_operator_reductions_need_no_instance():
    a = np.array([3.0, 4.0])
    assert ArrayOps.dot(a, a) == 25.0 and ArrayOps.norm(a) == 5.0


def test_an_objective_without_ops_is_a_numpy_one():
    class Plain:
        dtype = np.dtype(np.float32)

    ops = ops_of(Plain())
    assert isinstance(ops, NumpyOps) and ops.dtype == np.float32
    with_ops = Plain()
    with_ops.ops = NumpyOps(np.float64)
    assert ops_of(with_ops) is with_ops.ops


@pytest.mark.parametrize("shape_b", [(300, 200), (300,)])
def test_matmul_into_in_blocks_on_several_threads_equals_one_product(shape_b):
    from sklearn_classreg._utils._threads import product_blocks

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((500, 300)), rng.standard_normal(shape_b)
    columns = shape_b[1] if len(shape_b) == 2 else 1
    if columns > 1:
        assert len(product_blocks(500, a.size * columns)) > 1
    out = np.empty((500, *shape_b[1:]))
    NumpyOps(np.float64, n_threads=2).matmul_into(a, b, out)
    np.testing.assert_allclose(out, a @ b, rtol=1e-12, atol=1e-12)
