"""Synthetic problems that look like frozen deep features."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_class_blocks", "make_frozen_features"]


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "n_latent": [Interval(Integral, 1, None, closed="left"), None],
        "class_sep": [Interval(Real, 0, None, closed="left"), "array-like"],
        "weights": ["array-like", None],
        "noise": [Interval(Real, 0, None, closed="left")],
        "dtype": "no_validation",
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_frozen_features(
    n_samples=1000,
    n_features=256,
    n_classes=10,
    *,
    n_latent=None,
    class_sep=1.0,
    weights=None,
    noise=0.5,
    dtype=np.float32,
    random_state=None,
):
    """Generate a classification problem shaped like penultimate-layer features.

    Each class has a mean in a latent space of dimension `n_latent`; a sample
    is its class mean plus standard Gaussian noise, mapped to `n_features`
    dimensions by a fixed random linear map, plus feature noise, through a
    ReLU. The features are thus non-negative, correlated and of low intrinsic
    dimension, like pooled CNN features, and the difficulty of each class is
    set by its separation.

    Parameters
    ----------
    n_samples : int, default=1000
    n_features : int, default=256
    n_classes : int, default=10
    n_latent : int, default=None
        Latent dimension; by default ``min(n_features, max(8, n_classes))``.
    class_sep : float or array-like of shape (n_classes,), default=1.0
        Scale of each class mean (per class when an array): small values make
        classes that overlap with the others.
    weights : array-like of shape (n_classes,), default=None
        Proportion of samples in each class (normalised); equal by default.
    noise : float, default=0.5
        Standard deviation of the Gaussian noise added to the features before
        the ReLU.
    dtype : dtype, default=np.float32
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Integer labels 0 .. n_classes - 1, every class present when
        ``n_samples >= n_classes``.

    Examples
    --------
    >>> from sklearn_classreg.datasets import make_frozen_features
    >>> X, y = make_frozen_features(n_samples=200, n_features=32, n_classes=4, random_state=0)
    >>> X.shape, X.dtype, (X >= 0).all()
    ((200, 32), dtype('float32'), np.True_)
    """
    rng = check_random_state(random_state)
    n_latent = min(n_features, max(8, n_classes)) if n_latent is None else n_latent
    class_sep = np.broadcast_to(np.asarray(class_sep, dtype=float), (n_classes,))
    if weights is None:
        proportions = np.full(n_classes, 1.0 / n_classes)
    else:
        proportions = np.asarray(weights, dtype=float)
        if proportions.shape != (n_classes,) or np.any(proportions < 0) or proportions.sum() <= 0:
            raise ValueError(
                f"weights must be {n_classes} non-negative proportions; got {weights!r}."
            )
        proportions = proportions / proportions.sum()
    counts = np.floor(proportions * n_samples).astype(int)
    if n_samples >= n_classes:
        counts = np.maximum(counts, 1)
    for k in rng.permutation(n_classes)[: max(0, n_samples - counts.sum())]:
        counts[k] += 1
    while counts.sum() > n_samples:  # the minimum of one per class overshot
        counts[np.argmax(counts)] -= 1
    y = rng.permutation(np.repeat(np.arange(n_classes), counts))

    means = rng.standard_normal((n_classes, n_latent)) * 2.0 * class_sep[:, None]
    latent = means[y] + rng.standard_normal((n_samples, n_latent))
    mixing = rng.standard_normal((n_latent, n_features)) / np.sqrt(n_latent)
    X = latent @ mixing
    X += noise * rng.standard_normal(X.shape)
    np.maximum(X, 0.0, out=X)
    return X.astype(dtype, copy=False), y


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "widths": [tuple],
        "signals": [tuple],
        "imbalance": [Interval(Real, 1, None, closed="left")],
        "dtype": "no_validation",
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_class_blocks(
    n_samples=3000,
    n_classes=10,
    *,
    widths=(4, 200),
    signals=(3.0, 0.4),
    imbalance=6.0,
    dtype=np.float32,
    random_state=None,
):
    """A problem whose classes need very different L2 strengths.

    Each class has its own block of Gaussian features; its samples are shifted
    along one direction of that block. Block widths, shift sizes and class
    sizes are spread geometrically over the classes (and shuffled
    independently), so that a class with a wide block, a weak signal and few
    samples needs strong regularization while a narrow, strong, large one needs
    little: their best C differ by orders of magnitude, which is what
    per-class tuning is for.

    Parameters
    ----------
    n_samples : int, default=3000
        About this many (each class gets at least 5).
    n_classes : int, default=10
    widths : (int, int), default=(4, 200)
        Smallest and largest block width.
    signals : (float, float), default=(3.0, 0.4)
        Largest and smallest shift, in units of the noise.
    imbalance : float, default=6.0
        Ratio of the largest to the smallest class.
    dtype : dtype, default=np.float32
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, sum of the widths)
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from sklearn_classreg.datasets import make_class_blocks
    >>> X, y = make_class_blocks(500, 4, widths=(2, 20), random_state=0)
    >>> X.shape[0] >= 500 - 4, len(set(y))
    (True, 4)
    """
    rng = check_random_state(random_state)
    width = np.geomspace(widths[0], widths[1], n_classes).round().astype(int)
    width = width[rng.permutation(n_classes)]
    signal = np.geomspace(signals[0], signals[1], n_classes)[rng.permutation(n_classes)]
    size = np.geomspace(1.0, imbalance, n_classes)[rng.permutation(n_classes)]
    counts = np.maximum(5, (size / size.sum() * n_samples).astype(int))
    y = rng.permutation(np.repeat(np.arange(n_classes), counts))
    offsets = np.concatenate([[0], np.cumsum(width)])
    X = rng.standard_normal((len(y), offsets[-1]))
    for k in range(n_classes):
        direction = rng.standard_normal(width[k])
        direction /= np.linalg.norm(direction)
        X[y == k, offsets[k] : offsets[k + 1]] += signal[k] * direction
    return X.astype(dtype, copy=False), y
