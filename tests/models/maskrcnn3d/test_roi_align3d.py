"""ROIAlign3D against a direct crop and against SciPy trilinear interpolation."""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import map_coordinates

from mslesion.models.maskrcnn3d.roi_align3d import roi_align3d


def test_grid_aligned_box_is_a_direct_crop():
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(2, 3, 10, 11, 12, generator=gen)
    boxes = torch.tensor([[2.0, 3, 4, 5, 7, 6], [0, 0, 0, 10, 11, 12]])
    out = roi_align3d(features, boxes, torch.tensor([1, 0]), (3, 4, 2))
    assert out.shape == (2, 3, 3, 4, 2)
    assert torch.allclose(out[0], features[1, :, 2:5, 3:7, 4:6], atol=1e-5)
    full = roi_align3d(features, boxes[1:], torch.tensor([0]), (10, 11, 12))
    assert torch.allclose(full[0], features[0], atol=1e-5)


def test_off_grid_box_matches_trilinear_interpolation():
    rng = np.random.default_rng(1)
    volume = rng.normal(size=(9, 10, 11)).astype(np.float32)
    box = np.array([1.3, 2.1, 0.7, 6.9, 8.2, 9.4])
    size = (4, 5, 6)
    out = roi_align3d(
        torch.from_numpy(volume)[None, None],
        torch.tensor(box[None], dtype=torch.float32),
        torch.tensor([0]),
        size,
    )[0, 0].numpy()
    # cell centres in continuous coordinates; voxel i's centre is at i + 0.5 -> index i
    axes = [
        box[a] + (box[a + 3] - box[a]) * (np.arange(n) + 0.5) / n - 0.5 for a, n in enumerate(size)
    ]
    coords = np.stack(np.meshgrid(*axes, indexing="ij"))
    expected = map_coordinates(volume, coords.reshape(3, -1), order=1, mode="nearest").reshape(size)
    assert np.allclose(out, expected, atol=1e-4)


def test_half_resolution_map_uses_spatial_scale():
    fine = torch.arange(8.0).repeat_interleave(2)  # value i on image voxels 2i, 2i+1
    coarse = torch.arange(8.0)
    feat = coarse.reshape(1, 1, 8, 1, 1).expand(1, 1, 8, 2, 2).contiguous()
    box = torch.tensor([[4.0, 0, 0, 8, 2, 2]])  # image voxels 4..7 -> coarse voxels 2..3
    out = roi_align3d(feat, box, torch.tensor([0]), (2, 1, 1), spatial_scale=0.5)
    assert out.flatten().tolist() == fine[[4, 6]].tolist()


def test_empty_rois_and_gradient_flows_to_features():
    features = torch.randn(1, 2, 6, 6, 6, requires_grad=True)
    assert roi_align3d(
        features, torch.zeros(0, 6), torch.zeros(0, dtype=torch.long), (2, 2, 2)
    ).shape == (0, 2, 2, 2, 2)
    out = roi_align3d(features, torch.tensor([[1.0, 1, 1, 3, 3, 3]]), torch.tensor([0]), (2, 2, 2))
    out.sum().backward()
    assert features.grad is not None
    assert float(features.grad[:, :, 1:3, 1:3, 1:3].abs().sum()) > 0
    assert float(features.grad[:, :, 4:, :, :].abs().sum()) == 0
