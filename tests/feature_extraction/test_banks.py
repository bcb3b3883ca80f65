"""Feature banks: per-image extraction, the disk cache, fold rows."""

import gc

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn_classreg.feature_extraction import (  # noqa: E402
    FeatureBanks,
    FrozenFeatureExtractor,
    extract_feature_banks,
)
from sklearn_classreg.feature_extraction._augment import (  # noqa: E402
    augment_batch,
    image_keys,
    view_draws,
)


class CountingCNN(torch.nn.Module):
    """A tiny CNN that counts the images it has seen (across deep copies)."""

    seen = 0

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(4, 5, 3),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
        )

    def forward(self, x):
        type(self).seen += len(x)
        return self.body(x)


def images(n=9, size=12, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


def one_image_by_hand(network, image, strength, view, seed, kinds):
    """The features of one augmented view, by a plain torch call per image."""
    x = torch.from_numpy(image.astype(np.float32))[None, None]
    uniforms, noise = view_draws(image_keys(image[None]), seed, view, tuple(x.shape[1:]))
    x = augment_batch(x, torch.tensor([strength]), kinds, uniforms, noise)
    with torch.inference_mode():
        return network.eval()(x).numpy()[0]


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_banks_equal_per_image_extraction(batch_size):
    X = images()
    network = CountingCNN()
    extractor = FrozenFeatureExtractor(
        network, augment="all", batch_size=batch_size, random_state=3
    )
    banks = extract_feature_banks(extractor, X, [0.0, 0.4, 1.0], n_augment=2)
    kinds = ("crop", "flip", "noise")
    for strength in (0.4, 1.0):
        for view in range(2):
            expected = [
                one_image_by_hand(network, X[i], strength, view, 3, kinds) for i in range(len(X))
            ]
            np.testing.assert_allclose(banks.views(strength)[view], expected, rtol=1e-4, atol=1e-5)
    clean = FrozenFeatureExtractor(network).fit_transform(X)
    np.testing.assert_allclose(banks.clean, clean, rtol=1e-5, atol=1e-6)
    for view in banks.views(0.0):  # strength 0: the clean images
        np.testing.assert_array_equal(view, banks.clean)
    # the extractor's own views are the banks' views
    views, _ = extractor.set_params(strength=0.4, n_augment=2).fit_transform_augmented(
        X, np.zeros(len(X))
    )
    np.testing.assert_allclose(views[: len(X)], banks.views(0.4)[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(views[len(X) :], banks.views(0.4)[1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(banks.views(0.4)[0], banks.views(0.4)[1])
    assert not np.allclose(banks.views(0.4)[0], banks.clean)
    # an image alone, or in another order, has the same views
    alone = extractor.set_params(n_augment=1).fit_transform(X[[4]])
    np.testing.assert_allclose(alone[0], banks.views(0.4)[0][4], rtol=1e-5, atol=1e-6)
    reordered = extract_feature_banks(extractor, X[::-1], [0.4], n_augment=2)
    np.testing.assert_allclose(reordered.views(0.4)[1][::-1], banks.views(0.4)[1], rtol=1e-5)


def test_the_cache_computes_only_what_is_missing(tmp_path):
    X = images()

    def make(**params):
        params = {"augment": "noise", "memory": str(tmp_path), "random_state": 0, **params}
        return FrozenFeatureExtractor(CountingCNN(), **params)

    CountingCNN.seen = 0
    first = extract_feature_banks(make(), X, [0.0, 0.5], n_augment=1)
    assert CountingCNN.seen == 2 * len(X)  # clean, one view at 0.5
    assert isinstance(first.clean, np.memmap) and not first.clean.flags.writeable
    CountingCNN.seen = 0
    again = extract_feature_banks(make(batch_size=2), X, [0.0, 0.5], n_augment=1)
    assert CountingCNN.seen == 0, "a rerun ran the network"
    np.testing.assert_array_equal(again.views(0.5)[0], first.views(0.5)[0])
    CountingCNN.seen = 0
    more = extract_feature_banks(make(), X, [0.0, 0.5, 0.8], n_augment=2)
    assert CountingCNN.seen == 3 * len(X)  # view 1 at 0.5, views 0 and 1 at 0.8
    np.testing.assert_array_equal(more.views(0.5)[0], first.views(0.5)[0])
    CountingCNN.seen = 0
    extract_feature_banks(make(random_state=1), X, [0.5], n_augment=1)
    assert CountingCNN.seen == len(X)  # another seed: other views, the same clean features
    CountingCNN.seen = 0
    extract_feature_banks(make(), images(seed=1), [0.5], n_augment=1)
    assert CountingCNN.seen == 2 * len(X)  # other images
    assert not list(tmp_path.rglob("*.partial.npy"))


def test_without_memory_the_banks_live_in_a_temporary_folder():
    X = images()
    banks = extract_feature_banks(
        FrozenFeatureExtractor(CountingCNN(), augment="crop"), X, [0.3], n_augment=1
    )
    folder = banks.folder
    assert folder.exists() and len(list(folder.glob("*.npy"))) == 2
    del banks
    gc.collect()
    assert not folder.exists()


def test_training_features_take_each_images_strength():
    X = images(6)
    banks = extract_feature_banks(
        FrozenFeatureExtractor(CountingCNN(), augment="noise"), X, [0.0, 0.5, 1.0], n_augment=2
    )
    assert isinstance(banks, FeatureBanks) and banks.rows_per_image(include_clean=True) == 3
    rows = np.array([5, 0, 2])
    strength = np.array([1.0, 0.0, 0.5])
    features, image = banks.training_features(rows, strength, include_clean=True)
    assert features.shape == (9, 5)
    np.testing.assert_array_equal(image, np.tile(rows, 3))
    for view in range(2):
        block = features[3 * view : 3 * view + 3]
        np.testing.assert_array_equal(block[0], banks.views(1.0)[view][5])
        np.testing.assert_array_equal(block[1], banks.clean[0])
        np.testing.assert_array_equal(block[2], banks.views(0.5)[view][2])
    np.testing.assert_array_equal(features[6:], banks.clean[rows])
    with pytest.raises(ValueError, match="not in the banks' grid"):
        banks.training_features(rows, 0.7)


def test_bad_input_is_a_clear_error():
    X = images()
    network = CountingCNN()
    with pytest.raises(ValueError, match="augment is None"):
        extract_feature_banks(FrozenFeatureExtractor(network), X, [0.5])
    augmenting = FrozenFeatureExtractor(network, augment="noise")
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        extract_feature_banks(augmenting, X, [0.5, 1.5])
    with pytest.raises(ValueError, match="repeated"):
        extract_feature_banks(augmenting, X, [0.5, 0.5])
    with pytest.raises(ValueError, match="empty"):
        extract_feature_banks(augmenting, X, [])
    with pytest.raises(ValueError, match="n_augment"):
        extract_feature_banks(augmenting, X, [0.5], n_augment=0)
    with pytest.raises(ValueError, match="vectors"):
        extract_feature_banks(augmenting, np.zeros((4, 3)), [0.5])
    with pytest.raises(ValueError, match="NaN"):
        extract_feature_banks(augmenting, np.full((2, 8, 8), np.nan), [0.5])
    with pytest.raises(TypeError, match="FrozenFeatureExtractor"):
        extract_feature_banks("efficientnet-lite0", X, [0.5])
