"""One torch thread for these tiny-volume tests: on a shared 2-core machine, thread contention
made small 3D convolutions ~10x slower with the default thread count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
