"""CPU benchmark: this library against scikit-learn and torch.optim.LBFGS.

Run from the repository root (one to two hours on 2 cores, mostly in the slow
peers; ``--quick`` takes a minute)::

    python benchmarks/bench_cpu.py

Writes ``benchmarks/results/cpu.csv`` (every run) and ``cpu.md`` (medians and
ratios). Sections:

1. time per loss+gradient evaluation against the two-GEMM floor (S, M, L);
2. single fits to the same objective (relative gap <= 1e-6 to the best value
   any method reached, all evaluated by one float64 objective): this library
   (lbfgs, newton-cg; default threads and BLAS limited to one thread),
   scikit-learn LogisticRegression (lbfgs, newton-cg; both thread settings),
   torch.optim.LBFGS with strong Wolfe (S, M);
3. one C per class (100 different values) against one C for all (M);
4. a warm-started 20-point C path against scikit-learn's warm_start loop, and
   cross-validation over 10 Cs x 3 folds against LogisticRegressionCV (S);
5. real frozen features (the bundled Omniglot sample, 4,840 x 1,280, 242 classes,
   through EfficientNet-Lite0, C = 0.1): per evaluation and single fits.

Every timing is the median of --repeats runs (3 by default), in one process,
one method after the other; ``--peer-repeats`` (default: --repeats) sets the runs
of the scikit-learn and torch methods, which take minutes each. torch.optim.LBFGS
gets ``--peer-time-limit`` seconds per problem over its attempts (600 by default);
when it is stopped, the table says so and its ratio is a lower bound. The results are
rewritten after each size, so an interrupted run keeps what it measured.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
from _common import (
    REAL,
    REAL_C,
    SIZES,
    ObjectiveReferee,
    OutOfTime,
    Run,
    TorchLBFGS,
    machine_description,
    make_problem,
    markdown_table,
    median_seconds,
    status_kib,
    timed,
    write_csv,
)

from sklearn_classreg import ClassWiseRegularizedLogisticRegression, regularization_path
from sklearn_classreg._objective._datafit import MULTINOMIAL
from sklearn_classreg._objective._logistic import LogisticObjective

RESULTS = Path(__file__).parent / "results"
MAX_ITER = 20_000
GAP = 1e-6
# seconds the torch.optim.LBFGS fits of one problem may run in all, over the
# attempts of `single_fits` (set by --peer-time-limit): it needs float64 and tens
# of thousands of evaluations to reach the gap
TORCH_TIME_LIMIT = [None]


def thread_limit(threads):
    """BLAS and OpenMP limited to `threads` (None: the library defaults)."""
    return threadpool_limits(limits=threads) if threads else threadpool_limits(limits=None)


# ------------------------------------------------------------------ methods
def fit_ours(X, y, C, tol, solver="lbfgs", threads=None, max_iter=MAX_ITER):
    model = ClassWiseRegularizedLogisticRegression(C=C, tol=tol, max_iter=max_iter, solver=solver)
    with thread_limit(threads):
        _, seconds = timed(model.fit, X, y)
    return Run(seconds, int(model.n_iter_[0]), -1, model.coef_, model.intercept_)


def fit_sklearn(X, y, C, tol, solver="lbfgs", threads=None):
    model = LogisticRegression(C=C, tol=tol, max_iter=MAX_ITER, solver=solver)
    with thread_limit(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, seconds = timed(model.fit, X, y)
    return Run(seconds, int(model.n_iter_[0]), -1, model.coef_, model.intercept_)


def fit_torch(X, y, C, tol, threads=None):
    """torch.optim.LBFGS (strong Wolfe, history 10) on the same scaled objective."""
    import torch

    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    K, d = int(y.max()) + 1, X.shape[1]
    W = torch.zeros(K, d, dtype=X_t.dtype, requires_grad=True)
    b = torch.zeros(K, dtype=X_t.dtype, requires_grad=True)
    peer = TorchLBFGS(W, b, X_t, y_t, C, tol, MAX_ITER, time_limit=TORCH_TIME_LIMIT[0])
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    out_of_time = False
    start = time.perf_counter()
    try:
        peer.step()
    except OutOfTime:
        out_of_time = True
    finally:
        seconds = time.perf_counter() - start
        torch.set_num_threads(previous)
    return Run(
        seconds,
        peer.n_iter,
        peer.evaluations,
        W.detach().numpy().copy(),
        b.detach().numpy().copy(),
        extra={"out_of_time": out_of_time},
    )


OURS = {  # method name -> (solver, BLAS threads)
    "ours lbfgs": ("lbfgs", None),
    "ours lbfgs, BLAS 1 thread": ("lbfgs", 1),
    "ours newton-cg": ("newton-cg", None),
}
METHODS = {
    **{
        name: lambda X, y, C, tol, solver=solver, threads=threads: fit_ours(
            X, y, C, tol, solver, threads
        )
        for name, (solver, threads) in OURS.items()
    },
    "sklearn lbfgs": lambda X, y, C, tol: fit_sklearn(X, y, C, tol),
    "sklearn lbfgs, 1 thread": lambda X, y, C, tol: fit_sklearn(X, y, C, tol, threads=1),
    "sklearn newton-cg": lambda X, y, C, tol: fit_sklearn(X, y, C, tol, solver="newton-cg"),
    "sklearn newton-cg, 1 thread": lambda X, y, C, tol: fit_sklearn(
        X, y, C, tol, solver="newton-cg", threads=1
    ),
    "torch LBFGS": lambda X, y, C, tol: fit_torch(X, y, C, tol),
}


# ----------------------------------------------------------------- sections
def per_evaluation(size, X, y, C, repeats):
    """Seconds per loss+gradient: floor, ours, scikit-learn, torch."""
    from sklearn._loss.loss import HalfMultinomialLoss
    from sklearn.linear_model._linear_loss import LinearModelLoss

    n, d = X.shape
    K = int(y.max()) + 1
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((K, d)) * 0.01).astype(np.float32)
    Z = np.empty((n, K), np.float32)
    G = np.empty((K, d), np.float32)

    def floor():
        np.matmul(X, W.T, out=Z)
        np.matmul(Z.T, X, out=G)

    objective = LogisticObjective(
        X, y, np.ones(n), datafit=MULTINOMIAL, C=np.full(K, C), label_smoothing=np.zeros(K)
    )
    coef = objective.pack(W, np.zeros(K, np.float32))
    objective.loss_gradient(coef)

    sk_loss = LinearModelLoss(base_loss=HalfMultinomialLoss(n_classes=K), fit_intercept=True)
    sk_coef = np.zeros((K, d + 1), order="F")
    sk_coef[:, :d] = W
    sk_coef = sk_coef.ravel(order="F")  # what scikit-learn's lbfgs passes: float64
    y32 = y.astype(np.float32)
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    sk_threads = _openmp_effective_n_threads()

    rows = []
    timings = {
        "two float32 GEMMs (floor)": lambda: floor(),
        "ours loss_gradient": lambda: objective.loss_gradient(coef),
        "sklearn LinearModelLoss.loss_gradient": lambda: sk_loss.loss_gradient(
            sk_coef, X, y32, None, 1.0 / (C * n), sk_threads
        ),
    }
    try:
        import torch

        X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
        W_t = torch.from_numpy(W.copy()).requires_grad_()
        b_t = torch.zeros(K, requires_grad=True)

        def torch_eval():
            W_t.grad = b_t.grad = None
            loss = torch.nn.functional.cross_entropy(X_t @ W_t.T + b_t, y_t)
            (loss + (W_t * W_t).sum() / (2 * C * n)).backward()

        timings["torch cross_entropy + backward"] = torch_eval
    except ImportError:
        pass
    for name, function in timings.items():
        function()  # warm up
        timed_runs = max(repeats, 5) if size != "L" else repeats
        seconds = median_seconds(function, repeats=timed_runs)
        rows.append(
            {
                "section": "per evaluation",
                "size": size,
                "method": name,
                "seconds": seconds,
                "runs": timed_runs,
            }
        )
    floor_seconds = rows[0]["seconds"]
    for row in rows:
        row["ratio"] = row["seconds"] / floor_seconds  # to the floor
    return rows


def attempts(tol):
    """(dtype, tol) configurations tried in turn until the gap is reached.

    float32 first (the data as given), then float64: scikit-learn's lbfgs and
    torch's LBFGS stall on float32 loss noise before a 1e-6 gap, whatever tol,
    and a user who needs that precision must convert X.
    """
    return [
        (np.float32, tol),
        (np.float32, tol / 10),
        (np.float64, tol),
        (np.float64, tol / 10),
        (np.float64, tol / 100),
    ]


def runs_of(name, repeats, peer_repeats):
    """Timed runs for a method: `repeats` for this library, `peer_repeats` for the others."""
    return repeats if name.startswith("ours") else peer_repeats


def single_fits(size, X, y, C, tol, repeats, peer_repeats, methods, seed):
    """Every method to the same objective (gap <= 1e-6), then timed `repeats` times."""
    referee = ObjectiveReferee(X, y, C)
    reference = ClassWiseRegularizedLogisticRegression(
        C=C, tol=min(tol, 1e-8) / 10, max_iter=MAX_ITER, solver="newton-cg"
    ).fit(X.astype(np.float64), y)
    referee.value(reference.coef_, reference.intercept_)
    data = {np.float32: X}

    rows = []
    time_limit = TORCH_TIME_LIMIT[0]
    for name in methods:
        spent = 0.0
        for dtype, method_tol in attempts(tol):
            data.setdefault(dtype, X.astype(dtype))
            if time_limit is not None:  # what is left of the limit (torch only)
                TORCH_TIME_LIMIT[0] = max(time_limit - spent, 0.0)
            first = in_process_peak(METHODS[name], data[dtype], y, C, method_tol)
            spent += first.seconds
            out_of_time = first.extra.get("out_of_time", False)
            if out_of_time or referee.gap(referee.value(first.coef, first.intercept)) <= GAP:
                break
        runs = [first]
        if not out_of_time:
            runs += [
                in_process_peak(METHODS[name], data[dtype], y, C, method_tol)
                for _ in range(runs_of(name, repeats, peer_repeats) - 1)
            ]
        TORCH_TIME_LIMIT[0] = time_limit
        if name in OURS:
            memory = probe_memory(size, seed, name, C, method_tol, dtype).get("peak_extra_MiB")
        else:  # a fresh process would run the slow peer once more
            memory = float(np.median([run.peak_extra_bytes for run in runs])) / 2**20
        for repeat, run in enumerate(runs):
            value = referee.value(run.coef, run.intercept)
            rows.append(
                {
                    "section": "single fit",
                    "size": size,
                    "method": name,
                    "repeat": repeat,
                    "seconds": run.seconds,
                    "n_iter": run.n_iter,
                    "n_evals": run.n_evals,
                    "dtype": np.dtype(dtype).name,
                    "tol": method_tol,
                    "objective": value,
                    "peak_extra_MiB": memory,
                    "X_MiB": data[dtype].nbytes / 2**20,
                    "out_of_time": out_of_time,
                }
            )
        print(
            f"  {size} {name}: {np.median([r.seconds for r in runs]):.2f} s "
            f"({np.dtype(dtype).name}, tol {method_tol:g}"
            + (", stopped at the time limit)" if out_of_time else ")"),
            flush=True,
        )
    for row in rows:  # gaps against the best value any run reached
        row["gap"] = referee.gap(row["objective"])
    return rows


def in_process_peak(method, *args):
    """Run `method(*args)`, recording the peak resident memory it added (bytes) on the Run."""
    before = status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset the peak (VmHWM) to the current size
    run = method(*args)
    run.peak_extra_bytes = (status_kib("VmHWM") - before) * 1024
    return run


# Memory probes cap the fit at this many iterations: the peak is reached once
# the solver's buffers exist (L-BFGS's history is full after 10 iterations;
# Newton-CG's per-sample state and conjugate-gradient vectors exist from its first).
PROBE_MAX_ITER = {"lbfgs": 15, "newton-cg": 2}
# A fixed glibc mmap threshold in the probe: large arrays are mapped and
# unmapped, not recycled from the heap, so that the resident peak of a later
# fit counts its arrays instead of reusing memory freed earlier.
PROBE_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536"}


def probe_memory(size, seed, method, C, tol, dtype):
    """Peak memory added by our fits, in MiB, measured in a fresh process.

    Returns a dict: ``first_fit_MiB`` (resident, the first fit of the process
    after a 200-row warm-up: includes the libraries' one-time set-up),
    ``peak_extra_MiB`` (resident, a second fit of the same data) and
    ``traced_MiB`` (NumPy and Python allocations during a third fit, by
    tracemalloc); all empty when the probe fails.
    """
    solver, threads = OURS[method]
    spec = {"size": size, "seed": seed, "solver": solver, "threads": threads}
    spec.update(C=C, tol=tol, dtype=np.dtype(dtype).name)
    command = [sys.executable, __file__, "--memory-probe", json.dumps(spec)]
    environment = {**os.environ, **PROBE_ENVIRONMENT}
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {}


def memory_probe(spec):
    """Child process of `probe_memory`: data and warm-up first, then the measured fits."""
    spec = json.loads(spec)
    X, y = make_problem(spec["size"], seed=spec["seed"])
    X = X.astype(spec["dtype"])
    setting = (spec["C"], spec["tol"], spec["solver"], spec["threads"])
    max_iter = PROBE_MAX_ITER[spec["solver"]]
    warnings.simplefilter("ignore", ConvergenceWarning)  # the fits are capped
    fit_ours(X[:200], y[:200], *setting, 5)  # compile outside the measurements
    first, second = (in_process_peak(fit_ours, X, y, *setting, max_iter) for _ in range(2))
    tracemalloc.start()
    fit_ours(X, y, *setting, max_iter)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "first_fit_MiB": first.peak_extra_bytes / 2**20,
                "peak_extra_MiB": second.peak_extra_bytes / 2**20,
                "traced_MiB": traced / 2**20,
            }
        )
    )


MEMORY_SECTION = "memory, float32 fit"
MEMORY_COLUMNS = [
    "size",
    "method",
    "X_MiB",
    "first_fit_MiB",
    "peak_extra_MiB",
    "traced_MiB",
    "extra / X",
]


def memory(size, X, seed, C, tol):
    """Peak extra memory of our fits of float32 `X` against its size (fresh processes)."""
    X_MiB = X.astype(np.float32, copy=False).nbytes / 2**20
    rows = []
    for method in ("ours lbfgs", "ours newton-cg"):
        probe = probe_memory(size, seed, method, C, tol, np.float32)
        if not probe:
            continue
        worst = max(probe["peak_extra_MiB"], probe["traced_MiB"])
        rows.append(
            {
                "section": MEMORY_SECTION,
                "size": size,
                "method": method,
                "tol": tol,
                "X_MiB": X_MiB,
                **probe,
                "extra / X": worst / X_MiB,
            }
        )
        print(f"  {size} {method}: {worst:.1f} MiB extra = {worst / X_MiB:.0%} of X", flush=True)
    return rows


def per_class_cost(size, X, y, tol, repeats):
    """One C for all classes against 100 different C_k (log-uniform in [0.5, 2])."""
    K = int(y.max()) + 1
    C_vector = 10 ** np.random.default_rng(1).uniform(np.log10(0.5), np.log10(2.0), K)
    rows = []
    for label, C in (("one C", 1.0), (f"{K} different C_k", C_vector)):
        for repeat in range(repeats):
            run = fit_ours(X, y, C, tol)
            rows.append(
                {
                    "section": "per-class C",
                    "size": size,
                    "method": label,
                    "repeat": repeat,
                    "seconds": run.seconds,
                    "n_iter": run.n_iter,
                    "seconds_per_iter": run.seconds / max(run.n_iter, 1),
                }
            )
    return rows


def paths(size, X, y, tol, repeats, peer_repeats, n_points=20):
    """Warm-started path over n_points C: ours against scikit-learn's warm_start loop."""
    Cs = np.logspace(-3, 2, n_points)
    rows = []

    def ours():
        path, seconds = timed(regularization_path, X, y, Cs, tol=tol, max_iter=MAX_ITER)
        return seconds, int(path.n_iter.sum()), int(path.converged.sum())

    def sklearn_loop(threads):
        def run():
            model = LogisticRegression(tol=tol, max_iter=MAX_ITER, warm_start=True)
            with thread_limit(threads), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                start = time.perf_counter()
                iterations = 0
                for C in Cs:
                    model.set_params(C=C).fit(X, y)
                    iterations += int(model.n_iter_[0])
                seconds = time.perf_counter() - start
            not_converged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
            return seconds, iterations, n_points - not_converged

        return run

    for name, run in (
        ("ours regularization_path", ours),
        ("sklearn warm_start loop", sklearn_loop(None)),
        ("sklearn warm_start loop, 1 thread", sklearn_loop(1)),
    ):
        for repeat in range(runs_of(name, repeats, peer_repeats)):
            seconds, iterations, converged = run()
            rows.append(
                {
                    "section": f"{n_points}-point path",
                    "size": size,
                    "method": name,
                    "repeat": repeat,
                    "seconds": seconds,
                    "n_iter": iterations,
                    "converged_points": converged,
                }
            )
        print(f"  {size} path {name}: {seconds:.1f} s", flush=True)
    return rows


def cross_validation(size, X, y, tol, repeats, peer_repeats, n_Cs=10, n_folds=3):
    """Choose C by 3-fold CV over 10 values, then refit: ours against LogisticRegressionCV."""
    Cs = np.logspace(-3, 2, n_Cs)
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=0).split(X, y))

    def ours():
        start = time.perf_counter()
        scores = np.zeros((n_folds, n_Cs))
        for f, (train, test) in enumerate(folds):
            path = regularization_path(X[train], y[train], Cs, tol=tol, max_iter=MAX_ITER)
            scores[f] = [path.estimator(i).score(X[test], y[test]) for i in range(n_Cs)]
        best = Cs[np.argmax(scores.mean(axis=0))]
        ClassWiseRegularizedLogisticRegression(C=best, tol=tol, max_iter=MAX_ITER).fit(X, y)
        return time.perf_counter() - start, best

    def sklearn(threads):
        def run():
            model = LogisticRegressionCV(Cs=Cs, cv=folds, tol=tol, max_iter=MAX_ITER)
            with thread_limit(threads), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, seconds = timed(model.fit, X, y)
            return seconds, float(np.ravel(model.C_)[0])

        return run

    rows = []
    for name, run in (
        ("ours CV on warm-started paths", ours),
        ("sklearn LogisticRegressionCV", sklearn(None)),
        ("sklearn LogisticRegressionCV, 1 thread", sklearn(1)),
    ):
        for repeat in range(runs_of(name, repeats, peer_repeats)):
            seconds, best = run()
            rows.append(
                {
                    "section": "10 Cs x 3 folds CV",
                    "size": size,
                    "method": name,
                    "repeat": repeat,
                    "seconds": seconds,
                    "best_C": best,
                }
            )
        print(f"  {size} CV {name}: {seconds:.1f} s", flush=True)
    return rows


# ------------------------------------------------------------------ report
# per-run columns summarised by their median (gap: maximum; dtype: as is), in table order
MEASURED_COLUMNS = (
    "ratio",
    "n_iter",
    "n_evals",
    "dtype",
    "tol",
    "gap",
    "peak_extra_MiB",
    "X_MiB",
    "seconds_per_iter",
    "converged_points",
    "best_C",
)


def summarise(rows):
    """Median per (section, size, method), with ratios to the anchors."""
    keys = []
    for row in rows:
        key = (row["section"], row["size"], row["method"])
        if key not in keys:
            keys.append(key)
    summary = []
    for key in keys:
        group = [r for r in rows if (r["section"], r["size"], r["method"]) == key]
        entry = {
            "section": key[0],
            "size": key[1],
            "method": key[2],
            "runs": sum(r.get("runs", 1) for r in group),
            "median s": float(np.median([r["seconds"] for r in group])),
        }
        if any(r.get("out_of_time") for r in group):
            entry["reached gap"] = "no: stopped at the time limit"
        for column in MEASURED_COLUMNS:
            values = [r[column] for r in group if r.get(column) is not None]
            if not values:
                continue
            if column == "dtype":
                entry[column] = values[0]
            else:
                entry[column] = float(np.median(values)) if column != "gap" else max(values)
        summary.append(entry)
    ours = {
        (e["section"], e["size"]): e["median s"]
        for e in summary
        if e["method"].startswith("ours")
        and "1 thread" not in e["method"]
        and "newton" not in e["method"]
    }
    for entry in summary:
        anchor = ours.get((entry["section"], entry["size"]))
        if anchor and entry["section"] != "per evaluation":
            ratio = entry["median s"] / anchor
            # a fit stopped at the time limit gives a lower bound
            entry["x slower than ours"] = f">= {ratio:.3g}" if "reached gap" in entry else ratio
    return summary


def format_value(value):
    if isinstance(value, float):
        if value == 0 or 1e-3 <= abs(value) < 1e5:
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return f"{value:.1e}"
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["S", "M", "L", "omniglot"],
        choices=list(SIZES) + list(REAL),
        help="synthetic sizes, and 'omniglot': real frozen features (single fits only)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--peer-repeats", type=int, default=None, help="runs of each peer (default: --repeats)"
    )
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke test: the tiny XS problem, one repeat"
    )
    parser.add_argument(
        "--peer-time-limit",
        type=float,
        default=600.0,
        help="seconds torch.optim.LBFGS may run on one problem, over its attempts, "
        "before it is stopped (0: no limit)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    TORCH_TIME_LIMIT[0] = args.peer_time_limit or None
    if args.memory_probe:
        return memory_probe(args.memory_probe)
    if args.quick:
        args.sizes, args.repeats, args.peer_repeats = ["XS"], 1, 1
    if args.peer_repeats is None:
        args.peer_repeats = args.repeats

    rows = []
    for size in args.sizes:
        X, y = make_problem(size, seed=args.seed)
        print(f"{size}: X {X.shape} float32, {int(y.max()) + 1} classes", flush=True)
        C = REAL_C.get(size, args.C)
        rows += per_evaluation(size, X, y, C, args.repeats)
        rows += memory(size, X, args.seed, C, args.tol)
        if size == "L":  # per-iteration figures only: full fits take hours in scikit-learn
            write_results(rows, args.out, argv)
            continue
        rows += single_fits(
            size, X, y, C, args.tol, args.repeats, args.peer_repeats, list(METHODS), args.seed
        )
        if size in REAL:
            write_results(rows, args.out, argv)
            continue
        if size in ("M", "XS"):
            rows += per_class_cost(size, X, y, args.tol, args.repeats)
        if size in ("S", "XS"):
            rows += paths(size, X, y, args.tol, args.repeats, args.peer_repeats)
            rows += cross_validation(size, X, y, args.tol, args.repeats, args.peer_repeats)
        write_results(rows, args.out, argv)


def write_results(rows, out, argv):
    """cpu.csv (every run) and cpu.md (medians and ratios) from the rows so far."""
    write_csv(rows, out / "cpu.csv")
    memory_rows = [r for r in rows if r["section"] == MEMORY_SECTION]
    summary = summarise([r for r in rows if r["section"] != MEMORY_SECTION])
    table_columns = [
        "section",
        "size",
        "method",
        "runs",
        "median s",
        "x slower than ours",
        "reached gap",
        *MEASURED_COLUMNS,
    ]
    table_columns = [c for c in table_columns if any(c in e for e in summary)]
    text = (
        "# CPU benchmark\n\n"
        f"`python benchmarks/bench_cpu.py {' '.join(argv or sys.argv[1:])}`\n\n"
        f"Machine: {machine_description()}.\n\n"
        "Medians of the runs; `ratio` is to the two-GEMM floor (per evaluation); "
        "`x slower than ours` is against this library's lbfgs with default settings "
        "(or its path / CV). `gap`: largest relative objective gap to the best value "
        "reached, all evaluated with one float64 objective; `dtype` and `tol` are the "
        "data type and tolerance each method needed to reach gap <= 1e-6 (tried in "
        "turn: float32 at tol and tol/10, then float64 at tol, tol/10, tol/100). "
        "torch.optim.LBFGS still short of the gap when its attempts on a problem have "
        "run for --peer-time-limit seconds is stopped; `reached gap` says so, the row "
        "is its last, stopped attempt, and its ratio is then a lower bound. "
        "`peak_extra_MiB`: peak resident memory added by one fit: this library's in a "
        "fresh process (a second fit there, capped at a few iterations; see the memory "
        "table below), the peers' in the benchmark process during their timed runs "
        "(a fresh process would run each slow peer once more; memory the process "
        "already holds may be reused, so theirs can be under-counted). "
        "`X_MiB` is the size of X in that dtype.\n\n"
        + markdown_table(
            [{k: format_value(v) for k, v in e.items()} for e in summary], table_columns
        )
        + "\n"
    )
    if memory_rows:
        text += (
            "\n## Memory of float32 fits\n\n"
            "This library's fits of the float32 problems at `--tol`, each solver probed in "
            "a fresh process, capped at 15 L-BFGS or 2 Newton-CG iterations (the peak is "
            "reached once the solver's buffers exist: the L-BFGS history is full after "
            "10), with "
            "glibc's mmap threshold fixed so that freed arrays are returned rather than "
            "recycled. `first_fit_MiB`: resident memory added by the first fit after a "
            "200-row warm-up (includes the libraries' one-time set-up, e.g. BLAS "
            "buffers); `peak_extra_MiB`: the same for a second fit; `traced_MiB`: NumPy "
            "and Python allocations during a third fit (tracemalloc); `extra / X`: the "
            "larger of the last two over the size of X.\n\n"
            + markdown_table(
                [{k: format_value(v) for k, v in r.items()} for r in memory_rows],
                MEMORY_COLUMNS,
            )
            + "\n"
        )
    (out / "cpu.md").write_text(text)


if __name__ == "__main__":
    main()
