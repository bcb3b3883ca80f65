"""Scale-out: folds on a real Dask cluster; X larger than the memory the process may use."""

import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from sklearn_classreg import ClassWiseRegularizationCV, ClassWiseRegularizedLogisticRegression
from sklearn_classreg.datasets import make_frozen_features
from sklearn_classreg.model_selection import ClassWiseStudy, classwise_validation_curve


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def run_everything(n_jobs):
    """The curve, the study and the per-class CV, with folds spread by joblib."""
    X, y = make_frozen_features(600, 10, 5, class_sep=0.5, random_state=0)
    model = ClassWiseRegularizedLogisticRegression(max_iter=500)
    curve = classwise_validation_curve(
        model,
        X,
        y,
        param_name="C",
        param_range=[0.01, 0.1, 1.0],
        cv=4,
        metrics=["recall", "deviance"],
        n_jobs=n_jobs,
    )
    study = ClassWiseStudy(
        model, param_range=[0.01, 0.1, 1.0], cv=4, n_bootstrap=100, random_state=0, n_jobs=n_jobs
    ).fit(X, y)
    cv = ClassWiseRegularizationCV(
        Cs=[0.01, 0.1, 1.0], cv=4, n_bootstrap=100, random_state=0, n_jobs=n_jobs
    ).fit(X, y)
    return curve, study, cv


def test_dask_cluster_gives_the_in_process_results(dask_client):
    # one BLAS thread everywhere, so that sums run in the same order in every process
    with threadpool_limits(1):
        local = run_everything(n_jobs=1)
    with joblib.parallel_backend("dask"):
        remote = run_everything(n_jobs=-1)
    workers = dask_client.scheduler_info()["workers"]
    assert len(workers) == 2
    pd.testing.assert_frame_equal(remote[0], local[0])
    pd.testing.assert_frame_equal(remote[1].summary_, local[1].summary_)
    assert remote[1].best_global_ == local[1].best_global_
    np.testing.assert_array_equal(remote[2].C_, local[2].C_)
    np.testing.assert_array_equal(remote[2].coef_, local[2].coef_)


def test_memory_mapped_X_larger_than_the_allowed_memory(tmp_path):
    """Fit from a float32 memory map while the process may not allocate a copy of X.

    RLIMIT_DATA caps the private memory of the child process to what it uses
    after start-up plus 150 MiB; X (a read-only map of a 320 MiB file) does
    not count against it, a copy of X would.
    """
    n_samples, n_features = 80_000, 1000  # 320 MB in float32
    path = tmp_path / "X.npy"
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_samples, n_features))
    for start in range(0, n_samples, 10_000):
        block = rng.standard_normal((10_000, n_features), dtype=np.float32)
        block[:, 0] += np.repeat([0.0, 1.0], 5_000)
        X[start : start + 10_000] = block
    X.flush()
    del X
    np.save(tmp_path / "y.npy", np.tile(np.repeat([0, 1, 2, 3], 2_500), 8))
    code = textwrap.dedent(f"""
        import resource, warnings
        import numpy as np
        from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model

        def private_bytes():
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmData:"):
                        return int(line.split()[1]) * 1024

        y = np.load({str(tmp_path / "y.npy")!r})
        Model(max_iter=2).fit(np.zeros((40, 5), np.float32), np.arange(40) % 4)  # compile
        limit = private_bytes() + 150 * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        X = np.load({str(tmp_path / "X.npy")!r}, mmap_mode="r")
        try:
            np.array(X)  # a copy of X must fail under this limit
            raise SystemExit("the limit does not bind: the test proves nothing")
        except MemoryError:
            pass
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = Model(max_iter=3).fit(X, y)
        assert model.coef_.dtype == np.float32 and np.all(np.isfinite(model.coef_))
        print("fitted", model.n_iter_[0])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "fitted" in out.stdout
