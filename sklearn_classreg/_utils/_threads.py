"""Run the objective's blocks of work (kernels, matrix products) on a few threads.

The kernels release the GIL (``nogil=True``), and so does BLAS, so plain Python
threads run them in parallel. The pool's threads block on a queue between tasks
instead of spinning, which keeps them off the cores while others work (see
`_kernels.py`).

Blocks are taken dynamically: each thread takes the next block not yet taken,
so a thread that the operating system has descheduled (another process
running on its core) holds up at most the block it is on, and the others do
the rest. BLAS's own threads split a product statically and wait for each
other: next to one process spinning on one of two cores, a fit on Omniglot
features with BLAS on two threads took 2.8 x its time alone, with BLAS on one
thread 1.07 x (``benchmarks/bench_contention.py``). The objective's products
therefore run as blocks here, each on single-threaded BLAS
(`single_threaded_blas`).

The number of threads follows the BLAS thread limit, read with threadpoolctl:
`threadpoolctl.threadpool_limits`, joblib's workers (which limit BLAS in each
worker) and ``OMP_NUM_THREADS`` therefore limit these threads too, and the
objective never adds threads beyond what BLAS is allowed.
"""

import contextlib
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController, threadpool_info

__all__ = [
    "blas_num_threads",
    "product_blocks",
    "run_blocks",
    "run_product_blocks",
    "single_threaded_blas",
    "split_rows",
]

# Blocks of a matrix product: at most _MAX_PRODUCT_BLOCKS, each of at least
# _MIN_PRODUCT_BLOCK multiply-adds and _MIN_PRODUCT_SIDE rows (or columns).
_MAX_PRODUCT_BLOCKS = 8
_MIN_PRODUCT_BLOCK = 2**22
_MIN_PRODUCT_SIDE = 64

_pool = None
_pool_size = 0
_pool_lock = threading.Lock()


def _forget_pool_after_fork():
    # Threads do not survive fork(): a child process starts its own pool.
    global _pool, _pool_size
    _pool, _pool_size = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def blas_num_threads():
    """Number of threads BLAS may use now (at least 1, at most the CPUs we have)."""
    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    n_threads = max(counts) if counts else _available_cpus()
    return max(1, min(n_threads, _available_cpus()))


def _get_pool(n_workers):
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < n_workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(
                max_workers=n_workers, thread_name_prefix="sklearn_classreg"
            )
            _pool_size = n_workers
        return _pool


def split_rows(start, stop, n_blocks):
    """Split range(start, stop) into at most `n_blocks` contiguous, non-empty blocks."""
    n_rows = stop - start
    n_blocks = max(1, min(n_blocks, n_rows))
    bounds = [start + (n_rows * j) // n_blocks for j in range(n_blocks + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def run_blocks(func, blocks, n_threads=None):
    """Call ``func(j, start, stop)`` for each block ``(start, stop)`` of `blocks`.

    The calling thread and ``n_threads - 1`` of the pool's take the blocks
    dynamically (see the module docstring). Results come back in block order,
    so sums made from them depend neither on timing nor on the number of
    threads.

    Parameters
    ----------
    func : callable
    blocks : list of (int, int)
    n_threads : int, default=None
        Threads to use, the caller's included; one per block by default.

    Returns
    -------
    results : list
        The return values of `func`, in block order.
    """
    n_blocks = len(blocks)
    n_threads = n_blocks if n_threads is None else max(1, min(n_threads, n_blocks))
    results = [None] * n_blocks
    untaken = itertools.count()  # next() is atomic under the GIL

    def work():
        for j in untaken:
            if j >= n_blocks:
                return
            results[j] = func(j, *blocks[j])

    if n_threads == 1:
        work()
        return results
    pool = _get_pool(n_threads - 1)
    helpers = [pool.submit(work) for _ in range(n_threads - 1)]
    try:
        work()
    finally:
        for helper in helpers:
            helper.result()
    return results


def product_blocks(side, macs):
    """Blocks of `side` (the rows or columns a product is split along) for a
    product of `macs` multiply-adds."""
    n_blocks = min(_MAX_PRODUCT_BLOCKS, side // _MIN_PRODUCT_SIDE, macs // _MIN_PRODUCT_BLOCK)
    return split_rows(0, side, max(1, n_blocks))


def run_product_blocks(product, side, macs, n_threads):
    """``product(start, stop)`` over the `product_blocks` of `side`.

    On several threads, the blocks are taken dynamically (`run_blocks`), each
    on single-threaded BLAS; on one, `product` is called once on the whole.
    The blocks split the product's output, so the result does not depend on
    how many there are.
    """
    if n_threads == 1:
        product(0, side)
        return
    with single_threaded_blas():
        run_blocks(lambda _, a, b: product(a, b), product_blocks(side, macs), n_threads)


_controller = None
_limit_lock = threading.Lock()
_limit_holders = 0  # contexts open now, in any thread
_limiter = None


@contextlib.contextmanager
def single_threaded_blas():
    """A context in which BLAS runs on the calling thread only (threadpoolctl).

    Solvers run in it (``objective.ops.threads()``), not only the products:
    after a call on several threads, OpenBLAS's idle threads spin for a while,
    and the blocks that follow then share a core with them (an evaluation
    on Omniglot features that followed one two-threaded preconditioner
    product took 64 ms instead of 43 ms).

    The limit is process-wide: it is set when the first context opens, in
    any thread, and the original limits come back when the last one closes,
    so that fits running side by side in threads leave BLAS as they found it.
    """
    global _controller, _limit_holders, _limiter
    with _limit_lock:
        if _limit_holders == 0:
            if _controller is None:
                _controller = ThreadpoolController()
            _limiter = _controller.limit(limits=1, user_api="blas")
        _limit_holders += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_holders -= 1
            if _limit_holders == 0:
                _limiter.restore_original_limits()
                _limiter = None
