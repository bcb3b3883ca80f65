"""Loaders read the original files (../shared/data in this project), check downloads."""

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from sklearn_classreg.datasets import (
    load_banking77,
    load_fashion_mnist,
    load_omniglot,
    load_omniglot_sample,
    make_frozen_features,
)
from sklearn_classreg.datasets._fetch import RemoteFile, fetch

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def needs_shared(*files):
    """Skip unless these files of ../shared/data are here (a folder alone is not:
    `get_data_home` creates the folder it is given, as scikit-learn's does)."""
    missing = [name for name in files if not (SHARED / name).is_file()]
    return pytest.mark.skipif(bool(missing), reason=f"../shared/data lacks {missing}")


def test_bundled_omniglot_sample():
    X, y = load_omniglot_sample()
    assert X.shape == (4840, 32, 32) and X.dtype == np.uint8
    assert len(np.unique(y)) == 242 and np.all(np.unique(y, return_counts=True)[1] == 20)


@needs_shared("omniglot/images_background_small1.zip", "omniglot/images_background_small2.zip")
def test_omniglot_from_the_original_zips_matches_the_bundled_sample():
    pytest.importorskip("PIL")
    X, y = load_omniglot(SHARED / "omniglot", image_size=32)
    sample_X, sample_y = load_omniglot_sample()
    np.testing.assert_array_equal(y, sample_y)
    np.testing.assert_array_equal(X, sample_X)
    # Greek and Latin are in both zips: read once, 20 drawings per character
    _, counts = np.unique(y, return_counts=True)
    assert np.all(counts == 20)
    assert any(label.startswith("Greek/") for label in y)


@needs_shared("banking77/train.csv", "banking77/test.csv")
def test_banking77():
    texts, y = load_banking77(SHARED / "banking77")
    assert len(texts) == 10_003 and len(np.unique(y)) == 77
    all_texts, _ = load_banking77(SHARED / "banking77", subset="all")
    assert len(all_texts) == 10_003 + 3_080
    with pytest.raises(ValueError, match="subset"):
        load_banking77(SHARED / "banking77", subset="dev")


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_reads_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28))
    labels = np.repeat(np.arange(10), 3)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    X, y = load_fashion_mnist(tmp_path)
    np.testing.assert_array_equal(X, images)
    assert y[0] == "T-shirt/top" and y[-1] == "Ankle boot"
    X_small, y_small = load_fashion_mnist(tmp_path, n_samples=20, random_state=0)
    assert len(X_small) == 20 and len(np.unique(y_small)) == 10


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_banking77(tmp_path)


def test_download_is_checked(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"some data")
    good = hashlib.sha256(b"some data").hexdigest()
    home = tmp_path / "home"
    path = fetch(RemoteFile("a.bin", source.as_uri(), good), home, download=True)
    assert path.read_bytes() == b"some data"
    with pytest.raises(OSError, match="not kept"):
        fetch(RemoteFile("b.bin", source.as_uri(), "0" * 64), home, download=True)
    assert not (home / "b.bin").exists()


def test_make_frozen_features():
    X, y = make_frozen_features(103, 20, 7, weights=[5, 1, 1, 1, 1, 1, 1], random_state=0)
    assert X.shape == (103, 20) and X.dtype == np.float32 and (X >= 0).all()
    counts = np.bincount(y)
    assert counts.sum() == 103 and counts.min() >= 1 and counts[0] == counts.max()
    X2, _ = make_frozen_features(103, 20, 7, weights=[5, 1, 1, 1, 1, 1, 1], random_state=0)
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError, match="weights must be 7"):
        make_frozen_features(10, 3, 7, weights=[1, 2])
