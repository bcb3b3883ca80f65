"""Per-class tuning: global vs per_class vs hypergradient on held-out data, and their cost.

    python benchmarks/bench_cv.py [--repeats 3] [--real-repeats 1] [--problems ...]

Problems:

* blocks: `make_class_blocks` (4,000 samples, 10 classes whose best C differ by orders of
  magnitude), half held out;
* omniglot: the bundled Omniglot sample (242 classes) through a frozen EfficientNet-Lite0
  (64 px), 25 % held out;
* fashion: a Fashion-MNIST subset (5,000 train + 2,000 test) through EfficientNet-Lite0 (96 px),
  when its files are found (Debian's dataset-fashion-mnist, or --data-home).

Each strategy of ClassWiseRegularizationCV (same folds, 13 values of C from 1e-4 to 1e2,
scored by the held-out deviance) is refitted on the training part and scored on the held-out
part: deviance, accuracy, worst-class accuracy, with paired bootstrap 95 % intervals of the
difference to "global" (test samples resampled). Cost: median seconds of `--repeats` fits
(`--real-repeats` on the real problems),
against LogisticRegressionCV (lbfgs, same folds, grid and scoring). Writes
benchmarks/results/cv.csv and cv.md.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from _common import frozen_features, machine_description, markdown_table

from sklearn_classreg import ClassWiseRegularizationCV
from sklearn_classreg.datasets import (
    load_fashion_mnist,
    load_omniglot_sample,
    make_class_blocks,
)
from sklearn_classreg.metrics import class_recall

RESULTS = Path(__file__).parent / "results"
CS = np.logspace(-4, 2, 13)


def problems(names, data_home):
    if "blocks" in names:
        X, y = make_class_blocks(4000, 10, random_state=0)
        yield "blocks", *train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    if "omniglot" in names:
        images, labels = load_omniglot_sample()
        X = frozen_features(images, 64, verbose=1)
        parts = train_test_split(X, labels, test_size=0.25, stratify=labels, random_state=0)
        scaler = StandardScaler().fit(parts[0])
        yield "omniglot", scaler.transform(parts[0]), scaler.transform(parts[1]), *parts[2:]
    if "fashion" in names:
        try:
            train = load_fashion_mnist(data_home, n_samples=5000, random_state=0)
            test = load_fashion_mnist(data_home, subset="test", n_samples=2000, random_state=0)
        except FileNotFoundError as error:
            print(f"fashion: skipped ({error})")
            return
        X_train = frozen_features(train[0], 96, verbose=1)
        X_test = frozen_features(test[0], 96, verbose=1)
        scaler = StandardScaler().fit(X_train)
        yield ("fashion", scaler.transform(X_train), scaler.transform(X_test), train[1], test[1])


def scores_of(model, X_test, y_test):
    """Per-sample deviance and correctness, and per-class recall, on the test part."""
    proba = model.predict_proba(X_test)
    index = np.searchsorted(model.classes_, y_test)
    rows = np.arange(len(y_test))
    deviance = -np.log(np.maximum(proba[rows, index].astype(np.float64), 1e-300))
    correct = (np.argmax(proba, axis=1) == index).astype(float)
    return deviance, correct, proba


def bootstrap_difference(y_test, classes, reference, other, rng, n=1000):
    """Paired bootstrap intervals of (other - reference) for the three test metrics."""
    dev_r, cor_r, proba_r = reference
    dev_o, cor_o, proba_o = other
    differences = {"deviance gain": [], "accuracy gain": [], "worst-class accuracy gain": []}
    for _ in range(n):
        sample = rng.integers(0, len(y_test), len(y_test))
        differences["deviance gain"].append(dev_r[sample].mean() - dev_o[sample].mean())
        differences["accuracy gain"].append(cor_o[sample].mean() - cor_r[sample].mean())
        worst = [
            np.nanmin(class_recall(y_test[sample], p[sample], labels=classes))
            for p in (proba_r, proba_o)
        ]
        differences["worst-class accuracy gain"].append(worst[1] - worst[0])
    point = {
        "deviance gain": dev_r.mean() - dev_o.mean(),
        "accuracy gain": cor_o.mean() - cor_r.mean(),
        "worst-class accuracy gain": (
            np.nanmin(class_recall(y_test, proba_o, labels=classes))
            - np.nanmin(class_recall(y_test, proba_r, labels=classes))
        ),
    }
    return {
        key: (point[key], *np.quantile(values, [0.025, 0.975]))
        for key, values in differences.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["blocks", "omniglot", "fashion"])
    parser.add_argument("--repeats", type=int, default=3, help="timed fits, synthetic problem")
    parser.add_argument(
        "--real-repeats", type=int, default=1, help="timed fits, real problems (slow)"
    )
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = []
    for name, X_train, X_test, y_train, y_test in problems(args.problems, args.data_home):
        folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X_train, y_train))
        classes = np.unique(y_train)
        print(
            f"{name}: {X_train.shape} train, {len(y_test)} test, {len(classes)} classes",
            flush=True,
        )
        repeats = args.repeats if name == "blocks" else args.real_repeats
        fitted, seconds = {}, {}
        for strategy in ("global", "per_class", "hypergradient"):
            times = []
            for _ in range(repeats):
                model = ClassWiseRegularizationCV(
                    Cs=CS, cv=folds, strategy=strategy, max_iter=1000, random_state=0
                )
                start = time.perf_counter()
                model.fit(X_train, y_train)
                times.append(time.perf_counter() - start)
            fitted[strategy], seconds[strategy] = model, float(np.median(times))
            print(f"  {strategy}: {seconds[strategy]:.1f} s", flush=True)
        rng = np.random.default_rng(0)
        problem_rows = []
        test_scores = {s: scores_of(m, X_test, y_test) for s, m in fitted.items()}
        for strategy, model in fitted.items():
            deviance, correct, proba = test_scores[strategy]
            row = {
                "problem": name,
                "strategy": strategy,
                "classes": len(classes),
                "runs": repeats,
                "test deviance": deviance.mean(),
                "test accuracy": correct.mean(),
                "test worst-class accuracy": np.nanmin(
                    class_recall(y_test, proba, labels=classes)
                ),
                "seconds": seconds[strategy],
                "cost / global": seconds[strategy] / seconds["global"],
                "log10 C spread": float(np.ptp(np.log10(model.C_))),
            }
            if strategy != "global":
                for key, (point, low, high) in bootstrap_difference(
                    y_test, classes, test_scores["global"], test_scores[strategy], rng
                ).items():
                    row[key] = f"{point:+.4f} [{low:+.4f}, {high:+.4f}]"
            rows.append(row)
            problem_rows.append(row)
        write_results(rows, args.out, argv)  # the held-out comparison, before the slow reference
        times = []
        for _ in range(repeats):
            reference = LogisticRegressionCV(
                Cs=CS, cv=folds, scoring="neg_log_loss", max_iter=1000
            )
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reference.fit(X_train, y_train)
            times.append(time.perf_counter() - start)
        seconds["LogisticRegressionCV"] = float(np.median(times))
        print(
            f"  LogisticRegressionCV: {seconds['LogisticRegressionCV']:.1f} s "
            f"(C = {reference.C_[0]:.3g}; ours global: {fitted['global'].C_global_:.3g})",
            flush=True,
        )
        for row in problem_rows:
            row["cost / LogisticRegressionCV"] = row["seconds"] / seconds["LogisticRegressionCV"]
        rows.append(
            {
                "problem": name,
                "strategy": "LogisticRegressionCV (reference)",
                "classes": len(classes),
                "runs": repeats,
                "seconds": seconds["LogisticRegressionCV"],
                "cost / LogisticRegressionCV": 1.0,
            }
        )

        write_results(rows, args.out, argv)
    print((args.out / "cv.md").read_text())


def write_results(rows, out, argv):
    """cv.csv and cv.md from the rows so far (rewritten after each step)."""
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(out / "cv.csv", index=False)
    columns = [
        "problem",
        "strategy",
        "classes",
        "test deviance",
        "deviance gain",
        "test accuracy",
        "accuracy gain",
        "test worst-class accuracy",
        "worst-class accuracy gain",
        "log10 C spread",
        "seconds",
        "runs",
        "cost / LogisticRegressionCV",
        "cost / global",
    ]

    def fmt(value):
        if isinstance(value, float):
            return "" if np.isnan(value) else f"{value:.3g}"
        return value

    text = (
        "# Per-class tuning on held-out data\n\n"
        f"`python benchmarks/bench_cv.py {' '.join(argv or sys.argv[1:])}`; "
        f"{machine_description()}.\n\n"
        "Gains are against the global strategy on the held-out part (deviance: lower is "
        "better, so a positive gain is an improvement), with paired bootstrap 95 % intervals. "
        "Seconds: medians of `runs` fits (5 folds, 13 values of C, then the refit).\n\n"
        + markdown_table([{k: fmt(v) for k, v in r.items()} for r in rows], columns)
        + "\n"
    )
    (out / "cv.md").write_text(text)


if __name__ == "__main__":
    main()
