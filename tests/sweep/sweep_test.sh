#!/usr/bin/env bash
# End-to-end tests of `spikeblox sweep` (apps/sweep.hpp) on the tutorial circuit with 3 trials per
# run (~0.3 s each). Usage: sweep_test.sh BIN SOURCE_DIR CASE [MPIEXEC]
set -uo pipefail
BIN=$1; SRC=$2; CASE=$3; MPIEXEC=${4:-mpirun}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
CL="$SRC/circuits_toml/category_learning.toml"
PY=/usr/bin/python3
SHORT=(--set experiment.n_trials=3 --set blocks.stim.t_stimulus=300.0 --set experiment.t_warmup=100.0)
HEADER="point,seed,rules.hebb_da.K,file,status,acc_1_20,acc_100_400,acc_total"
# Sanitizer builds: OpenMPI's own leaks are not ours (tests/sweep/lsan_openmpi.supp).
export LSAN_OPTIONS="suppressions=$SRC/tests/sweep/lsan_openmpi.supp:fast_unwind_on_malloc=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

fail() { echo "FAIL: $*"; [[ -f "$T/err" ]] && sed 's/^/  stderr: /' "$T/err"; exit 1; }

# check_index DIR N_ROWS N_COMPLETE: header, row count, every complete row's file complete and its
# accuracies equal to those recomputed from the file's /trials (independently, with h5py).
check_index() {
  local dir=$1 rows=$2 complete=$3
  [[ -f "$dir/index.csv" ]] || fail "no $dir/index.csv"
  [[ $(head -1 "$dir/index.csv") == "$HEADER" ]] || fail "index header: $(head -1 "$dir/index.csv")"
  [[ $(($(wc -l < "$dir/index.csv") - 1)) -eq $rows ]] || fail "index has $(($(wc -l < "$dir/index.csv") - 1)) rows, expected $rows"
  [[ $(grep -c ',complete,' "$dir/index.csv") -eq $complete ]] || fail "$(grep -c ',complete,' "$dir/index.csv") complete rows, expected $complete"
  $PY - "$dir" <<'PY' || fail "index content"
import csv, sys, os, h5py, numpy as np
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, 'index.csv'))))
seen = set()
for r in rows:
    key = (int(r['point']), int(r['seed']))
    assert key not in seen, key
    seen.add(key)
    assert r['file'] == 'category_learning_K%s_s%s.h5' % (r['rules.hebb_da.K'], r['seed']), r
    assert r['status'] in ('complete', 'failed'), r
    if r['status'] == 'failed':
        assert r['acc_total'] == '' and r['acc_1_20'] == '', r
        continue
    with h5py.File(os.path.join(d, r['file']), 'r') as f:
        assert f['meta'].attrs['completed'] == 1
        assert f['meta'].attrs['seed'] == int(r['seed'])
        assert '"K":%s' % r['rules.hebb_da.K'] in f['meta/resolved_config_json'][()].decode().replace(' ', '')
        c = f['trials']['correct'][:].astype(float)
    assert len(c) == 3
    assert abs(float(r['acc_total']) - c.mean()) < 1e-6, (r, c)
    assert abs(float(r['acc_1_20']) - c[:20].mean()) < 1e-6, (r, c)
    assert r['acc_100_400'] == '', r          # fewer than 400 trials
PY
}

case "$CASE" in
  local_jobs)
    # 2 K values x 2 seeds on 2 local jobs: 4 run files, a complete index, exit 0.
    "$BIN" sweep "$CL" --seeds 1..2 --grid 'rules.hebb_da.K=0.04,0.08' --jobs 2 "${SHORT[@]}" \
      --out "$T/sw" 2> "$T/err" || fail "sweep exit $?"
    check_index "$T/sw" 4 4
    grep -q "2 jobs at a time" "$T/err" || fail "not run on 2 jobs"
    [[ $(ls "$T/sw"/*.h5 | wc -l) -eq 4 ]] || fail "expected 4 run files"
    [[ ! -e "$T/sw/index.rank0.csv" ]] || fail "partial index left without MPI"
    # Seeds really differ and the grid value really reaches the run.
    $PY - "$T/sw" <<'PY' || fail "runs differ by seed and K"
import h5py, sys, numpy as np
d = sys.argv[1]
def spikes(n):
    with h5py.File(d + '/' + n, 'r') as f:
        return f['spikes/VAC/timestamps'][:]
a, b = spikes('category_learning_K0.04_s1.h5'), spikes('category_learning_K0.04_s2.h5')
assert len(a) != len(b) or not np.array_equal(a, b), 'seeds 1 and 2 gave identical spikes'
PY
    ;;
  failed_run_and_skip)
    # One run cannot write its file (a directory is in the way): it fails, the others complete,
    # exit 1. The re-run skips the 3 complete runs and redoes the failed one (and a garbage file).
    mkdir -p "$T/sw/category_learning_K0.08_s1.h5"
    "$BIN" sweep "$CL" --seeds 1..2 --grid 'rules.hebb_da.K=0.04,0.08' --jobs 2 "${SHORT[@]}" \
      --out "$T/sw" 2> "$T/err"; rc=$?
    [[ $rc -eq 1 ]] || fail "exit $rc with a failed run, expected 1"
    check_index "$T/sw" 4 3
    grep -q '^1,1,0.08,category_learning_K0.08_s1.h5,failed,,,$' "$T/sw/index.csv" || fail "failed row"
    grep -q 'category_learning_K0.08_s1: FAILED (exit 2, bad input; log ' "$T/err" || fail "failure not reported"
    [[ -s "$T/sw/logs/category_learning_K0.08_s1.log" ]] || fail "no log of the failed run"
    rmdir "$T/sw/category_learning_K0.08_s1.h5"
    echo garbage > "$T/sw/category_learning_K0.04_s2.h5"      # an incomplete/corrupt file
    touch -d '2001-01-01' "$T/sw/category_learning_K0.04_s1.h5" "$T/sw/category_learning_K0.08_s2.h5"
    "$BIN" sweep "$CL" --seeds 1..2 --grid 'rules.hebb_da.K=0.04,0.08' --jobs 2 "${SHORT[@]}" \
      --out "$T/sw" 2> "$T/err" || fail "re-run exit $?"
    grep -q "4 runs, 2 already complete, 2 to run" "$T/err" || fail "re-run did not skip the complete runs"
    check_index "$T/sw" 4 4
    [[ $(stat -c %Y "$T/sw/category_learning_K0.04_s1.h5") -lt 1000000000 ]] || fail "a complete run was redone"
    # A changed configuration makes the complete files stale: everything is redone.
    "$BIN" sweep "$CL" --seeds 1..2 --grid 'rules.hebb_da.K=0.04,0.08' --jobs 2 "${SHORT[@]}" \
      --set rules.hebb_da.decay=0.02 --out "$T/sw" 2> "$T/err" || fail "changed-config run exit $?"
    grep -q "0 already complete, 4 to run" "$T/err" || fail "stale runs were skipped" ;;
  bad_grid)
    # Bad grid keys / values / seeds are positioned errors before anything runs (exit 2).
    "$BIN" sweep "$CL" --seeds 1..2 --grid 'rules.hebb_da.KK=0.04,0.08' --grid 'experiment.n_trials=3,x' \
      --out "$T/sw" 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] || fail "exit $rc, expected 2"
    grep -q "^--grid rules.hebb_da.KK=0.04,0.08: error: 'rules.hebb_da.KK': unknown key 'KK'.*did you mean 'K'" "$T/err" || fail "unknown grid key message"
    grep -q "^--grid experiment.n_trials=3,x: error: 'experiment.n_trials'" "$T/err" || fail "bad grid value message"
    [[ $(grep -c "unknown key 'KK'" "$T/err") -eq 1 ]] || fail "the same error reported once per point"
    [[ ! -e "$T/sw" ]] || fail "output folder created on bad input"
    "$BIN" sweep "$CL" --seeds 5..1 --out "$T/sw" 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] && grep -q "^--seeds 5..1: error: .*descending" "$T/err" || fail "bad seed range"
    "$BIN" sweep "$CL" --grid 'rules.hebb_da.K' --out "$T/sw" 2> "$T/err"; rc=$?
    [[ $rc -eq 2 ]] && grep -q "expected --grid dotted.key=v1,v2" "$T/err" || fail "grid without '='"
    [[ ! -e "$T/sw" ]] || fail "output folder created on bad input" ;;
  mpi)
    # 2 MPI ranks share 2 K values x 2 seeds round-robin; rank 0 merges one index.
    "$MPIEXEC" --allow-run-as-root --oversubscribe -n 2 "$BIN" sweep "$CL" --seeds 1..2 \
      --grid 'rules.hebb_da.K=0.04,0.08' "${SHORT[@]}" --out "$T/sw" 2> "$T/err" || fail "mpirun exit $?"
    check_index "$T/sw" 4 4
    grep -q "on 2 MPI ranks" "$T/err" || fail "not run on 2 ranks"
    grep -q "^sweep rank 0: 2 runs, 0 already complete, 2 to run" "$T/err" || fail "rank 0 share"
    grep -q "^sweep rank 1: 2 runs, 0 already complete, 2 to run" "$T/err" || fail "rank 1 share"
    [[ -z $(ls "$T/sw" | grep 'index.rank') ]] || fail "partial indices left behind"
    # Re-run under MPI: nothing to do, same index.
    cp "$T/sw/index.csv" "$T/index0.csv"
    "$MPIEXEC" --allow-run-as-root --oversubscribe -n 2 "$BIN" sweep "$CL" --seeds 1..2 \
      --grid 'rules.hebb_da.K=0.04,0.08' "${SHORT[@]}" --out "$T/sw" 2> "$T/err" || fail "mpirun re-run exit $?"
    grep -q "^sweep rank 1: 2 runs, 2 already complete, 0 to run" "$T/err" || fail "MPI re-run did not skip"
    cmp -s "$T/sw/index.csv" "$T/index0.csv" || fail "index changed on a no-op re-run" ;;
  mpi_rank_killed)
    # A rank killed mid-sweep: mpirun ends the job, but every run that finished keeps its complete
    # file, and a plain re-run only does the rest.
    "$MPIEXEC" --allow-run-as-root --oversubscribe -n 2 "$BIN" sweep "$CL" --seeds 1..6 \
      --grid 'rules.hebb_da.K=0.04,0.08' "${SHORT[@]}" --jobs 1 --out "$T/sw" 2> "$T/err" &
    launcher=$!
    for _ in $(seq 1 600); do   # until rank 1's first run completed (its partial index has a row)
      [[ -f "$T/sw/index.rank1.csv" && $(wc -l < "$T/sw/index.rank1.csv") -ge 2 ]] && break
      sleep 0.1
    done
    rank1=""   # the rank processes are mpirun's children; rank 1 by its environment
    for p in $(pgrep -P "$launcher"); do
      tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && rank1=$p
    done
    [[ -n $rank1 ]] || { wait $launcher; fail "rank 1 not found (sweep finished too fast?)"; }
    kill -9 "$rank1"
    wait $launcher; rc=$?
    [[ $rc -ne 0 ]] || fail "mpirun exit 0 after a rank was killed"
    sleep 0.5   # the ranks' runs get SIGKILL when their rank dies (PR_SET_PDEATHSIG)
    pgrep -f -- "--out $T/sw/" > /dev/null && fail "runs of the killed sweep are still running"
    n_done=$($PY -c "
import h5py, glob, sys
n = 0
for p in glob.glob(sys.argv[1] + '/*.h5'):
    try:
        with h5py.File(p, 'r') as f: n += int(f['meta'].attrs.get('completed', 0) == 1)
    except OSError: pass
print(n)" "$T/sw")
    [[ $n_done -ge 1 && $n_done -lt 12 ]] || fail "$n_done complete files after the kill"
    "$BIN" sweep "$CL" --seeds 1..6 --grid 'rules.hebb_da.K=0.04,0.08' "${SHORT[@]}" \
      --out "$T/sw" 2> "$T/err" || fail "re-run exit $?"
    grep -q "12 runs, $n_done already complete, $((12 - n_done)) to run" "$T/err" || fail "re-run did not skip the $n_done complete runs"
    [[ $(grep -c ',complete,' "$T/sw/index.csv") -eq 12 ]] || fail "re-run index not complete" ;;
  interrupted)
    # SIGTERM to the sweep alone (a batch system, `kill PID`): no new runs, the running one gets
    # the signal and closes its file (readable, marked not complete), exit 143 with a message; the
    # same command again completes the sweep.
    LONG=(--set experiment.n_trials=100)   # ~1 s per run
    "$BIN" sweep "$CL" --seeds 1..3 --jobs 1 "${LONG[@]}" --out "$T/sw" 2> "$T/err" &
    sweep=$!
    for _ in $(seq 1 300); do   # until the first run writes its file
      [[ -f "$T/sw/category_learning_s1.h5" ]] && break
      sleep 0.05
    done
    sleep 0.3
    kill -TERM "$sweep"
    wait "$sweep"; rc=$?
    [[ $rc -eq 143 ]] || fail "exit $rc after SIGTERM, expected 143"
    grep -q "interrupted by Terminated: no new runs; waiting for 1 running run" "$T/err" || fail "no interruption message"
    grep -q "category_learning_s1: stopped (file kept, not complete; log " "$T/err" || fail "the stopped run not reported"
    grep -q "1 run stopped, 2 not started; the same command again finishes the sweep" "$T/err" || fail "no summary of the interruption"
    grep -q "^sweep: 0 of 3 runs complete, 1 failed" "$T/err" || fail "summary counts"
    [[ ! -e "$T/sw/category_learning_s2.h5" ]] || fail "a run started after the signal"
    $PY - "$T/sw/category_learning_s1.h5" <<'PY' || fail "the stopped run's file"
import h5py, sys
with h5py.File(sys.argv[1], 'r') as f:
    assert f['meta'].attrs.get('completed', 0) == 0   # (set only when complete)
    assert 0 < len(f['trials']) < 100, len(f['trials'])
PY
    grep -q ',failed,' "$T/sw/index.csv" || fail "the stopped run is not in the index"
    "$BIN" sweep "$CL" --seeds 1..3 --jobs 1 "${LONG[@]}" --out "$T/sw" 2> "$T/err" || fail "re-run exit $?"
    grep -q "3 runs, 0 already complete, 3 to run" "$T/err" || fail "re-run plan"
    [[ $(grep -c ',complete,' "$T/sw/index.csv") -eq 3 ]] || fail "re-run index not complete" ;;
  *) fail "unknown case $CASE" ;;
esac
echo "ok: $CASE"
