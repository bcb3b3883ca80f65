"""Image augmentations written with torch operations (no torchvision).

All act on a batch of float images (N, C, H, W) in [0, 255], with a strength
per image in [0, 1] (0: the image unchanged), and draw from a
``torch.Generator`` so that results are reproducible:

* "crop": random resized crop, keeping a share of the area between
  1 - 0.9 strength and 1, with an aspect ratio within
  [(3/4)^strength, (4/3)^strength], resized back to the image size;
* "flip": horizontal flip with probability strength / 2;
* "noise": Gaussian noise of standard deviation 0.1 * 255 * strength.

Crop, resize and flip are one affine resampling (``affine_grid`` +
``grid_sample``, bilinear), batched on the device.
"""

import math

__all__ = ["AUGMENTATIONS", "augment_batch"]

AUGMENTATIONS = ("crop", "flip", "noise")


def augment_batch(images, strength, kinds, generator):
    """Augmented copies of a batch of images.

    Parameters
    ----------
    images : torch.Tensor of shape (N, C, H, W), float, values in [0, 255]
    strength : torch.Tensor of shape (N,)
        Per image, in [0, 1].
    kinds : sequence of str
        Among "crop", "flip", "noise".
    generator : torch.Generator
        On the images' device.

    Returns
    -------
    torch.Tensor of the shape of `images`
    """
    import torch

    n = images.shape[0]
    device, dtype = images.device, images.dtype
    strength = strength.to(device=device, dtype=dtype)

    def uniform(low, high):
        return low + (high - low) * torch.rand(n, generator=generator, device=device, dtype=dtype)

    scale_x = torch.ones(n, device=device, dtype=dtype)
    scale_y = torch.ones(n, device=device, dtype=dtype)
    shift_x = torch.zeros(n, device=device, dtype=dtype)
    shift_y = torch.zeros(n, device=device, dtype=dtype)
    if "crop" in kinds:
        area = uniform(1 - 0.9 * strength, torch.ones_like(strength))
        log_ratio = uniform(-strength, strength) * math.log(4 / 3)
        ratio = torch.exp(log_ratio)
        scale_x = torch.sqrt(area * ratio).clamp(max=1.0)
        scale_y = torch.sqrt(area / ratio).clamp(max=1.0)
        # the crop lies inside the image: its centre moves by at most 1 - scale
        shift_x = uniform(-(1 - scale_x), 1 - scale_x)
        shift_y = uniform(-(1 - scale_y), 1 - scale_y)
    if "flip" in kinds:
        flip = torch.rand(n, generator=generator, device=device, dtype=dtype) < strength / 2
        scale_x = torch.where(flip, -scale_x, scale_x)
    if "crop" in kinds or "flip" in kinds:
        theta = torch.zeros(n, 2, 3, device=device, dtype=dtype)
        theta[:, 0, 0], theta[:, 0, 2] = scale_x, shift_x
        theta[:, 1, 1], theta[:, 1, 2] = scale_y, shift_y
        grid = torch.nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
        images = torch.nn.functional.grid_sample(
            images, grid, mode="bilinear", padding_mode="border", align_corners=False
        )
    if "noise" in kinds:
        noise = torch.randn(images.shape, generator=generator, device=device, dtype=dtype)
        images = (images + noise * (25.5 * strength)[:, None, None, None]).clamp(0, 255)
    return images
