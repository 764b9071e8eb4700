"""Training augmentation with MONAI: spatial (rotation, flips, elastic) and intensity
(gamma, bias field, noise, contrast) transforms.

Spatial transforms act on the image and the lesion mask together (same drawn parameters;
bilinear for the image, nearest for the mask, so the mask stays binary). Every patch is
augmented from its own seed (:func:`augment_patch`), so a patch's augmentation depends only on
(run seed, epoch, patch number): the same with any number of DataLoader workers or DDP ranks,
and after ``--resume``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of each augmentation (``enabled=False`` turns all off).

    Angles in degrees; elastic ``sigma`` and ``magnitude`` in voxels (MONAI's units);
    ``gamma`` and ``contrast`` are ranges of the gamma exponent and of the contrast factor
    around the patch mean; ``bias_coeff`` is the max. polynomial coefficient of the bias
    field; ``noise_std`` is Gaussian noise std on the [0, 1] intensity scale.
    """

    enabled: bool = True
    rotate_prob: float = 0.3
    rotate_deg: float = 15.0
    flip_prob: float = 0.5
    elastic_prob: float = 0.2
    elastic_sigma: tuple[float, float] = (5.0, 7.0)
    elastic_magnitude: tuple[float, float] = (20.0, 60.0)
    gamma_prob: float = 0.3
    gamma: tuple[float, float] = (0.7, 1.5)
    bias_prob: float = 0.3
    bias_coeff: float = 0.3
    noise_prob: float = 0.2
    noise_std: float = 0.03
    contrast_prob: float = 0.3
    contrast: tuple[float, float] = (0.75, 1.25)


def build_augmentation(
    cfg: AugmentConfig, flip_axes: tuple[int, ...] = (0, 1, 2)
):  # -> monai Compose
    """MONAI ``Compose`` for ``{"image": (1,X,Y,Z) float32, "label": (1,X,Y,Z) float32}`` dicts."""
    from monai.transforms import (
        Compose,
        Rand3DElasticd,
        RandAdjustContrastd,
        RandBiasFieldd,
        RandFlipd,
        RandGaussianNoised,
        RandRotated,
        RandScaleIntensityFixedMeand,
    )

    keys = ("image", "label")
    modes = ("bilinear", "nearest")
    angle = math.radians(cfg.rotate_deg)
    spatial = [
        RandRotated(
            keys,
            range_x=angle,
            range_y=angle,
            range_z=angle,
            prob=cfg.rotate_prob,
            keep_size=True,
            mode=modes,
            padding_mode="zeros",
        ),
        *[RandFlipd(keys, prob=cfg.flip_prob, spatial_axis=ax) for ax in flip_axes],
        Rand3DElasticd(
            keys,
            sigma_range=cfg.elastic_sigma,
            magnitude_range=cfg.elastic_magnitude,
            prob=cfg.elastic_prob,
            mode=modes,
            padding_mode="zeros",
        ),
    ]
    intensity = [
        RandAdjustContrastd("image", gamma=cfg.gamma, prob=cfg.gamma_prob),
        RandBiasFieldd("image", coeff_range=(0.0, cfg.bias_coeff), prob=cfg.bias_prob),
        RandScaleIntensityFixedMeand(
            "image", factors=(cfg.contrast[0] - 1.0, cfg.contrast[1] - 1.0), prob=cfg.contrast_prob
        ),
        RandGaussianNoised("image", std=cfg.noise_std, prob=cfg.noise_prob),
    ]
    return Compose(spatial + intensity)


def augment_patch(
    transform, image: np.ndarray, mask: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``transform`` (from :func:`build_augmentation`) with the random state ``seed``.

    ``image`` float (X, Y, Z), ``mask`` binary (X, Y, Z). Returns (float32 image, uint8 mask),
    both (X, Y, Z); identical outputs for identical seeds.
    """
    import torch

    transform.set_random_state(seed=int(seed) % (2**32))
    out = transform(
        {
            "image": torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None],
            "label": torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None],
        }
    )
    img = np.asarray(out["image"], dtype=np.float32)[0]
    lab = (np.asarray(out["label"], dtype=np.float32)[0] > 0.5).astype(np.uint8)
    return img, lab
