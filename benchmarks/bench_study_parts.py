"""Where the main job's time goes: each part of the study, timed as it runs.

Run from the repository root (arguments go to the main job)::

    python benchmarks/bench_study_parts.py                  # the default job: Omniglot sample
    python benchmarks/bench_study_parts.py --Cs 1e-3:1e1:8 --cv 3

    python benchmarks/bench_study_parts.py --sweep both --cache EMPTY_FOLDER  # cold banks

Prints one line per part as it ends, then the total. The C study's parts: the
sweep, the analysis, the chance level, the ``per_class`` choice's move
validation, the ``hypergradient`` choice, the coupled-oracle refits, the
realised refits. With images, the clean features' extraction; then for the
augmentation study and the joint grid (``--sweep both``): the feature banks'
extraction, the sweep on the banks, the class-conditional refits, and the
whole study; the discriminant view; the report. The parts are timed by
wrapping the package's own functions, so the job is the one
``python -m sklearn_classreg`` runs. Run it alone on the machine.
"""

import functools
import sys
import tempfile
import time

import sklearn_classreg.cli as cli
import sklearn_classreg.feature_extraction as feature_extraction
import sklearn_classreg.linear_model._cv as cv
import sklearn_classreg.model_selection._augmentation as augmentation
import sklearn_classreg.model_selection._study as study
import sklearn_classreg.report as report
from sklearn_classreg.cli import main as job

PARTS = [
    (study, "cross_validated_records", "sweep"),
    (study.ClassWiseStudy, "_analyse", "analysis"),
    (study.ClassWiseStudy, "_chance_level", "chance level"),
    (cv.ClassWiseRegularizationCV, "_validate_moves", "per_class: validating the moves"),
    (cv.ClassWiseRegularizationCV, "_hypergradient", "hypergradient"),
    (study, "coupled_gain", "coupled-oracle refits"),
    (study.ClassWiseStudy, "_realise", "realised refits"),
    (cli, "_features", "clean features (extraction)"),
    (feature_extraction, "extract_feature_banks", "augmentation: feature banks"),
    (augmentation, "augmented_records", "augmentation: sweep on the banks"),
    (augmentation.AugmentationStudy, "_realise_strengths", "augmentation: realised refits"),
    (augmentation.AugmentationStudy, "fit", "augmentation study, whole"),
    (augmentation.AugmentationStudy, "upstream_view", "discriminant view"),
    (report, "write_report", "report"),
]


def timed(owner, name, label):
    """Replace owner.name by a wrapper that prints its wall time."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        result = original(*args, **kwargs)
        print(f"{label}: {time.perf_counter() - start:.1f} s", flush=True)
        return result

    setattr(owner, name, wrapper)


def main(argv=None):
    for owner, name, label in PARTS:
        timed(owner, name, label)
    argv = sys.argv[1:] if argv is None else argv
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        job(["--out", out, "--quiet", *argv])
    print(f"total: {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main()
