#!/usr/bin/env bash
# Acceptance of circuits_toml/cartpole_spiking.toml (issue 5; seed_systems.md §1.6 improvement
# target): CartPole-v1 counts as solved by a seed when the mean return over 100 consecutive
# episodes reaches 475 within the episode budget ([experiment].n_episodes = 3000; the count within
# 1000 / 1500 / 2000 episodes is printed too: the runs are deterministic, so a shorter budget is
# the prefix of the same run). Runs seeds
# 1..N (default 10) one after the other and prints, per seed, the last episode of the first
# 100-episode window with mean >= 475 (-1 = never), the best 100-episode mean, the last-100 mean
# and the number of episodes >= 195 (the v0 line the original plots); then how many seeds solved.
#
#   scripts/cartpole_spiking_acceptance.sh [--seeds N] [--build DIR] [--set key=value ...]
# Run from anywhere; needs the spikeblox binary (default: build/spikeblox) and /usr/bin/python3
# with h5py. Run files go to a temporary directory (kept with --keep DIR).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$ROOT/build"
SEEDS=10
KEEP=""
SETS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) SEEDS="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN="$BUILD/spikeblox"
[[ -x "$BIN" ]] || { echo "no spikeblox binary at $BIN (use --build DIR)" >&2; exit 2; }
OUT="${KEEP:-$(mktemp -d)}"
mkdir -p "$OUT"
TOML="$ROOT/circuits_toml/cartpole_spiking.toml"
start=$(date +%s.%N)
for s in $(seq 1 "$SEEDS"); do
  "$BIN" run "$TOML" -o "$OUT/seed$s.h5" --force -q --seed "$s" "${SETS[@]}" > "$OUT/seed$s.json" --json
done
end=$(date +%s.%N)
/usr/bin/python3 - "$OUT" "$SEEDS" "$start" "$end" <<'PY'
import json, sys
import h5py, numpy as np
out, n, t0, t1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print("seed  first_solved_episode  best_100_mean  last_100_mean  episodes>=195  episodes")
solved = 0; total_eps = 0; loop_s = 0.0; firsts = []
for s in range(1, n + 1):
    r = h5py.File(f"{out}/seed{s}.h5", "r")["episodes"][:]["return"]
    m = np.convolve(r, np.ones(100) / 100, "valid")
    first = int(np.argmax(m >= 475)) + 99 if (m >= 475).any() else -1
    solved += first >= 0
    firsts.append(first)
    total_eps += len(r)
    with open(f"{out}/seed{s}.json") as f:
        loop_s += json.loads(f.read().strip().splitlines()[-1]).get("loop_s", 0.0)
    print(f"{s:4d}  {first:20d}  {m.max():13.1f}  {r[-100:].mean():13.1f}  {int((r >= 195).sum()):13d}  {len(r):8d}")
print(f"solved (100-episode mean >= 475 within the budget): {solved}/{n} -> "
      f"{'PASS' if solved >= 0.8 * n else 'FAIL'} (need >= 8/10)")
for b in (1000, 1500, 2000):
    if b < total_eps / n:
        k = sum(1 for f in firsts if 0 <= f < b)
        print(f"  within {b} episodes: {k}/{n}")
print(f"speed: {total_eps} episodes in {loop_s:.1f} s of episode loops ({total_eps / loop_s:.1f} episodes/s; "
      f"wall {t1 - t0:.1f} s incl. file writing)")
PY
