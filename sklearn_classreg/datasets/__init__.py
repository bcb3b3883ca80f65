"""Datasets: generators and loaders used by examples, the CLI and benchmarks."""

from ._synthetic import make_frozen_features

__all__ = ["make_frozen_features"]
