#!/usr/bin/env bash
# Runs every row of the performance table (BENCHMARKS.md §0) in one batch, each row side by side
# with its peer where it has one, and writes the raw output of each command to OUT/<row>.log plus
# the machine's facts to OUT/machine.txt, then the table with verdicts to OUT/summary.md
# (bench/issue6_summary.py; it can be rerun on the logs). About 12-25 minutes on 2 cores (the
# session-12 Xeon: 12); run it on an idle machine
# (nothing else compiling or benchmarking: the rows are memory- and cache-sensitive).
#
# Usage: bash bench/issue6_table.sh [BUILD_DIR] [OUT_DIR]
#   BUILD_DIR  a Release build (default build)
#   OUT_DIR    where the logs go (default runs/bench_issue6_<UTC date-time>)
# Needs the peers: bash scripts/install-deps.sh --with-peers (Brian2, NEURON).
# ROWS="cobahh cuba ..." limits the batch to some rows (names as in the log files below).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-runs/bench_issue6_$(date -u +%Y%m%dT%H%M%SZ)}
rows=${ROWS:-"point neuron static brunel distal distal_circuit category threads song scaling"}
py=/usr/bin/python3

for exe in "$build/spikeblox" "$build/tests/plasticity/static_delivery" \
  "$build/tests/plasticity/brunel_stdp" "$build/tests/plasticity/distal_reward_bench"; do
  if [[ ! -x $exe ]]; then
    echo "issue6_table: $exe is missing: build first (cmake -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build)" >&2
    exit 2
  fi
done
if ! $py -c 'import brian2' 2>/dev/null; then
  echo "issue6_table: Brian2 is missing: bash scripts/install-deps.sh --with-peers" >&2
  exit 2
fi
mkdir -p "$out"

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "build: $build ($(grep -E '^CMAKE_BUILD_TYPE|^SBX_AVX512|^SBX_NATIVE' "$build/CMakeCache.txt" | tr '\n' ' '))"
  lscpu | grep -E 'Model name|^CPU\(s\)|L1d|L2|L3'
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"
cat "$out/machine.txt"

# run NAME COMMAND...: one row, its output kept in OUT/NAME.log and echoed.
run() {
  local name=$1
  shift
  echo "== $name: $* ($(date -u +%T), load $(cut -d' ' -f1 /proc/loadavg))" | tee "$out/$name.log"
  "$@" 2>&1 | tee -a "$out/$name.log"
}
has() { [[ " $rows " == *" $1 "* ]]; }

if has point; then
  run cobahh_cuba_norecord $py bench/brette_vs_brian2.py --bin "$build/spikeblox" --reps 5 --no-record
  run cobahh_record $py bench/brette_vs_brian2.py --bin "$build/spikeblox" --reps 5 --bench cobahh
  run cuba_float $py bench/brette_vs_brian2.py --bin "$build/spikeblox" --reps 5 --bench cuba --no-record \
    --set blocks.E.precision=float --set blocks.I.precision=float
fi
if has neuron; then
  run cobahh_neuron $py bench/cobahh_vs_neuron.py --bin "$build/spikeblox" --reps 5
fi
if has static; then
  run static_delivery "$build/tests/plasticity/static_delivery" --duration 500 --repeats 3
  run static_delivery_noprefetch "$build/tests/plasticity/static_delivery" --duration 500 --repeats 3 --prefetch off
fi
if has brunel; then
  run brunel_stdp "$build/tests/plasticity/brunel_stdp" --duration 1000 --repeats 5
fi
if has distal; then
  run distal_reward "$build/tests/plasticity/distal_reward_bench" --duration 3600 --replay 600 --repeats 3
fi
if has distal_circuit; then
  for i in 1 2 3; do
    run "distal_circuit_$i" /usr/bin/time -f "wall %e s, peak RSS %M KB" "$build/spikeblox" run \
      circuits_toml/izhikevich_distal_reward.toml --out "$out/distal_circuit.h5" --force
  done
fi
if has category; then
  for i in 1 2 3 4 5; do
    run "category_$i" /usr/bin/time -f "wall %e s, peak RSS %M KB" "$build/spikeblox" run \
      circuits_toml/category_learning.toml --out "$out/category.h5" --force
  done
fi
if has threads; then
  run threads_cobahh $py bench/threads_point.py --bin "$build/spikeblox" --reps 5 --bench cobahh
  run threads_cuba $py bench/threads_point.py --bin "$build/spikeblox" --reps 11 --bench cuba
fi
if has song; then
  run song2000 $py bench/song2000_vs_brian2.py --bin "$build/spikeblox" --reps 5
fi
if has scaling; then
  run scaling $py bench/scaling.py --build "$build" --reps 3 --reps-large 3 --precision both --floor \
    --runner --png "$out/scaling.png"
fi
/usr/bin/python3 bench/issue6_summary.py "$out" | tee "$out/summary.md"
echo "issue6_table: logs in $out, the verdict table in $out/summary.md"
