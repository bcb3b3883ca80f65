"""A sample of Omniglot bundled with the package, for tests, examples and the CLI."""

from importlib import resources

import numpy as np

__all__ = ["load_omniglot_sample", "build_omniglot_sample"]

_SAMPLE = "omniglot_sample.npz"
SAMPLE_SIZE = 32


def load_omniglot_sample():
    """Omniglot's 242 background characters (20 drawings each), at 32 x 32, offline.

    Built from the two small background sets of brendenlake/omniglot (MIT
    licence) with `build_omniglot_sample`: every drawing, area-averaged from
    105 x 105 to 32 x 32 pixels.

    Returns
    -------
    X : ndarray of shape (4840, 32, 32), uint8
        Grayscale, white background.
    y : ndarray of shape (4840,), str
        "alphabet/character" labels (242 classes).

    Examples
    --------
    >>> from sklearn_classreg.datasets import load_omniglot_sample
    >>> X, y = load_omniglot_sample()
    >>> X.shape, len(set(y))
    ((4840, 32, 32), 242)
    """
    with resources.files(__package__).joinpath("data", _SAMPLE).open("rb") as handle:
        data = np.load(handle, allow_pickle=False)
        return data["images"], data["labels"].astype(str)


def build_omniglot_sample(path, data_home=None):
    """Write the bundled sample to `path` from the original Omniglot zips."""
    from ._loaders import load_omniglot

    X, y = load_omniglot(data_home, image_size=SAMPLE_SIZE)
    np.savez_compressed(path, images=X, labels=y.astype("U"))
