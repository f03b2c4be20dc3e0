#!/usr/bin/env python3
"""Recording overhead: COBAHH (or any circuit) with every spike recorded to HDF5 vs recording off.

Runs `spikeblox run FILE --set output.spikes=all` and `... =none` alternately (--reps each, after
one warm-up of each) and prints the median loop time and whole-process time of both and the
overhead in percent. The issue-6 target: all spikes recorded at most 10 % slower than off.

Usage: /usr/bin/python3 bench/recording_overhead.py [--reps 5] [--circuit circuits_toml/cobahh.toml]
                                                    [--bin build/spikeblox]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(binary, circuit, spikes, out):
    cmd = [binary, 'run', circuit, '--out', out, '--force', '--json', '--quiet',
           '--set', f'output.spikes="{spikes}"']
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    res = json.loads(p.stdout.strip().splitlines()[-1])
    return res['loop_s'], wall, res['spikes']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--circuit', default=os.path.join(ROOT, 'circuits_toml', 'cobahh.toml'))
    ap.add_argument('--bin', default=os.path.join(ROOT, 'build', 'spikeblox'))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='sbx_rec_')
    out = os.path.join(tmp, 'run.h5')
    res = {'all': [], 'none': []}
    run(args.bin, args.circuit, 'all', out), run(args.bin, args.circuit, 'none', out)  # warm-up
    for _ in range(args.reps):  # alternate on the same machine
        for mode in ('all', 'none'):
            res[mode].append(run(args.bin, args.circuit, mode, out))
    loop = {m: statistics.median(r[0] for r in v) for m, v in res.items()}
    wall = {m: statistics.median(r[1] for r in v) for m, v in res.items()}
    print(json.dumps({'circuit': os.path.basename(args.circuit), 'reps': args.reps,
                      'loop_all_s': loop['all'], 'loop_none_s': loop['none'],
                      'wall_all_s': wall['all'], 'wall_none_s': wall['none'],
                      'spikes': res['all'][0][2],
                      'loop_overhead_pct': 100 * (loop['all'] / loop['none'] - 1),
                      'wall_overhead_pct': 100 * (wall['all'] / wall['none'] - 1),
                      'loop_all_runs': [r[0] for r in res['all']],
                      'loop_none_runs': [r[0] for r in res['none']]}))


if __name__ == '__main__':
    main()
