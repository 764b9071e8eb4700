#!/usr/bin/env bash
# Sim-to-real measure of the synthetic-data generator: train unet3d-small on synthetic volumes
# only (configs/synthonly_unet3d_small_gpu.yaml), one or more generator versions side by side,
# then score every model on real scans it has never seen (docs/results/sim2real/).
#
#   scripts/sim2real.sh train OUT N_CASES "SEEDS" NAME=SRC [NAME=SRC ...] [-- TRAIN_ARGS...]
#       For each NAME, `mslesion synth OUT/syn_NAME --n N_CASES --seed 0` with the package in
#       SRC (a `src` folder: this checkout's, or an old commit's `git archive ... src/mslesion`,
#       each with its own template cache), then one run per training seed in SEEDS, all side by
#       side (OUT/runs/NAME/seedS), then an fp16 export of each run (last16.pt).
#   scripts/sim2real.sh score OUT REAL_DATA [MIN_LESION_MM3]
#       Segments REAL_DATA with every OUT/runs/*/seed*/last16.pt and scores it with
#       `mslesion evaluate` (OUT/runs/NAME/seedS/eval/metrics.csv).
#
# PYTHON (default python3) runs the package; WORKERS (default 5) processes synthesise per NAME.
set -euo pipefail
mode=$1
out=$2
py=${PYTHON:-python3}

if [ "$mode" = train ]; then
  n=$3
  seeds=$4
  shift 4
  gens=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do gens+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  config=configs/synthonly_unet3d_small_gpu.yaml
  mkdir -p "$out"
  workers=${WORKERS:-5}
  per=$(( (n + workers - 1) / workers ))
  for g in "${gens[@]}"; do
    name=${g%%=*}
    src=$(cd "${g#*=}" && pwd)
    # Each generator reads its own source tree and keeps its own template cache (HOME), so an
    # old version never prunes or reads a newer one's cache. Separate processes rather than
    # `synth --workers`: old versions' forked workers can hang in torch after a fork.
    for ((k = 0; k < workers; k++)); do
      first=$(( k * per ))
      count=$(( n - first < per ? n - first : per ))
      [ "$count" -gt 0 ] || continue
      PYTHONPATH=$src${PYTHONPATH:+:$PYTHONPATH} HOME=$out/home_$name \
        $py -m mslesion synth "$out/parts_$name/$first" --n "$count" --seed "$first" \
        > "$out/synth_${name}_$first.log" 2>&1 &
    done
  done
  wait
  # One folder per generator, case<i> drawn from seed i-1, as a single `synth --n N` names them.
  for g in "${gens[@]}"; do
    name=${g%%=*}
    mkdir -p "$out/syn_$name"
    for part in "$out/parts_$name"/*/; do
      first=$(basename "$part")
      for f in "$part"case*.nii.gz; do
        base=$(basename "$f")
        index=$(( 10#${base:4:3} + first ))
        mv "$f" "$out/syn_$name/$(printf 'case%03d' "$index")${base:7}"
      done
    done
    awk -F, -v OFS=, 'FNR == 1 { if (NR == 1) print; next } { $1 = sprintf("case%03d", $2 + 1); print }' \
      "$out/parts_$name"/*/lesions.csv > "$out/syn_$name/lesions.csv"
  done
  for g in "${gens[@]}"; do
    name=${g%%=*}
    $py -m mslesion train $config --data "$out/syn_$name" --prepare-only \
      --workers "$workers" --set data.cache_dir="$out/cache" > "$out/prepare_$name.log" 2>&1 &
  done
  wait
  for g in "${gens[@]}"; do
    name=${g%%=*}
    for s in $seeds; do
      run=$out/runs/$name/seed$s
      mkdir -p "$run"
      $py -m mslesion train $config --data "$out/syn_$name" --run-dir "$run" --set seed="$s" \
        --set data.cache_dir="$out/cache" "$@" > "$run.log" 2>&1 &
    done
  done
  wait
  for run in "$out"/runs/*/seed*/; do
    $py -m mslesion models --export "$run/last.pt" --output "$run/last16.pt" > /dev/null &
  done
  wait
elif [ "$mode" = score ]; then
  real=$3
  min_size=${4:-3}
  for ckpt in "$out"/runs/*/seed*/last16.pt; do
    run=$(dirname "$ckpt")
    $py -m mslesion segment "$real" -m "$ckpt" -o "$run/pred" --min-lesion-size "$min_size" \
      --overwrite > "$run/segment.log" 2>&1
    $py -m mslesion evaluate "$run/pred" "$real" --probabilities "$run/pred" \
      -o "$run/eval/metrics.csv" --overwrite --no-surface > "$run/evaluate.log" 2>&1
  done
else
  echo "usage: scripts/sim2real.sh train|score OUT ..." >&2
  exit 2
fi
