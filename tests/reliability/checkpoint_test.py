#!/usr/bin/python3
"""Checkpoint / resume (issue 7, Reliability).

1. A run with --checkpoint-every is bit-identical to one without (checkpoints do not perturb it).
2. A run with --checkpoint-every 7 is killed with SIGKILL at a random moment after its first
   checkpoint, resumed with `spikeblox run --resume RUN.h5`, killed again after the resumed run
   wrote a newer checkpoint, and resumed again; the finished file is bit-identical to the
   uninterrupted run in every dataset and attribute apart from timestamps and /meta/command_line
   (which records the resume); the last resume is started from another working directory. The
   checkpoint sidecar is gone afterwards, and a second --resume
   of the finished run is refused (exit 2).
Usage: checkpoint_test.py SPIKEBLOX SOURCE_DIR [REPEATS]
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN, SRC = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
REPEATS = int(sys.argv[3]) if len(sys.argv) > 3 else 2
CIRCUIT = os.path.join(SRC, "circuits_toml", "category_learning.toml")
CMP = ["/usr/bin/python3", os.path.join(SRC, "tests", "reliability", "h5compare.py")]
SHORT = ["--set", "experiment.n_trials=60", "--set", "blocks.stim.t_stimulus=300.0",
         "--set", "experiment.t_warmup=100.0"]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(cwd, *args, check=True):
    r = subprocess.run([BIN, "run", *args], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        fail(f"spikeblox run {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r


def compare(a, b, *extra):
    r = subprocess.run(CMP + [a, b, *extra], stdout=subprocess.PIPE, text=True)
    print(r.stdout.strip())
    return r.returncode == 0


def kill_after_checkpoint(cwd, args, rng, after_mtime=None):
    """Starts spikeblox, waits for a (new) checkpoint, sleeps a random time, SIGKILLs it."""
    ckpt = os.path.join(cwd, "run.h5.ckpt")
    p = subprocess.Popen([BIN, "run", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    t0 = time.time()
    while True:
        if os.path.exists(ckpt) and (after_mtime is None or os.stat(ckpt).st_mtime_ns != after_mtime):
            break
        if p.poll() is not None:
            fail(f"run ended before a checkpoint (rc {p.returncode}): {p.stderr.read().decode()}")
        if time.time() - t0 > 60:
            p.kill()
            fail("no checkpoint after 60 s")
        time.sleep(0.002)
    time.sleep(rng.uniform(0.0, 0.15))  # anywhere: mid-trial, mid-checkpoint, mid-flush
    p.send_signal(signal.SIGKILL)
    p.wait()
    if p.returncode != -signal.SIGKILL:
        return False  # finished before the kill landed; caller retries
    return os.stat(ckpt).st_mtime_ns


def main():
    tmp = tempfile.mkdtemp(prefix="sbx_ckpt_")
    rng = random.Random(int(os.environ.get("SBX_CKPT_SEED", "7")))
    try:
        ref = os.path.join(tmp, "ref")
        os.mkdir(ref)
        run(ref, CIRCUIT, *SHORT, "--out", "run.h5", "--quiet")
        ck = os.path.join(tmp, "ck")
        os.mkdir(ck)
        run(ck, CIRCUIT, *SHORT, "--out", "run.h5", "--quiet", "--checkpoint-every", "7")
        if os.path.exists(os.path.join(ck, "run.h5.ckpt")):
            fail("checkpoint left behind by a finished run")
        if not compare(os.path.join(ref, "run.h5"), os.path.join(ck, "run.h5"),
                       "--ignore", "/meta/command_line"):
            fail("--checkpoint-every changes the run")

        done = 0
        attempt = 0
        while done < REPEATS:
            attempt += 1
            if attempt > 5 * REPEATS:
                fail("the kills never landed before the runs finished")
            d = os.path.join(tmp, f"kill{attempt}")
            os.mkdir(d)
            m = kill_after_checkpoint(d, [CIRCUIT, *SHORT, "--out", "run.h5", "--quiet",
                                          "--checkpoint-every", "7"], rng)
            if m is False:
                continue
            # Resume, and kill the resumed run too once it has written a newer checkpoint.
            m2 = kill_after_checkpoint(d, ["--resume", "run.h5", "--quiet"], rng, after_mtime=m)
            # The last resume runs from another directory with a relative path to the run file.
            run(tmp, "--resume", os.path.join(f"kill{attempt}", "run.h5"), "--quiet")
            if os.path.exists(os.path.join(d, "run.h5.ckpt")):
                fail("checkpoint left behind after the resumed run finished")
            if not compare(os.path.join(ref, "run.h5"), os.path.join(d, "run.h5"),
                           "--ignore", "/meta/command_line"):
                fail("the resumed run differs from the uninterrupted run")
            again = run(d, "--resume", "run.h5", check=False)
            if again.returncode != 2 or "no checkpoint" not in again.stderr:
                fail(f"--resume of a finished run: exit {again.returncode}: {again.stderr}")
            print(f"attempt {attempt}: killed twice ({'second kill landed' if m2 else 'second run finished first'}), "
                  f"resumed, identical to the uninterrupted run")
            done += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok: checkpoint/resume")


main()
