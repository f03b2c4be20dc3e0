#!/usr/bin/python3
"""Faithful-reproduction check of the CartPole dopamine agent (seed_systems.md §1.6).

Runs circuits_toml/cartpole_dopamine.toml (600 episodes) for seeds 1..20 and checks:
  * median over seeds of the last-100-episode mean in [65, 90];
  * at most 3/20 seeds reach a 50-episode moving average >= 195, none ends above 195;
  * no 500-step episode in >= 18/20 seeds;
  * weight signs W[x_dot,left] > W[x_dot,right] and W[theta_dot,right] > W[theta_dot,left]
    in >= 18/20 seeds.
Also prints the episodes/s of each run. Usage:
  /usr/bin/python3 scripts/cartpole_dopamine_check.py [--bin build/spikeblox] [--seeds 20]
Exit status 0 if every check passes.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(ROOT, "build", "spikeblox"))
ap.add_argument("--seeds", type=int, default=20)
ap.add_argument("--toml", default=os.path.join(ROOT, "circuits_toml", "cartpole_dopamine.toml"))
a = ap.parse_args()

rows = []
with tempfile.TemporaryDirectory() as tmp:
    for seed in range(1, a.seeds + 1):
        out = os.path.join(tmp, f"cp_{seed}.h5")
        res = subprocess.run([a.bin, "run", a.toml, "--seed", str(seed), "-o", out, "--force", "-q",
                              "--json"], check=True, capture_output=True, text=True)
        summary = json.loads(res.stdout.strip().splitlines()[-1])
        with h5py.File(out, "r") as f:
            ep = f["episodes"][:]
            g = f["weights"]["obs->motor"]
            w = g["values"][-1]
            src, tgt = g["source_ids"][:], g["target_ids"][:]
        L = ep["length"].astype(float)
        W = np.zeros((4, 2))
        W[src, tgt] = w
        ma50 = np.convolve(L, np.ones(50) / 50, mode="valid")
        rows.append(dict(seed=seed, last100=L[-100:].mean(), mean_all=L.mean(), max_ma50=ma50.max(),
                         end_ma50=ma50[-1], n195=int((L >= 195).sum()), n500=int((L >= 500).sum()),
                         signs=bool(W[1, 0] > W[1, 1] and W[3, 1] > W[3, 0]),
                         eps=summary["episodes_per_s"]))

print("seed  last100  mean_all  max_MA50  end_MA50  ep>=195  ep=500  signs  episodes/s")
for r in rows:
    print(f"{r['seed']:4d}  {r['last100']:7.1f}  {r['mean_all']:8.1f}  {r['max_ma50']:8.1f}  "
          f"{r['end_ma50']:8.1f}  {r['n195']:7d}  {r['n500']:6d}  {str(r['signs']):5s}  "
          f"{r['eps']:10.0f}")
n = len(rows)
med = float(np.median([r["last100"] for r in rows]))
n_ma195 = sum(r["max_ma50"] >= 195 for r in rows)
n_end195 = sum(r["end_ma50"] > 195 for r in rows)
n_no500 = sum(r["n500"] == 0 for r in rows)
n_signs = sum(r["signs"] for r in rows)
checks = [
    (f"median last-100 mean = {med:.1f} in [65, 90]", 65 <= med <= 90),
    (f"seeds reaching MA50 >= 195: {n_ma195}/{n} (<= 3/20)", n_ma195 <= 3 * n / 20),
    (f"seeds ending with MA50 > 195: {n_end195} (0)", n_end195 == 0),
    (f"seeds without a 500-step episode: {n_no500}/{n} (>= 18/20)", n_no500 >= 18 * n / 20),
    (f"seeds with the weight sign pattern: {n_signs}/{n} (>= 18/20)", n_signs >= 18 * n / 20),
]
for text, ok in checks:
    print(("PASS  " if ok else "FAIL  ") + text)
print(f"median episodes/s: {np.median([r['eps'] for r in rows]):.0f}")
sys.exit(0 if all(ok for _, ok in checks) else 1)
