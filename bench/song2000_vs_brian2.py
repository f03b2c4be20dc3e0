#!/usr/bin/env python3
"""Side-by-side benchmark: spikeblox vs Brian2 standalone on the Song, Miller & Abbott (2000) STDP
example (circuits_toml/stdp_song2000.toml; its Brian2 twin bench/song2000_brian2.py): one neuron,
1200 Poisson inputs at 10 Hz, 1000 of them through additive pair STDP.

Runs ours (`spikeblox run ... --json`, the output neuron's spikes recorded as Brian2's
SpikeMonitor does; the TOML's weight snapshot every 100 s is kept: two for 100 s) and the compiled Brian2 binary alternately, --reps
times each after one warm-up, and prints the median loop time of each, the ratio, and what each
run produced (output spikes, input spikes, final weight statistics: the models must agree in
distribution — their random numbers differ).

Usage:  /usr/bin/python3 bench/song2000_vs_brian2.py [--duration 100] [--reps 5] [--bin build/spikeblox]
Needs:  bash scripts/install-deps.sh --with-peers   (Debian python3-brian)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
from brette_vs_brian2 import run_brian_binary  # noqa: E402  (the compiled binary, timed alike)


def run_ours(binary, duration_s, out):
    cmd = [binary, 'run', os.path.join(ROOT, 'circuits_toml', 'stdp_song2000.toml'), '--out', out,
           '--force', '--json', '--quiet', '--set', f'run.duration={duration_s * 1000.0}']
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    res = json.loads(p.stdout.strip().splitlines()[-1])
    with h5py.File(out, 'r') as f:
        w = f['weights/exc_in->post/values'][-1] / 0.15
        n_out = len(f['spikes/post/timestamps'])
    return {'loop_s': res['loop_s'], 'wall_s': wall, 'output_spikes': n_out,
            'synaptic_events': res['synaptic_events'], 'w_below_0.1': float(np.mean(w < 0.1)),
            'w_above_0.9': float(np.mean(w > 0.9)), 'w_mean': float(np.mean(w))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--duration', type=float, default=100.0, help='biological time, s')
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--bin', default=os.path.join(ROOT, 'build', 'spikeblox'))
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    if not os.path.exists(binary):
        sys.exit(f'{binary} not found: cmake -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2')
    tmp = tempfile.mkdtemp(prefix='sbx_song_')
    builddir = os.path.join(tmp, 'b2')
    p = subprocess.run(['/usr/bin/python3', os.path.join(ROOT, 'bench', 'song2000_brian2.py'),
                        '--duration', str(args.duration), '--builddir', builddir],
                       capture_output=True, text=True, check=True)  # compiles and runs once
    brian = json.loads(p.stdout.strip().splitlines()[-1])
    out = os.path.join(tmp, 'song.h5')
    ours0 = run_ours(binary, args.duration, out)  # warm-up
    ours, theirs = [], []
    for _ in range(args.reps):  # alternate on the same machine
        ours.append(run_ours(binary, args.duration, out))
        theirs.append(run_brian_binary(builddir))
    o_loop = statistics.median(r['loop_s'] for r in ours)
    b_loop = statistics.median(r['loop_s'] for r in theirs)
    o_wall = statistics.median(r['wall_s'] for r in ours)
    b_wall = statistics.median(r['wall_s'] for r in theirs)
    print(json.dumps({'duration_s': args.duration, 'reps': args.reps,
                      'ours_loop_s': o_loop, 'brian2_loop_s': b_loop, 'loop_speedup': b_loop / o_loop,
                      'ours_wall_s': o_wall, 'brian2_binary_wall_s': b_wall,
                      'ours': ours0, 'brian2': brian}), flush=True)
    print()
    print('| Song 2000, %g s | spikeblox loop | Brian2 standalone loop | speed-up | process ours / Brian2 binary |'
          % args.duration)
    print('|---|---|---|---|---|')
    print(f"| 1 neuron, 1200 Poisson inputs, STDP | {o_loop:.3f} s | {b_loop:.3f} s | {b_loop / o_loop:.1f}x "
          f"| {o_wall:.3f} s / {b_wall:.3f} s |")
    print()
    print('| | output spikes | weights < 0.1 g_max | > 0.9 g_max | mean w / g_max |')
    print('|---|---|---|---|---|')
    for name, r in (('spikeblox', ours0), ('Brian2', brian)):
        print(f"| {name} | {r['output_spikes']} | {r['w_below_0.1']:.3f} | {r['w_above_0.9']:.3f} "
              f"| {r['w_mean']:.3f} |")


if __name__ == '__main__':
    main()
