#!/usr/bin/env bash
# Train every leave-one-patient-out fold of a config: scripts/lopo_train.sh CONFIG RUN_ROOT [DATA] [extra train args...]
# Fold K of `--fold K/4` holds out one of the 4 real patients (see `mslesion train --help`).
# Folds whose run folder already has last.pt from a finished run are resumed (a no-op when done).
set -euo pipefail
config=$1; root=$2; data=${3:-../shared/data/real}; shift $(( $# < 3 ? $# : 3 ))
folds=${FOLDS:-4}
for ((k = 0; k < folds; k++)); do
    run="$root/fold$k"
    resume=()
    [[ -f "$run/last.pt" ]] && resume=(--resume)
    mslesion train "$config" --data "$data" --fold "$k/$folds" --run-dir "$run" "${resume[@]}" "$@"
done
