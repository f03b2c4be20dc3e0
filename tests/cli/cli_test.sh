#!/usr/bin/env bash
# End-to-end tests of the spikeblox command: exit codes, error messages with positions, nothing
# written on bad input, and a short category-learning run whose run file is checked with h5py.
# Usage: cli_test.sh BIN SOURCE_DIR CASE
set -uo pipefail
BIN=$1; SRC=$2; CASE=$3
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
CL="$SRC/circuits_toml/category_learning.toml"
PY=/usr/bin/python3

fail() { echo "FAIL: $*"; exit 1; }
expect_error() {  # expect_error PATTERN -- command...
  local pat=$1; shift; shift
  "$@" > "$T/out" 2> "$T/err"; local rc=$?
  [[ $rc -eq 2 ]] || { cat "$T/err"; fail "exit status $rc, expected 2"; }
  grep -Eq -- "$pat" "$T/err" || { cat "$T/err"; fail "message does not match /$pat/"; }
  [[ ! -e "$T/run.h5" ]] || fail "a run file was written on bad input"
}

case "$CASE" in
  version)
    "$BIN" --version | grep -q "spikeblox 0" || fail "--version" ;;
  check_ok)
    "$BIN" check "$CL" | grep -q ": ok" || fail "check of the shipped circuit" ;;
  unknown_key)
    sed 's/^n_wta = 4/n_wtaa = 4/' "$CL" > "$T/c.toml"
    expect_error "c.toml:[0-9]+:[0-9]+: error: 'blocks.VAC.n_wtaa': unknown key 'n_wtaa'.*did you mean 'n_wta'" -- \
      "$BIN" run "$T/c.toml" --out "$T/run.h5" ;;
  kinds_cannot_connect)
    sed 's/{ from = "stim", to = "VAC", weight = 14.0 },/{ from = "stim", to = "SNc", weight = 14.0 },/' "$CL" > "$T/c.toml"
    expect_error "c.toml:[0-9]+:[0-9]+: error: .*image_stimulus.*snc" -- "$BIN" run "$T/c.toml" --out "$T/run.h5" ;;
  rule_not_defined)
    sed 's/learning = "hebb_ctx"/learning = "hebb_typo"/' "$CL" > "$T/c.toml"
    expect_error "c.toml:[0-9]+:[0-9]+: error: .*hebb_typo" -- "$BIN" run "$T/c.toml" --out "$T/run.h5" ;;
  policy_one_competitor)
    sed 's/{ from = \["STR1", "STR2"\], to = "policy" },/{ from = "STR1", to = "policy" },/' "$CL" > "$T/c.toml"
    expect_error "c.toml:[0-9]+:[0-9]+: error: .*exactly two competitors" -- "$BIN" run "$T/c.toml" --out "$T/run.h5"
    expect_error "c.toml:[0-9]+:[0-9]+: error: .*exactly two competitors" -- "$BIN" check "$T/c.toml" ;;
  csv_missing_category)
    printf 'pixel_1,pixel_2,label\n0,1,1\n1,0,2\n' > "$T/s.csv"
    expect_error "s.csv.*category" -- "$BIN" run "$CL" --set "blocks.stim.file=$T/s.csv" --out "$T/run.h5" ;;
  csv_non_numeric)
    printf 'pixel_1,pixel_2,category\n0,1,1\n1,abc,2\n' > "$T/s.csv"
    expect_error "s.csv:3:2: error: 'pixel_2'.*abc" -- "$BIN" run "$CL" --set "blocks.stim.file=$T/s.csv" --out "$T/run.h5" ;;
  bad_set)
    expect_error "experiment.n_trials" -- "$BIN" run "$CL" --set experiment.n_trials=-3 --out "$T/run.h5" ;;
  refuses_overwrite)
    echo keep > "$T/run.h5"
    "$BIN" run "$CL" --out "$T/run.h5" 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] || fail "exit $rc, expected 2"
    grep -q -- "--force" "$T/err" || { cat "$T/err"; fail "no hint at --force"; }
    [[ $(cat "$T/run.h5") == keep ]] || fail "existing file was modified" ;;
  block_name_slash)
    # A block name becomes an HDF5 group name: '/' is refused at the key, before any file exists.
    sed 's/"I"/"x\/y"/g; s/^\[blocks.I\]/[blocks."x\/y"]/' "$SRC/circuits_toml/demo_lif.toml" > "$T/c.toml"
    expect_error "c.toml:[0-9]+:[0-9]+: error: 'blocks.x/y': block name 'x/y' is not allowed" -- "$BIN" check "$T/c.toml"
    expect_error "block name 'x/y' is not allowed" -- "$BIN" run "$T/c.toml" --out "$T/run.h5"
    # a newline or a tab (escaped in the one-line message), a name of blanks (were accepted)
    sed 's/"I"/"x\\ny"/g; s/^\[blocks.I\]/[blocks."x\\ny"]/' "$SRC/circuits_toml/demo_lif.toml" > "$T/c.toml"
    expect_error "error: .*block name 'x[\\]x0ay' is not allowed: .*control character" -- "$BIN" check "$T/c.toml"
    sed 's/"I"/"x\\ty"/g; s/^\[blocks.I\]/[blocks."x\\ty"]/' "$SRC/circuits_toml/demo_lif.toml" > "$T/c.toml"
    expect_error "block name 'x[\\]x09y' is not allowed" -- "$BIN" check "$T/c.toml"
    sed 's/"I"/"  "/g; s/^\[blocks.I\]/[blocks."  "]/' "$SRC/circuits_toml/demo_lif.toml" > "$T/c.toml"
    expect_error "block name '  ' is not allowed: a name must not be empty or blank" -- "$BIN" check "$T/c.toml" ;;
  block_name_edge_clash)
    # Edges are named "from->to#k": a block named "E#2" made E->E (twice) and E -> "E#2" share
    # the name "E->E#2"; check accepted it and run failed writing the run file (exit 1).
    D="$SRC/circuits_toml/demo_lif.toml"
    sed 's/"I"/"E#2"/g; s/^\[blocks.I\]/[blocks."E#2"]/' "$D" > "$T/c.toml"
    expect_error "c.toml:[0-9]+:[0-9]+: error: 'blocks.E#2': block name 'E#2' is not allowed.*'#' or '->'" -- "$BIN" check "$T/c.toml"
    expect_error "block name 'E#2' is not allowed" -- "$BIN" run "$T/c.toml" --out "$T/run.h5"
    sed 's/"I"/"a->b"/g; s/^\[blocks.I\]/[blocks."a->b"]/' "$D" > "$T/c.toml"
    expect_error "'blocks.a->b': block name 'a->b' is not allowed" -- "$BIN" check "$T/c.toml" ;;
  plastic_plain_run)
    # A user's own plastic circuit in a plain run: a three-factor rule whose modulator nothing
    # drives (baseline 0) is refused by check and run alike; with a non-zero baseline both print
    # a note and run; snapshot periods off the tick grid are refused instead of rounded.
    cat > "$T/c.toml" <<'TOML'
schema = "spikeblox/1"
connections = [
  { from = "drive", to = "E", weight = 2.0, delay = 1.0, learning = { type = "three_factor", modulator = "acetylcholine" } },
]
[run]
duration = 100.0
dt = 1.0
[blocks.drive]
type = "poisson_source"
n = 20
rate = 20.0
[blocks.E]
type = "population"
model = "izhikevich"
n = 5
TOML
    expect_error "c.toml:3:[0-9]+: error: 'connections\[0\].learning.modulator': modulator 'acetylcholine' .* is never driven in a plain run .*can never change a weight" -- "$BIN" check "$T/c.toml"
    expect_error "never driven in a plain run" -- "$BIN" run "$T/c.toml" --out "$T/run.h5"
    "$BIN" check "$T/c.toml" --set 'connections[0].learning.modulator_baseline=0.5' > "$T/out" 2> "$T/err" || { cat "$T/err"; fail "check with a baseline"; }
    grep -q "note: 'connections\[0\].learning.modulator': modulator 'acetylcholine'.*modulator_baseline = 0.5 for the whole run, a constant third factor" "$T/err" || { cat "$T/err"; fail "no note from check"; }
    "$BIN" run "$T/c.toml" --set 'connections[0].learning.modulator_baseline=0.5' --out "$T/ok.h5" --quiet 2> "$T/err" || { cat "$T/err"; fail "run with a baseline"; }
    grep -q "note: .*never driven" "$T/err" || { cat "$T/err"; fail "no note from run"; }
    expect_error "'output.weights_every': weights_every = 0.0004 ms is not a multiple of tick = 0.001 ms" -- \
      "$BIN" run "$T/c.toml" --set 'connections[0].learning.modulator_baseline=0.5' --set output.weights_every=0.0004 --out "$T/run.h5"
    expect_error "'rules.x.w_min': the weight bounds need w_min <= w_max, got w_min = 2 and w_max = 1" -- \
      "$BIN" check "$T/c.toml" --set 'connections[0].learning.modulator_baseline=0.5' --set rules.x.type=stdp --set rules.x.w_min=2
    # A sweep sets up every grid point: the same note once, and an error found at build names
    # the grid point it appeared at.
    "$BIN" sweep "$T/c.toml" --set 'connections[0].learning.modulator_baseline=0.5' --seeds 1..2 --grid run.duration=50,60 -j 1 -q --out "$T/sw" 2> "$T/err" || { cat "$T/err"; fail "sweep with a note"; }
    [ "$(grep -c "note: .*never driven" "$T/err")" = 1 ] || { cat "$T/err"; fail "the sweep repeats the note"; }
    expect_error "can never change a weight.*(grid point connections\[0\].learning.modulator_baseline=0)" -- \
      "$BIN" sweep "$T/c.toml" --grid 'connections[0].learning.modulator_baseline=0.5,0' -j 1 -q --out "$T/sw2"
    # A rule defined but attached to no edge has no effect: a note, from check and run.
    "$BIN" check "$T/c.toml" --set 'connections[0].learning.modulator_baseline=0.5' --set rules.x.type=stdp > "$T/out" 2> "$T/err" || { cat "$T/err"; fail "check with an unused rule"; }
    grep -q "^--set rules.x.type=stdp: note: 'rules.x': rule 'x' (stdp) is not used by any connection, so it has no effect" "$T/err" || { cat "$T/err"; fail "no note for the unused rule"; }
    # Test episodes freeze spike-timing plasticity on a spike edge too (session 12; it used to
    # keep learning, with a note): a run with stdp and test episodes says nothing about it.
    CP="$SRC/circuits_toml/cartpole_spiking.toml"
    "$BIN" run "$CP" --set 'connections[0].learning={ type = "stdp" }' --set experiment.n_episodes=2 --set experiment.test_episodes=2 --quiet --out "$T/te.h5" > "$T/out" 2> "$T/err" || { cat "$T/err"; fail "run with stdp and test episodes"; }
    ! grep -q "note:.*test episodes\|keep changing" "$T/err" || { cat "$T/err"; fail "a note for stdp in test episodes"; }
    grep -q "rule 'actor' (td_three_factor) is not used" "$T/err" || { cat "$T/err"; fail "notes not printed at all"; }
    # A bad membrane variable is reported at the key that named it (was: the decoder's table).
    expect_error "^--set blocks.value.variable=Vx: error: 'blocks.value.variable': block 'critic' \(model lif_cuba\) has no state variable 'Vx'" -- "$BIN" check "$CP" --set blocks.value.variable=Vx
    expect_error "^--set blocks.choice.variable=Vy: error: 'blocks.choice.variable': block 'motor'" -- "$BIN" check "$CP" --set blocks.choice.readout=membrane --set blocks.choice.variable=Vy ;;
  blocks_in_the_wrong_experiment)
    # A modulator block works in plain runs only: category_learning never built it, so check
    # said ok and the block did nothing. The distal_reward experiment wires exc/inh itself, and
    # a rule on a connection there would read a modulator its rewards never reach.
    { cat "$CL"; printf '\n[blocks.DAX]\ntype = "modulator"\nmodulator = "dopamine"\npulse_times = [10.0]\npulse_amount = 0.1\n'; } > "$T/c.toml"
    expect_error "'blocks.DAX': a block of type modulator works in the run experiment, not in 'category_learning'" -- "$BIN" check "$T/c.toml"
    D="$SRC/circuits_toml/izhikevich_distal_reward.toml"
    sed 's/^connections = \[\]/connections = [ { from = "exc", to = "inh", weight = 1.0 } ]/' "$D" > "$T/d.toml"
    expect_error "'connections\[0\]': the distal_reward experiment wires exc -> inh itself" -- "$BIN" check "$T/d.toml"
    sed 's/^connections = \[\]/connections = [ { from = "inh", to = "inh", weight = -1.0, learning = { type = "three_factor", modulator = "dopamine", modulator_baseline = 0.1, w_min = -4.0, w_max = 0.0 } } ]/' "$D" > "$T/d.toml"
    expect_error "'connections\[0\].learning': in the distal_reward experiment only the wired excitatory synapses" -- "$BIN" check "$T/d.toml"
    # A static input from elsewhere stays allowed.
    { sed 's/^connections = \[\]/connections = [ { from = "drive", to = "exc", weight = 1.0 } ]/' "$D"; printf '\n[blocks.drive]\ntype = "poisson_source"\nn = 10\nrate = 5.0\n'; } > "$T/d.toml"
    "$BIN" check "$T/d.toml" > /dev/null 2> "$T/err" || { cat "$T/err"; fail "distal with an extra input"; } ;;
  force_keeps_file_on_bad_input)
    # An error found only when the circuit is built (an STDP rule with w_max < w_min): check
    # reports it too, and run neither replaces the file --force would overwrite nor leaves a
    # partial one. (This error comes before the run file is created; errors and Ctrl-C between
    # its creation and start() are covered by tests/io/test_run_file.cpp.)
    echo keep > "$T/old.h5"
    sed 's/delay = 1.5 },/delay = 1.5, learning = { type = "stdp", w_min = 1.0, w_max = 0.5 } },/' \
      "$SRC/circuits_toml/demo_lif.toml" > "$T/c.toml"
    grep -q 'w_max = 0.5' "$T/c.toml" || fail "sed did not add the rule"
    expect_error "w_min <= w_max" -- "$BIN" check "$T/c.toml"   # check builds, as run does
    expect_error "w_min <= w_max" -- "$BIN" run "$T/c.toml" --out "$T/old.h5" --force
    [[ $(cat "$T/old.h5") == keep ]] || fail "the existing file was replaced"
    ls "$T" | grep -q partial && fail "a partial file was left behind"
    expect_error "'run.duration'.*at most 2\^62 ticks" -- "$BIN" run "$SRC/circuits_toml/demo_lif.toml" \
      --set run.duration=1e300 --out "$T/run.h5" ;;
  seed_threads_checked)
    # (the errors name the option typed, not the --set key it stands for)
    expect_error "^--seed -1: error: 'meta.seed'.*out of range" -- "$BIN" run "$SRC/circuits_toml/demo_lif.toml" --seed -1 --out "$T/run.h5"
    expect_error "^--seed 99999999999999999999: error: 'meta.seed'.*integer" -- "$BIN" run "$SRC/circuits_toml/demo_lif.toml" --seed 99999999999999999999 --out "$T/run.h5"
    expect_error "^--threads -2: error: 'run.threads'.*out of range" -- "$BIN" run "$SRC/circuits_toml/demo_lif.toml" --threads -2 --out "$T/run.h5"
    expect_error "^--set run.threads=0: error: 'run.threads'.*out of range" -- "$BIN" run "$SRC/circuits_toml/demo_lif.toml" --set run.threads=0 --out "$T/run.h5" ;;
  many_errors)
    # Unknown keys are checked in linear time (the duplicate filter scanned every earlier error:
    # 80 000 keys took 12 s, 100 000 39 s), and 100 errors are shown with a count of the rest.
    # Linear vs quadratic is judged by the time ratio of 100 000 to 25 000 keys (4 if linear, 16
    # if quadratic; here 0.5 / 0.13 s), so a slow machine or a sanitizer build passes too.
    check_ms() {  # check_ms KEYS: `check` of the circuit with KEYS unknown keys; prints its ms
      awk -v n="$1" '{print} /^\[meta\]/ {for (i = 0; i < n; i++) print "junk" i " = 1"}' "$CL" > "$T/c$1.toml"
      local start; start=$(date +%s%N)
      "$BIN" check "$T/c$1.toml" > /dev/null 2> "$T/err$1"
      echo "$?" > "$T/rc$1"
      echo $(( ($(date +%s%N) - start) / 1000000 ))
    }
    small=$(check_ms 25000)
    large=$(check_ms 100000)
    [[ $(cat "$T/rc100000") -eq 2 ]] || fail "check exit $(cat "$T/rc100000"), expected 2"
    grep -q "^(99900 more not shown)" "$T/err100000" || fail "no count of the errors not shown"
    grep -q "^100000 errors; nothing was run" "$T/err100000" || fail "no error count"
    [[ $(grep -c "unknown key 'junk" "$T/err100000") -eq 100 ]] || fail "not 100 errors shown"
    (( large < 8 * (small + 20) )) || fail "100 000 unknown keys took $large ms, 25 000 took $small ms: not linear" ;;
  trial_times_checked)
    expect_error "'blocks.policy.t_decision'.*not within the trial" -- "$BIN" check "$CL" --set blocks.policy.t_decision=5000.0
    expect_error "'blocks.SNc.t_event'.*not within the trial" -- "$BIN" run "$CL" --set blocks.SNc.t_event=5000.0 --out "$T/run.h5"
    expect_error "'blocks.SNc.t_event'.*0 <= t < 1000 ms" -- "$BIN" check "$CL" --set blocks.SNc.t_event=1000.0
    expect_error "'output.weights_every'.*plain runs" -- "$BIN" check "$CL" --set output.weights_every=100.0 ;;
  trace_lists_checked)
    D="$SRC/circuits_toml/demo_lif.toml"
    sed 's/traces = \[{ block = "E", variable = "V", n = 5, dt = 0.5 }\]/traces = [{ block = "E", variable = "V", neurons = [] }]/' "$D" > "$T/c.toml"
    expect_error "c.toml:[0-9]+:[0-9]+: error: 'output.traces\[0\].neurons': an empty list records nothing" -- "$BIN" check "$T/c.toml"
    sed 's/traces = \[{ block = "E", variable = "V", n = 5, dt = 0.5 }\]/traces = [{ block = "E", variable = "V", neurons = [1, 3, 1] }]/' "$D" > "$T/c.toml"
    expect_error "'output.traces\[0\].neurons': neuron 1 is listed twice" -- "$BIN" run "$T/c.toml" --out "$T/run.h5"
    printf 'schema = "spikeblox/1"\n[run]\nduration = 10.0\n[blocks]\n' > "$T/e.toml"
    expect_error "e.toml:[0-9]+:[0-9]+: error: 'blocks': no blocks" -- "$BIN" run "$T/e.toml" --out "$T/run.h5"
    expect_error "--seeds is empty" -- "$BIN" sweep "$D" --seeds '' --out "$T/sw" ;;
  command_line_messages)
    D="$SRC/circuits_toml/demo_lif.toml"
    expect_error "unknown command 'frobnicate'" -- "$BIN" frobnicate
    expect_error "is a directory, not a circuit TOML file" -- "$BIN" check "$SRC/circuits_toml"
    expect_error "must be a whole number of trials >= 1, got '0'" -- "$BIN" run "$CL" --checkpoint-every 0 --out "$T/run.h5"
    # A table created by --set is reported at the --set argument.
    expect_error "^--set blocks.Z.n=3: error: 'blocks.Z.type': missing required key" -- "$BIN" check "$D" --set blocks.Z.n=3
    # An unknown model is reported once, not again by every edge and trace naming its block.
    sed 's/model = "lif_exact"/model = "lif_exakt"/' "$D" > "$T/c.toml"
    expect_error "'blocks.E.model'.*did you mean 'lif_exact'" -- "$BIN" check "$T/c.toml"
    grep -q "undefined block" "$T/err" && { cat "$T/err"; fail "follow-on 'undefined block' errors"; }
    grep -q "^2 errors" "$T/err" || { cat "$T/err"; fail "expected exactly 2 errors (E and I)"; } ;;
  category_short_run)
    # 6 short trials (300 ms) of the tutorial circuit; the run file must hold every trial row,
    # weight snapshots (initial + one per trial), spikes of every block and both adjacencies.
    "$BIN" run "$CL" --set experiment.n_trials=6 --set blocks.stim.t_stimulus=300.0 --set experiment.t_warmup=100.0 \
      --out "$T/run.h5" --json --quiet > "$T/out" || fail "run failed"
    grep -q '"accuracy"' "$T/out" || fail "no accuracy in the summary"
    if $PY -c "import h5py" 2>/dev/null; then
      $PY - "$T/run.h5" <<'PY' || fail "run file content"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
t = f['trials'][:]
assert len(t) == 6, len(t)
assert list(t['trial']) == list(range(6))
assert set(np.unique(t['action'])) <= {1, 2}
assert np.all((t['correct'] == 1) == (t['action'] == t['category']))
assert np.all(t['stop_time'] - t['start_time'] == 300.0)
w = f['weights']
assert set(w.keys()) == {'VAC->AC', 'AC->STR1.msn', 'AC->STR1.matrisome', 'AC->STR1.striosome',
                         'AC->STR2.msn', 'AC->STR2.matrisome', 'AC->STR2.striosome'}, list(w.keys())
total = sum(w[k]['values'].shape[1] for k in w)
assert total == 70, total          # the tutorial's 70 plastic weights
assert w['VAC->AC']['values'].shape[0] == 7   # initial + 6 trials
assert list(w['VAC->AC']['after_trial'][:]) == [-1, 0, 1, 2, 3, 4, 5]
for b in ['VAC', 'AC', 'STR1', 'STR2']:
    assert b in f['spikes'], list(f['spikes'].keys())
assert len(f['spikes/VAC/timestamps']) > 0
n = len(f['adjacency/node_names'])
assert f['adjacency/before'].shape == (n, n) and not np.isnan(f['adjacency/after'][:]).any()
assert f['meta'].attrs['completed'] == 1
PY
    fi ;;
  cortical_hebbian_open_loop)
    # The open-loop example (§5.1): 38 HH cells, no policy; r = 1 and action 0 every trial, only
    # VAC->AC learns and its weights move toward W_lim = 15 (here: 4 short trials).
    OL="$SRC/circuits_toml/cortical_hebbian.toml"
    "$BIN" check "$OL" | grep -q ": ok" || fail "check of cortical_hebbian.toml"
    expect_error "experiment.t_block.*open-loop" -- "$BIN" run "$OL" --set experiment.t_block=80.0 --out "$T/run.h5"
    "$BIN" run "$OL" --set experiment.n_trials=4 --set blocks.stim.t_stimulus=400.0 \
      --out "$T/run.h5" --quiet || fail "open-loop run failed"
    if $PY -c "import h5py" 2>/dev/null; then
      $PY - "$T/run.h5" <<'PY' || fail "open-loop run file content"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
t = f['trials'][:]
assert len(t) == 4 and np.all(t['action'] == 0) and np.all(t['reward'] == 1.0), t
assert list(f['weights'].keys()) == ['VAC->AC'], list(f['weights'].keys())
w = f['weights/VAC->AC/values'][:]
assert w.shape == (5, 20), w.shape
assert np.all(w[0] == 3.0)
d0, d4 = np.abs(15.0 - w[0]), np.abs(15.0 - w[4])
assert np.all(d4 <= d0 + 1e-12) and d4.sum() < d0.sum(), (w[0], w[4])   # toward W_lim
# The neural mass ASC never spikes: a /nodes entry (the edges refer to it), no /spikes group
# (the plots showed it as silent neurons at 0 Hz).
assert set(f['spikes'].keys()) == {'VAC', 'AC'}, list(f['spikes'].keys())
assert f['nodes/ASC'].attrs['block_type'] == 'next_generation_ei'
assert f['meta'].attrs['completed'] == 1
PY
    fi ;;
  result_lines)
    # Every experiment ends with its result in words on stderr, as the category job prints its
    # accuracy (the episodes, DNMS and distal-reward runs printed only the generic line).
    "$BIN" run "$SRC/circuits_toml/bandit_ach_na.toml" --out "$T/b.h5" 2> "$T/err" || { cat "$T/err"; fail "bandit run"; }
    grep -Eq "^bandit: 1 episode, 3200 steps, mean return [0-9.]+; regret [0-9.]+, best arm chosen on [0-9.]+ % of steps$" "$T/err" || { cat "$T/err"; fail "bandit result line"; }
    "$BIN" run "$SRC/circuits_toml/cartpole_spiking.toml" --set experiment.n_episodes=3 --set experiment.test_episodes=2 --out "$T/c.h5" 2> "$T/err" || { cat "$T/err"; fail "cartpole run"; }
    grep -Eq "^cartpole: 3 episodes, [0-9]+ steps, mean return [0-9.]+, best [0-9.]+ \(episode [0-2]\); test episodes: mean return [0-9.]+, success [0-9.]+ %$" "$T/err" || { cat "$T/err"; fail "cartpole result line"; }
    "$BIN" run "$SRC/circuits_toml/dnms_rnn.toml" --set experiment.n_trials=20 --out "$T/d.h5" 2> "$T/err" || { cat "$T/err"; fail "dnms run"; }
    grep -Eq "^dnms: 20 trials, criterion \(> 95 of 100 trials with error < 1\) not reached; error over the last 2 trials: median [0-9.]+, mean [0-9.]+$" "$T/err" || { cat "$T/err"; fail "dnms result line"; }
    "$BIN" run "$SRC/circuits_toml/izhikevich_distal_reward.toml" --set run.duration=2000 --out "$T/r.h5" 2> "$T/err" || { cat "$T/err"; fail "distal run"; }
    grep -Eq "^distal reward: chosen synapse 0\.[0-9]+ at the end \(percentile [0-9.]+ of the excitatory weights\), never reached 95 % of w_max; coincidences [0-9]+, rewards [0-9]+, rate [0-9.]+ Hz$" "$T/err" || { cat "$T/err"; fail "distal result line"; }
    # --json keeps stdout machine-readable: the bandit's figures are in it.
    "$BIN" run "$SRC/circuits_toml/bandit_ach_na.toml" --out "$T/b2.h5" --json 2> /dev/null | grep -q '"regret":' || fail "regret missing from --json" ;;
  clock_checked)
    # dt or duration below one tick used to become 0 ticks (a division by zero in the category
    # experiment: SIGFPE, no message); a huge dt overflowed the tick counter without a location.
    expect_error "^--set run.dt=1e-12: error: 'run.dt': dt = 1e-12 ms is less than one tick" -- "$BIN" check "$CL" --set run.dt=1e-12
    expect_error "category_learning.toml:[0-9]+:[0-9]+: error: 'run.dt': dt = 0.05 ms is less than one tick \(tick = 1e\+300 ms\)" -- "$BIN" run "$CL" --set run.tick=1e300 --out "$T/run.h5"
    expect_error "'run.dt': dt = 1e\+20 ms is 1e\+23 ticks of 0.001 ms; at most 2\^62 ticks" -- "$BIN" check "$SRC/circuits_toml/demo_lif.toml" --set run.dt=1e20
    expect_error "'run.duration': duration = 1000 ms is less than one tick" -- "$BIN" run "$SRC/circuits_toml/demo_lif.toml" --set run.tick=5000 --out "$T/run.h5" ;;
  competition_both_ways)
    sed 's/{ from = "STR1", to = "STR2", weight = 1.0, t_event = 180.0 }/{ from = "STR1", to = "STR1", weight = 1.0, t_event = 180.0 }/' "$CL" > "$T/c.toml"
    grep -q 'from = "STR1", to = "STR1"' "$T/c.toml" || fail "sed did not make the self-edge"
    expect_error "c.toml:[0-9]+:[0-9]+: error: 'connections\[[0-9]+\]': a competition edge goes from one striatum to the other \(STR1 -> STR2 and STR2 -> STR1\), got STR1 -> STR1" -- "$BIN" check "$T/c.toml"
    expect_error "missing the STR1 -> STR2 competition edge" -- "$BIN" run "$T/c.toml" --out "$T/run.h5" ;;
  graph_refuses_overwrite)
    echo keep > "$T/old.h5"
    expect_error "old.h5: error: file already exists; pass --force" -- "$BIN" graph "$CL" --out "$T/old.h5"
    [[ $(cat "$T/old.h5") == keep ]] || fail "graph replaced an existing file without --force"
    "$BIN" graph "$CL" --out "$T/old.h5" --force 2> /dev/null || fail "graph --force"
    head -1 "$T/old.h5" | grep -q "^digraph" || fail "graph --force did not write the DOT file" ;;
  empty_option_values)
    # (an unset shell variable: the option must not fall back to its default silently)
    expect_error "^spikeblox: error: --out is empty" -- "$BIN" run "$CL" --out ""
    expect_error "^spikeblox: error: --seed is empty" -- "$BIN" run "$CL" --seed "" --out "$T/run.h5"
    expect_error "^spikeblox: error: --threads is empty" -- "$BIN" run "$CL" --threads "" --out "$T/run.h5"
    expect_error "^spikeblox: error: --out is empty" -- "$BIN" graph "$CL" --out "" ;;
  times_on_the_tick_grid)
    D="$SRC/circuits_toml/izhikevich_distal_reward.toml"
    expect_error "'experiment.sample_every': sample_every = 150.5 ms is not a whole number >= 1 of ticks \(run.tick = 1 ms\)" -- "$BIN" check "$D" --set experiment.sample_every=150.5
    expect_error "'experiment.sample_every': sample_every = 0.5 ms" -- "$BIN" run "$D" --set experiment.sample_every=0.5 --out "$T/run.h5"
    expect_error "'blocks.drive.rate': rate = 10000000 Hz is more than one spike per tick \(run.tick = 0.001 ms\): at most 1000000 Hz" -- "$BIN" check "$SRC/circuits_toml/demo_lif.toml" --set blocks.drive.rate=1e7
    # (periods that round to 0 steps passed the grid check: weights_every was accepted, a trace
    # dt failed at run time without a key)
    expect_error "'output.weights_every': weights_every = 1e-15 ms is not a multiple of tick" -- "$BIN" check "$SRC/circuits_toml/demo_lif.toml" --set output.weights_every=1e-15
    expect_error "'output.traces\[0\].dt': trace dt = 1e-20 ms must be a multiple of \[run\].dt" -- "$BIN" run "$SRC/circuits_toml/demo_lif.toml" --set 'output.traces[0].dt=1e-20' --out "$T/run.h5" ;;
  cortex_size_checked)
    # (validate() used to report it as 'VAC.n_wta', without the file or the --set argument)
    expect_error "^--set blocks.VAC.n_exci=100000000: error: 'blocks.VAC.n_exci': n_wta \* n_exci = 4 \* 100000000 excitatory cells; the category_learning experiment allows at most 100000" -- "$BIN" check "$CL" --set blocks.VAC.n_exci=100000000 ;;
  sizes_checked)
    # (these ran until the kernel killed them, or for hours, with no message)
    expect_error "demo_lif.toml:[0-9]+:[0-9]+: error: 'connections\[[0-9]+\]': the circuit needs at least .* GB of memory \(16 B per neuron, 8 B per synapse\), this machine has .* GB available" -- "$BIN" check "$SRC/circuits_toml/demo_lif.toml" --set blocks.E.n=2000000000
    expect_error "'experiment.synapses_per_neuron': synapses_per_neuron = 9223372036854775807 is more than the 1000 neurons they are drawn from" -- "$BIN" check "$SRC/circuits_toml/izhikevich_distal_reward.toml" --set experiment.synapses_per_neuron=9223372036854775807 ;;
  stimulus_file_named)
    # (these pointed at the [blocks.stim] header, not at the value or the --set argument that gave it)
    mkdir "$T/dir"
    expect_error "^--set blocks.stim.file=$T/dir: error: 'blocks.stim.file': the stimulus file '$T/dir' is a directory" -- "$BIN" check "$CL" --set "blocks.stim.file=$T/dir"
    expect_error "^--set blocks.stim.file=$T/none.csv: error: 'blocks.stim.file': no stimulus file" -- "$BIN" run "$CL" --set "blocks.stim.file=$T/none.csv" --out "$T/run.h5"
    printf 'pixel_1,pixel_2,category\n0.1,0.2,3\n0.3,0.4,3\n' > "$T/s.csv"
    expect_error "'blocks.stim.file': the stimulus set's largest category label is 3; .* the labels must be 1 or 2" -- "$BIN" check "$CL" --set "blocks.stim.file=$T/s.csv" ;;
  sweep_arguments_checked)
    # (probe 15) --grid/--set combinations whose values every run ignored, grid values cut at
    # commas inside strings, empty --jobs/--out, a huge index (exit 1 "stoul") and sweeps too
    # large to set up (16 axes x 16 values overflowed to "0 runs", exit 0, nothing checked)
    D="$SRC/circuits_toml/demo_lif.toml"
    expect_error "^--set blocks.E.tau_m=5: error: 'blocks.E.tau_m' is also swept by --grid" -- "$BIN" sweep "$D" --grid blocks.E.tau_m=10,20 --set blocks.E.tau_m=5 -j 1 -q --out "$T/sw"
    expect_error "^--grid meta.seed=1,2: error: the seed is swept with --seeds" -- "$BIN" sweep "$D" --grid meta.seed=1,2 -j 1 -q --out "$T/sw"
    expect_error "^--set meta.seed=4: error: the runs' seeds come from --seeds" -- "$BIN" sweep "$D" --set meta.seed=4 --seeds 1 -j 1 -q --out "$T/sw"
    expect_error "^--grid output.file=a.h5,b.h5: error: the sweep names each run's file" -- "$BIN" sweep "$D" --grid output.file=a.h5,b.h5 -j 1 -q --out "$T/sw"
    expect_error "^--grid meta.description=\"a,b: error: unterminated string" -- "$BIN" sweep "$D" --grid 'meta.description="a,b' -j 1 -q --out "$T/sw"
    expect_error "^spikeblox: error: --jobs is empty" -- "$BIN" sweep "$D" -j '' -q --out "$T/sw"
    expect_error "^spikeblox: error: --out is empty" -- "$BIN" sweep "$D" -j 1 -q --out ''
    expect_error "index above 10\^18 is out of range \('connections' has 3 elements\)" -- "$BIN" sweep "$D" --grid 'connections[99999999999999999999].weight=1,2' -j 1 -q --out "$T/sw"
    expect_error "^--seeds 0..999999: error: the sweep has 1 grid points x 1000000 seeds = 1000000 runs; at most 100000" -- "$BIN" sweep "$D" --seeds 0..999999 -j 1 -q --out "$T/sw"
    grids=(); for i in $(seq 1 16); do grids+=(--grid "a$i=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16"); done
    expect_error "^--grid: error: the sweep has more than 100000 grid points" -- "$BIN" sweep "$D" "${grids[@]}" -j 1 -q --out "$T/sw"
    [[ ! -e "$T/sw" ]] || fail "a sweep folder was made on bad input"
    # A quoted value with a comma is one grid point (it was two: '"a' and 'b"').
    "$BIN" sweep "$D" --grid 'meta.description="a,b","c"' --set run.duration=10 -j 1 -q --out "$T/sw" 2> "$T/err" || { cat "$T/err"; fail "sweep over quoted values"; }
    [[ $(ls "$T/sw"/*.h5 | wc -l) -eq 2 ]] || { ls "$T/sw"; fail "expected 2 runs"; } ;;
  sweep_folder_not_writable)
    # An existing sweep folder that cannot be written: exit 1 with a temporary file's name after
    # the runs were counted; now exit 2 before anything.
    chmod 755 "$T"; mkdir -p "$T/sw/logs"; chmod 555 "$T/sw"
    AS=(); if [[ $(id -u) -eq 0 ]]; then command -v setpriv > /dev/null || { echo "ok: $CASE (skipped: root without setpriv)"; exit 0; }; AS=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
    # (the circuit and the binary copied into $T: as user nobody the source tree may be out of
    # reach, e.g. a CI clone inside a private mktemp folder)
    D="$T/demo_lif.toml"; cp "$SRC/circuits_toml/demo_lif.toml" "$D"; chmod 644 "$D"
    SB="$T/spikeblox"; cp "$BIN" "$SB"; chmod 755 "$SB"
    expect_error "^spikeblox: error: cannot write into '$T/sw': Permission denied" -- "${AS[@]}" "$SB" sweep "$D" --set run.duration=10 -j 1 -q --out "$T/sw" ;;
  resume_checked)
    # --resume '' fell back to "a circuit FILE is required"; --threads was refused without being
    # named; a run file that is not the checkpoint's failed with exit 1 and left NAME.resume.tmp.
    expect_error "^spikeblox: error: --resume is empty" -- "$BIN" run --resume ''
    "$BIN" run "$CL" --set blocks.stim.t_stimulus=200.0 --set experiment.t_warmup=50.0 --checkpoint-every 2 --out "$T/int.h5" -q 2> /dev/null & pid=$!
    for _ in $(seq 1 200); do [[ -e "$T/int.h5.ckpt" ]] && break; sleep 0.05; done
    kill -INT $pid; wait $pid
    [[ -e "$T/int.h5.ckpt" ]] || fail "no checkpoint written"
    expect_error "it takes no FILE, --set, --seed, --threads, --out or --force" -- "$BIN" run --resume "$T/int.h5" --threads 2
    "$BIN" run "$SRC/circuits_toml/demo_lif.toml" --set run.duration=10 --out "$T/other.h5" -q 2> /dev/null || fail "demo run"
    cp "$T/other.h5" "$T/int.h5"
    expect_error "^$T/int.h5: error: '--resume': interrupted run file, weights/VAC->AC/values: missing; --resume needs the run file the checkpoint was written for" -- "$BIN" run --resume "$T/int.h5" -q
    [[ ! -e "$T/int.h5.resume.tmp" ]] || fail "the half-written resume file was left behind"
    cmp -s "$T/int.h5" "$T/other.h5" || fail "the run file was changed" ;;
  episodes_keys_checked)
    # (probe 15) 32-bit counts wrapped (max_steps = 2^32 -> the default 500; change_every = 2^32:
    # exit 1 "bandit: ... must be >= 1"), keys of another environment and the bandit's max_steps
    # did nothing, change_every x contexts = 2^32 made one-step episodes, step_window = 1e300
    # failed at run time (exit 1).
    CP="$SRC/circuits_toml/cartpole_spiking.toml"; BA="$SRC/circuits_toml/bandit_ach_na.toml"
    expect_error "'experiment.max_steps': value 4294967296 is out of range: must be \[0, 4294967295\]" -- "$BIN" check "$CP" --set experiment.max_steps=4294967296
    expect_error "'experiment.bandit_change_every': value 4294967296 is out of range" -- "$BIN" check "$BA" --set experiment.bandit_change_every=4294967296
    expect_error "'blocks.choice.n_actions': value 4294967298 is out of range: must be \[1, 2147483647\]" -- "$BIN" check "$CP" --set blocks.choice.n_actions=4294967298
    expect_error "'experiment.lane_start': lane_start applies to env = \"lane_keeping\" only; with env = \"cartpole\" it has no effect" -- "$BIN" check "$CP" --set experiment.lane_start=0.5
    expect_error "'experiment.bandit_arms': bandit_arms applies to env = \"bandit\" only" -- "$BIN" run "$CP" --set experiment.bandit_arms=4 --out "$T/run.h5"
    expect_error "'experiment.bandit_contexts': bandit_change_every x bandit_contexts = 65536 x 65536 steps in the episode; at most 4294967295" -- "$BIN" check "$BA" --set experiment.bandit_contexts=65536 --set experiment.bandit_change_every=65536
    # (4e9 arms were allocated before the decoder's action count was compared: out of memory)
    expect_error "'experiment.bandit_arms': value 4294967295 is out of range: must be \[1, 1048576\]" -- "$BIN" check "$BA" --set experiment.bandit_arms=4294967295
    expect_error "'experiment.step_window': step_window = 1e\+300 ms is 1e\+300 ticks of 1 ms; at most 2\^62 ticks" -- "$BIN" check "$CP" --set experiment.step_window=1e300
    expect_error "'blocks.obs.low\[0\]': must be a finite number, got -inf" -- "$BIN" check "$CP" --set 'blocks.obs.low=[-inf,-3.0,-0.21,-3.0]'
    "$BIN" run "$BA" --set experiment.max_steps=10 --out "$T/b.h5" 2> "$T/err" || { cat "$T/err"; fail "bandit run"; }
    grep -q "^bandit: 1 episode, 10 steps," "$T/err" || { cat "$T/err"; fail "max_steps ignored by the bandit"; } ;;
  experiment_values_checked)
    # (probe 15) DNMS: a unit clamped twice (the first value dropped), inf clamp values, an
    # output unit of 2^32 (wrapped to 0); distal reward: control_rate ignored with the contingent
    # protocol or above one reward per ms.
    DN="$SRC/circuits_toml/dnms_rnn.toml"; DR="$SRC/circuits_toml/izhikevich_distal_reward.toml"
    expect_error "'experiment.clamp_neurons\[1\]': unit 1 is listed twice \(clamp_neurons\[0\]\)" -- "$BIN" check "$DN" --set 'experiment.clamp_neurons=[1, 1, 11]'
    expect_error "'experiment.clamp_values\[0\]': must be a finite number, got inf" -- "$BIN" check "$DN" --set 'experiment.clamp_values=[inf, 1.0, -1.0]'
    expect_error "'experiment.clamp_values\[0\]': must be a finite number, got nan" -- "$BIN" check "$DN" --set 'experiment.clamp_values=[nan, 1.0, -1.0]'
    expect_error "'experiment.output_neuron': value 4294967296 is out of range" -- "$BIN" check "$DN" --set experiment.output_neuron=4294967296
    expect_error "'experiment.control_rate': control_rate is used by protocol = \"control\" only" -- "$BIN" check "$DR" --set experiment.control_rate=1.0
    expect_error "'experiment.control_rate': control_rate = 1000000000000 Hz: .* at most 1000 Hz" -- "$BIN" run "$DR" --set experiment.control_rate=1e12 --set experiment.protocol=control --out "$T/run.h5" ;;
  output_values_checked)
    # (probe 15) trace neurons / n above 2^32 (misreported / wrapped to 1 neuron), --out DIR/
    # (made the folder, then "run file already exists"), an empty or '~' output.file,
    # weights_every beyond 2^62 ticks (exit 1 at run time), a --set index above 2^64 (exit 1).
    D="$SRC/circuits_toml/demo_lif.toml"
    expect_error "'output.traces\[0\].neurons\[0\]': neuron 4294967296 is out of range" -- "$BIN" check "$D" --set 'output.traces=[{ block = "E", variable = "V", neurons = [4294967296, 0] }]'
    expect_error "'output.traces\[0\].n': n = 4294967297 exceeds the 80 neurons" -- "$BIN" check "$D" --set 'output.traces=[{ block = "E", variable = "V", n = 4294967297 }]'
    expect_error "^$T/new/: error: names a directory, not a file" -- "$BIN" run "$D" --set run.duration=10 --out "$T/new/"
    [[ ! -e "$T/new" ]] || fail "a folder was made on bad input"
    expect_error "^--set output.file=: error: 'output.file': the run file name is empty" -- "$BIN" run "$D" --set output.file=
    expect_error "'output.file': '~/x.h5' starts with '~', which is not expanded" -- "$BIN" check "$D" --set 'output.file=~/x.h5'
    expect_error "'output.weights_every': weights_every = 1e\+300 ms is 1e\+303 ticks" -- "$BIN" check "$SRC/circuits_toml/stdp_song2000.toml" --set output.weights_every=1e300
    expect_error "index above 10\^18 is out of range" -- "$BIN" check "$D" --set 'connections[99999999999999999999].weight=1'
    # (a block listed twice in output.spikes was recorded once, silently)
    expect_error "'output.spikes\[2\]': block 'E' is listed twice \(also output.spikes\[0\]\)" -- "$BIN" check "$D" --set 'output.spikes=["E", "I", "E"]'
    # weights_every without a learning connection did nothing, silently: now a note (exit 0)
    "$BIN" check "$D" --set output.weights_every=100.0 > /dev/null 2> "$T/err" || fail "check with weights_every"
    grep -q "^--set output.weights_every=100.0: note: 'output.weights_every': no connection has a learning rule" "$T/err" || { cat "$T/err"; fail "no note for weights_every"; }
    "$BIN" check "$SRC/circuits_toml/stdp_song2000.toml" --set output.weights_every=100.0 > /dev/null 2> "$T/err" || fail "check of the STDP circuit"
    ! grep -q "weights_every" "$T/err" || { cat "$T/err"; fail "a note for a circuit that learns"; } ;;
  *) fail "unknown case $CASE" ;;
esac
echo "ok: $CASE"
