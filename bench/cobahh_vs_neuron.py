#!/usr/bin/env python3
"""Side-by-side benchmark: spikeblox vs NEURON 8.2 on the COBAHH network (Brette et al. 2007).

Runs ours (build/spikeblox run circuits_toml/cobahh.toml --json, spikes not recorded, as the
NEURON script keeps them only in memory) and ../shared/peers/neuron_cobahh.py alternately on this
machine, --reps times each after one warm-up (the warm-up also compiles NEURON's .mod file once
into a shared build folder), and prints the median loop time of each, the median whole-process
time, the spike counts (must agree within 10 %) and the loop speed ratio (issue 6 asks >= 20x).

Usage:  /usr/bin/python3 bench/cobahh_vs_neuron.py [--reps 5] [--bin build/spikeblox]
Needs:  bash scripts/install-deps.sh --with-peers   (Debian neuron, python3-neuron, neuron-dev)
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, '..', 'shared', 'peers', 'neuron_cobahh.py')


def run_ours(binary, out_dir):
    cmd = [binary, 'run', os.path.join(ROOT, 'circuits_toml', 'cobahh.toml'), '--out',
           os.path.join(out_dir, 'cobahh.h5'), '--force', '--json', '--quiet', '--set',
           'output.spikes=none']
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    res = json.loads(p.stdout.strip().splitlines()[-1])
    return {'loop_s': res['loop_s'], 'wall_s': wall, 'spikes': res['spikes']}


def run_neuron(builddir):
    t0 = time.perf_counter()
    p = subprocess.run(['/usr/bin/python3', PEER, '--builddir', builddir], capture_output=True,
                       text=True, check=True)
    wall = time.perf_counter() - t0
    res = json.loads(p.stdout.strip().splitlines()[-1])
    return {'loop_s': res['t_loop_s'], 'wall_s': wall, 'spikes': res['n_spikes']}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--bin', default=os.path.join(ROOT, 'build', 'spikeblox'))
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    with tempfile.TemporaryDirectory() as tmp:
        nrn_build = os.path.join(tmp, 'nrn')
        run_neuron(nrn_build)  # warm-up: compiles the .mod file once
        run_ours(binary, tmp)
        ours, peer = [], []
        for _ in range(args.reps):
            ours.append(run_ours(binary, tmp))
            peer.append(run_neuron(nrn_build))
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    o_loop, n_loop = med(ours, 'loop_s'), med(peer, 'loop_s')
    o_sp, n_sp = ours[0]['spikes'], peer[0]['spikes']
    row = {'bench': 'cobahh', 'reps': args.reps, 'ours_loop_s': o_loop, 'neuron_loop_s': n_loop,
           'ours_wall_s': med(ours, 'wall_s'), 'neuron_wall_s': med(peer, 'wall_s'),
           'ours_spikes': o_sp, 'neuron_spikes': n_sp,
           'spikes_agree_10pct': abs(o_sp - n_sp) <= 0.1 * n_sp, 'loop_speedup': n_loop / o_loop}
    print(json.dumps(row))
    print()
    print('| benchmark | spikeblox loop | NEURON loop | speed-up | spikeblox process | NEURON '
          'process | spikes ours / NEURON |')
    print('|---|---|---|---|---|---|---|')
    print(f"| cobahh (1 thread) | {o_loop * 1e3:.1f} ms | {n_loop * 1e3:.1f} ms | "
          f"{n_loop / o_loop:.1f}x | {row['ours_wall_s'] * 1e3:.0f} ms | "
          f"{row['neuron_wall_s'] * 1e3:.0f} ms | {o_sp} / {n_sp} "
          f"({'agree' if row['spikes_agree_10pct'] else 'DISAGREE'}) |")


if __name__ == '__main__':
    main()
