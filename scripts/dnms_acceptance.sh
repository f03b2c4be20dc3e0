#!/usr/bin/env bash
# Acceptance check of seed_systems.md §4.2 (Miconi 2017 DNMS on the 200-unit rate RNN):
#   over 20 seeds, median criterion trial <= 1500; >= 18/20 seeds reach criterion by trial 5000;
#   median response error over trials 9000-10000 <= 0.1; the node-perturbation variant reaches
#   criterion at least as fast (median criterion trial <= that of DELTAX).
# Note on the last check: Miconi's dnms/README.md calls node perturbation "considerably faster"
# (compute: the eligibility is only touched on the ~0.6 perturbed units per step instead of an
# n x n outer product every step) and says it "should produce similar performance"; §4.2's
# "at least as fast" in criterion trials is stricter than that claim.
# Criterion (Miconi's figure): the first trial t such that more than 95 of the 100 trials ending at
# t have error < 1. Every figure is recomputed from the run files' /trials by dnms_acceptance.py.
#
# Usage: scripts/dnms_acceptance.sh [--build DIR] [--out DIR] [--jobs N] [--seeds N]
#                                   [--first-seed N] [--trials N] [--np-trials N] [--skip-np]
#                                   [--skip-deltax] [--eval-only]
# Defaults: build, runs/dnms_acceptance, 1 job, seeds 1..20, 10000 DELTAX trials, 5000
# node-perturbation trials. Runs that already have a complete file are not repeated; the
# evaluation reads every file of seeds 1..N in --out, whatever its length (a run shorter than
# 10000 trials gives no 9000-10000 error and the verdict says INCOMPLETE).
# MORE_DIRS="dir2 dir3" adds further run folders to the evaluation (longest run per seed).
# Cost: about 9 ms of CPU per DELTAX trial (90 s per 10 000-trial seed on an idle core).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build OUT=runs/dnms_acceptance JOBS=1 SEEDS=20 FIRST=1 TRIALS=10000 NP_TRIALS=5000 SKIP_NP=0 SKIP_DX=0 EVAL_ONLY=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --first-seed) FIRST=$2; shift 2 ;;
    --eval-only) EVAL_ONLY=1; shift ;;
    --trials) TRIALS=$2; shift 2 ;;
    --np-trials) NP_TRIALS=$2; shift 2 ;;
    --skip-np) SKIP_NP=1; shift ;;
    --skip-deltax) SKIP_DX=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BIN=$BUILD/spikeblox
[[ -x $BIN ]] || { echo "no $BIN: build first (cmake --build $BUILD)" >&2; exit 2; }
mkdir -p "$OUT"
PY=/usr/bin/python3

jobs_list() {
  if [[ $SKIP_DX == 0 ]]; then
    for s in $(seq "$FIRST" "$SEEDS"); do echo "deltax $s $TRIALS"; done
  fi
  if [[ $SKIP_NP == 0 ]]; then
    for s in $(seq "$FIRST" "$SEEDS"); do echo "node_perturbation $s $NP_TRIALS"; done
  fi
}
run_one() {
  local method=$1 seed=$2 trials=$3
  local f="$OUT/${method}_seed${seed}.h5"
  if [[ -f $f ]] && $PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); sys.exit(0 if f['meta'].attrs.get('completed',0)==1 and f['trials'].shape[0]==int(sys.argv[2]) else 1)" "$f" "$trials" 2>/dev/null; then
    echo "skip $f (complete)"; return 0
  fi
  "$BIN" run circuits_toml/dnms_rnn.toml --seed "$seed" --set "rules.miconi.method=$method" \
    --set "experiment.n_trials=$trials" -o "$f" --force --json -q > "$OUT/${method}_seed${seed}.json"
  echo "done $method seed $seed: $(cat "$OUT/${method}_seed${seed}.json")"
}
export -f run_one
export BIN OUT PY
[[ $EVAL_ONLY == 1 ]] || jobs_list | xargs -P "$JOBS" -L 1 bash -c 'run_one $0 $1 $2'
$PY scripts/dnms_acceptance.py "$OUT" ${MORE_DIRS:-} --seeds "$SEEDS" $([[ $SKIP_NP == 1 ]] && echo --skip-np)
