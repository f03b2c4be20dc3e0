"""End-to-end CLI test of circuits_toml/cartpole_spiking.toml: `spikeblox run` for a few episodes,
then the run file's /episodes rows (one per episode, flushed) and the JSON summary are checked.
Usage: cartpole_spiking_cli_test.py SPIKEBLOX SOURCE_DIR"""
import json, os, subprocess, sys, tempfile

try:
    import h5py
except ImportError:
    sys.exit(77)

exe, src = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "cp.h5")
    p = subprocess.run([exe, "run", os.path.join(src, "circuits_toml", "cartpole_spiking.toml"),
                        "-o", out, "-q", "--json", "--seed", "4",
                        "--set", "experiment.n_episodes=6"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    assert summary["episodes"] == 6, summary
    with h5py.File(out, "r") as f:
        rows = f["episodes"][:]
    assert len(rows) == 6, rows
    assert list(rows["episode"]) == list(range(6)), rows
    for r in rows:
        # CartPole-v1: +1 per step, so the return is the length; every episode ends by
        # termination or the 500-step limit.
        assert r["return"] == r["length"] and 1 <= r["length"] <= 500, r
        assert r["terminated"] == 1 or (r["truncated"] == 1 and r["length"] == 500), r
    assert sum(rows["length"]) == summary["steps"], (rows, summary)
print("ok")
