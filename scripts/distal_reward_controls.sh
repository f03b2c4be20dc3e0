#!/usr/bin/env bash
# More non-contingent control seeds for the distal-reward acceptance (seed_systems.md §5.4 (c)),
# to see how often the chosen synapse of a control run ends above 1.0.
#
# Control protocol (the same as scripts/distal_reward_acceptance.sh): Poisson rewards at "the
# same mean rate" as the contingent runs, i.e. control seed 1000 + k gets the reward rate that
# contingent seed ((k - 1) mod N_CONT) + 1 actually received (its rewards / duration, read from
# $OUT/summary.txt written by distal_reward_acceptance.sh). Seeds 1001..1010 are therefore the
# acceptance script's own controls; runs already in $OUT/summary.txt or $OUT/controls_extra.txt
# are not repeated.
#
#   scripts/distal_reward_controls.sh [BUILD_DIR] [N_CONTROL] [DURATION_S]
#   (defaults: build, 20, 3600; OUT defaults to runs/distal_reward; N_CONT = 10)
#   DURATION_S must be the duration of the contingent runs in summary.txt (the rate is their
#   rewards / DURATION_S).
#
# Prints every control seed's paired rate, final weight of the chosen synapse and its percentile
# among all excitatory weights, and the count of seeds ending <= 1.0. Cost: ~2-3 min per run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
N=${2:-20}
DUR=${3:-3600}
OUT=${OUT:-runs/distal_reward}
N_CONT=${N_CONT:-10}
BIN="$BUILD/tests/plasticity/distal_reward_run"
[ -x "$BIN" ] || cmake --build "$BUILD" -j1 --target distal_reward_run
SUM="$OUT/summary.txt"
EXTRA="$OUT/controls_extra.txt"
[ -f "$SUM" ] || { echo "no $SUM: run scripts/distal_reward_acceptance.sh first" >&2; exit 2; }
touch "$EXTRA"
for k in $(seq 1 "$N"); do
  seed=$((1000 + k))
  if grep -q "^seed=$seed mode=control " "$SUM" "$EXTRA"; then continue; fi
  pair=$(( (k - 1) % N_CONT + 1 ))
  rew=$(awk -v s="$pair" '$1 == "seed="s && $2 == "mode=contingent" { split($7, a, "="); print a[2] }' "$SUM")
  [ -n "$rew" ] || { echo "no contingent seed $pair in $SUM" >&2; exit 2; }
  rate=$(awk -v r="$rew" -v d="$DUR" 'BEGIN { printf "%.6f", r / d }')
  "$BIN" --seed "$seed" --duration "$DUR" --control "$rate" --samples "$OUT/control_$k.csv" \
    | sed "s/\$/ paired_with=$pair control_rate_hz=$rate/" | tee -a "$EXTRA"
done
echo "== control seeds 1001..$((1000 + N)) (final weight of the chosen synapse, percentile among excitatory weights) =="
cat "$SUM" "$EXTRA" | awk -v n="$N" '
  function val(f,   a) { split(f, a, "="); return a[2] }
  $1 ~ /^seed=/ && $2 == "mode=control" {
    s = val($1) + 0; if (s < 1001 || s > 1000 + n || seen[s]++) next;
    w[s] = val($10); pct[s] = val($11); rew[s] = val($7); n2e[s] = val($4)
  }
  END {
    m = 0; ok = 0;
    for (s = 1001; s <= 1000 + n; s++) {
      if (!(s in w)) { printf "seed %d: missing\n", s; continue }
      m++; if (w[s] <= 1.0) ok++;
      printf "seed %d: rewards %4d  n2_exc %d  w_final %.3f  percentile %.2f%s\n", s, rew[s], n2e[s], w[s], pct[s], (w[s] <= 1.0 ? "" : "  > 1.0");
    }
    printf "%d/%d control seeds end with the chosen synapse <= 1.0\n", ok, m
  }'
# The final weight is one sample of a wandering weight: also give, per control run, its maximum and
# the fraction of the second half-hour it spends above 1.0 (from the 100-ms samples).
/usr/bin/python3 - "$OUT" "$N" <<'PY'
import sys
import numpy as np
out, n = sys.argv[1], int(sys.argv[2])
fr = []
for k in range(1, n + 1):
    try:
        a = np.loadtxt(f"{out}/control_{k}.csv", delimiter=",", skiprows=1)
    except OSError:
        continue
    t, w = a[:, 0], a[:, 1]
    late = w[t >= t[-1] / 2]
    fr.append(np.mean(late > 1.0))
    print(f"seed {1000 + k}: max w {w.max():.2f}, fraction of the second half above 1.0: {fr[-1]:.3f}")
if fr:
    p = 1.0 - float(np.mean(fr))
    from math import comb
    need = int(np.ceil(0.9 * len(fr)))
    print(f"mean fraction above 1.0: {1 - p:.3f}; if every seed ended <= 1.0 with probability {p:.3f}, "
          f"P(>= {need}/{len(fr)} seeds <= 1.0) = "
          f"{sum(comb(len(fr), j) * p**j * (1 - p)**(len(fr) - j) for j in range(need, len(fr) + 1)):.3f}")
PY
