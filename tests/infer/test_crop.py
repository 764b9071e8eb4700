from __future__ import annotations

import numpy as np

from mslesion.infer.crop import brain_box


def test_brain_box_margin_and_clipping() -> None:
    mask = np.zeros((20, 20, 20), dtype=bool)
    mask[5:8, 10:12, 0:3] = True
    box = brain_box(mask, margin=2)
    assert box == (slice(3, 10), slice(8, 14), slice(0, 5))
    assert brain_box(np.zeros((4, 4, 4), bool), 2) == (slice(0, 4),) * 3
    # one margin per axis (the synthesiser pads Z further for its slice-thickness blur)
    assert brain_box(mask, margin=(1, 0, 4)) == (slice(4, 9), slice(10, 12), slice(0, 7))


def test_brain_box_grows_narrow_axes_to_min_size_then_clips() -> None:
    mask = np.zeros((20, 20, 20), dtype=np.uint8)
    mask[9:11, 2:4, 5:15] = 1
    box = brain_box(mask, margin=1, min_size=(8, 8, 8))
    # x: 8..12 grown to 8 wide around it; y: 1..5 grown to 8 then clipped at 0; z: already wide
    assert box == (slice(6, 14), slice(0, 7), slice(4, 16))


def test_brain_box_is_the_bounding_box_of_any_nonzero_voxel() -> None:
    from scipy import ndimage

    rng = np.random.default_rng(0)
    for dtype in (bool, np.uint8, np.float32):
        for _ in range(5):
            volume = np.zeros((9, 11, 7), dtype)
            at = tuple(rng.integers(0, s, size=3) for s in volume.shape)
            volume[at] = 1
            expected = ndimage.find_objects((volume != 0).astype(np.uint8))[0]
            assert brain_box(volume, margin=0) == expected
    odd = np.zeros((5, 5, 5), np.float32)
    odd[1, 2, 3], odd[3, 0, 4] = np.nan, -2.0  # NaN and negatives count as non-zero
    assert brain_box(odd, margin=0) == (slice(1, 4), slice(0, 3), slice(3, 5))
