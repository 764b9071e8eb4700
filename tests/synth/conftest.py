"""Small (3 mm) synthetic cases shared by the synth tests."""

from __future__ import annotations

import pytest
from synth_configs import CLEAN, SMALL

from mslesion.synth import SynthCase, generate_case


@pytest.fixture(scope="session")
def small_case() -> SynthCase:
    return generate_case(7, SMALL)


@pytest.fixture(scope="session")
def clean_cases() -> list[SynthCase]:
    return [generate_case(seed, CLEAN) for seed in (1, 2)]
