#!/usr/bin/env python3
"""Side-by-side benchmark: spikeblox vs Brian2 standalone on the Brette et al. 2007 networks.

Runs ours (build/spikeblox run circuits_toml/{cuba,cobahh}.toml --json) and Brian2's
cpp_standalone binary of the same model (../shared/peers/brian2_{cuba,cobahh}.py) alternately on
this machine, --reps times each after one warm-up, and prints per benchmark: median loop time,
median whole-process time, spike counts (must agree within 10 %) and the speed ratio.

Usage:  /usr/bin/python3 bench/brette_vs_brian2.py [--reps 5] [--bench cuba cobahh] [--threads 1]
                                                  [--bin build/spikeblox] [--no-record]
                                                  [--set KEY=VALUE ...]
--no-record runs ours with output.spikes = "none" (Brian2's script records no spikes either:
SpikeMonitor(record=False) only counts them); without it ours writes every spike to HDF5.
--set passes overrides to every run of ours (e.g. --set blocks.E.precision=float
--set blocks.I.precision=float; Brian2 stays float64, so such a row is NOT like for like).
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, '..', 'shared', 'peers')
BIN = os.path.join(ROOT, 'build', 'spikeblox')


EXTRA = []  # --set overrides for our runs


def run_ours(name, out_dir, threads):
    toml = os.path.join(ROOT, 'circuits_toml', f'{name}.toml')
    out = os.path.join(out_dir, f'{name}.h5')
    cmd = [BIN, 'run', toml, '--out', out, '--force', '--json', '--quiet'] + EXTRA
    if threads != 1:
        cmd += ['--threads', str(threads)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    res = json.loads(p.stdout.strip().splitlines()[-1])
    return {'loop_s': res['loop_s'], 'wall_s': wall, 'spikes': res['spikes'],
            'events': res['synaptic_events']}


def brian_build(name, builddir, threads):
    script = os.path.join(PEERS, f'brian2_{name}.py')
    cmd = ['/usr/bin/python3', script, '--mode', 'standalone', '--builddir', builddir]
    if threads > 1:
        cmd += ['--threads', str(threads)]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_brian_binary(builddir):
    # The compiled standalone binary alone (no Python, no compile), as performance.md measures it.
    t0 = time.perf_counter()
    subprocess.run(['./main'], cwd=builddir, capture_output=True, check=True)
    wall = time.perf_counter() - t0
    with open(os.path.join(builddir, 'results', 'last_run_info.txt')) as f:
        loop = float(f.read().split()[0])
    return {'loop_s': loop, 'wall_s': wall}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--bench', nargs='+', default=['cuba', 'cobahh'])
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--bin', default=BIN, help='our binary (default build/spikeblox)')
    ap.add_argument('--no-record', action='store_true',
                    help='ours with output.spikes = "none" (like Brian2 record=False)')
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                    help='override passed to our runs (repeatable)')
    args = ap.parse_args()
    globals()['BIN'] = os.path.abspath(args.bin)
    for kv in args.set:
        EXTRA.extend(['--set', kv])
    if args.no_record:
        EXTRA.extend(['--set', 'output.spikes=none'])
    if not os.path.exists(BIN):
        sys.exit('build/spikeblox not found: cmake -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2')
    tmp = tempfile.mkdtemp(prefix='sbx_bench_')
    rows = []
    for name in args.bench:
        builddir = os.path.join(tmp, f'b2_{name}')
        info = brian_build(name, builddir, args.threads)  # compiles and runs once (warm-up)
        run_ours(name, tmp, args.threads)                 # warm-up
        ours, theirs = [], []
        for _ in range(args.reps):                        # alternate on the same machine
            ours.append(run_ours(name, tmp, args.threads))
            theirs.append(run_brian_binary(builddir))
        o_loop = statistics.median(r['loop_s'] for r in ours)
        b_loop = statistics.median(r['loop_s'] for r in theirs)
        o_wall = statistics.median(r['wall_s'] for r in ours)
        b_wall = statistics.median(r['wall_s'] for r in theirs)
        o_spk = ours[-1]['spikes']
        b_spk = info['n_spikes']
        agree = abs(o_spk - b_spk) <= 0.10 * b_spk
        rows.append((name, o_loop, b_loop, o_wall, b_wall, o_spk, b_spk, agree))
        print(json.dumps({'bench': name, 'threads': args.threads, 'reps': args.reps,
                          'ours_overrides': EXTRA,
                          'ours_loop_s': o_loop, 'brian2_loop_s': b_loop,
                          'ours_wall_s': o_wall, 'brian2_binary_wall_s': b_wall,
                          'ours_spikes': o_spk, 'brian2_spikes': b_spk,
                          'spikes_agree_10pct': agree, 'loop_speedup': b_loop / o_loop,
                          'ours_synaptic_events': ours[-1]['events'],
                          'brian2_synaptic_events': info.get('n_syn_events')}), flush=True)
    print()
    print(f"| benchmark | spikeblox loop | Brian2 standalone loop | speed-up | spikeblox process | Brian2 binary | spikes ours / Brian2 |")
    print(f"|---|---|---|---|---|---|---|")
    for (name, ol, bl, ow, bw, os_, bs, ag) in rows:
        print(f"| {name} ({args.threads} thread) | {ol*1e3:.1f} ms | {bl*1e3:.1f} ms | {bl/ol:.2f}x | {ow*1e3:.0f} ms | {bw*1e3:.0f} ms | {os_} / {bs} {'(agree)' if ag else '(DISAGREE >10%)'} |")


if __name__ == '__main__':
    main()
