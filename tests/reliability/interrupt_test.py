#!/usr/bin/python3
"""Graceful interruption (Ctrl-C = SIGINT, SIGTERM) of `spikeblox run`.

1. Plain run (circuits_toml/stdp_song2000.toml, 3000 s simulated): SIGINT after ~1 s of wall
   time stops it at the next step boundary with exit status 130 and a message naming the signal and
   the simulated time; the run file is readable, not marked completed, holds the spikes up to that
   time and a last weight snapshot of the plastic edge AT that time (not only the periodic ones).
2. The distal-reward experiment: the same at the next chosen-synapse sample (every 100 ms),
   with its samples and a second weight snapshot (the weights reached) in the file.
3. Category learning with --checkpoint-every 7 (200 short trials): SIGTERM ~0.1 s after the first
   checkpoint stops it at the end of a trial (exit 143, "at the end of trial N of 200"); /trials
   holds exactly N rows; a checkpoint at trial N was written (also when N is not a multiple of 7),
   so `spikeblox run --resume` continues from N and the finished file is bit-identical to an
   uninterrupted run (apart from /meta/command_line).
4. The episodes experiment: a bandit run is one long episode (bandit_ach_na.toml with 20000
   contexts, record_steps): SIGINT stops it at a step boundary inside the episode (exit 130,
   "at step N of episode 1 of 1"); /steps holds exactly its N steps, /episodes no row. Test
   episodes (lane_keeping_snn_working.toml, 2 + 5000): SIGTERM stops at the end of a test episode
   (exit 143) with one /episodes row per finished episode. (Both were ignored: the run went on
   to its end and exited 0.)
Usage: interrupt_test.py SPIKEBLOX SOURCE_DIR
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py

BIN, SRC = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
CMP = ["/usr/bin/python3", os.path.join(SRC, "tests", "reliability", "h5compare.py")]
CATEGORY = os.path.join(SRC, "circuits_toml", "category_learning.toml")
N_TRIALS = 200
SHORT = ["--set", f"experiment.n_trials={N_TRIALS}", "--set", "blocks.stim.t_stimulus=300.0",
         "--set", "experiment.t_warmup=100.0"]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def interrupt(cwd, args, sig, ready):
    """Starts spikeblox run ARGS, waits until ready() (at most 60 s), sends SIG, returns
    (returncode, stderr)."""
    p = subprocess.Popen([BIN, "run", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not ready():
        if p.poll() is not None:
            fail(f"run ended before the signal (rc {p.returncode}): {p.stderr.read()}")
        if time.time() - t0 > 60:
            p.kill()
            fail("not ready after 60 s")
        time.sleep(0.005)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    return p.returncode, err


def sigint_after_1s(tmp, name, toml):
    """Runs circuits_toml/TOML in TMP/NAME, SIGINT after 1 s; checks exit 130 and the message,
    returns (dir, the stop time in ms the message names)."""
    d = os.path.join(tmp, name)
    os.mkdir(d)
    t0 = time.time()
    # (1 s after the start, and only once the run file exists: on a loaded machine, or under a
    # sanitizer, the circuit may still be being built after 1 s, and a signal then stops the run
    # before its output, with another message)
    rc, err = interrupt(d, [os.path.join(SRC, "circuits_toml", toml), "--out", "run.h5",
                            "--quiet"], signal.SIGINT,
                        lambda: time.time() - t0 > 1.0 and os.path.exists(os.path.join(d, "run.h5")))
    if rc != 130:
        fail(f"{name} run: exit {rc}, expected 130\n{err}")
    m = re.search(r"interrupted by SIGINT at t = ([0-9.]+) ms", err)
    if not m:
        fail(f"{name} run: message: {err}")
    return d, float(m.group(1))


def plain(tmp):
    d, t_stop = sigint_after_1s(tmp, "plain", "stdp_song2000.toml")
    if not 0 < t_stop < 3.0e6:
        fail(f"plain run stopped at t = {t_stop} ms")
    with h5py.File(os.path.join(d, "run.h5"), "r") as f:
        if f["meta"].attrs.get("completed", 0):
            fail("an interrupted run is marked completed")
        times = f["weights/exc_in->post/time_ms"][()]
        values = f["weights/exc_in->post/values"]
        # (the message prints t to 0.1 ms; the run stops at a step boundary, so the stored
        # times may differ from it by a rounding of the tick-to-ms conversion)
        if abs(times[-1] - t_stop) > 1e-6 or values.shape[0] != len(times):
            fail(f"last weight snapshot at {times[-1]} ms, rows {values.shape[0]}/{len(times)}, "
                 f"stopped at {t_stop}")
        spikes = f["spikes/post/timestamps"][()]
        if len(spikes) == 0 or spikes[-1] > t_stop + 1e-6 or spikes[-1] < t_stop - 2000:
            fail(f"spikes end at {spikes[-1] if len(spikes) else None} ms, stopped at {t_stop}")
    print(f"plain: SIGINT -> exit 130 at t = {t_stop:.0f} ms, final weights and spikes kept")


def distal(tmp):
    d, t_stop = sigint_after_1s(tmp, "distal", "izhikevich_distal_reward.toml")
    with h5py.File(os.path.join(d, "run.h5"), "r") as f:
        chosen = f["synapses/chosen"][()]
        w = f["weights/exc->exc"]
        if chosen["time"][-1] != t_stop or w["values"].shape[0] != 2 or list(w["after_trial"]) != [-1, 0]:
            fail(f"distal: last sample {chosen['time'][-1]} (stopped at {t_stop}), "
                 f"weight rows {w['values'].shape[0]}")
    print(f"distal: SIGINT -> exit 130 at t = {t_stop:.0f} ms, samples and weights kept")


def category(tmp):
    ref = os.path.join(tmp, "ref")
    os.mkdir(ref)
    r = subprocess.run([BIN, "run", CATEGORY, *SHORT, "--out", "run.h5", "--quiet"], cwd=ref,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        fail(f"reference run: {r.stderr}")
    d = os.path.join(tmp, "cat")
    os.mkdir(d)
    ckpt = os.path.join(d, "run.h5.ckpt")
    seen = []

    def ready():  # ~0.1 s after the first checkpoint: mid-run, usually between two checkpoints
        if not seen and os.path.exists(ckpt):
            seen.append(time.time())
        return bool(seen) and time.time() - seen[0] > 0.1

    rc, err = interrupt(d, [CATEGORY, *SHORT, "--out", "run.h5", "--quiet", "--checkpoint-every",
                            "7"], signal.SIGTERM, ready)
    if rc != 143:
        fail(f"category run: exit {rc}, expected 143\n{err}")
    m = re.search(rf"interrupted by SIGTERM at the end of trial ([0-9]+) of {N_TRIALS}", err)
    if not m or "spikeblox run --resume run.h5" not in err:
        fail(f"category run: message: {err}")
    n = int(m.group(1))
    with h5py.File(os.path.join(d, "run.h5"), "r") as f:
        rows = f["trials"].shape[0]
    if rows != n:
        fail(f"/trials holds {rows} rows, the message says trial {n}")
    r = subprocess.run([BIN, "run", "--resume", "run.h5", "--quiet"], cwd=d,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        fail(f"resume: {r.stderr}")
    c = subprocess.run(CMP + [os.path.join(ref, "run.h5"), os.path.join(d, "run.h5"), "--ignore",
                              "/meta/command_line"], stdout=subprocess.PIPE, text=True)
    print(c.stdout.strip())
    if c.returncode != 0:
        fail("the interrupted and resumed run differs from the uninterrupted run")
    print(f"category: SIGTERM -> exit 143 after trial {n}, resumed, identical to the clean run")


def episodes(tmp):
    d = os.path.join(tmp, "episodes")
    os.mkdir(d)
    t0 = time.time()
    rc, err = interrupt(d, [os.path.join(SRC, "circuits_toml", "bandit_ach_na.toml"), "--out",
                            "bandit.h5", "--quiet", "--set", "experiment.bandit_contexts=20000",
                            "--set", "experiment.record_steps=true"], signal.SIGINT,
                        lambda: time.time() - t0 > 0.5)
    m = re.search(r"interrupted by SIGINT at step ([0-9]+) of episode 1 of 1", err)
    if rc != 130 or not m:
        fail(f"bandit run: exit {rc}, expected 130 and the step reached\n{err}")
    n = int(m.group(1))
    with h5py.File(os.path.join(d, "bandit.h5"), "r") as f:
        if f["meta"].attrs.get("completed", 0):
            fail("an interrupted episodes run is marked completed")
        steps = f["steps"][()]
        if len(f["episodes"]) != 0 or len(steps) != n or list(steps["step"][-2:]) != [n - 2, n - 1]:
            fail(f"bandit: {len(f['episodes'])} episode rows, {len(steps)} step rows, "
                 f"stopped at step {n}")
    t0 = time.time()
    rc, err = interrupt(d, [os.path.join(SRC, "circuits_toml", "lane_keeping_snn_working.toml"),
                            "--out", "lane.h5", "--quiet", "--set", "experiment.n_episodes=2",
                            "--set", "experiment.test_episodes=5000"], signal.SIGTERM,
                        lambda: time.time() - t0 > 0.5)
    m = re.search(r"interrupted by SIGTERM at the end of test episode ([0-9]+) of 5000", err)
    if rc != 143 or not m:
        fail(f"lane run: exit {rc}, expected 143 in the test episodes\n{err}")
    with h5py.File(os.path.join(d, "lane.h5"), "r") as f:
        if len(f["episodes"]) != 2 + int(m.group(1)):
            fail(f"lane: {len(f['episodes'])} episode rows after test episode {m.group(1)}")
    print(f"episodes: SIGINT -> exit 130 at bandit step {n}; SIGTERM -> exit 143 after test "
          f"episode {m.group(1)}")


def main():
    tmp = tempfile.mkdtemp(prefix="sbx_int_")
    try:
        plain(tmp)
        distal(tmp)
        category(tmp)
        episodes(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok: interrupt")


main()
