#!/usr/bin/env bash
# Dopamine pattern of the category-learning circuit (issue "category learning", check 2;
# neuroblox_models.md §5.4) for the tutorial circuit and for a variant whose associative cortex has
# the paper-scale model's PFC size (20 WTA x 5 cells) and PFC->striatum weight (0.03, §5.2).
# Prints per seed: accuracy, DA check 1 (trials 1-20: DA trace in {1,2} except <= 5 trials),
# DA check 2 (trials 40-100: more than 40 trials below the ceiling), and the mean striosome sum S
# that sets the SNc value (DA = min(1, 1/(0.33 S))).
# Usage: bash scripts/category_dopamine_study.sh [SEEDS...]   (default 1..10; JOBS=2, TRIALS=100)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("$@"); [[ ${#seeds[@]} -eq 0 ]] && seeds=(1 2 3 4 5 6 7 8 9 10)
CSV=${CSV:-$(realpath ../shared/data/neuroblox_stimuli_set.csv)}
OUT=${OUT:-runs/dopamine_study}
JOBS=${JOBS:-2}
TRIALS=${TRIALS:-100}
mkdir -p "$OUT"
run() {  # run VARIANT SEED extra-args...
  local v=$1 s=$2; shift 2
  ./build/spikeblox run circuits_toml/category_learning.toml --seed "$s" \
    --set blocks.stim.file="$CSV" --set experiment.n_trials="$TRIALS" "$@" \
    --out "$OUT/${v}_$s.h5" --force --quiet > /dev/null 2> "$OUT/${v}_$s.log"
}
export -f run; export CSV OUT TRIALS
for s in "${seeds[@]}"; do
  echo "run tutorial $s"
  echo "run ac20 $s --set blocks.AC.n_wta=20 --set connections[3].weight=0.03"
done | xargs -P "$JOBS" -I{} bash -c '{}'
/usr/bin/python3 - "$OUT" "${seeds[@]}" <<'PY'
import sys, h5py, numpy as np
out, seeds = sys.argv[1], sys.argv[2:]
for v in ["tutorial", "ac20"]:
    print(f"== {v} ==")
    print("seed  acc(1-20) acc(all)  DA1-exceptions(<=5)  DA2-below(>40)  mean S 1-20  mean S 40-100")
    ok1 = ok2 = 0
    for s in seeds:
        t = h5py.File(f"{out}/{v}_{s}.h5", "r")["trials"][:]
        R = t["dopamine"] - t["reward"]                  # SNc value R_
        S = t["striosome_1"] + t["striosome_2"]          # block-1 striosome sum seen by the SNc
        ex1 = int(np.sum(np.abs(R[:20] - 1.0) > 1e-9))
        b2 = int(np.sum(R[39:100] < 1.0 - 1e-9))
        ok1 += ex1 <= 5; ok2 += b2 > 40
        print(f"{s:>4}  {t['correct'][:20].mean():9.2f} {t['correct'].mean():9.3f}  {ex1:19d}  {b2:14d}"
              f"  {S[:20].mean():11.2f}  {S[39:100].mean():13.2f}")
    print(f"check 1 met in {ok1}/{len(seeds)} seeds, check 2 in {ok2}/{len(seeds)} seeds")
PY
