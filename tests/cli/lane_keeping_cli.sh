#!/usr/bin/env bash
# End-to-end: spikeblox runs the lane-keeping SNN circuits from the command line.
#   lane_keeping_cli.sh SPIKEBLOX SOURCE_DIR
# Faithful circuit, 40 episodes: the JSON summary has the structural figures (no network spike,
# best return <= 302). Working circuit, 30 + 5 test episodes: /episodes holds 35 rows and the test
# figures are present. A wrong-sized encoder is refused before anything runs.
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$bin" run "$src/circuits_toml/lane_keeping_snn.toml" --json -q -o "$tmp/a.h5" \
      --set experiment.n_episodes=40)
/usr/bin/python3 - "$out" <<'PY' || fail "faithful summary: $out"
import json, sys
d = json.loads(sys.argv[1])
assert d["episodes"] == 40, d
assert d["source_spikes"] == 0, d
assert -60 < d["best_return"] <= 302, d
assert d["mean_length_last100"] >= 1, d
PY

out=$("$bin" run "$src/circuits_toml/lane_keeping_snn_working.toml" --json -q -o "$tmp/b.h5" \
      --set experiment.n_episodes=30 --set experiment.test_episodes=5)
/usr/bin/python3 - "$out" "$tmp/b.h5" <<'PY' || fail "working summary: $out"
import json, sys, h5py
d = json.loads(sys.argv[1])
assert 0 <= d["test_success_rate"] <= 1 and "test_mean_return" in d, d
with h5py.File(sys.argv[2], "r") as f:
    ep = f["/episodes"]
    n = ep.shape[0]
    assert list(ep["episode"][-5:]) == [30, 31, 32, 33, 34], ep["episode"][-5:]
    assert n == 35, n
PY

if "$bin" check "$src/circuits_toml/lane_keeping_snn.toml" --set blocks.sensors.n=4 \
     > "$tmp/err.txt" 2>&1; then
  fail "a 4-unit encoder for a 5-value observation was accepted"
fi
grep -q "blocks.sensors.n" "$tmp/err.txt" || fail "no key path in: $(cat "$tmp/err.txt")"
grep -q "observes 5 values" "$tmp/err.txt" || fail "no explanation in: $(cat "$tmp/err.txt")"
echo "ok"
