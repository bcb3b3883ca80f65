"""Run a numba kernel over row blocks on a few threads.

The kernels release the GIL (``nogil=True``), so plain Python threads run them
in parallel. The pool's threads block on a queue between tasks instead of
spinning, which keeps them off the cores while BLAS works (see `_kernels.py`).

The number of threads follows the BLAS thread limit, read with threadpoolctl:
`threadpoolctl.threadpool_limits`, joblib's workers (which limit BLAS in each
worker) and ``OMP_NUM_THREADS`` therefore limit these kernels too, and the
kernels never add threads beyond what BLAS is allowed.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_info

__all__ = ["blas_num_threads", "run_blocks", "split_rows"]

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


def run_blocks(func, blocks):
    """Call ``func(j, start, stop)`` for each block ``(start, stop)`` of `blocks`.

    The calling thread runs the first block, the pool the others. Results come
    back in block order, so sums made from them do not depend on timing.

    Returns
    -------
    results : list
        The return values of `func`, in block order.
    """
    if len(blocks) == 1:
        return [func(0, *blocks[0])]
    pool = _get_pool(len(blocks) - 1)
    futures = [pool.submit(func, j, a, b) for j, (a, b) in enumerate(blocks) if j]
    first = func(0, *blocks[0])
    return [first] + [future.result() for future in futures]
