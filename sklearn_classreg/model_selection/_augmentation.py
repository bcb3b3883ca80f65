"""AugmentationStudy: the class-wise study with the augmentation strength as the swept value."""

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import _fit_context, clone
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval

from .._utils._validation import check_targets
from ..linear_model import ClassWiseRegularizedLogisticRegression
from ..linear_model._engine import ignore_binary_C_warning
from ..linear_model._records import uses_fast_path
from ._augmented_records import augmented_records, check_probe, fit_probe, probe_C_name
from ._study import ClassWiseStudy

__all__ = ["AugmentationStudy"]

DEFAULT_STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)


class AugmentationStudy(ClassWiseStudy):
    """Best global vs best per-class augmentation strength, on frozen features.

    The class-wise study (`ClassWiseStudy`) of a linear probe on a frozen
    network's features, where the swept value is the strength of the data
    augmentation applied to the training images before the network (or,
    with `C_range`, the pair (strength, C)).

    Every image goes through the network once for its clean features and
    once per strength and view (`extract_feature_banks`, cached in the
    extractor's `memory`), instead of once per fold and strength inside a
    Pipeline. The folds split the images: a fold trains on the `n_augment`
    augmented views of its training images (and their clean features with
    `include_clean`) and is scored on the clean features of its test
    images; the views of an image never cross folds. Each image weighs 1 in
    the probe's objective, shared by its rows (the probe's C is divided by
    the number of rows per image): strength 0 is then the clean fit at the
    probe's C.

    Outputs are those of `ClassWiseStudy`: the best global strength, the best
    strength per class, what the global choice costs each class (oracle
    loss), honest cross-fitted gains with bootstrap intervals, the chance
    level of the spread of optima, worst-class metrics. With test images,
    the **class-conditional augmentation** of Kirichenko et al. (2024) is
    realised: the probe refitted on all training images, each class
    augmented at its own best strength (the naive transfer), against the
    probe refitted at the best global strength, both scored on the clean
    test features with paired bootstrap intervals (``realised_gain_naive``).
    The strengths per class are in `class_strength_`, ready for
    ``FrozenFeatureExtractor(class_strength=...)``. The coupled oracle (a
    per-class vector tuned by hypergradient) needs a differentiable value,
    so it is not computed for the strength.

    Parameters
    ----------
    extractor : FrozenFeatureExtractor, default=None
        The frozen network and the augmentation (`augment`, `random_state`,
        `memory`, `device`...); its own `strength` is not used. By default
        ``FrozenFeatureExtractor("efficientnet-lite0", augment="all")``.
    estimator : classifier, default=None
        The probe on the features, with a C (alone or last in a Pipeline).
        By default ``ClassWiseRegularizedLogisticRegression(max_iter=1000)``.
    param_range : sequence of float, default=None
        Strengths in [0, 1]; by default (0, 0.25, 0.5, 0.75, 1).
    n_augment : int, default=2
        Views per training image and strength.
    include_clean : bool, default=False
        Train on the clean features of the training images as well.
    C_range : array-like, default=None
        A grid of C for a joint (strength, C) study: every strength's C is
        swept along a warm-started regularization path, the swept values are
        the pairs ``(strength, C)``, and the best pair per class is refitted
        against the best global pair (per-class strength and per-class C).
        Needs this library's estimator as the probe.
    cv : int, cross-validation generator or iterable, default=5
        Splits of the images (stratified by default).
    metric : {"recall", "deviance", "one_vs_all_accuracy"}, default="recall"
        As in `ClassWiseStudy`.
    global_metric : str, default=None
        As in `ClassWiseStudy`.
    selection : {"split", "oracle"}, default="split"
        As in `ClassWiseStudy`.
    n_bootstrap : int, default=1000
        As in `ClassWiseStudy`.
    confidence_level : float, default=0.95
        As in `ClassWiseStudy`.
    worst_k : int, default=5
        As in `ClassWiseStudy`.
    chance : bool, default=True
        As in `ClassWiseStudy`.
    random_state : int, RandomState instance or None, default=None
        As in `ClassWiseStudy` (the augmentation's draws are the extractor's
        `random_state`).
    n_jobs : int, default=None
        Folds in parallel (joblib).
    verbose : int, default=0
        Progress bars when positive.

    Attributes
    ----------
    param_name : str
        "strength", or "(strength, C)" with `C_range`.
    banks_ : FeatureBanks
        The training images' features (clean and augmented).
    labels_ : ndarray of shape (n_images,)
        The training images' labels.
    confusion_ : ndarray of shape (n_classes, n_classes)
        Out-of-fold confusion counts (rows: true class) at the least
        augmented point of the grid (`upstream_view` chooses the ambiguous
        classes from it).
    class_strength_ : dict
        {label: strength}: each class's own best strength (the naive
        transfer), for ``FrozenFeatureExtractor(class_strength=...)``.
    models_ : dict of Pipeline
        With test data: "global" and "naive", each the extractor (at the
        global strength, or with `class_strength_`) followed by the probe
        fitted on the banks; they predict images.
    curve_, classes_, param_values_, best_global_, best_per_class_, \
summary_, totals_, grid_warnings_, grid_short_ends_, chance_
        As in `ClassWiseStudy`.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_classreg.feature_extraction import FrozenFeatureExtractor
    >>> from sklearn_classreg.model_selection import AugmentationStudy
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 12)
    >>> images = rng.integers(0, 60, (36, 8, 8)).astype(np.uint8)
    >>> images[:, :, :4] += (60 * y).astype(np.uint8)[:, None, None]
    >>> network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 6))
    >>> study = AugmentationStudy(
    ...     FrozenFeatureExtractor(network, augment="noise", random_state=0),
    ...     param_range=[0.0, 0.5, 1.0], cv=3, n_bootstrap=100, random_state=0,
    ... ).fit(images, y)
    >>> study.param_name, len(study.best_per_class_)
    ('strength', 3)
    """

    # no tuned C vectors and no coupled oracle: the strength is not differentiable
    tuned = ()
    coupled_oracle = False
    _subject = "augmentation"

    _parameter_constraints: dict = {
        **{
            name: constraint
            for name, constraint in ClassWiseStudy._parameter_constraints.items()
            if name not in ("param_name", "tuned", "coupled_oracle", "max_outer_iter", "outer_tol")
        },
        "extractor": "no_validation",  # a FrozenFeatureExtractor: `_extractor` says so
        "n_augment": [Interval(Integral, 1, None, closed="left")],
        "include_clean": ["boolean"],
        "C_range": ["array-like", None],
    }

    def __init__(
        self,
        extractor=None,
        estimator=None,
        *,
        param_range=None,
        n_augment=2,
        include_clean=False,
        C_range=None,
        cv=5,
        metric="recall",
        global_metric=None,
        selection="split",
        n_bootstrap=1000,
        confidence_level=0.95,
        worst_k=5,
        chance=True,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.extractor = extractor
        self.estimator = estimator
        self.param_range = param_range
        self.n_augment = n_augment
        self.include_clean = include_clean
        self.C_range = C_range
        self.cv = cv
        self.metric = metric
        self.global_metric = global_metric
        self.selection = selection
        self.n_bootstrap = n_bootstrap
        self.confidence_level = confidence_level
        self.worst_k = worst_k
        self.chance = chance
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # images (N x H x W, or with channels), not a feature matrix
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = False
        return tags

    @property
    def param_name(self):
        """The swept value's name: "strength", or "(strength, C)" with `C_range`."""
        return "strength" if self.C_range is None else "(strength, C)"

    def _domain_bounds(self):
        """Strength 0 (no augmentation) and 1 are answers, not short grids."""
        if self.C_range is None:
            return 0.0, 1.0
        return None, None

    def _edge_values(self):
        """The joint grid's ends are those of C (the strength's are bounds)."""
        if self.C_range is None:
            return super()._edge_values()
        return "C", [C for _, C in self.param_values_], "C_range"

    def _spread_values(self, indices, *, log=True):
        """The spread of optima is that of the strength; pairs have none."""
        if self.C_range is not None:
            return None, ""
        return super()._spread_values(indices, log=log)

    def _extractor(self):
        from ..feature_extraction import FrozenFeatureExtractor

        if self.extractor is None:
            return FrozenFeatureExtractor("efficientnet-lite0", augment="all")
        if not isinstance(self.extractor, FrozenFeatureExtractor):
            raise TypeError(
                f"extractor must be a FrozenFeatureExtractor; got {type(self.extractor).__name__}."
            )
        return self.extractor

    def _grid(self, estimator):
        """The strengths, the C grid (or None) and the swept values."""
        strengths = list(DEFAULT_STRENGTHS if self.param_range is None else self.param_range)
        for value in strengths:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"param_range holds strengths in [0, 1]; got {value!r}.")
            if not 0 <= value <= 1:
                raise ValueError(f"param_range holds strengths in [0, 1]; got {value!r}.")
        if self.C_range is None:
            return strengths, None, strengths
        C_range = np.asarray(self.C_range, dtype=float).ravel()
        if not len(C_range) or np.any(~np.isfinite(C_range) | (C_range <= 0)):
            raise ValueError(f"C_range must be positive numbers; got {self.C_range!r}.")
        if not uses_fast_path(estimator, probe_C_name(estimator)):
            raise ValueError(
                "C_range sweeps C along a warm-started path: the probe must be a "
                "ClassWiseRegularizedLogisticRegression, alone or last in a Pipeline; got "
                f"{type(estimator).__name__}."
            )
        pairs = [(float(s), float(C)) for s in strengths for C in C_range]
        return strengths, C_range, pairs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, X_test=None, y_test=None, groups=None):
        """Extract the banks, run the cross-validated sweep and the analysis.

        Parameters
        ----------
        X : array-like of images
            Training images (N x H x W, N x C x H x W or N x H x W x C).
        y : array-like of shape (n_images,)
        X_test, y_test : default=None
            Held-out images and labels for the realised class-conditional
            augmentation, scored on their clean features.
        groups : array-like of shape (n_images,), default=None
            For group-aware splitters.

        Returns
        -------
        self
        """
        from ..feature_extraction import extract_feature_banks

        extractor = self._extractor()
        estimator = check_probe(
            ClassWiseRegularizedLogisticRegression(max_iter=1000)
            if self.estimator is None
            else self.estimator
        )
        global_metric = self._check_settings()
        if (X_test is None) != (y_test is None):
            raise ValueError("Give both X_test and y_test, or neither.")
        strengths, C_range, values = self._grid(estimator)
        y_checked = check_targets(X, y)
        self.banks_ = extract_feature_banks(extractor, X, strengths, n_augment=self.n_augment)
        splitter = check_cv(self.cv, y_checked, classifier=True)
        folds = list(splitter.split(np.zeros((len(y_checked), 1)), y_checked, groups))
        self.classes_, records = augmented_records(
            estimator,
            self.banks_,
            y_checked,
            folds,
            strengths,
            include_clean=bool(self.include_clean),
            C_range=C_range,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        rng, _ = self._summarise(records, values, global_metric)
        self.labels_ = y_checked
        self.confusion_ = _pooled_confusion(records, self._least_augmented(), len(self.classes_))
        if X_test is not None:
            features = clone(extractor).set_params(augment=None).fit(X_test[:1])
            self._realise_strengths(
                extractor, estimator, y_checked, X_test, features.transform(X_test), y_test, rng
            )
        return self

    def _least_augmented(self):
        """The swept value of the lowest strength (at the probe's C, or the joint grid's
        middle C)."""
        values = self.param_values_
        if self.C_range is None:
            return int(np.argmin(values))
        lowest = min(s for s, _ in values)
        candidates = [i for i, (s, _) in enumerate(values) if s == lowest]
        return candidates[len(candidates) // 2]

    def upstream_view(self, n_classes=4):
        """The most ambiguous classes in their discriminant space, along the strength.

        See `upstream_view`: Fisher separability per pair and 2-D LDA
        projections at each strength, and whether they track each class's
        cross-validated metric.

        Parameters
        ----------
        n_classes : int, default=4

        Returns
        -------
        UpstreamView
        """
        from ._upstream import upstream_view

        return upstream_view(self, n_classes)

    def _per_class(self, index):
        """Per class: the strength (and C) at the swept value `index` (one per class)."""
        values = [self.param_values_[i] for i in index]
        if self.C_range is None:
            return np.asarray(values, dtype=float), None
        strengths, Cs = zip(*values, strict=True)
        return np.asarray(strengths, dtype=float), np.asarray(Cs, dtype=float)

    def _realise_strengths(self, extractor, estimator, y, test_images, X_test, y_test, rng):
        """Refit at the best global value and with each class's own; score on clean test data."""
        K = len(self.classes_)
        choices = {  # per class: (strengths, Cs or None)
            "global": self._per_class(np.full(K, self.best_global_index_)),
            "naive": self._per_class(self.best_per_class_index_),
        }
        rows_per_image = self.banks_.rows_per_image(self.include_clean)
        images = np.arange(self.banks_.n_images)
        class_of_image = np.searchsorted(self.classes_, y)
        probes = {}
        with warnings.catch_warnings():
            ignore_binary_C_warning()  # binary: per-class C collapses
            for name, (strength, C) in choices.items():
                X_train, rows = self.banks_.training_features(
                    images, strength[class_of_image], include_clean=self.include_clean
                )
                if C is not None and name == "global":
                    C = C[0]
                probes[name] = fit_probe(estimator, X_train, y[rows], rows_per_image, C)
        self.models_ = probes
        totals = self._score_held_out(X_test, y_test, rng)
        (global_strengths, global_Cs), (strengths, Cs) = choices["global"], choices["naive"]
        moved = strengths != global_strengths
        if Cs is not None:
            moved |= Cs != global_Cs
        totals["n_classes_moved_naive"] = int(moved.sum())
        global_strength = global_strengths[0]
        self._add_totals(totals)
        self.class_strength_ = {
            label.item() if isinstance(label, np.generic) else label: float(value)
            for label, value in zip(self.classes_, strengths, strict=True)
        }
        self.tuned_C_ = pd.DataFrame(
            {"naive": strengths} if Cs is None else {"naive": strengths, "naive_C": Cs},
            index=pd.Index(self.classes_, name="class"),
        )
        sample = test_images[:1]
        self.models_ = {
            "global": _image_model(extractor, probes["global"], sample, strength=global_strength),
            "naive": _image_model(
                extractor, probes["naive"], sample, class_strength=self.class_strength_
            ),
        }


def _image_model(extractor, probe, sample, **augmentation):
    """A Pipeline from images: the extractor (clean at predict time) and the fitted probe."""
    features = clone(extractor).set_params(**augmentation).fit(sample)
    return Pipeline([("features", features), ("probe", probe)])


def _pooled_confusion(records, index, n_classes):
    """Out-of-fold confusion counts (rows: true class) at the swept value `index`."""
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    for record in records:
        np.add.at(confusion, (record.y_index, record.predicted[index]), 1)
    return confusion
