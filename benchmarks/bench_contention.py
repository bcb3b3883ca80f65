"""A fit alone and next to a busy process: how much slower, this library and its peers.

Run from the repository root, on an otherwise quiet machine::

    python benchmarks/bench_contention.py                    # S and Omniglot, ~15 minutes
    python benchmarks/bench_contention.py --problems S --repeats 5

"Busy" is one other process spinning on one core (``while True: pass``), started
before the fit and stopped after it: what a laptop, a CI runner, a notebook next to a
browser or a joblib worker next to a fit sees. Each method is fitted alone and busy in
turn (alone, busy, alone, busy...), so that a drift of the machine's speed reaches
both; the table gives the medians and their ratio. On two cores, a fit whose work
shares the cores fairly with the busy process gets 4/3 of a core for each 2 alone: the
ideal ratio is 1.5 (1 for a fit on one thread).

Methods at their default settings, each at the problem's C: this library (lbfgs, and
newton-cg), scikit-learn's LogisticRegression (newton-cg, its fastest here, and lbfgs
with ``--slow-peers``) and cyanure 1.2.2 (``tol`` 1e-4, when installed). The figures
are wall seconds of the fit alone (no data loading).
"""

import argparse
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import REAL_C, machine_description, make_problem, markdown_table, write_csv

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model

RESULTS = Path(__file__).parent / "results"


def methods(X, y, C, slow_peers):
    """name -> a function fitting once."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    def sklearn(solver):
        def fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                LogisticRegression(C=C, solver=solver, max_iter=1000).fit(X, y)

        return fit

    found = {
        "ours lbfgs": lambda: Model(C=C).fit(X, y),
        "ours newton-cg": lambda: Model(C=C, solver="newton-cg").fit(X, y),
        "sklearn newton-cg": sklearn("newton-cg"),
    }
    if slow_peers:
        found["sklearn lbfgs"] = sklearn("lbfgs")
    try:
        from cyanure.estimators import Classifier
    except ImportError:
        print("cyanure is not installed: its rows are left out", file=sys.stderr)
    else:
        X64 = np.ascontiguousarray(X, dtype=np.float64)

        def cyanure():
            Classifier(
                loss="multiclass-logistic",
                penalty="l2",
                lambda_1=1.0 / (C * len(y)),
                tol=1e-4,
                fit_intercept=True,
                verbose=False,
            ).fit(X64, y)

        found["cyanure"] = cyanure
    return found


def spinning():
    """A process spinning on one core (until killed)."""
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.5)  # let it reach its loop
    return process


def measure(fit, repeats):
    """Seconds of `fit` alone and next to a spinning process, `repeats` of each, in turn."""
    fit()  # compile and warm up
    alone, busy = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        alone.append(time.perf_counter() - start)
        process = spinning()
        try:
            start = time.perf_counter()
            fit()
            busy.append(time.perf_counter() - start)
        finally:
            process.kill()
            process.wait()
    return alone, busy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["S", "omniglot"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slow-peers", action="store_true", help="scikit-learn's lbfgs too")
    parser.add_argument("--out", default="contention")
    args = parser.parse_args(argv)
    rows = []
    for problem in args.problems:
        X, y = make_problem(problem)
        C = REAL_C.get(problem, 1.0)
        for name, fit in methods(X, y, C, args.slow_peers).items():
            alone, busy = measure(fit, args.repeats)
            row = {
                "problem": problem,
                "C": C,
                "method": name,
                "runs": args.repeats,
                "alone s": round(float(np.median(alone)), 3),
                "busy s": round(float(np.median(busy)), 3),
                "busy / alone": round(float(np.median(busy) / np.median(alone)), 2),
            }
            print(row, flush=True)
            rows.append(row)
    columns = ["problem", "C", "method", "runs", "alone s", "busy s", "busy / alone"]
    write_csv(rows, RESULTS / f"{args.out}.csv")
    command = "python benchmarks/bench_contention.py " + " ".join(argv or sys.argv[1:])
    (RESULTS / f"{args.out}.md").write_text(
        "# A fit alone and next to a busy process\n\n"
        f"`{command.strip()}`\n\nMachine: {machine_description()}.\n\n"
        "Busy: one other process spinning on one core during the fit. Medians of the "
        "runs, alone and busy in turn; on two cores the ideal `busy / alone` of a fit "
        "sharing the cores fairly is 1.5. Each method stops at its own default tolerance, "
        "so the times alone are not a comparison at equal precision (see the CPU and "
        "certified benchmarks for that).\n\n" + markdown_table(rows, columns) + "\n"
    )


if __name__ == "__main__":
    main()
