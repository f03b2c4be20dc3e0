#!/usr/bin/env python3
"""1 vs 2 threads of ours on the Brette et al. 2007 networks, alternating on the same machine.

For each benchmark: one warm-up, then --reps rounds of (--threads 1, --threads 2) runs of
`spikeblox run circuits_toml/<bench>.toml`; prints every loop time, the medians, the speed-up
(median 1 thread / median 2 threads) and checks that both thread counts give the same spikes
(count and, with h5py, the spike files). Issue 6: 2 threads never slower than 1 (CUBA), COBAHH
>= 1.7x faster on 2. Run it on an idle machine: under load a 2-thread run waits for a core.
On a loaded machine use bench/threads_serial_fraction.py instead (serial vs parallel CPU samples).

Usage:  /usr/bin/python3 bench/threads_point.py [--reps 5] [--bench cuba cobahh]
                                               [--bin build/spikeblox] [--set KEY=VALUE ...]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(binary, name, out, threads, extra):
    toml = os.path.join(ROOT, 'circuits_toml', f'{name}.toml')
    cmd = [binary, 'run', toml, '--out', out, '--force', '--json', '--quiet',
           '--threads', str(threads)] + extra
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def same_spikes(a, b):
    try:
        import h5py
        import numpy as np
    except ImportError:
        return None
    with h5py.File(a, 'r') as fa, h5py.File(b, 'r') as fb:
        if 'spikes' not in fa or 'spikes' not in fb:  # --set output.spikes=none: counts only
            return None
        for pop in fa['spikes']:
            for ds in ('timestamps', 'node_ids'):
                if not np.array_equal(fa['spikes'][pop][ds][:], fb['spikes'][pop][ds][:]):
                    return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--bench', nargs='+', default=['cuba', 'cobahh'])
    ap.add_argument('--bin', default=os.path.join(ROOT, 'build', 'spikeblox'))
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE')
    args = ap.parse_args()
    extra = [x for kv in args.set for x in ('--set', kv)]
    tmp = tempfile.mkdtemp(prefix='sbx_threads_')
    print('| benchmark | loops 1 thread (s) | loops 2 threads (s) | median 1 | median 2 | speed-up | same spikes |')
    print('|---|---|---|---|---|---|---|')
    for name in args.bench:
        out = {t: os.path.join(tmp, f'{name}_t{t}.h5') for t in (1, 2)}
        for t in (1, 2):
            run(args.bin, name, out[t], t, extra)  # warm-up
        loops = {1: [], 2: []}
        res = {}
        for _ in range(args.reps):
            for t in (1, 2):
                res[t] = run(args.bin, name, out[t], t, extra)
                loops[t].append(res[t]['loop_s'])
        m1, m2 = statistics.median(loops[1]), statistics.median(loops[2])
        same = res[1]['spikes'] == res[2]['spikes'] and same_spikes(out[1], out[2]) is not False
        print(f"| {name} | {' '.join(f'{x:.4f}' for x in loops[1])} | {' '.join(f'{x:.4f}' for x in loops[2])} "
              f"| {m1 * 1e3:.1f} ms | {m2 * 1e3:.1f} ms | {m1 / m2:.2f}x | {'yes' if same else 'NO'} ({res[1]['spikes']}) |",
              flush=True)


if __name__ == '__main__':
    main()
