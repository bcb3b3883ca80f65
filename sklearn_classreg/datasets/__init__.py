"""Datasets: generators and loaders used by examples, the CLI and benchmarks."""

from ._fetch import get_data_home
from ._loaders import load_banking77, load_fashion_mnist, load_mnist_subset, load_omniglot
from ._sample import load_omniglot_sample
from ._synthetic import make_class_blocks, make_frozen_features

__all__ = [
    "get_data_home",
    "load_banking77",
    "load_fashion_mnist",
    "load_mnist_subset",
    "load_omniglot",
    "load_omniglot_sample",
    "make_class_blocks",
    "make_frozen_features",
]
