"""The memmap cache: built once, keyed by files and settings, float16 on disk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mslesion.data.cache import cache_key, cached_arrays


def test_cache_builds_once_and_returns_float16_memmaps(tmp_path: Path) -> None:
    calls = []
    image = np.linspace(0, 1, 4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    mask = (image > 0.5).astype(np.uint8)

    def build() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"image": image, "mask": mask}

    first = cached_arrays(tmp_path, "k1", build)
    second = cached_arrays(tmp_path, "k1", build)
    assert len(calls) == 1
    assert isinstance(second["image"], np.memmap) and second["image"].dtype == np.float16
    assert second["mask"].dtype == np.uint8
    np.testing.assert_allclose(second["image"], image, atol=1e-3)
    np.testing.assert_array_equal(first["mask"], mask)


def test_unfinished_entry_is_rebuilt(tmp_path: Path) -> None:
    (tmp_path / "k2").mkdir()
    (tmp_path / "k2" / "image.npy").write_bytes(b"half-written")
    out = cached_arrays(tmp_path, "k2", lambda: {"image": np.ones((2, 2, 2), np.float32)})
    assert float(out["image"].sum()) == 8.0


def test_key_changes_with_settings_and_file_content(tmp_path: Path) -> None:
    f = tmp_path / "a.nii.gz"
    f.write_bytes(b"abc")
    k1 = cache_key([f], {"normalization": "minmax"})
    assert k1 == cache_key([f], {"normalization": "minmax"})
    assert k1 != cache_key([f], {"normalization": "zscore"})
    f.write_bytes(b"abcd")
    os.utime(f, ns=(1, 1))
    assert k1 != cache_key([f], {"normalization": "minmax"})
