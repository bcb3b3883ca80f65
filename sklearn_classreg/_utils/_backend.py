"""Where an array lives, and torch when it is needed.

The one test for torch tensors (without importing torch), and the lazy import
of torch and of its devices that the torch objective and the feature
extractor share. `import sklearn_classreg` never imports torch.
"""

__all__ = ["import_torch", "is_tensor", "resolve_device", "to_numpy_if_tensor"]


def is_tensor(value):
    """Whether `value` is a torch tensor (without importing torch).

    Examples
    --------
    >>> import numpy as np
    >>> is_tensor(np.zeros(3))
    False
    """
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def to_numpy_if_tensor(value):
    """A torch tensor (on any device) as a NumPy array; anything else as is.

    Examples
    --------
    >>> to_numpy_if_tensor([1, 2])
    [1, 2]
    """
    return value.detach().cpu().numpy() if is_tensor(value) else value


def import_torch():
    """torch, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "backend='torch' needs PyTorch, which is not installed: install it with "
            "pip install 'sklearn-classreg[torch]' (or pip install torch)."
        ) from error
    return torch


def resolve_device(device):
    """A torch.device from None ("cuda" when available, else "cpu"), a string or a device."""
    torch = import_torch()
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device={device!r} is not a torch device.") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} but CUDA is not available here; use device='cpu'."
        )
    return device
