#!/usr/bin/env bash
# How the hyper-parameters of circuits_toml/bandit_ach_na.toml were selected: tuning seeds 101..150
# only (bench_step_agents bandit-tune-agent), never the test seeds 1..20 of
# scripts/bandit_acceptance.sh. Prints, per setting, the mean regret, the share of change points
# where the learning rate / temperature rose >= 2x (check (b)) and the first step after a change
# at which P(best arm) (25-step mean) reaches 0.8 (check (c); -1 = never).
#   scripts/bandit_tuning.sh [BUILD_DIR]
# 1. ablations: each addition of the shipped variant switched off in turn;
# 2. the grid ensemble_rate x reset_sd x na_gain (shift_memory 20, shift_threshold 1) the shipped
#    values were picked from (criterion: (b) and (c) met on the tuning seeds with the lowest regret
#    and margin; the landscape is flat and (c) sits at its 0.8 edge throughout).
# About a minute on one core.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$SRC/build}"
BIN="$BUILD/bench_step_agents"
[[ -x "$BIN" ]] || { echo "no $BIN: cmake --build $BUILD --target bench_step_agents" >&2; exit 2; }
cd "$SRC"
R=rules.ach_na
run() { "$BIN" bandit-tune-agent --test-seeds 50 "$@" | tail -2 | tr -s ' \n' ' '; echo; }
echo "=== shipped"; run
echo "=== ablations (one change each)"
for s in "$R.change_reset=none" "$R.change_reset=arm" "$R.shift_mean=arithmetic" \
  "$R.reset_prior=mean" "$R.aleatoric=total" "$R.member_rates=fixed" "$R.shift_memory=10"; do
  run --set "$s"
done
echo "=== the previous shipped variant (session 3): fixed rates 0.6, na_gain 3, no reset"
run --set $R.member_rates=fixed --set $R.ensemble_rate=0.6 --set $R.na_gain=3 \
  --set $R.aleatoric=total --set $R.change_reset=none
echo "=== grid"
for er in 0.03 0.05 0.1 0.15; do
  for sd in 1 1.5 2; do
    for g in 0.4 0.6 0.8 1; do
      run --set $R.ensemble_rate=$er --set $R.reset_sd=$sd --set $R.na_gain=$g
    done
  done
done
