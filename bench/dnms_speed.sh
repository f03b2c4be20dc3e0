#!/usr/bin/env bash
# Speed of the DNMS experiment (circuits_toml/dnms_rnn.toml): trials per second of the 200-unit
# rate RNN with Miconi's rule, learning active on every trial (learn_after = 0, so the eligibility
# is accumulated and the weights change every trial), one /trials row flushed per trial.
# Reports the runner's loop rate (wall clock) and the CPU-time rate (user + sys of the process),
# which is the meaningful figure on a loaded machine.
# Usage: bench/dnms_speed.sh [BUILD_DIR] [TRIALS] [METHOD]   (defaults: build 500 deltax)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build} TRIALS=${2:-500} METHOD=${3:-deltax}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
/usr/bin/time -f "%U %S" -o "$OUT/time" "$BUILD/spikeblox" run circuits_toml/dnms_rnn.toml \
  --set experiment.n_trials="$TRIALS" --set rules.miconi.learn_after=0 \
  --set rules.miconi.method="$METHOD" -o "$OUT/run.h5" --force --json -q > "$OUT/json"
/usr/bin/python3 - "$OUT" "$TRIALS" "$METHOD" <<'PY'
import json, sys
out, trials, method = sys.argv[1], int(sys.argv[2]), sys.argv[3]
j = json.load(open(f"{out}/json"))
u, s = map(float, open(f"{out}/time").read().split())
print(f"dnms_rnn.toml ({method}, {trials} trials, learning every trial): "
      f"{j['trials_per_s']:.1f} trials/s wall (loop {j['loop_s']:.2f} s), "
      f"{trials / (u + s):.1f} trials/s CPU (user {u:.2f} s + sys {s:.2f} s), "
      f"{1000 * (u + s) / trials:.2f} ms CPU per trial of 1000 steps")
PY
