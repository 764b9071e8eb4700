#!/usr/bin/env bash
# SynergyNet and its three baselines, fold by fold, scored the same way (issue #8, point 8).
#
#   scripts/synergy_compare.sh DATA RUNS N_FOLDS "FOLDS" [mslesion train options...]
#   e.g. scripts/synergy_compare.sh ../shared/data/real runs/cmp 4 "0 1 2 3" --synthetic 6
#
# For each fold K in FOLDS it trains `unet3d`, `maskrcnn3d` and `synergynet` with
# configs/synergynet.yaml (`--fold K/N_FOLDS`: whole patients held out), all at once (one
# process each: on a GPU they share the device), then combines the Ensemble baseline
# (U-Net + Mask R-CNN trained apart) per fold and scores the four methods on the held-out
# patients with `mslesion crossval` (RUNS/crossval/summary.md). Logs: RUNS/<model>-foldK.log.
# Set MSLESION to the command that runs mslesion (default: mslesion).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 DATA RUNS N_FOLDS \"FOLDS\" [train options...]" >&2
    exit 2
fi
data=$1 runs=$2 n_folds=$3 folds=$4
shift 4
cli=${MSLESION:-mslesion}
models="unet3d maskrcnn3d synergynet"
mkdir -p "$runs"
pids=()
for k in $folds; do
    for m in $models; do
        $cli train configs/synergynet.yaml --data "$data" --fold "$k/$n_folds" --model "$m" \
            --run-dir "$runs/$m/fold$k" "$@" >"$runs/$m-fold$k.log" 2>&1 &
        pids+=($!)
    done
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if [ $failed -ne 0 ]; then
    echo "a training failed: see $runs/*.log" >&2
    exit 1
fi
for k in $folds; do
    $cli models --ensemble "$runs/unet3d/fold$k" "$runs/maskrcnn3d/fold$k" \
        --output "$runs/ensemble/fold$k" --overwrite
done
$cli crossval "U-Net=$runs/unet3d" "Mask R-CNN=$runs/maskrcnn3d" "Ensemble=$runs/ensemble" \
    "SynergyNet=$runs/synergynet" --data "$data" -o "$runs/crossval" --overwrite \
    --threshold 0.5 --threshold 0.3
