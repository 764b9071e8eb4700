"""U-Net vs Mask R-CNN alone vs Ensemble vs SynergyNet on synthetic data rich in small lesions.

Trains tiny versions of the models on a few ``mslesion.synth`` cases (``lesion_load="high"``,
coarse voxels so it runs on a CPU), each for the same number of optimisation steps, and prints
a Markdown table of the paper's metrics on held-out cases: DSC, voxel AP, lesion TPR / FPR,
voxel sensitivity, and lesion TPR of the small lesions (truth box < 1500 voxels at 1 mm, i.e.
1500 / voxel_size**3 voxels here). A small CPU run shows the pipeline works end to end; it is
no evidence about the full-size models, which need a GPU and the paper's 200 epochs.

    .venv/bin/python benchmarks/synergynet_compare.py --steps 30
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mslesion.metrics.detection import voxel_average_precision
from mslesion.metrics.lesion import LesionConfig, lesion_metrics
from mslesion.metrics.voxel import voxel_metrics
from mslesion.models.synergynet import ensemble_from_members
from mslesion.preprocess.intensity import zscore_normalize
from mslesion.synth import SynthConfig, generate_case
from mslesion.train.synergy import SynergyTrainConfig, TrainingVolume, train_on_volumes


def make_volumes(seeds: range, voxel_size: float) -> tuple[list[TrainingVolume], list[np.ndarray]]:
    volumes, brains = [], []
    for seed in seeds:
        case = generate_case(seed, SynthConfig(voxel_size_mm=voxel_size, lesion_load="high"))
        image, _ = zscore_normalize(case.flair, case.brain_mask > 0)
        volumes.append(TrainingVolume(f"synth{seed:03d}", image, case.lesion_mask))
        brains.append(case.brain_mask > 0)
    return volumes, brains


def stage_epochs(name: str, epochs: int) -> tuple[int, int, int, int]:
    """Split ``epochs`` like the paper's 30/30/40/100 (Mask R-CNN alone: 30/30/40 only)."""
    if name == "maskrcnn3d":
        shares = np.array([30, 30, 40, 0]) / 100
    else:
        shares = np.array([30, 30, 40, 100]) / 200
    split = np.maximum(
        np.round(shares * epochs), [1, 1, 1, 0 if name == "maskrcnn3d" else 1]
    ).astype(int)
    return tuple(int(v) for v in split)  # type: ignore[return-value]


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    volumes: list[TrainingVolume],
    brains: list[np.ndarray],
    voxel_size: float,
) -> dict[str, float]:
    spacing = (voxel_size,) * 3
    small = int(round(1500 / voxel_size**3))
    rows = []
    for vol, brain in zip(volumes, brains, strict=True):
        prob = torch.sigmoid(model.eval()(torch.from_numpy(vol.image)[None, None])).numpy()[0, 0]
        pred = (prob > 0.5).astype(np.uint8)
        vox = voxel_metrics(pred, vol.mask, brain, spacing, surface=False)
        les = lesion_metrics(pred, vol.mask, spacing, LesionConfig(small_box_voxels=small))
        rows.append(
            {
                "DSC": vox["dice"],
                "AP": voxel_average_precision(prob, vol.mask, brain),
                "LTPR": les["lesion_tpr"],
                "LFPR": les["lesion_fpr"],
                "Sn": vox["sensitivity"],
                "LTPR<1500": les["lesion_tpr_small"],
            }
        )
    return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--voxel-size", type=float, default=3.0, help="mm; 3.0 gives 61x73x61 volumes"
    )
    parser.add_argument("--n-train", type=int, default=2)
    parser.add_argument("--n-test", type=int, default=2)
    parser.add_argument(
        "--epochs", type=int, default=8, help="epochs per model, split 30/30/40/100"
    )
    parser.add_argument("--iterations", type=int, default=2, help="steps per epoch")
    parser.add_argument("--crop", type=int, default=24, help="training crop edge (voxels)")
    parser.add_argument("--base-channels", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    train, _ = make_volumes(range(args.seed, args.seed + args.n_train), args.voxel_size)
    test, test_brains = make_volumes(
        range(1000 + args.seed, 1000 + args.seed + args.n_test), args.voxel_size
    )
    print(
        f"data: {args.n_train} train / {args.n_test} test synthetic cases "
        f"{test[0].image.shape} at {args.voxel_size} mm ({time.perf_counter() - t0:.0f} s)"
    )
    small_voxels = 1500 / args.voxel_size**3
    common = {"base_channels": args.base_channels, "depth": 3, "norm": "instance"}
    detection = {
        **common,
        "max_box_volume": small_voxels,
        "anchor_sizes": (2.0, 5.0),
        "anchor_ratios": (1.0,),
    }
    kwargs = {"unet3d": common, "maskrcnn3d": detection, "synergynet": detection}

    trained, seconds = {}, {}
    for name in ("unet3d", "maskrcnn3d", "synergynet"):
        config = SynergyTrainConfig(
            model=name,
            model_kwargs=kwargs[name],
            crop_size=(args.crop,) * 3,
            jitter=4,
            stage_epochs=stage_epochs(name, args.epochs),
            iterations_per_epoch=args.iterations,
            seed=args.seed,
            device="cpu",
        )
        start = time.perf_counter()
        trained[name], _ = train_on_volumes(config, train, [])
        seconds[name] = time.perf_counter() - start
        print(f"trained {name}: {args.iterations} steps/epoch in {seconds[name]:.0f} s")
    trained["ensemble-unet-maskrcnn"] = ensemble_from_members(
        trained["unet3d"], trained["maskrcnn3d"]
    )
    seconds["ensemble-unet-maskrcnn"] = seconds["unet3d"] + seconds["maskrcnn3d"]

    labels = {
        "unet3d": "U-Net",
        "maskrcnn3d": "Mask R-CNN alone",
        "ensemble-unet-maskrcnn": "Ensemble",
        "synergynet": "SynergyNet",
    }
    keys = ["DSC", "AP", "LTPR", "LFPR", "Sn", "LTPR<1500"]
    print("\n| model | " + " | ".join(keys) + " | train s |")
    print("|---|" + "---|" * (len(keys) + 1))
    for name, label in labels.items():
        scores = evaluate(trained[name], test, test_brains, args.voxel_size)
        print(
            f"| {label} | "
            + " | ".join(f"{scores[k]:.3f}" for k in keys)
            + f" | {seconds[name]:.0f} |"
        )
    print(f"\ntotal {time.perf_counter() - t0:.0f} s on {args.threads} thread(s)")


if __name__ == "__main__":
    main()
