#!/bin/bash
# Session-6 comparison of single and double precision lif_cuba (BENCHMARKS.md, "Session 6:
# single-precision LIF"), configurations alternated run by run, loop thread-CPU time printed.
#   bash bench/scaling_f32_compare.sh OLD_SCALING_ENGINE [BUILD]
# OLD_SCALING_ENGINE: tests/circuits/scaling_engine of an older build (e.g. HEAD 4dba685, before
# precision = "float"); BUILD: this tree's build directory (default build).
# Part 1, 10^6 cells x 200 ms of bench/scaling_cuba.toml (REPS=3):
#   A old binary, one-tick delays (every delivery queued: the session-5 network)
#   B old binary, one-step delays (staged deliveries, its 3/2/1 prefetch)
#   C this build, double;  D this build, float
# Part 2, CUBA 4000 (circuits_toml/cuba.toml, 1 s; REPS4000=7): old, double, float.
set -e
OLD=${1:?usage: $0 OLD_SCALING_ENGINE [BUILD]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NEW=${2:-$ROOT/build}/tests/circuits/scaling_engine
cd "$ROOT"
S="--set blocks.E.n=800000 --set blocks.I.n=200000 --set run.duration=${DUR:-200}"
F=(--set 'blocks.E.precision="float"' --set 'blocks.I.precision="float"')
pick() { grep -o '"build_s": [0-9.]*\|"loop_cpu_s": [0-9.]*\|"spikes": [0-9]*' | tr '\n' ' '; echo; }
for r in $(seq "${REPS:-3}"); do
  echo -n "A "; $OLD bench/scaling_cuba.toml $S --set 'connections[0].delay=0.001' \
    --set 'connections[1].delay=0.001' | pick
  echo -n "B "; $OLD bench/scaling_cuba.toml $S | pick
  echo -n "C "; $NEW bench/scaling_cuba.toml $S | pick
  echo -n "D "; $NEW bench/scaling_cuba.toml $S "${F[@]}" | pick
done
for r in $(seq "${REPS4000:-7}"); do
  echo -n "cuba4000 old    "; $OLD circuits_toml/cuba.toml | pick
  echo -n "cuba4000 double "; $NEW circuits_toml/cuba.toml | pick
  echo -n "cuba4000 float  "; $NEW circuits_toml/cuba.toml "${F[@]}" | pick
done
