"""Feature banks: each image through the frozen network once per strength and view, on disk.

A study of the augmentation strength refits a probe on every fold at every
strength. Inside a Pipeline, that re-extracts every image for every fold and
every strength. A bank extracts each image once per (strength, view), writes
the features to a memory-mapped ``.npy`` file keyed by everything that
determines them, and lets the folds take their rows from it.
"""

import os
import shutil
import tempfile
import weakref
from numbers import Integral, Real
from pathlib import Path

import joblib
import numpy as np

from ._frozen import FrozenFeatureExtractor, _feature_batches, _network

__all__ = ["FeatureBanks", "extract_feature_banks"]

_FOLDER = "feature_banks"


class FeatureBanks:
    """Clean features of some images and those of their augmented views at each strength.

    Made by `extract_feature_banks`. The arrays are memory-mapped, read-only
    files: taking the rows of a fold reads only those rows.

    Parameters
    ----------
    clean : ndarray of shape (n_images, n_features), float32
        Features of the images, not augmented.
    views : dict
        Strength (float) -> list of `n_augment` arrays like `clean`.
    strengths : sequence of float
        The strengths of the grid, in the order given.
    n_augment : int
        Views per image and strength.
    folder : pathlib.Path
        Where the files are (a temporary folder, removed with the banks,
        when the extractor has no `memory`).

    Attributes
    ----------
    strengths : tuple of float
    n_augment : int
    clean : ndarray of shape (n_images, n_features), float32
    folder : pathlib.Path
    """

    def __init__(self, clean, views, strengths, n_augment, folder):
        self.clean = clean
        self._views = views
        self.strengths = tuple(strengths)
        self.n_augment = n_augment
        self.folder = folder

    @property
    def n_images(self):
        """Number of images."""
        return self.clean.shape[0]

    def views(self, strength):
        """The `n_augment` views of every image at `strength` (a value of the grid).

        At strength 0 every view is the clean image.

        Parameters
        ----------
        strength : float
            A value of `strengths`.

        Returns
        -------
        list of ndarray of shape (n_images, n_features)
        """
        return self._views[self._key(strength)]

    def _key(self, strength):
        key = float(strength)
        if key not in self._views:
            raise ValueError(
                f"strength={strength!r} is not in the banks' grid {list(self.strengths)}."
            )
        return key

    def training_features(self, rows, strength, *, include_clean=False):
        """The training rows of some images: their views (and their clean features).

        Parameters
        ----------
        rows : array-like of int
            Positions of the training images.
        strength : float or array-like of shape (len(rows),)
            A strength of the grid for all images, or one per image (a
            class-conditional augmentation).
        include_clean : bool, default=False
            Add each image's clean features after its views.

        Returns
        -------
        features : ndarray of shape (n_rows_per_image * len(rows), n_features), float32
            View after view (rows ``v * len(rows) + j`` are view v of image
            ``rows[j]``), then the clean features.
        images : ndarray of shape (n_rows_per_image * len(rows),)
            The image (position) of each row: ``np.tile(rows, n_rows_per_image)``.
        """
        rows = np.asarray(rows, dtype=np.intp)
        per_image = np.broadcast_to(np.asarray(strength, dtype=float), rows.shape)
        values = np.unique(per_image)
        blocks = []
        for view in range(self.n_augment):
            block = np.empty((len(rows), self.clean.shape[1]), dtype=self.clean.dtype)
            for value in values:
                mask = per_image == value
                block[mask] = self.views(value)[view][rows[mask]]
            blocks.append(block)
        if include_clean:
            blocks.append(self.clean[rows])
        return np.concatenate(blocks), np.tile(rows, len(blocks))

    def rows_per_image(self, include_clean=False):
        """How many training rows an image gives: `n_augment` (+ 1 with its clean features).

        Parameters
        ----------
        include_clean : bool, default=False
            Whether its clean features are a training row too.

        Returns
        -------
        int
        """
        return self.n_augment + bool(include_clean)

    def __repr__(self):
        return (
            f"FeatureBanks({self.n_images} images x {self.clean.shape[1]} features, "
            f"strengths {list(self.strengths)}, {self.n_augment} views, in {self.folder})"
        )


def _network_identity(extractor):
    """What identifies the network: its name, or a module's type and weights."""
    if isinstance(extractor.model, str):
        return extractor.model
    state = {
        name: value.detach().cpu().numpy() for name, value in extractor.model.state_dict().items()
    }
    return type(extractor.model).__name__, joblib.hash(state)


def _folder_of(memory):
    """The banks' folder under `memory` (a path or a joblib.Memory), or None."""
    if memory is None:
        return None
    location = getattr(memory, "location", memory)
    return None if location is None else Path(location) / _FOLDER


def extract_feature_banks(extractor, X, strengths, *, n_augment=None):
    """Features of the images and of `n_augment` augmented views at each strength.

    Each image goes through the frozen network once for its clean features
    and once per (strength, view), in batches on the extractor's device, with
    a progress bar when the extractor is verbose. Every image and view is
    read and resized once per batch for all strengths. The features are
    written batch by batch to memory-mapped ``.npy`` files (memory stays
    bounded), in the extractor's `memory` folder when it has one, under names
    keyed by the images' content, the network (name, or a module's weights),
    the layer, the input size and pixel range, the augmentation, the
    strength, the seed and the view: a rerun reads them back without running
    the network, and a larger `n_augment` or a new strength computes only
    what is missing. Strength 0 is the clean features.

    Each view is the one `FrozenFeatureExtractor.fit_transform_augmented`
    gives, for these images or any subset of them (the random numbers of an
    image's view are keyed by the seed, the view and the image's content, and
    shared across strengths).

    Parameters
    ----------
    extractor : FrozenFeatureExtractor
        Its `augment` (required), `random_state`, `memory`, `batch_size`,
        `device` and `verbose` are used; its `strength` and `class_strength`
        are not (the strengths are the grid's).
    X : array-like of images
        (N, H, W), (N, C, H, W) or (N, H, W, C).
    strengths : sequence of float
        In [0, 1].
    n_augment : int, default=None
        Views per image and strength; the extractor's `n_augment` by default.

    Returns
    -------
    FeatureBanks

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_classreg.feature_extraction import (
    ...     FrozenFeatureExtractor, extract_feature_banks)
    >>> network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 4))
    >>> images = np.random.default_rng(0).integers(0, 255, (10, 8, 8), dtype=np.uint8)
    >>> extractor = FrozenFeatureExtractor(network, augment="noise", random_state=0)
    >>> banks = extract_feature_banks(extractor, images, [0.0, 0.5], n_augment=2)
    >>> banks.clean.shape, len(banks.views(0.5))
    ((10, 4), 2)
    >>> features, images_of_rows = banks.training_features([0, 3], 0.5)
    >>> features.shape, images_of_rows.tolist()
    ((4, 4), [0, 3, 0, 3])
    """
    if not isinstance(extractor, FrozenFeatureExtractor):
        raise TypeError(
            f"extractor must be a FrozenFeatureExtractor; got {type(extractor).__name__}."
        )
    extractor._validate_params()
    kinds = extractor._kinds()
    if not kinds:
        raise ValueError(
            "extractor.augment is None: say which augmentations the strength controls, e.g. "
            "FrozenFeatureExtractor(augment='all')."
        )
    n_augment = extractor.n_augment if n_augment is None else n_augment
    if not isinstance(n_augment, Integral) or n_augment < 1:
        raise ValueError(f"n_augment must be a positive integer; got {n_augment!r}.")
    strengths = list(strengths)
    if not strengths:
        raise ValueError("strengths is empty: give at least one strength.")
    for value in strengths:
        if not isinstance(value, Real) or not 0 <= value <= 1:
            raise ValueError(f"strengths must lie in [0, 1]; got {value!r}.")
    if len({float(s) for s in strengths}) != len(strengths):
        raise ValueError(f"strengths has repeated values: {strengths}.")
    X = extractor._check_X(X, reset=True)
    if X.ndim < 3:
        raise ValueError(
            f"extract_feature_banks augments images; X has shape {tuple(X.shape)} (vectors)."
        )
    settings = extractor._settings(X)
    seed = 0 if extractor.random_state is None else extractor.random_state
    identity = (
        joblib.hash(np.asarray(X)),
        _network_identity(extractor),
        settings["layer"],
        settings["input_size"],
        settings["pixel_max"],
    )
    folder = _folder_of(extractor.memory)
    temporary = folder is None
    if temporary:
        folder = Path(tempfile.mkdtemp(prefix="sklearn_classreg_banks_"))
    folder.mkdir(parents=True, exist_ok=True)

    def path(*key):
        return folder / f"{joblib.hash(identity + key)}.npy"

    clean_path = path("clean")
    wanted = {
        (float(s), view): path(kinds, float(s), seed, view)
        for s in strengths
        if s > 0
        for view in range(n_augment)
    }
    missing = {key: file for key, file in wanted.items() if not file.exists()}
    if missing or not clean_path.exists():
        _write_banks(extractor, X, settings, kinds, seed, clean_path, missing)
    clean = np.load(clean_path, mmap_mode="r")
    views = {}
    for value in strengths:
        value = float(value)
        views[value] = (
            [clean] * n_augment
            if value == 0
            else [np.load(wanted[value, view], mmap_mode="r") for view in range(n_augment)]
        )
    banks = FeatureBanks(clean, views, [float(s) for s in strengths], n_augment, folder)
    if temporary:
        weakref.finalize(banks, shutil.rmtree, str(folder), True)
    return banks


def _write_banks(extractor, X, settings, kinds, seed, clean_path, missing):
    """Run the network over X once, writing the clean features and every missing view."""
    network = _network(extractor.model)
    n = len(X)
    views = [(None, 0)] if not clean_path.exists() else []
    targets = [clean_path] if views else []
    for (value, view), file in missing.items():
        views.append((np.full(n, value), view))
        targets.append(file)
    partial = [file.with_suffix(f".{os.getpid()}.partial.npy") for file in targets]
    arrays = None
    batches = _feature_batches(
        network,
        X,
        augment=kinds,
        views=views,
        seed=seed,
        desc=f"feature banks ({network.name}, {len(views)} passes)",
        **settings,
    )
    try:
        for start, stop, outputs in batches:
            if arrays is None:
                arrays = [
                    np.lib.format.open_memmap(
                        file, mode="w+", dtype=np.float32, shape=(n, outputs[0].shape[1])
                    )
                    for file in partial
                ]
            for array, features in zip(arrays, outputs, strict=True):
                array[start:stop] = features
        for array in arrays or ():
            array.flush()
        arrays = None  # closes the maps before the files move
        for file, target in zip(partial, targets, strict=True):
            os.replace(file, target)  # atomic: a file under its final name is complete
    finally:
        arrays = None
        for file in partial:
            file.unlink(missing_ok=True)
