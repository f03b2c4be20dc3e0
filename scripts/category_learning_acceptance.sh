#!/usr/bin/env bash
# Acceptance run of the corticostriatal category-learning circuit on the real Neuroblox stimuli:
# 400 trials for each seed, then the figures of issue "category learning" (accuracy over trials
# 100-400 and 1-20, the dopamine checks of neuroblox_models.md §5.4) per seed.
# Usage: bash scripts/category_learning_acceptance.sh [SEEDS...]   (default: 1..10)
# Env: JOBS (parallel runs, default 2), CSV (stimulus file, default ../shared/data/...),
#      OUT (output folder, default runs/acceptance), BIN (binary, default ./build/spikeblox).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("$@"); [[ ${#seeds[@]} -eq 0 ]] && seeds=(1 2 3 4 5 6 7 8 9 10)
CSV=${CSV:-$(realpath ../shared/data/neuroblox_stimuli_set.csv)}
OUT=${OUT:-runs/acceptance}
JOBS=${JOBS:-2}
BIN=${BIN:-./build/spikeblox}
mkdir -p "$OUT"
printf '%s\n' "${seeds[@]}" | xargs -P "$JOBS" -I{} sh -c \
  "$BIN run circuits_toml/category_learning.toml --seed {} --set blocks.stim.file=$CSV \
     --out $OUT/cl_real_{}.h5 --force --quiet --json > $OUT/cl_real_{}.json 2> $OUT/cl_real_{}.log"
/usr/bin/python3 analysis/acceptance_category.py "$OUT"/cl_real_*.h5
