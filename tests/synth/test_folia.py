"""The cerebellum's folia (fissures and WM laminae) in the template."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mslesion.synth.anatomy import _infratentorial_region, mni_template
from mslesion.synth.folia import _laminae, cerebellum_region


def test_template_cerebellum_has_folia_and_more_cortical_sulci() -> None:
    tpl = mni_template(1.0)
    infra = _infratentorial_region(tpl.shape, tpl.affine)
    cerebellum = cerebellum_region(tpl.shape, tpl.affine) & infra & (tpl.gm > 0.5)
    # before the folia the cerebellum had no sulcal lines at all
    assert (tpl.sulci[cerebellum] > 0.3).mean() > 0.05
    # the midline sagittal slab is not one dark sulcal sheet (the fissure is attenuated)
    assert tpl.sulci[89:92].mean() < 0.5 * tpl.sulci[60:63].mean() + 0.05


def test_laminae_run_midway_between_fissures_thicker_for_branches_and_stop_below_surface() -> None:
    # a flat stack of folia along axis 1: fissures at integer phases, 4 mm apart
    shape = (4, 80, 12)
    phase = np.broadcast_to((np.arange(80, dtype=np.float32) / 4.0)[None, :, None], shape)
    mm_per_phase = np.full(shape, 4.0, np.float32)
    depth = np.broadcast_to(np.arange(12, dtype=np.float32)[None, None, :], shape)  # mm
    core = _laminae(phase, mm_per_phase, depth, np.random.default_rng(0))
    deep = core[0, :, 10]  # 10 mm below the surface
    assert deep[2::4].min() > 0.9  # the core midway between two fissures
    assert deep[0::4].max() < 0.2  # (a branch may touch them)
    widths = (core[0, :, 10].reshape(20, 4) > 0.5).sum(1)  # voxels per folium
    assert widths.min() == 1 and widths.max() >= 3  # thin cores and a lobule's branches
    assert core[..., :2].max() == 0.0  # the cortex under the surface stays GM
    # in the template the cerebellar cortex 4-8 mm deep was mostly GM before the laminae
    tpl = mni_template(1.0)
    cerebellum = cerebellum_region(tpl.shape, tpl.affine)
    cerebellum &= _infratentorial_region(tpl.shape, tpl.affine)
    outer = ndimage.distance_transform_edt(cerebellum & ((tpl.gm + tpl.wm) > 0.5))
    assert (tpl.wm[(outer > 4) & (outer < 8)] > 0.5).mean() > 0.4  # (0.28 before)
