"""Row blocks and the thread count of the kernels."""

import threading

import pytest
from threadpoolctl import threadpool_limits

from sklearn_classreg._utils._threads import blas_num_threads, run_blocks, split_rows


@pytest.mark.parametrize("start, stop, n_blocks", [(0, 10, 3), (5, 6, 4), (0, 1000, 7), (3, 3, 2)])
def test_split_rows_covers_the_range_in_order(start, stop, n_blocks):
    blocks = split_rows(start, stop, n_blocks)
    if stop > start:
        assert blocks[0][0] == start and blocks[-1][1] == stop
        assert all(a < b for a, b in blocks)
        assert all(b == a2 for (_, b), (a2, _) in zip(blocks, blocks[1:], strict=False))
    assert len(blocks) <= max(1, min(n_blocks, stop - start))


def test_run_blocks_returns_results_in_block_order_from_several_threads():
    seen = set()

    def work(j, a, b):
        seen.add(threading.get_ident())
        return j, a, b

    blocks = split_rows(0, 100, 4)
    assert run_blocks(work, blocks) == [(j, a, b) for j, (a, b) in enumerate(blocks)]
    assert len(seen) >= 2


def test_kernel_threads_follow_the_blas_limit():
    with threadpool_limits(limits=1, user_api="blas"):
        assert blas_num_threads() == 1
    assert blas_num_threads() >= 1
