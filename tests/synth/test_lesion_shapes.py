"""Shapes of the procedural lesions on the undeformed 1 mm template."""

from __future__ import annotations

import numpy as np

from mslesion.synth.anatomy import mni_template
from mslesion.synth.fields import random_sampling_grid
from mslesion.synth.lesions import LesionCanvas, PlacementContext, _paint_band, allowed_region


def _undeformed_context() -> PlacementContext:
    tpl = mni_template(1.0)
    rng = np.random.default_rng(0)
    identity = random_sampling_grid(tpl.shape, 1.0, rng, np.zeros(3, np.float32), enabled=False)
    return PlacementContext(allowed_region(tpl.gm, tpl.wm, tpl.csf), identity, tpl, 1.0)


def test_confluent_bands_taper_and_reach_out_instead_of_an_even_crescent() -> None:
    ctx = _undeformed_context()
    vent = ctx.template.vent_dist
    # band centres: allowed WM 2-3 mm from the left lateral ventricle's body
    wall = np.argwhere(ctx.allowed & (vent > 2) & (vent < 3))
    wall = wall[wall[:, 0] > 95]  # one hemisphere (x index > 90: left)
    inner_depth, outer_depth, reach = [], [], []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        centre = wall[rng.integers(len(wall))].astype(np.float32)
        canvas = LesionCanvas.empty(ctx.allowed.shape)
        _paint_band(ctx, canvas, centre, rng)
        band = np.argwhere(canvas.alpha > 0)
        assert len(band) > 100, "a confluent band is large"
        assert ctx.allowed[tuple(band.T)].all()  # only where lesions may be
        depth = vent[tuple(band.T)]  # mm from the ventricle wall
        off_centre = np.sqrt(((band - centre) ** 2).sum(1))
        inner_depth.append(depth[off_centre < 0.4 * off_centre.max()].mean())
        outer_depth.append(depth[off_centre > 0.75 * off_centre.max()].mean())
        reach.append(np.percentile(depth, 99) / np.median(depth))
    # thicker in its middle than at its ends (an even band would give about the same depth)
    assert np.median(inner_depth) > 1.3 * np.median(outer_depth)
    # fingers and lumps reach well beyond the band's typical depth
    assert np.median(reach) > 2.0
