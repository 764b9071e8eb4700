from __future__ import annotations

import numpy as np
import torch

from mslesion.infer.uncertainty import flip_sets, lesion_confidence, mean_and_std


def test_flip_sets() -> None:
    assert flip_sets(False) == [()]
    assert flip_sets(True) == [(), (2,), (3,), (4,)]


def test_mean_and_std() -> None:
    a, b = torch.zeros(1, 1, 2, 2, 2), torch.ones(1, 1, 2, 2, 2)
    mean, std = mean_and_std([a, b])
    assert torch.allclose(mean, torch.full_like(a, 0.5)) and torch.allclose(
        std, torch.full_like(a, 0.5)
    )
    assert mean_and_std([a])[1] is None


def test_lesion_confidence() -> None:
    labels = np.zeros((4, 4, 4), dtype=np.int32)
    labels[0, 0, :2] = 1
    labels[3, 3, :] = 2
    std = np.zeros((4, 4, 4), dtype=np.float32)
    std[3, 3, :] = 0.25
    conf = lesion_confidence(labels, std, 2)
    np.testing.assert_allclose(conf, [1.0, 0.5])
    assert lesion_confidence(labels, std, 0).shape == (0,)
