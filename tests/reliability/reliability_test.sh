#!/usr/bin/env bash
# Reliability tests of the spikeblox command (issue 7): determinism, numerical guards, output
# safety, checkpoint/resume. Usage: reliability_test.sh BIN SOURCE_DIR CASE
# Exit 0 = pass, 1 = fail, 77 = skipped (ctest SKIP_RETURN_CODE).
set -uo pipefail
BIN=$(realpath "$1"); SRC=$(realpath "$2"); CASE=$3
T=$(mktemp -d); MNT=""
cleanup() { [[ -n "$MNT" ]] && umount "$MNT" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
CL="$SRC/circuits_toml/category_learning.toml"
PY=/usr/bin/python3
CMP="$PY $SRC/tests/reliability/h5compare.py"
# 30 short (300 ms) trials of the tutorial circuit: every mechanism (warm-up, TAN draws,
# competition, both learning rules) runs in about 1 s.
SHORT=(--set experiment.n_trials=30 --set blocks.stim.t_stimulus=300.0 --set experiment.t_warmup=100.0)

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
# run_in DIR ARGS...: runs spikeblox inside DIR (same relative --out, so /meta/command_line agrees)
run_in() { local d=$1; shift; mkdir -p "$d"; (cd "$d" && "$BIN" "$@" > out 2> err); }
# tmpfs_dir SIZE [OPTS]: a fresh tmpfs mount (root only) in $MNT
tmpfs_dir() {
  [[ $(id -u) -eq 0 ]] || return 1
  MNT="$T/mnt"; mkdir -p "$MNT"
  mount -t tmpfs -o "size=$1${2:+,$2}" tmpfs "$MNT" 2>/dev/null || { MNT=""; return 1; }
}
# nan_file_check FILE T_FAIL_MS: the killed-by-NaN file opens and holds spikes up to the failure
nan_file_check() {
  $PY - "$1" "$2" <<'PY' || fail "run file after the numerical error"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r", libver="latest", swmr=True)
t_fail = float(sys.argv[2])
n = 0
for p in f["spikes"]:
    ts = f["spikes"][p]["timestamps"][:]
    assert len(ts) == len(f["spikes"][p]["node_ids"]), p
    assert (ts <= t_fail).all(), (p, ts.max(), t_fail)
    n += len(ts)
assert n > 0, "no spikes kept"
assert f["meta"].attrs.get("completed", 0) != 1, "a failed run is marked completed"
print(f"file keeps {n} spikes up to {t_fail} ms")
PY
}

case "$CASE" in
  # ---- determinism: same seed -> bit-identical run files apart from timestamps ----------------
  determinism_category)
    run_in "$T/a" run "$CL" "${SHORT[@]}" --out run.h5 --quiet || fail "run a"
    run_in "$T/b" run "$CL" "${SHORT[@]}" --out run.h5 --quiet || fail "run b"
    $CMP "$T/a/run.h5" "$T/b/run.h5" || fail "two runs with the same seed differ"
    run_in "$T/c" run "$CL" "${SHORT[@]}" --seed 2 --out run.h5 --quiet || fail "run c"
    $CMP "$T/a/run.h5" "$T/c/run.h5" --only trials,weights,spikes > /dev/null &&
      fail "seed 2 gives the same trials/weights/spikes as seed 1 (the comparison cannot fail?)"
    true ;;
  determinism_plain)
    for c in cuba demo_lif; do  # clocked LIF network; exact event-driven LIF with Poisson drive
      run_in "$T/$c-a" run "$SRC/circuits_toml/$c.toml" --set run.duration=300.0 --out run.h5 --quiet || fail "$c a"
      run_in "$T/$c-b" run "$SRC/circuits_toml/$c.toml" --set run.duration=300.0 --out run.h5 --quiet || fail "$c b"
      $CMP "$T/$c-a/run.h5" "$T/$c-b/run.h5" || fail "$c: two runs with the same seed differ"
    done ;;
  determinism_threads)
    "$BIN" run --help 2>&1 | grep -q -- "--threads" || skip "spikeblox run has no --threads option"
    for c in cuba cobahh; do  # both split across threads (ranged stepping)
      run_in "$T/t1-$c" run "$SRC/circuits_toml/$c.toml" --set run.duration=100.0 --threads 1 --out run.h5 --quiet || fail "1 thread"
      run_in "$T/t2-$c" run "$SRC/circuits_toml/$c.toml" --set run.duration=100.0 --threads 2 --out run.h5 --quiet || fail "2 threads"
      $CMP "$T/t1-$c/run.h5" "$T/t2-$c/run.h5" --ignore /meta/command_line,/meta/resolved_config_json ||
        fail "$c: 1 and 2 threads differ"
    done
    # The category runner builds its own simulator and its HH populations have no ranged stepping
    # (yet): this part only guards the day they get threads.
    run_in "$T/c1" run "$CL" "${SHORT[@]}" --threads 1 --out run.h5 --quiet || fail "category 1 thread"
    run_in "$T/c2" run "$CL" "${SHORT[@]}" --threads 2 --out run.h5 --quiet || fail "category 2 threads"
    $CMP "$T/c1/run.h5" "$T/c2/run.h5" --ignore /meta/command_line,/meta/resolved_config_json ||
      fail "category: 1 and 2 threads differ" ;;

  # ---- numerical guards: NaN stops the run naming block, neuron, variable, time; exit 3 ---------
  nan_clocked)  # clocked CUBA LIF: +1e308 and -1e308 synaptic currents meet -> inf - inf = NaN
    sed -e 's/weight = 1.62/weight = 1e308/' -e 's/weight = -9.0/weight = -1e308/' \
      "$SRC/circuits_toml/cuba.toml" > "$T/nan.toml"
    "$BIN" run "$T/nan.toml" --out "$T/run.h5" --quiet 2> "$T/err"; rc=$?
    cat "$T/err"
    [[ $rc -eq 3 ]] || fail "exit status $rc, expected 3"
    grep -Eq "block 'E', neuron [0-9]+, variable '[A-Za-z_]+' at t = [0-9.]+ ms" "$T/err" || fail "message"
    t=$(grep -o "at t = [0-9.]*" "$T/err" | head -1 | cut -d" " -f4)
    nan_file_check "$T/run.h5" "$t" ;;
  nan_event_driven)  # exact (event-driven) LIF: the same clash of infinite weights
    sed -e 's/weight = 180.0/weight = 1e308/' -e 's/weight = -400.0/weight = -1e308/' \
      "$SRC/circuits_toml/demo_lif.toml" > "$T/nan.toml"
    "$BIN" run "$T/nan.toml" --out "$T/run.h5" --quiet 2> "$T/err"; rc=$?
    cat "$T/err"
    [[ $rc -eq 3 ]] || fail "exit status $rc, expected 3"
    grep -Eq "block '(E|I)', neuron [0-9]+, variable '[A-Za-z_]+' at t = [0-9.]+ ms" "$T/err" || fail "message"
    t=$(grep -o "at t = [0-9.]*" "$T/err" | head -1 | cut -d" " -f4)
    nan_file_check "$T/run.h5" "$t" ;;
  nan_category)  # an absurd VAC excitatory synapse conductance overflows the AC cells
    "$BIN" run "$CL" --set experiment.n_trials=5 --set blocks.VAC.G_syn_exci=1e308 \
      --out "$T/run.h5" --quiet 2> "$T/err"; rc=$?
    cat "$T/err"
    [[ $rc -eq 3 ]] || fail "exit status $rc, expected 3"
    grep -Eq "block '[A-Z0-9]+', neuron [0-9]+, variable '[A-Za-z_]+' at t = [0-9.]+ ms" "$T/err" || fail "message"
    t=$(grep -o "at t = [0-9.]*" "$T/err" | head -1 | cut -d" " -f4)
    nan_file_check "$T/run.h5" "$t"
    $PY - "$T/run.h5" "$t" <<'PY' || fail "trial rows before the failure"
import sys, h5py
f = h5py.File(sys.argv[1], "r", libver="latest", swmr=True)
tr = f["trials"][:]
t = float(sys.argv[2])
assert all(tr["stop_time"] <= t), "a trial row after the failure"
assert len(tr) == int((t - 200.0) // 1000.0), (len(tr), t)  # every trial finished before it
for e in f["weights"]:
    assert len(f["weights"][e]["after_trial"]) == len(tr) + 1, e
print(f"{len(tr)} trial rows with their weight snapshots kept")
PY
    ;;

  # ---- output safety ---------------------------------------------------------------------------
  out_exists_force)  # refuse to overwrite, --force overwrites
    echo keep > "$T/run.h5"
    "$BIN" run "$SRC/circuits_toml/cuba.toml" --set run.duration=50.0 --out "$T/run.h5" --quiet 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] || fail "exit $rc, expected 2"
    grep -q -- "--force" "$T/err" || { cat "$T/err"; fail "no hint at --force"; }
    [[ $(cat "$T/run.h5") == keep ]] || fail "existing file was modified"
    "$BIN" run "$SRC/circuits_toml/cuba.toml" --set run.duration=50.0 --out "$T/run.h5" --force --quiet 2> "$T/err" ||
      fail "--force did not overwrite"
    $PY -c "import h5py,sys; assert h5py.File(sys.argv[1],'r')['meta'].attrs['completed'] == 1" "$T/run.h5" || fail "overwritten file" ;;
  out_missing_dir)  # missing directories are created (mkdir -p)
    "$BIN" run "$SRC/circuits_toml/cuba.toml" --set run.duration=50.0 --out "$T/x/y/run.h5" --quiet 2> "$T/err" ||
      { cat "$T/err"; fail "missing directories were not created"; }
    [[ -f "$T/x/y/run.h5" ]] || fail "no run file" ;;
  out_not_a_directory)  # a path through a regular file: clear error at start, nothing written
    echo x > "$T/file"
    "$BIN" run "$CL" --out "$T/file/run.h5" 2> "$T/err"; rc=$?
    cat "$T/err"
    [[ $rc -eq 2 ]] || fail "exit $rc, expected 2"
    grep -q "$T/file" "$T/err" || fail "message does not name the path"
    grep -q "nothing was run" "$T/err" || fail "message does not say nothing was run" ;;
  out_unwritable)  # read-only file system (root: permissions do not apply) / read-only directory
    if tmpfs_dir 1m ro; then d="$MNT"; else
      [[ $(id -u) -ne 0 ]] || skip "cannot mount a tmpfs"
      d="$T/ro"; mkdir "$d"; chmod 555 "$d"
    fi
    "$BIN" run "$CL" --out "$d/run.h5" 2> "$T/err"; rc=$?
    cat "$T/err"
    [[ $rc -eq 2 ]] || fail "exit $rc, expected 2"
    grep -Eq "not writable|Read-only|Permission denied" "$T/err" || fail "message"
    grep -q "nothing was run" "$T/err" || fail "message does not say nothing was run" ;;
  out_disk_full_at_start)  # less than 1 MiB free: refused before anything runs
    tmpfs_dir 512k || skip "needs root to mount a small tmpfs"
    "$BIN" run "$CL" --out "$MNT/run.h5" 2> "$T/err"; rc=$?
    cat "$T/err"
    [[ $rc -eq 2 ]] || fail "exit $rc, expected 2"
    grep -q "bytes free" "$T/err" || fail "message"
    [[ ! -e "$MNT/run.h5" ]] || fail "a file was written" ;;
  out_disk_full_during_run)  # disk fills mid-run: exit 1 naming the file and ENOSPC, data kept
    tmpfs_dir 1200k || skip "needs root to mount a small tmpfs"
    "$BIN" run "$SRC/circuits_toml/cuba.toml" --set run.duration=20000.0 --out "$MNT/run.h5" --quiet 2> "$T/err"; rc=$?
    head -c 600 "$T/err"; echo
    [[ $rc -eq 1 ]] || fail "exit $rc, expected 1"
    grep -q "$MNT/run.h5" "$T/err" || fail "message does not name the file"
    grep -q "No space left on device" "$T/err" || fail "message does not say the disk is full"
    $PY - "$MNT/run.h5" <<'PY' || fail "partial file"
import sys, h5py
f = h5py.File(sys.argv[1], "r", libver="latest", swmr=True)
n = {p: len(f["spikes"][p]["timestamps"]) for p in f["spikes"]}
assert sum(n.values()) > 0, n
print("partial file keeps", n)
PY
    ;;
  # ---- checkpoint options (the resume itself: checkpoint_test.py) ------------------------------
  checkpoint_plain_error)  # plain runs have no trials: a clear error before anything is written
    "$BIN" run "$SRC/circuits_toml/cuba.toml" --checkpoint-every 5 --out "$T/run.h5" 2> "$T/err"; rc=$?
    cat "$T/err"
    [[ $rc -eq 2 ]] || fail "exit $rc, expected 2"
    grep -q "checkpoints are taken between trials; experiment 'run' has no trials" "$T/err" || fail "message"
    [[ ! -e "$T/run.h5" ]] || fail "a run file was written" ;;
  resume_errors)
    "$BIN" run --resume "$T/none.h5" 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] && grep -q "no such run file" "$T/err" || { cat "$T/err"; fail "missing run file: exit $rc"; }
    "$BIN" run "$CL" "${SHORT[@]}" --out "$T/run.h5" --quiet 2> /dev/null || fail "run"
    "$BIN" run --resume "$T/run.h5" 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] && grep -q "no checkpoint here" "$T/err" || { cat "$T/err"; fail "no checkpoint: exit $rc"; }
    echo garbage > "$T/run.h5.ckpt"
    "$BIN" run --resume "$T/run.h5" 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] && grep -q "not a spikeblox checkpoint" "$T/err" || { cat "$T/err"; fail "garbage checkpoint: exit $rc"; }
    "$BIN" run "$CL" --resume "$T/run.h5" 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] && grep -q "takes no FILE" "$T/err" || { cat "$T/err"; fail "FILE with --resume: exit $rc"; }
    "$BIN" run 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] && grep -q "FILE is required" "$T/err" || { cat "$T/err"; fail "no FILE: exit $rc"; }
    # A damaged checkpoint (one flipped byte) is detected by its checksum.
    "$BIN" run "$CL" "${SHORT[@]}" --checkpoint-every 3 --out "$T/k.h5" --quiet 2> /dev/null &
    pid=$!
    for _ in $(seq 1000); do [[ -s "$T/k.h5.ckpt" ]] && break; sleep 0.01; done
    kill -9 $pid 2> /dev/null; wait $pid 2> /dev/null
    [[ -s "$T/k.h5.ckpt" ]] || fail "no checkpoint written"
    $PY -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; open(p,'wb').write(b)" "$T/k.h5.ckpt"
    "$BIN" run --resume "$T/k.h5" 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] && grep -q "checksum mismatch" "$T/err" || { cat "$T/err"; fail "damaged checkpoint: exit $rc"; } ;;
  fuzz_regressions)  # inputs the fuzzers once broke: now clean rejections (exit 2, positions)
    for f in "$SRC"/tests/fuzz/regressions/*.toml; do
      "$BIN" check "$f" > /dev/null 2> "$T/err"; rc=$?
      [[ $rc -eq 2 ]] || { cat "$T/err"; fail "$(basename "$f"): exit $rc, expected 2"; }
      grep -Eq "^[^ ]+:[0-9]+:[0-9]+: error: '" "$T/err" || { cat "$T/err"; fail "$(basename "$f"): no positioned error"; }
      echo "$(basename "$f"): rejected with $(grep -c ': error: ' "$T/err") positioned error(s)"
    done ;;
  *) fail "unknown case $CASE" ;;
esac
echo "ok: $CASE"
