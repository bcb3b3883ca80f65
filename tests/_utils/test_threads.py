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
    both_running = threading.Barrier(2, timeout=30)  # blocks 0 and 1 need two threads

    def work(j, a, b):
        seen.add(threading.get_ident())
        if j < 2:
            both_running.wait()
        return j, a, b

    blocks = split_rows(0, 100, 4)
    assert run_blocks(work, blocks, n_threads=2) == [(j, a, b) for j, (a, b) in enumerate(blocks)]
    assert len(seen) == 2


def test_run_blocks_on_one_thread_runs_every_block_on_the_caller():
    seen = []
    blocks = split_rows(0, 100, 5)
    results = run_blocks(lambda j, a, b: seen.append(threading.get_ident()) or j, blocks, 1)
    assert results == list(range(5))
    assert set(seen) == {threading.get_ident()}


def test_a_held_up_thread_holds_up_only_its_own_block():
    """Dynamic scheduling: while one thread is stuck on a block (as when the
    operating system deschedules it), the other takes all the rest."""
    release = threading.Event()
    done_by = {}

    def work(j, a, b):
        done_by[j] = threading.get_ident()
        if j == 0:
            release.wait(timeout=30)
        elif len(done_by) == 20:
            release.set()  # every block was taken while block 0 was held up

    run_blocks(work, split_rows(0, 20, 20), n_threads=2)
    assert release.is_set()
    others = {done_by[j] for j in range(1, 20)}
    assert others == {next(iter(others))} and done_by[0] not in others


def test_kernel_threads_follow_the_blas_limit():
    with threadpool_limits(limits=1, user_api="blas"):
        assert blas_num_threads() == 1
    assert blas_num_threads() >= 1


def test_single_threaded_blas_from_overlapping_threads_restores_the_original_limit():
    """Two fits side by side in threads: the limit holds while either runs, and
    BLAS gets its original threads back when the last one ends (whichever
    order they end in)."""
    from sklearn_classreg._utils._threads import single_threaded_blas

    original = blas_num_threads()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with single_threaded_blas():
            first_in.set()
            second_in.wait(timeout=30)
        first_out.set()

    def second():
        first_in.wait(timeout=30)
        with single_threaded_blas():
            second_in.set()
            first_out.wait(timeout=30)
            seen["after the first ended"] = blas_num_threads()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert seen["after the first ended"] == 1
    assert blas_num_threads() == original
