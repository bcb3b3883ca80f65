"""The coupled oracle's descent with and without the adjoint correction of its losses.

The descent of ``ClassWiseRegularizationCV(strategy="hypergradient")`` (the
study's coupled oracle) compares held-out deviances that differ by 1e-4 and
less near its end, computed at inner solutions certified to a relative
duality gap: a gap bounds the training objective's error, not the held-out
deviance's. The library corrects each fold's deviance by the adjoint
(``hypergradient``'s ``correction``); this benchmark runs the same descent
with the corrected losses (the library) and with the raw ones, and scores
both answers with one referee: each fold refitted at the run's final C by
Newton-CG to a certified relative gap of 1e-9 in float64, its held-out
deviance by scikit-learn's ``log_loss``, averaged over the folds.

The problem is the main job's C study on the bundled Omniglot sample
(EfficientNet-Lite0 at 64 px; 75 % for the study, standardised on it, 5
folds, seed 0; 20 C from 1e-4 to 1e2; inner solves certified at 1e-4),
restricted to every k-th class (``--every``; 4 by default: 61 classes, 15
training images each), so that a descent takes minutes instead of hours.
Run from the repository root, alone on the machine::

    python benchmarks/bench_descent.py                 # about 20 minutes
    python benchmarks/bench_descent.py --every 1 --max-outer-iter 80   # hours

Writes ``benchmarks/results/descent.md``.
"""

import argparse
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from _common import frozen_features, machine_description, markdown_table

import sklearn_classreg.linear_model._hypergradient as hypergradient_module
from sklearn_classreg import ClassWiseRegularizationCV
from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model
from sklearn_classreg.datasets import load_omniglot_sample

RESULTS = Path(__file__).parent / "results"
GRID = np.logspace(-4, 2, 20)


@contextmanager
def losses(kind):
    """The descent compares "corrected" losses (the library's) or "raw" ones."""
    corrected = hypergradient_module.hypergradient

    def raw(problem, **kwargs):
        loss, gradient, n_products, correction = corrected(problem, **kwargs)
        return loss + correction, gradient, n_products, 0.0

    if kind == "raw":
        hypergradient_module.hypergradient = raw
    try:
        yield
    finally:
        hypergradient_module.hypergradient = corrected


def study_data(every):
    """The main job's study part of the Omniglot features, every `every`-th class,
    standardised (float32)."""
    images, labels = load_omniglot_sample()
    X = frozen_features(images, 64)
    train, _ = train_test_split(
        np.arange(len(labels)), test_size=0.25, stratify=labels, random_state=0
    )
    X, y = X[train], labels[train]
    kept = np.isin(y, np.unique(y)[::every])
    return StandardScaler().fit_transform(X[kept]).astype(np.float32), y[kept]


def referee(X, y, folds, C):
    """Mean over the folds of the held-out deviance at C, each fold solved to 1e-9."""
    deviances = []
    for train, test in folds:
        model = Model(C=C, solver="newton-cg", tol=1e-9, max_iter=1000)
        model.fit(X[train].astype(np.float64), y[train])
        probabilities = model.predict_proba(X[test].astype(np.float64))
        deviances.append(log_loss(y[test], probabilities, labels=model.classes_))
    return float(np.mean(deviances))


def descend(X, y, folds, kind, max_outer_iter):
    tuner = ClassWiseRegularizationCV(
        Cs=GRID,
        cv=folds,
        strategy="hypergradient",
        refit=False,
        tol=1e-4,
        max_iter=1000,
        max_outer_iter=max_outer_iter,
    )
    start = time.perf_counter()
    with losses(kind), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported in the table
        tuner.fit(X, y)
    seconds = time.perf_counter() - start
    return tuner, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=4, help="keep every k-th class")
    parser.add_argument("--max-outer-iter", type=int, default=60)
    parser.add_argument(
        "--losses", nargs="+", default=["corrected", "raw"], choices=["corrected", "raw"]
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "descent.md")
    args = parser.parse_args(argv)
    X, y = study_data(args.every)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    rows, answers = [], {}
    for kind in args.losses:
        tuner, seconds = descend(X, y, folds, kind, args.max_outer_iter)
        history = tuner.hypergradient_history_
        answers[kind] = tuner.C_
        not_accepted = sum(not step["accepted"] for step in history)
        row = {
            "losses": kind,
            "steps (not accepted)": f"{len(history) - 1} ({not_accepted})",
            "converged": "yes" if tuner.hypergradient_converged_ else "no",
            "stationarity": f"{tuner.hypergradient_stationarity_:.2g}",
            "finest inner tol": f"{min(h['theta_inner_tol'] for h in history):.0e}",
            "CG products": f"{sum(h['cg_products'] for h in history):,}",
            "descent's loss": f"{history[-1]['theta_loss']:.6f}",
            "referee's deviance": f"{referee(X, y, folds, tuner.C_):.6f}",
            "seconds": f"{seconds:.0f}",
        }
        rows.append(row)
        print(row, flush=True)
    apart = ""
    if len(answers) == 2:
        decades = np.abs(np.log10(answers["corrected"]) - np.log10(answers["raw"]))
        apart = (
            f" The two answers' log10 C differ by {np.median(decades):.2g} decades at the "
            f"median and {decades.max():.2g} at most."
        )
    text = (
        "# The coupled oracle's descent: corrected against raw held-out deviances\n\n"
        f"`python benchmarks/bench_descent.py --every {args.every} --max-outer-iter "
        f"{args.max_outer_iter} --losses {' '.join(args.losses)}`. {machine_description()}\n\n"
        f"The main job's C study on the bundled Omniglot sample, every {args.every}-th class "
        f"({len(np.unique(y))} classes, {len(y)} images, 5 folds), from C = "
        f"{tuner.hypergradient_start_C_:.3g} (the grid's lowest held-out deviance). "
        "'descent's loss' is the mean held-out deviance the descent ended with (its own "
        "estimate); 'referee's deviance' is that of its final C, each fold refitted by "
        "Newton-CG to a certified relative gap of 1e-9 in float64 (lower is better). One run each "
        f"(the steps are deterministic; the seconds are one measurement).{apart}\n\n"
        + markdown_table(rows, list(rows[0]))
        + "\n"
    )
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
