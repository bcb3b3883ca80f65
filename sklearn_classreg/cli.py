"""The main job: ``python -m sklearn_classreg`` (or ``classreg``).

By default it runs the whole class-wise study on the Omniglot sample bundled
with the package: EfficientNet-Lite0 features (cached on disk), a held-out
split, the cross-validated sweep of C, per-class optima, the oracle gap with
honest intervals, the coupled oracle, the realised gains of per-class choices and
their chance level, and writes a report a person reads.
"""

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["main", "build_parser", "extended_grid"]

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class UsageError(Exception):
    """A bad argument or file: reported in one line, exit status 2."""


def _grid(text):
    """'1e-4:1e4:20' (log-spaced) or '0.01,0.1,1' -> array of positive floats."""
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            start, stop, num = float(start), float(stop), int(num)
            if start <= 0 or stop <= 0 or num < 2:
                raise ValueError
            values = np.geomspace(start, stop, num)
        else:
            values = np.array([float(v) for v in text.split(",") if v.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give start:stop:count (log-spaced, positive) or a comma list"
        ) from None
    if len(values) == 0 or np.any(values <= 0):
        raise argparse.ArgumentTypeError(f"{text!r}: values of C must be positive")
    return values


def _evenly_spaced(text):
    """'0:0.3:7' (evenly spaced) or '0,0.05,0.1' -> array of floats."""
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            return np.linspace(float(start), float(stop), int(num))
        return np.array([float(v) for v in text.split(",") if v.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give start:stop:count (evenly spaced) or a comma list"
        ) from None


def _smoothing_grid(text):
    """'0:0.3:7' (evenly spaced) or '0,0.05,0.1' -> array of values in [0, 1)."""
    values = _evenly_spaced(text)
    if len(values) == 0 or np.any((values < 0) | (values >= 1)):
        raise argparse.ArgumentTypeError(f"{text!r}: label smoothing values lie in [0, 1)")
    return values


def _strength_grid(text):
    """'0:1:5' (evenly spaced) or '0,0.5,1' -> array of strengths in [0, 1]."""
    values = _evenly_spaced(text)
    if len(values) == 0 or np.any((values < 0) | (values > 1)):
        raise argparse.ArgumentTypeError(f"{text!r}: augmentation strengths lie in [0, 1]")
    if len(np.unique(values)) != len(values):
        raise argparse.ArgumentTypeError(f"{text!r}: strengths must not repeat")
    return values


_AUGMENTATIONS = ("crop", "flip", "noise")


def _augmentations(text):
    """'all' or a comma list among crop, flip, noise."""
    if text == "all":
        return list(_AUGMENTATIONS)
    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in _AUGMENTATIONS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give 'all' or a comma list among {', '.join(_AUGMENTATIONS)}"
        )
    return kinds


def _fraction(text):
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must lie strictly between 0 and 1")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive number") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive number")
    return value


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a non-negative integer")
    return value


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive integer")
    return value


def build_parser():
    """The argument parser of the main job.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="classreg",
        description=(
            "Class-wise regularization study: how the best L2 strength of a logistic-"
            "regression probe differs between classes, what one global choice costs each "
            "class, and what choosing per class wins on held-out data. Without --data: "
            "Omniglot images bundled with the package (242 classes) through a frozen "
            "EfficientNet-Lite0."
        ),
    )
    parser.add_argument(
        "--data",
        type=Path,
        help=(
            "features and labels: .npz (arrays X and y, or features and labels), .csv or "
            ".parquet (a label column, see --label-column), or a folder of images with one "
            "sub-folder per class"
        ),
    )
    parser.add_argument(
        "--label-column",
        default="label",
        help="label column of a csv / parquet file (default: label)",
    )
    parser.add_argument(
        "--Cs",
        type=_grid,
        default=_grid("1e-4:1e2:20"),
        help="grid of C: start:stop:count (log-spaced) or a comma list (default 1e-4:1e2:20)",
    )
    parser.add_argument(
        "--sweep",
        choices=["C", "augmentation", "C+augmentation", "both"],
        default=None,
        help="what the study sweeps: C (the regularization, see --param), augmentation (the "
        "strength of the data augmentation before the frozen network, at the best C), "
        "C+augmentation (one study after the other), or both (those two and the joint grid "
        "of strength x C). Default: C+augmentation for images, C for features",
    )
    parser.add_argument(
        "--strengths",
        type=_strength_grid,
        default=_strength_grid("0,0.25,0.5,0.75,1"),
        help="augmentation strengths: start:stop:count or a comma list in [0, 1] "
        "(default 0,0.25,0.5,0.75,1; 0 is no augmentation)",
    )
    parser.add_argument(
        "--augment",
        type=_augmentations,
        default=list(_AUGMENTATIONS),
        help="augmentations the strength controls: all (default) or a comma list among "
        "crop (random resized crop), flip (horizontal) and noise (Gaussian)",
    )
    parser.add_argument(
        "--n-augment",
        type=_positive_int,
        default=2,
        help="augmented views of each training image per strength (default 2)",
    )
    parser.add_argument(
        "--joint-Cs",
        type=_grid,
        default=None,
        help="grid of C of the joint strength x C study (--sweep both); default: 5 values "
        "over 3 decades around the C study's best C",
    )
    parser.add_argument(
        "--lda-classes",
        type=_positive_int,
        default=4,
        help="the number of most ambiguous classes whose discriminant view along the "
        "strength the augmentation part shows (default 4; at least 2)",
    )
    parser.add_argument(
        "--param",
        choices=["C", "label_smoothing"],
        default="C",
        help="the swept parameter (default C); label_smoothing sweeps "
        "--label-smoothings at the fixed --C",
    )
    parser.add_argument(
        "--label-smoothings",
        type=_smoothing_grid,
        default=_smoothing_grid("0,0.02,0.05,0.1,0.2,0.3"),
        help="grid of label smoothing for --param label_smoothing: start:stop:count or a "
        "comma list in [0, 1) (default 0,0.02,0.05,0.1,0.2,0.3)",
    )
    parser.add_argument(
        "--C",
        type=_positive_float,
        default=1.0,
        help="the fixed C when sweeping label smoothing (default 1.0)",
    )
    parser.add_argument(
        "--extend-grid",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="when the global optimum or many classes' optima sit at an end of the grid, "
        "extend the grid beyond it and run again, at most twice (default on)",
    )
    parser.add_argument("--cv", type=_positive_int, default=5, help="folds (default 5)")
    parser.add_argument(
        "--metric",
        choices=["recall", "deviance", "one_vs_all_accuracy"],
        default="recall",
        help="per-class metric (default recall, i.e. class accuracy; one_vs_all_accuracy is "
        "Balestriero et al.'s)",
    )
    parser.add_argument(
        "--test-size",
        type=_fraction,
        default=None,
        help="held-out share of --data for the realised gains (default 0.25)",
    )
    parser.add_argument(
        "--test-data",
        type=Path,
        default=None,
        help=(
            "a fixed held-out set for the realised gains, in the formats of --data (e.g. an "
            "official test split); --data is then all training data"
        ),
    )
    parser.add_argument(
        "--tol",
        type=_positive_float,
        default=1e-4,
        help="relative duality gap every fit is certified at (default 1e-4)",
    )
    parser.add_argument(
        "--max-outer-iter",
        type=_non_negative_int,
        default=30,
        help="most steps of the hypergradient descent (coupled oracle; default 30)",
    )
    parser.add_argument(
        "--outer-tol",
        type=_positive_float,
        default=1e-3,
        help="the hypergradient descent's convergence tolerance (stationarity; default 1e-3)",
    )
    parser.add_argument("--backend", choices=["numba", "torch"], default="numba")
    parser.add_argument("--device", default=None, help="torch device for --backend torch")
    parser.add_argument("--n-jobs", type=int, default=None, help="folds in parallel (joblib)")
    parser.add_argument(
        "--image-size",
        type=_positive_int,
        default=64,
        help="images are resized to this size for the network (default 64)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder of the feature cache (default: the data home)",
    )
    parser.add_argument(
        "--no-scale",
        action="store_true",
        help="do not standardise the features before the classifier",
    )
    parser.add_argument("--n-bootstrap", type=_positive_int, default=1000)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("classreg-report"),
        help="report folder (default ./classreg-report)",
    )
    parser.add_argument(
        "--about",
        default="",
        help="where the data or features came from (network, layer, preprocessing...): "
        "written in the report's opening line",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _load_table(path, label_column):
    import pandas as pd

    try:
        frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    except ImportError as error:
        raise UsageError(f"reading {path.name} needs pyarrow: pip install pyarrow") from error
    except Exception as error:  # pandas raises many kinds on a malformed file
        raise UsageError(f"could not read {path}: {error}") from error
    if label_column not in frame:
        raise UsageError(
            f"{path.name} has no column {label_column!r} (columns: "
            f"{', '.join(map(str, frame.columns[:10]))}...); pass --label-column"
        )
    y = frame.pop(label_column).to_numpy()
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise UsageError(f"{path.name}: feature columns must be numbers; not {non_numeric[:5]}")
    return frame.to_numpy(dtype=np.float32), y


def _load_npz(path):
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as error:
        raise UsageError(f"could not read {path} as .npz: {error}") from error
    for features, labels in (("X", "y"), ("features", "labels")):
        if features in data and labels in data:
            return data[features], data[labels]
    raise UsageError(
        f"{path.name} needs arrays X and y (or features and labels); it has {sorted(data.files)}"
    )


def _load_image_folder(path, size):
    try:
        from PIL import Image
    except ImportError as error:
        raise UsageError(
            "an image folder needs Pillow: pip install 'sklearn-classreg[vision]'"
        ) from error
    images, labels = [], []
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() in _IMAGE_SUFFIXES:
                with Image.open(file) as image:
                    rgb = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
                    images.append(np.asarray(rgb, dtype=np.uint8))
                labels.append(folder.name)
    if not images:
        raise UsageError(f"{path} holds no images in class sub-folders (one folder per class)")
    return np.stack(images), np.array(labels)


def load_data(args, option="--data"):
    """(X, y, is_images, description) of `option`'s path (--data or --test-data)."""
    path = args.data if option == "--data" else args.test_data
    if path is None:
        from .datasets import load_omniglot_sample

        X, y = load_omniglot_sample()
        return X, y, True, "Omniglot sample bundled with the package (32 px drawings)"
    if not path.exists():
        raise UsageError(f"{option} {path}: no such file or folder")
    if path.is_dir():
        X, y = _load_image_folder(path, args.image_size)
        return X, y, True, f"images from {path}"
    suffix = path.suffix.lower()
    if suffix == ".npz":
        X, y = _load_npz(path)
    elif suffix in (".csv", ".parquet"):
        X, y = _load_table(path, args.label_column)
    else:
        raise UsageError(f"{option} {path}: use a .npz, .csv or .parquet file, or an image folder")
    X = np.asarray(X)
    if X.ndim in (3, 4):
        return X, np.asarray(y), True, f"images from {path.name}"
    if X.ndim != 2:
        raise UsageError(f"{path.name}: X must be features (n x d) or images; got {X.shape}")
    return X, np.asarray(y), False, f"features from {path.name}"


def _extractor(args, verbose, **augmentation):
    from .datasets import get_data_home
    from .feature_extraction import FrozenFeatureExtractor

    cache = args.cache or (get_data_home() / "feature_cache")
    return FrozenFeatureExtractor(
        "efficientnet-lite0",
        input_size=args.image_size,
        memory=str(cache),
        device=args.device if args.backend == "torch" else None,
        verbose=verbose,
        **augmentation,
    )


def _features(X, args, verbose):
    return _extractor(args, verbose).fit_transform(X)


def _sweeps(args, is_images):
    """The studies to run: a subset of ("C", "augmentation", "joint")."""
    sweep = args.sweep or ("C+augmentation" if is_images else "C")
    sweeps = {
        "C": ("C",),
        "augmentation": ("augmentation",),
        "C+augmentation": ("C", "augmentation"),
        "both": ("C", "augmentation", "joint"),
    }[sweep]
    if "augmentation" in sweeps and not is_images:
        raise UsageError(
            f"--sweep {sweep} augments images before the frozen network, but --data holds "
            "features: give a folder of images (or an .npz of images), or --sweep C"
        )
    if "augmentation" in sweeps and args.param != "C":
        raise UsageError(f"--sweep {sweep} needs --param C (the default)")
    return sweeps


@dataclass
class _Split:
    """The main job's data, split: features (or images) for training and held out."""

    X_train: object
    X_test: object
    y_train: np.ndarray
    y_test: np.ndarray
    images_train: object  # the images, when the data are images (else None)
    images_test: object
    held_out: str  # how the held-out part was made, for the report
    description: str


def run(args):
    """The study from parsed arguments; returns the report path."""
    verbose = 0 if args.quiet else 1
    started = time.perf_counter()
    if args.test_data is not None and args.test_size is not None:
        raise UsageError("give --test-data or --test-size, not both")
    test_size = 0.25 if args.test_size is None else args.test_size
    X, y, is_images, description = load_data(args)
    classes, counts = _check_labels(X, y)
    sweeps = _sweeps(args, is_images)
    _check_folds(args, counts, test_size)
    split = _split(args, X, y, is_images, description, classes, test_size, sweeps, verbose)
    studies = _studies(args, split, classes, sweeps, verbose)
    report = _write(args, studies, classes, sweeps, verbose)
    for heading, _, study, _ in studies:
        plateau, totals = study.global_plateau_, study.totals_
        within = ""
        if len(plateau) > 1:
            low, high = totals["global_plateau_low"], totals["global_plateau_high"]
            shown = (
                f"{low:.3g} to {high:.3g}" if np.isfinite(low) else ", ".join(map(_shown, plateau))
            )
            within = f" ({len(plateau)} values within noise of it: {shown})"
        print(
            f"{heading}: best global {study.param_name.rsplit('__', 1)[-1]} = "
            f"{_shown(study.best_global_)}{within}"
        )
        for verdict_heading, sentence in study.verdict():
            print(f"  {verdict_heading}: {sentence}")
    print(f"report: {report}  ({time.perf_counter() - started:.0f} s)")
    return report


def _check_labels(X, y):
    """(classes, samples per class), for labels that match X and hold two classes."""
    if len(X) != len(y):
        raise UsageError(f"{len(X)} samples but {len(y)} labels")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise UsageError("the labels hold a single class: nothing to classify")
    return classes, counts


def _check_folds(args, counts, test_size):
    """Every class has a sample in each of the --cv folds (after the held-out share)."""
    kept = 1 if args.test_data is not None else 1 - test_size
    if counts.min() * kept < args.cv:
        held_out = "" if args.test_data is not None else f" after holding out {test_size:.0%}"
        raise UsageError(
            f"the smallest class has {counts.min()} samples: too few for --cv {args.cv}"
            f"{held_out}; need at least {args.cv + 1} per class, or lower --cv / --test-size"
        )


def _split(args, X, y, is_images, description, classes, test_size, sweeps, verbose):
    """Training and held-out data (a split of X, or --test-data), features extracted
    from images when the C study needs them."""
    from sklearn.model_selection import train_test_split

    images_train = images_test = None
    if args.test_data is None:
        train, test = train_test_split(
            np.arange(len(y)), test_size=test_size, stratify=y, random_state=args.seed
        )
        if is_images:
            images_train, images_test = X[train], X[test]
            if "C" in sweeps:
                _say(
                    verbose,
                    f"Extracting EfficientNet-Lite0 features of {len(X)} images "
                    f"({args.image_size} px)",
                )
                X = _features(X, args, verbose)
        X_train, X_test, y_train, y_test = X[train], X[test], y[train], y[test]
        held_out = f"the rest ({test_size:.0%}) held out"
    else:
        X_train, y_train = X, y
        X_test, y_test, test_images, test_description = load_data(args, "--test-data")
        _check_test_data(X_train, is_images, X_test, y_test, test_images, classes)
        if is_images:
            images_train, images_test = X_train, X_test
            if "C" in sweeps:
                _say(
                    verbose,
                    f"Extracting EfficientNet-Lite0 features of {len(X_train) + len(X_test)} "
                    f"images ({args.image_size} px)",
                )
                X_train = _features(X_train, args, verbose)
                X_test = _features(X_test, args, verbose)
        held_out = f"{len(y_test)} held-out samples from {test_description}"
        description = f"{description} (training), {test_description} (held out)"
    return _Split(
        X_train, X_test, y_train, y_test, images_train, images_test, held_out, description
    )


def _studies(args, split, classes, sweeps, verbose):
    """Run the studies asked for: a list of (heading, name, study, description)."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .linear_model import ClassWiseRegularizedLogisticRegression

    sweeps_C = args.param == "C"
    model = ClassWiseRegularizedLogisticRegression(
        C=1.0 if sweeps_C else args.C,
        tol=args.tol,
        max_iter=1000,
        backend=args.backend,
        device=args.device,
    )
    estimator = model if args.no_scale else make_pipeline(StandardScaler(), model)
    step = "" if args.no_scale else "classwiseregularizedlogisticregression__"
    cv = StratifiedKFold(args.cv, shuffle=True, random_state=args.seed)
    X_train, X_test, y_train, y_test = split.X_train, split.X_test, split.y_train, split.y_test
    data = (
        f"{split.description}: {len(y_train) + len(y_test)} samples, {len(classes)} classes"
        f"{'' if args.no_scale else ', features standardised'}"
    )
    setup = (
        f"{args.cv}-fold cross-validation on {len(y_train)} training samples, "
        f"{split.held_out}; seed {args.seed}."
        + (f" About the data: {args.about}." if args.about else "")
    )
    studies = []
    best_C = args.C
    if "C" in sweeps:
        study, swept = _C_study(
            args, estimator, step, cv, X_train, y_train, X_test, y_test, classes, verbose
        )
        if sweeps_C:
            best_C = float(study.best_global_)
        studies.append(
            (
                f"{args.param} study",
                args.param,
                study,
                f"{data}, {X_train.shape[1]} features; {swept}, every fit certified to a "
                f"relative duality gap of {args.tol:g} (the largest on the curve: "
                f"{study.totals_['largest_gap']:.2g}); {setup}",
            )
        )
    if "augmentation" in sweeps:
        probe = _clone_with_C(estimator, step, best_C)
        studies.extend(
            _augmentation_studies(
                args,
                probe,
                step,
                cv,
                split.images_train,
                y_train,
                split.images_test,
                y_test,
                best_C,
                sweeps,
                verbose,
                f"{data}; {setup}",
            )
        )
    return studies


def _write(args, studies, classes, sweeps, verbose):
    """The report: the first study, then the others and the upstream view as sections."""
    from .report import Section, write_report

    (_, _, main_study, main_description), *others = studies
    sections = [
        Section(heading, name, description=text, study=study)
        for heading, name, study, text in others
    ]
    augmentation = next((s for _, name, s, _ in studies if name == "augmentation"), None)
    if augmentation is not None and len(classes) >= 2:
        sections.append(_upstream_section(augmentation, args, verbose))
    return write_report(
        main_study,
        args.out,
        title="Class-wise regularization study"
        if "C" in sweeps
        else "Class-wise augmentation study",
        description=main_description,
        sections=sections,
    )


def _shown(value):
    if isinstance(value, tuple):
        return "(" + ", ".join(f"{v:.3g}" for v in value) + ")"
    return f"{float(value):.3g}"


def _clone_with_C(estimator, step, C):
    """A clone of the probe at C."""
    from sklearn.base import clone

    return clone(estimator).set_params(**{f"{step}C": C})


def _C_study(args, estimator, step, cv, X_train, y_train, X_test, y_test, classes, verbose):
    """The study of C (or label smoothing), its grid extended where optima sit at an end."""
    from .model_selection import ClassWiseStudy

    sweeps_C = args.param == "C"
    grid = args.Cs if sweeps_C else args.label_smoothings
    requested = grid
    for attempt in range(3):
        _say(
            verbose,
            f"Study: {len(classes)} classes, {len(X_train)} training and {len(X_test)} "
            f"held-out samples, {X_train.shape[1]} features, {len(grid)} values of "
            f"{args.param}, {args.cv} folds",
        )
        study = ClassWiseStudy(
            estimator,
            param_name=step + args.param,
            param_range=list(grid),
            cv=cv,
            metric=args.metric,
            n_bootstrap=args.n_bootstrap,
            random_state=args.seed,
            max_outer_iter=args.max_outer_iter,
            outer_tol=args.outer_tol,
            n_jobs=args.n_jobs,
            verbose=verbose,
        ).fit(X_train, y_train, X_test=X_test, y_test=y_test)
        extended = extended_grid(study, grid, log=sweeps_C) if args.extend_grid else None
        if extended is None or attempt == 2:
            break
        _say(
            verbose,
            f"Optima at an end of the grid: extending {args.param} to {extended.min():.3g}"
            f"..{extended.max():.3g} and running the study again",
        )
        grid = extended
    swept = (
        f"C (the inverse L2 strength against the sum of the per-sample losses, as in "
        f"scikit-learn) over {len(grid)} values from {grid.min():.2g} to {grid.max():.2g}"
        if sweeps_C
        else f"label smoothing over {len(grid)} values from {grid.min():.2g} to "
        f"{grid.max():.2g} at C = {args.C:g}"
    )
    if len(grid) != len(requested):
        swept += (
            f" (extended from {requested.min():.2g}..{requested.max():.2g}: optima sat at its end)"
        )
    return study, swept


def _augmentation_studies(
    args, probe, step, cv, images, y, images_test, y_test, best_C, sweeps, verbose, setup
):
    """The study of the augmentation strength at the best C, and the joint grid."""
    from .model_selection import AugmentationStudy

    extractor = _extractor(args, verbose, augment=args.augment, random_state=args.seed)
    kinds = "+".join(args.augment)
    strengths = ", ".join(f"{s:g}" for s in args.strengths)
    augmentation = (
        f"{kinds} augmentation of the training images before the frozen network at strengths "
        f"{strengths} ({args.n_augment} views per image and strength; each image weighs 1, "
        f"shared by its views)"
    )
    common = dict(
        param_range=list(args.strengths),
        n_augment=args.n_augment,
        cv=cv,
        metric=args.metric,
        n_bootstrap=args.n_bootstrap,
        random_state=args.seed,
        n_jobs=args.n_jobs,
        verbose=verbose,
    )
    _say(
        verbose,
        f"Augmentation study: {len(args.strengths)} strengths x {args.n_augment} views of "
        f"{len(y)} training images, probe at C = {best_C:.3g}",
    )
    study = AugmentationStudy(extractor, probe, **common).fit(
        images, y, X_test=images_test, y_test=y_test
    )
    studies = [
        (
            "Augmentation study",
            "augmentation",
            study,
            f"{augmentation}; the probe at C = {best_C:.3g}"
            + (" (the C study's best global C)" if "C" in sweeps else "")
            + f"; training folds on the views, test folds and held-out images clean. "
            f"The largest certified relative duality gap on the curve: "
            f"{study.totals_['largest_gap']:.2g}. {setup}",
        )
    ]
    if "joint" in sweeps:
        Cs = args.joint_Cs if args.joint_Cs is not None else best_C * np.logspace(-1.5, 1.5, 5)
        _say(
            verbose,
            f"Joint study: {len(args.strengths)} strengths x {len(Cs)} values of C "
            f"({Cs.min():.3g}..{Cs.max():.3g})",
        )
        joint = AugmentationStudy(extractor, probe, C_range=list(Cs), **common).fit(
            images, y, X_test=images_test, y_test=y_test
        )
        studies.append(
            (
                "Joint study: augmentation strength x C",
                "joint",
                joint,
                f"{augmentation}; every pair (strength, C) with C over {len(Cs)} values from "
                f"{Cs.min():.2g} to {Cs.max():.2g} (a warm-started path per strength); the "
                f"largest certified relative duality gap: {joint.totals_['largest_gap']:.2g}. "
                f"{setup}",
            )
        )
    return studies


def _upstream_section(study, args, verbose):
    """The discriminant view of the most ambiguous classes along the strength."""
    from .plotting import UpstreamViewDisplay
    from .report import Section

    n_classes = min(max(args.lda_classes, 2), len(study.classes_))
    _say(verbose, f"Discriminant view of the {n_classes} most ambiguous classes")
    heading = "Upstream: the most ambiguous classes along the strength"
    try:
        view = study.upstream_view(n_classes=n_classes)
    except ValueError as error:  # too few images for an LDA: the rest of the report stands
        return Section(heading, "upstream", description=f"Not computed: {error}")
    return Section(
        heading,
        "upstream",
        description=view.summary,
        figures=[
            (
                "separability",
                "Fisher separability of each pair of the most ambiguous classes (chosen from "
                "the confusion of the least augmented model) in their discriminant space, "
                "along the strength, and each class's cross-validated metric.",
                lambda: UpstreamViewDisplay.from_view(view),
            ),
            (
                "projections",
                "The training views of these classes on their two discriminant axes (the LDA "
                "refitted at each strength); crosses mark the class means.",
                lambda: UpstreamViewDisplay.from_view(view, kind="projections"),
            ),
        ],
        table=view.per_class,
    )


def extended_grid(study, grid, *, log=True, factor=4):
    """A grid extended beyond the ends where the study's optima sit, or None.

    The ends are those of the study's grid warnings (`grid_short_ends_`: the
    global optimum there, better than every other value beyond noise, or
    more than max(2, 5 % of the classes) strictly best there). Each is
    extended by max(2, len(grid) // factor) more values with the grid's
    spacing at that end (geometric when `log`, else even; label smoothing
    stays in [0, 1)).

    Parameters
    ----------
    study : ClassWiseStudy
        Fitted on `grid`.
    grid : ndarray
    log : bool, default=True
    factor : int, default=4

    Returns
    -------
    ndarray or None
    """
    grid = np.sort(np.asarray(grid, dtype=float))
    steps = np.arange(1, max(2, len(grid) // factor) + 1)
    below, above = np.empty(0), np.empty(0)
    if "low" in study.grid_short_ends_:
        if log:
            below = grid[0] / (grid[1] / grid[0]) ** steps[::-1]
        else:
            below = grid[0] - (grid[1] - grid[0]) * steps[::-1]
            below = below[below >= 0]
    if "high" in study.grid_short_ends_:
        if log:
            above = grid[-1] * (grid[-1] / grid[-2]) ** steps
        else:
            above = grid[-1] + (grid[-1] - grid[-2]) * steps
            above = above[above < 1]
    if not len(below) and not len(above):
        return None
    return np.concatenate([below, grid, above])


def _check_test_data(X_train, is_images, X_test, y_test, test_images, classes):
    """--test-data must be the same kind of data as --data, on its classes."""
    if len(X_test) != len(y_test):
        raise UsageError(f"--test-data: {len(X_test)} samples but {len(y_test)} labels")
    if test_images != is_images:
        kinds = {True: "images", False: "features"}
        raise UsageError(
            f"--test-data holds {kinds[test_images]} but --data holds {kinds[is_images]}"
        )
    if X_test.shape[1:] != X_train.shape[1:] and not is_images:
        raise UsageError(
            f"--test-data has {X_test.shape[1]} features but --data has {X_train.shape[1]}"
        )
    unknown = np.setdiff1d(np.unique(y_test), classes)
    if len(unknown):
        raise UsageError(
            f"--test-data has labels that --data lacks: {', '.join(map(str, unknown[:5]))}"
        )


def _say(verbose, message):
    if verbose:
        print(message, file=sys.stderr, flush=True)


def main(argv=None):
    """Entry point of ``python -m sklearn_classreg`` and ``classreg``.

    Parameters
    ----------
    argv : list of str, default=None
        The command-line arguments; by default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 (a bad argument or file exits with status 2).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        run(args)
    except UsageError as error:
        parser.exit(2, f"classreg: error: {error}\n")
    return 0
