#!/usr/bin/env python3
"""Accuracy and speed cost of the single-precision option of the point models.

Runs circuits_toml/cobahh.toml (Traub-Miles HH, exponential Euler) with `precision = "double"`
and `precision = "float"` on both populations, alternately, --reps times per seed after a warm-up,
and prints per seed: spike counts (float vs double, relative difference), the first spike where
the two runs' spike trains part (time of the first differing (time, neuron) pair), and the median
loop time of each precision. Single-cell spike-time divergence is a unit test
(tests/models_point/test_point_precision.cpp).

Usage:  /usr/bin/python3 bench/point_precision.py [--reps 5] [--seeds 1 2 3] [--bin build/spikeblox]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(binary, toml, out, seed, precision):
    cmd = [binary, 'run', toml, '--out', out, '--force', '--json', '--quiet', '--seed', str(seed),
           '--set', f'blocks.E.precision={precision}', '--set', f'blocks.I.precision={precision}']
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def spikes(path):
    """(time, population, neuron) rows of every spike population in a run file, time-sorted."""
    rows = []
    with h5py.File(path, 'r') as f:
        for k, name in enumerate(sorted(f['spikes'].keys())):
            g = f['spikes'][name]
            t = np.asarray(g['timestamps'][:], dtype=np.float64)
            n = np.asarray(g['node_ids'][:], dtype=np.int64)
            rows.append(np.stack([t, np.full_like(t, k), n.astype(np.float64)], axis=1))
    a = np.concatenate(rows) if rows else np.zeros((0, 3))
    return a[np.lexsort((a[:, 2], a[:, 1], a[:, 0]))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    ap.add_argument('--bin', default=os.path.join(ROOT, 'build', 'spikeblox'))
    ap.add_argument('--circuit', default=os.path.join(ROOT, 'circuits_toml', 'cobahh.toml'))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='sbx_prec_')
    print('| seed | spikes double | spikes float | difference | trains part at | loop double | loop float | speed-up |')
    print('|---|---|---|---|---|---|---|---|')
    for seed in args.seeds:
        out = {p: os.path.join(tmp, f'{p}_{seed}.h5') for p in ('double', 'float')}
        for p in out:
            run(args.bin, args.circuit, out[p], seed, p)  # warm-up
        loops = {'double': [], 'float': []}
        res = {}
        for _ in range(args.reps):
            for p in ('double', 'float'):
                res[p] = run(args.bin, args.circuit, out[p], seed, p)
                loops[p].append(res[p]['loop_s'])
        sd, sf = spikes(out['double']), spikes(out['float'])
        m = min(len(sd), len(sf))
        diff = np.nonzero(np.any(sd[:m] != sf[:m], axis=1))[0]
        part = f'{sd[diff[0], 0]:.1f} ms' if len(diff) else ('never' if len(sd) == len(sf) else f'{sd[m - 1, 0]:.1f} ms')
        ld, lf = statistics.median(loops['double']), statistics.median(loops['float'])
        nd, nf = res['double']['spikes'], res['float']['spikes']
        print(f'| {seed} | {nd} | {nf} | {100.0 * (nf - nd) / nd:+.1f} % | {part} | {ld * 1e3:.1f} ms | {lf * 1e3:.1f} ms | {ld / lf:.2f}x |', flush=True)


if __name__ == '__main__':
    main()
