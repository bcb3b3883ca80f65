"""Image augmentations written with torch operations (no torchvision).

All act on a batch of float images (N, C, H, W) in [0, 255], with a strength
per image in [0, 1] (0: the image unchanged):

* "crop": random resized crop, keeping a share of the area between
  1 - 0.9 strength and 1, with an aspect ratio within
  [(3/4)^strength, (4/3)^strength], resized back to the image size;
* "flip": horizontal flip with probability strength / 2;
* "noise": Gaussian noise of standard deviation 0.1 * 255 * strength.

Crop, resize and flip are one affine resampling (``affine_grid`` +
``grid_sample``, bilinear), batched on the device.

The random numbers of a view are drawn per image (`view_draws`), from a
stream keyed by (seed, view, the image's content: `image_keys`): a view does
not depend on the batch size, the device, the image's position or the other
images of the data, so that an image's views are the same in any subset (a
fold of a cross-validation, a Pipeline's fit) as in the whole; and the views
of one image at different strengths share their random numbers (common
random numbers), so that a sweep over the strength moves each view smoothly
instead of redrawing it. Identical images get identical views.
"""

import hashlib
import math

import numpy as np

from .._utils._backend import to_numpy_if_tensor

__all__ = ["AUGMENTATIONS", "augment_batch", "image_keys", "view_draws"]

AUGMENTATIONS = ("crop", "flip", "noise")

# uniform numbers drawn per image and view, in this order (whatever the kinds,
# so that "crop" draws the same crops with or without "noise")
_UNIFORMS = ("area", "ratio", "shift_x", "shift_y", "flip")


def image_keys(images):
    """A 64-bit key of each image's content (its values, dtype and shape).

    Parameters
    ----------
    images : ndarray or torch.Tensor of shape (N, ...)

    Returns
    -------
    ndarray of shape (N,), uint64

    Examples
    --------
    >>> import numpy as np
    >>> images = np.zeros((3, 4, 4), np.uint8)
    >>> images[2, 0, 0] = 1
    >>> keys = image_keys(images)
    >>> bool(keys[0] == keys[1]), bool(keys[0] == keys[2])
    (True, False)
    """
    images = np.ascontiguousarray(to_numpy_if_tensor(images))
    header = f"{images.dtype.str}{images.shape[1:]}".encode()
    keys = np.empty(len(images), dtype=np.uint64)
    for row, image in enumerate(images):
        digest = hashlib.blake2b(header + image.tobytes(), digest_size=8).digest()
        keys[row] = int.from_bytes(digest, "little")
    return keys


def view_draws(keys, seed, view, noise_shape=None):
    """The random numbers of one view of some images.

    Parameters
    ----------
    keys : array-like of int
        Each image's key (`image_keys`).
    seed : int
    view : int
        Which view (0, 1, ...).
    noise_shape : tuple of int, default=None
        (C, H, W) of the images when noise is added.

    Returns
    -------
    uniforms : ndarray of shape (n, 5), float64
        In [0, 1): area, aspect ratio, horizontal and vertical shift, flip.
    noise : ndarray of shape (n, C, H, W), float32, or None
        Standard normal.

    Examples
    --------
    >>> first, _ = view_draws([7, 8, 9], seed=0, view=0)
    >>> again, _ = view_draws([9], seed=0, view=0)  # image 9 alone: the same draws
    >>> bool((first[2] == again[0]).all())
    True
    """
    keys = np.asarray(keys, dtype=np.uint64).ravel()
    uniforms = np.empty((len(keys), len(_UNIFORMS)))
    noise = None if noise_shape is None else np.empty((len(keys), *noise_shape), np.float32)
    for row, key in enumerate(keys):
        stream = np.random.default_rng([int(seed), int(view), int(key)])
        uniforms[row] = stream.random(len(_UNIFORMS))
        if noise is not None:
            noise[row] = stream.standard_normal(noise_shape, dtype=np.float32)
    return uniforms, noise


def augment_batch(images, strength, kinds, uniforms, noise=None):
    """Augmented copies of a batch of images.

    Parameters
    ----------
    images : torch.Tensor of shape (N, C, H, W), float, values in [0, 255]
    strength : torch.Tensor of shape (N,)
        Per image, in [0, 1].
    kinds : sequence of str
        Among "crop", "flip", "noise".
    uniforms : array-like of shape (N, 5)
        The view's uniform numbers (`view_draws`).
    noise : array-like of shape (N, C, H, W), default=None
        The view's standard normal noise; needed for "noise".

    Returns
    -------
    torch.Tensor of the shape of `images`
    """
    import torch

    device, dtype = images.device, images.dtype
    strength = strength.to(device=device, dtype=dtype)
    u = torch.as_tensor(np.asarray(uniforms), device=device, dtype=dtype)
    area_u, ratio_u, shift_x_u, shift_y_u, flip_u = u.unbind(dim=1)

    def between(low, high, draw):
        return low + (high - low) * draw

    scale_x = torch.ones_like(strength)
    scale_y = torch.ones_like(strength)
    shift_x = torch.zeros_like(strength)
    shift_y = torch.zeros_like(strength)
    if "crop" in kinds:
        area = between(1 - 0.9 * strength, 1.0, area_u)
        ratio = torch.exp(between(-strength, strength, ratio_u) * math.log(4 / 3))
        scale_x = torch.sqrt(area * ratio).clamp(max=1.0)
        scale_y = torch.sqrt(area / ratio).clamp(max=1.0)
        # the crop lies inside the image: its centre moves by at most 1 - scale
        shift_x = between(-(1 - scale_x), 1 - scale_x, shift_x_u)
        shift_y = between(-(1 - scale_y), 1 - scale_y, shift_y_u)
    if "flip" in kinds:
        scale_x = torch.where(flip_u < strength / 2, -scale_x, scale_x)
    if "crop" in kinds or "flip" in kinds:
        theta = torch.zeros(len(strength), 2, 3, device=device, dtype=dtype)
        theta[:, 0, 0], theta[:, 0, 2] = scale_x, shift_x
        theta[:, 1, 1], theta[:, 1, 2] = scale_y, shift_y
        grid = torch.nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
        images = torch.nn.functional.grid_sample(
            images, grid, mode="bilinear", padding_mode="border", align_corners=False
        )
    if "noise" in kinds:
        if noise is None:
            raise ValueError('augment_batch: "noise" needs the view\'s noise (view_draws).')
        noise = torch.as_tensor(np.asarray(noise), device=device, dtype=dtype)
        images = (images + noise * (25.5 * strength)[:, None, None, None]).clamp(0, 255)
    return images
