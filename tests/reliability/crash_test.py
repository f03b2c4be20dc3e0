#!/usr/bin/python3
"""Crash safety of the run file (issue 7, Reliability).

Starts a 400-trial category-learning run, waits (reading the live file in SWMR mode) until it holds
a few trial rows, kills the process with SIGKILL at a random moment inside a trial, and checks that
the file
  * opens (SWMR read, as documented in engine/io/run_file.hpp; and after `h5clear -s` normally),
  * holds every finished trial row: /trials.trial == 0..n-1, times on the trial grid,
  * holds the matching weight snapshots: after_trial == -1, 0, ..., n-1 for every edge (at most one
    extra snapshot of the trial that was running may follow, possibly cut: the trial row is written
    last and is the commit record), values rows for every finished trial,
  * holds no half-written data: the first n trial rows, their weight snapshots and every spike up
    to the stop time of trial n-1 are bit-identical to an uninterrupted run of the same seed.
Repeats with several kill offsets. Usage: crash_test.py SPIKEBLOX SOURCE_DIR [REPEATS]
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

BIN, SRC = sys.argv[1], sys.argv[2]
REPEATS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
CIRCUIT = os.path.join(SRC, "circuits_toml", "category_learning.toml")
T_WARMUP, T_TRIAL = 200.0, 1000.0  # ms, from the circuit (checked below against /trials)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def open_swmr(path):
    return h5py.File(path, "r", libver="latest", swmr=True)


def live_trials(path):
    try:
        with open_swmr(path) as f:
            return len(f["trials"]) if "trials" in f else 0
    except (OSError, KeyError):
        return 0


def read_all(f, t_stop):
    """Trials, weight snapshots and spikes up to t_stop (inclusive) of an open run file."""
    out = {"trials": f["trials"][:]}
    for e in f["weights"]:
        g = f["weights"][e]
        out["w:" + e] = (g["after_trial"][:], g["values"][:])
    for p in f["spikes"]:
        g = f["spikes"][p]
        ts, ids = g["timestamps"][:], g["node_ids"][:]
        n = min(len(ts), len(ids))
        ts, ids = ts[:n], ids[:n]
        keep = ts <= t_stop
        out["s:" + p] = (ts[keep], ids[keep], ts, ids)
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="sbx_crash_")
    rng = random.Random(int(os.environ.get("SBX_CRASH_SEED", "12345")))
    try:
        for rep in range(REPEATS):
            path = os.path.join(tmp, f"run{rep}.h5")
            want = 3 + rep * 2  # rows to wait for
            proc = subprocess.Popen([BIN, "run", CIRCUIT, "--set", "experiment.n_trials=400",
                                     "--out", path, "--quiet"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            t0 = time.time()
            while live_trials(path) < want:
                if proc.poll() is not None:
                    fail(f"run ended early (rc {proc.returncode}): {proc.stderr.read().decode()}")
                if time.time() - t0 > 120:
                    proc.kill()
                    fail("no trial rows after 120 s")
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.2))  # a trial takes ~60 ms: land anywhere inside one
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if proc.returncode != -signal.SIGKILL:
                fail(f"process was not killed by SIGKILL (rc {proc.returncode})")

            # 1. Opens in SWMR read mode.
            with open_swmr(path) as f:
                n = len(f["trials"])
                if n < want:
                    fail(f"{n} trial rows after the kill, {want} were seen before it")
                if f["meta"].attrs.get("completed", 0) == 1:
                    fail("a killed run is marked completed")
                crashed = read_all(f, float("inf"))
            # 2. Opens normally after h5clear -s (the documented recovery).
            if shutil.which("h5clear"):
                subprocess.run(["h5clear", "-s", path], check=True)
                with h5py.File(path, "r") as f:
                    if len(f["trials"]) != n:
                        fail("h5clear changed the number of trial rows")

            tr = crashed["trials"]
            if list(tr["trial"]) != list(range(n)):
                fail(f"trial column {list(tr['trial'])}")
            if not np.array_equal(tr["start_time"], T_WARMUP + T_TRIAL * np.arange(n)):
                fail(f"start times {tr['start_time']}")
            if not np.array_equal(tr["stop_time"] - tr["start_time"], np.full(n, T_TRIAL)):
                fail("stop - start != trial length")
            for k, v in crashed.items():
                if not k.startswith("w:"):
                    continue
                after, values = v
                if list(after[: n + 1]) != list(range(-1, n)) or len(after) > n + 2:
                    fail(f"{k}: after_trial {list(after)} for {n} trial rows")
                if len(after) == n + 2 and after[-1] != n:
                    fail(f"{k}: extra snapshot is not of trial {n}")
                # Snapshots of finished trials were flushed before their trial row; the extra
                # snapshot of the running trial may be cut (HDF5 writes either extent first).
                if values.shape[0] < n + 1:
                    fail(f"{k}: {values.shape[0]} value rows for {n} finished trials")
                if not np.isfinite(values[: n + 1]).all():
                    fail(f"{k}: non-finite weights")

            # 3. Bit-identical to an uninterrupted run of the same seed for the finished part.
            ref_path = os.path.join(tmp, f"ref{rep}.h5")
            subprocess.run([BIN, "run", CIRCUIT, "--set", f"experiment.n_trials={n}", "--out",
                            ref_path, "--quiet"], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            t_stop = float(tr["stop_time"][-1])
            with h5py.File(ref_path, "r") as f:
                ref = read_all(f, t_stop)
            if not np.array_equal(ref["trials"], tr):
                fail("trial rows differ from the uninterrupted run")
            for k, v in ref.items():
                if k.startswith("w:"):
                    a, b = crashed[k]
                    if not (np.array_equal(v[0], a[: n + 1]) and
                            np.array_equal(v[1], b[: n + 1])):
                        fail(f"{k}: weight snapshots differ from the uninterrupted run")
                elif k.startswith("s:"):
                    ts, ids = crashed[k][0], crashed[k][1]
                    keep = ts <= t_stop
                    if not (np.array_equal(v[0], ts[keep]) and np.array_equal(v[1], ids[keep])):
                        fail(f"{k}: spikes up to {t_stop} ms differ from the uninterrupted run "
                             f"({len(ts[keep])} vs {len(v[0])})")
                    # Spikes after the last finished trial are whole (both columns) and later.
                    if np.any(np.diff(crashed[k][2]) < 0):
                        fail(f"{k}: spike times not sorted")
            print(f"kill {rep}: {n} trial rows, consistent; "
                  f"spikes up to {t_stop} ms identical to the uninterrupted run")
            os.remove(path)
            os.remove(ref_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok: crash safety")


main()
