"""FrozenFeatureExtractor with a tiny network and the real EfficientNet-Lite0."""

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sklearn_classreg import ClassWiseRegularizedLogisticRegression  # noqa: E402
from sklearn_classreg.datasets import load_omniglot_sample  # noqa: E402
from sklearn_classreg.feature_extraction import FrozenFeatureExtractor  # noqa: E402


def tiny_cnn(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(4, 6, 3),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
    )


def images(n=12, size=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


def plain_loop(network, X):
    with torch.inference_mode():
        return network.eval()(torch.from_numpy(X).float()[:, None]).numpy()


def test_features_equal_a_plain_torch_loop_and_inputs_are_untouched():
    network = tiny_cnn()
    X = images()
    before = [p.detach().clone() for p in network.parameters()]
    network.train()
    features = FrozenFeatureExtractor(network, batch_size=5).fit_transform(X)
    np.testing.assert_allclose(features, plain_loop(tiny_cnn(), X), rtol=1e-5, atol=1e-6)
    assert features.dtype == np.float32 and features.shape == (12, 6)
    assert network.training, "the user's module was put in eval mode"
    for a, b in zip(before, network.parameters(), strict=True):
        assert torch.equal(a, b)


def test_layouts_tensors_resizing_and_layer_hooks():
    network = tiny_cnn()
    X = images()
    extractor = FrozenFeatureExtractor(network).fit(X)
    expected = extractor.transform(X)
    np.testing.assert_allclose(extractor.transform(X[:, None]), expected)  # N x 1 x H x W
    np.testing.assert_allclose(extractor.transform(X[..., None]), expected)  # N x H x W x 1
    np.testing.assert_allclose(extractor.transform(torch.from_numpy(X)), expected)
    resized = FrozenFeatureExtractor(network, input_size=8).fit_transform(X)
    assert resized.shape == (12, 6) and not np.allclose(resized, expected)
    hooked = FrozenFeatureExtractor(network, layer="0").fit_transform(X)  # first conv, pooled
    assert hooked.shape == (12, 4)
    with pytest.raises(ValueError, match="not a sub-module"):
        FrozenFeatureExtractor(network, layer="nope").fit(X)


def test_augmentation_is_reproducible_and_only_at_fit_time():
    network = tiny_cnn()
    X = images(20)
    y = np.arange(20) % 2
    make = lambda seed: FrozenFeatureExtractor(  # noqa: E731
        network, augment="all", strength=0.8, random_state=seed
    )
    first = make(0).fit_transform(X, y)
    np.testing.assert_array_equal(first, make(0).fit_transform(X, y))
    assert not np.allclose(first, make(1).fit_transform(X, y))
    clean = make(0).fit(X).transform(X)
    np.testing.assert_allclose(clean, FrozenFeatureExtractor(network).fit_transform(X), rtol=1e-6)
    assert not np.allclose(first, clean)
    # strength 0: no augmentation at all
    np.testing.assert_allclose(
        FrozenFeatureExtractor(network, augment="all", strength=0.0).fit_transform(X),
        clean,
        rtol=1e-6,
    )


def test_class_conditional_strength_and_augmented_views():
    network = tiny_cnn()
    X = images(20)
    y = np.arange(20) % 2
    clean = FrozenFeatureExtractor(network).fit_transform(X)
    augmented = FrozenFeatureExtractor(
        network, augment="noise", class_strength={1: 1.0}, random_state=0
    ).fit_transform(X, y)
    np.testing.assert_allclose(augmented[y == 0], clean[y == 0], rtol=1e-6)
    assert not np.allclose(augmented[y == 1], clean[y == 1])
    views, labels = FrozenFeatureExtractor(
        network, augment="crop", strength=1.0, n_augment=3, random_state=0
    ).fit_transform_augmented(X, y)
    assert views.shape == (60, 6)
    np.testing.assert_array_equal(labels, np.tile(y, 3))
    with pytest.raises(ValueError, match="needs the labels"):
        FrozenFeatureExtractor(network, augment="noise", class_strength={1: 1.0}).fit_transform(X)


def test_cache_on_disk(tmp_path):
    network = tiny_cnn()
    X = images()
    extractor = FrozenFeatureExtractor(network, memory=str(tmp_path))
    first = extractor.fit_transform(X)
    assert any(tmp_path.rglob("*.pkl")) or any(tmp_path.rglob("output*"))
    np.testing.assert_array_equal(extractor.transform(X), first)


def test_pandas_output_and_feature_names():
    network = tiny_cnn()
    extractor = FrozenFeatureExtractor(network).set_output(transform="pandas")
    frame = extractor.fit_transform(images())
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [f"frozenfeatureextractor{i}" for i in range(6)]


def test_bad_input_is_a_clear_error():
    network = tiny_cnn()
    with pytest.raises(ValueError, match="NaN or infinity"):
        FrozenFeatureExtractor(network).fit(np.full((2, 8, 8), np.nan))
    with pytest.raises(ValueError, match="Reshape your data"):
        FrozenFeatureExtractor(network).fit(np.zeros(5))
    with pytest.raises(ValueError, match="Unknown model"):
        FrozenFeatureExtractor("resnet-9000").fit(images())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        FrozenFeatureExtractor(model=42).fit(images())


def test_pipeline_grid_search_over_augmentation_strength_and_C():
    X, y = load_omniglot_sample()
    keep = np.isin(y, np.unique(y)[:4])
    X, y = X[keep], y[keep]
    pipeline = make_pipeline(
        FrozenFeatureExtractor(tiny_cnn(), augment="noise", random_state=0),
        ClassWiseRegularizedLogisticRegression(max_iter=500),
    )
    grid = GridSearchCV(
        pipeline,
        {
            "frozenfeatureextractor__strength": [0.0, 0.5],
            "classwiseregularizedlogisticregression__C": [0.1, 10.0],
        },
        cv=2,
    ).fit(X, y)
    assert set(grid.best_params_) == {
        "frozenfeatureextractor__strength",
        "classwiseregularizedlogisticregression__C",
    }
    assert grid.score(X, y) > 0.25


def test_real_efficientnet_lite0_on_a_handful_of_images():
    pytest.importorskip("efficientnet_lite_pytorch")
    X, y = load_omniglot_sample()
    X = X[:6]
    extractor = FrozenFeatureExtractor("efficientnet-lite0", input_size=64, batch_size=4)
    features = extractor.fit_transform(X)
    assert features.shape == (6, 1280) and np.all(np.isfinite(features))
    # the same as calling the network by hand (its documented preprocessing)
    network = extractor.network_.module
    with torch.inference_mode():
        x = torch.from_numpy(X).float()[:, None].expand(-1, 3, -1, -1)
        x = torch.nn.functional.interpolate(
            x, size=(64, 64), mode="bilinear", align_corners=False, antialias=False
        )
        expected = network.extract_features((x - 127) / 128).mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4)
