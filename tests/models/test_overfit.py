"""A tiny model must be able to memorise one synthetic patch (a bug detector, not a benchmark)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mslesion.models import build_model

SIZE = 20


def blob_patch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, 1, 20, 20, 20) noisy FLAIR-like patch with two bright spheres, and their mask."""
    gen = torch.Generator().manual_seed(seed)
    grid = torch.stack(torch.meshgrid(*[torch.arange(SIZE)] * 3, indexing="ij")).float()
    mask = torch.zeros(SIZE, SIZE, SIZE)
    for centre, radius in [((6.7, 7.7, 10.0), 3.3), ((13.3, 12.4, 8.4), 2.5)]:
        c = torch.tensor(centre).view(3, 1, 1, 1)
        mask[((grid - c) ** 2).sum(0) <= radius**2] = 1.0
    image = 0.4 + 0.5 * mask + 0.08 * torch.randn(SIZE, SIZE, SIZE, generator=gen)
    return image[None, None], mask[None, None]


def dice(pred: torch.Tensor, truth: torch.Tensor) -> float:
    inter = (pred * truth).sum()
    return float(2 * inter / (pred.sum() + truth.sum()))


def test_tiny_r2attunet_overfits_one_patch() -> None:
    """The paper's model; the U-Nets share its gradient checks in test_registry.py."""
    torch.manual_seed(0)
    image, mask = blob_patch()
    assert 150 < mask.sum() < 400  # two real blobs, ~3% of the patch
    # Instance norm: with batch norm, one sample and weights moving fast, the running
    # statistics lag the weights and the eval-mode output lags the train-mode one.
    model = build_model("r2attunet", base_channels=4, depth=2, norm="instance")
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    # Lesion voxels are ~3%: up-weight them so BCE does not first collapse to "all background".
    pos_weight = torch.tensor(10.0)
    with torch.no_grad():
        before = dice((torch.sigmoid(model(image)) > 0.5).float(), mask)
    for _step in range(40):
        opt.zero_grad()
        logits = model(image)
        prob = torch.sigmoid(logits)
        soft_dice = 1 - (2 * (prob * mask).sum() + 1) / (prob.sum() + mask.sum() + 1)
        loss = F.binary_cross_entropy_with_logits(logits, mask, pos_weight=pos_weight)
        (loss + soft_dice).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        after = dice((torch.sigmoid(model(image)) > 0.5).float(), mask)
    assert before < 0.5
    assert after > 0.9
