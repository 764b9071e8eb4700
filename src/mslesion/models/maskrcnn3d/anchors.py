"""3D anchors on one feature map (the RPN runs on the finest decoder map d1, stride 1).

Anchor shapes are ``size x aspect ratio``: a ratio ``r`` elongates the box along the last
array axis (Z, usually the slice axis, where FLAIR lesions are most often stretched) while
shrinking the other two so the volume stays ``size**3``; see :func:`anchors_for_shape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AnchorConfig:
    """Anchor sizes (edge in voxels of the cube with the same volume) and aspect ratios.

    Defaults cover the boxes of lesions below 1500 voxels (edges ~2 to ~16 voxels).
    """

    sizes: tuple[float, ...] = (3.0, 6.0, 10.0)
    ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    stride: int = 1

    @property
    def num_anchors(self) -> int:
        """Anchors per feature-map position."""
        return len(self.sizes) * len(self.ratios)


def anchor_shapes(config: AnchorConfig) -> list[tuple[float, float, float]]:
    """The (edge0, edge1, edge2) of each anchor at one position, sizes outer, ratios inner."""
    shapes = []
    for size in config.sizes:
        for ratio in config.ratios:
            side = size / ratio ** (1.0 / 3.0)
            shapes.append((side, side, side * ratio))
    return shapes


def anchors_for_shape(
    feature_shape: Sequence[int],
    config: AnchorConfig = AnchorConfig(),
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """All anchors of a feature map of spatial ``feature_shape``: (X*Y*Z*A, 6) corner boxes.

    Row order is position-major (C order over (X, Y, Z)), anchor-minor: the order of an
    RPN output of shape (B, A, X, Y, Z) permuted to (B, X, Y, Z, A) and flattened (the same
    layout as MONAI's anchor generator). Anchor centres sit at voxel centres
    ``(i + 0.5) * stride``, in voxels of the input image.

    Hand-written (a meshgrid) rather than MONAI's ``AnchorGeneratorWithAnchorShape`` because
    that one centres anchors on voxel corners and rounds half-edges to integers, turning a
    3-voxel anchor into a 4-voxel one: too coarse for lesions of a few voxels.
    """
    stride = float(config.stride)
    axes = [
        (torch.arange(int(n), device=device, dtype=torch.float32) + 0.5) * stride
        for n in feature_shape
    ]
    centres = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 1, 3)
    half = (
        torch.tensor(anchor_shapes(config), device=device, dtype=torch.float32).reshape(1, -1, 3)
        / 2
    )
    return torch.cat([centres - half, centres + half], dim=-1).reshape(-1, 6)
