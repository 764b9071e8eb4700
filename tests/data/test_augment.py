"""MONAI augmentation: seeded, paired image/mask, mask kept binary."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mslesion.data.augment import AugmentConfig, augment_patch, build_augmentation


def _patch() -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(0)
    image = gen.uniform(0.2, 0.5, (16, 16, 16)).astype(np.float32)
    mask = np.zeros((16, 16, 16), dtype=np.uint8)
    mask[3:7, 4:9, 2:6] = 1
    image[mask > 0] = 0.95
    return image, mask


ALWAYS = AugmentConfig(
    rotate_prob=1.0,
    flip_prob=1.0,
    elastic_prob=1.0,
    gamma_prob=1.0,
    bias_prob=1.0,
    noise_prob=1.0,
    contrast_prob=1.0,
    elastic_sigma=(2.0, 3.0),
    elastic_magnitude=(1.0, 2.0),
)


def test_same_seed_same_result_other_seed_other_result() -> None:
    image, mask = _patch()
    t = build_augmentation(ALWAYS)
    a_img, a_mask = augment_patch(t, image, mask, seed=7)
    b_img, b_mask = augment_patch(t, image, mask, seed=7)
    c_img, _ = augment_patch(t, image, mask, seed=8)
    np.testing.assert_array_equal(a_img, b_img)
    np.testing.assert_array_equal(a_mask, b_mask)
    assert not np.array_equal(a_img, c_img)
    assert not np.array_equal(a_img, image)


def test_mask_stays_binary_and_follows_the_image() -> None:
    image, mask = _patch()
    spatial_only = replace(ALWAYS, gamma_prob=0, bias_prob=0, noise_prob=0, contrast_prob=0)
    out_img, out_mask = augment_patch(build_augmentation(spatial_only), image, mask, seed=3)
    assert out_img.shape == out_mask.shape == (16, 16, 16)
    assert set(np.unique(out_mask)) <= {0, 1} and out_mask.sum() > 0
    # Same geometric transform on both: lesion voxels stay the bright ones.
    assert out_img[out_mask > 0].mean() > out_img[(out_mask == 0) & (out_img > 0)].mean() + 0.2


def test_zero_probabilities_leave_the_patch_unchanged() -> None:
    image, mask = _patch()
    never = AugmentConfig(
        rotate_prob=0,
        flip_prob=0,
        elastic_prob=0,
        gamma_prob=0,
        bias_prob=0,
        noise_prob=0,
        contrast_prob=0,
    )
    out_img, out_mask = augment_patch(build_augmentation(never), image, mask, seed=1)
    np.testing.assert_allclose(out_img, image)
    np.testing.assert_array_equal(out_mask, mask)
