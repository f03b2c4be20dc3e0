#!/usr/bin/env bash
# Checks (a)-(c) of seed_systems.md §3.4 for circuits_toml/bandit_ach_na.toml (issue 5), one command:
#   scripts/bandit_acceptance.sh [BUILD_DIR] [TEST_SEEDS]
# 1. the fixed softmax baseline (bandit_softmax.toml) grid-searched (alpha x T) on seeds 101..120,
#    then the agent vs the best baseline on the test seeds 1..TEST_SEEDS (default 20), every seed
#    listed (bench/bench_step_agents.cpp "bandit");
# 2. the same for the authors' algorithm as written (member_rates = scaled, aleatoric = total,
#    change_reset = none, na_gain = 1), for comparison;
# 3. the agent's own figures on its tuning seeds 101..150 (where its hyper-parameters were
#    selected: scripts/bandit_tuning.sh).
# (b) measures, per change point, the mean over the 50 steps after it against the 50 steps before
# it of: the learning rate = ACh α_k of the arm pulled at each step (the rate that step's value
# update used); the temperature = the NA temperature the policy's softmax used.
# Run from anywhere; a few seconds on one core.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$SRC/build}"
N="${2:-20}"
BIN="$BUILD/bench_step_agents"
[[ -x "$BIN" ]] || { echo "no $BIN: cmake --build $BUILD --target bench_step_agents" >&2; exit 2; }
cd "$SRC"
echo "=== bandit_ach_na.toml vs the tuned fixed softmax, test seeds 1..$N"
"$BIN" bandit --test-seeds "$N"
echo
echo "=== the authors' algorithm as written (member_rates = scaled, no change reset), same seeds"
"$BIN" bandit --test-seeds "$N" --set rules.ach_na.member_rates=scaled --set rules.ach_na.na_gain=1 \
  --set rules.ach_na.aleatoric=total --set rules.ach_na.change_reset=none |
  sed -n '/^seed/,$p'
echo
echo "=== bandit_ach_na.toml on its tuning seeds 101..150"
"$BIN" bandit-tune-agent --test-seeds 50
