#!/usr/bin/env python3
"""Serial fraction of a multi-threaded spikeblox run, from CPU samples (load-independent).

Issue 6 asks COBAHH to run >= 1.7x faster on 2 threads than on 1. By Amdahl's law that needs the
serial share s of the loop's work to be <= ~17 % (speed-up 1 / (s + (1 - s) / 2)). Wall-clock
speed-ups are meaningless on a loaded machine; CPU samples of where each thread spends its time
are not (both threads' work is counted whether or not they had a core).

Method: `perf record -e cpu-clock` (a software clock: works in VMs without hardware counters) on
`spikeblox run circuits_toml/<bench>.toml --threads N`; the loop is the interval between the
first and the last sample in the neuron step kernel. Each sample in that interval is
  parallel  work done inside the worker pool's job on any thread (neuron step kernels, the
            ranged synaptic delivery Simulator::apply_pending_range, step_range),
  waiting   the pool's wait loops (WorkerPool::wait_workers / the workers' loop), sched_yield and
            the scheduler, or
  serial    anything else on the main thread (event queue, staging, spike emission, recording,
            NaN checks, ...).
s = serial / (serial + parallel). With --threads 1 every delivery is serial (nothing is deferred),
so run with the thread count whose split you want.

Usage:  /usr/bin/python3 bench/threads_serial_fraction.py [--bin build/spikeblox] [--bench cobahh]
                                                        [--threads 2] [--freq 10000] [--keep]
Needs `perf` (linux-perf) and kernel.perf_event_paranoid <= 2.
"""
import argparse
import collections
import os
import re
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = re.compile(r'step_exponential_euler|step_etdrk4|step_range')
PARALLEL = re.compile(r'step_exponential_euler|step_etdrk4|step_range|apply_pending_range|'
                      r'step_clocked_parallel.*lambda')
WAITING = re.compile(r'wait_workers|WorkerPool|_State_impl|sched_yield|schedule|finish_task_switch|'
                     r'do_syscall_64|entry_SYSCALL|syscall_exit|__x64_sys|futex|raw_spin|'
                     r'pick_next|update_curr|hrtimer|irq|yield')
LINE = re.compile(r'\s*(\d+)\s+([\d.]+):\s+[0-9a-f]+\s+(.*)$')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', default=os.path.join(ROOT, 'build', 'spikeblox'))
    ap.add_argument('--bench', default='cobahh')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--freq', type=int, default=10000)
    ap.add_argument('--keep', action='store_true', help='keep the perf data file')
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='sbx_serial_')
    data = os.path.join(tmp, 'perf.data')
    toml = os.path.join(ROOT, 'circuits_toml', f'{args.bench}.toml')
    run = subprocess.run(['perf', 'record', '-q', '-e', 'cpu-clock', '-F', str(args.freq), '-o', data,
                          args.bin, 'run', toml, '--out', os.path.join(tmp, 'run.h5'), '--force',
                          '--json', '--quiet', '--threads', str(args.threads)],
                         capture_output=True, text=True, check=True)
    summary = [l for l in run.stdout.splitlines() if l.startswith('{')]
    script = subprocess.run(['perf', 'script', '-i', data, '-F', 'tid,time,ip,sym'],
                            capture_output=True, text=True, check=True).stdout
    rows = [(int(m[1]), float(m[2]), m[3].strip()) for m in map(LINE.match, script.splitlines()) if m]
    times = [t for _, t, s in rows if KERNEL.search(s)]
    if not times:
        raise SystemExit('no samples in a neuron step kernel: is the binary built with symbols?')
    t0, t1 = min(times), max(times)
    main_tid = min(tid for tid, _, _ in rows)
    count = collections.Counter()
    serial_syms = collections.Counter()
    for tid, t, sym in rows:
        if not t0 <= t <= t1:
            continue
        if PARALLEL.search(sym):
            kind = 'parallel'
        elif WAITING.search(sym):
            kind = 'waiting'
        elif tid == main_tid:
            kind = 'serial'
            serial_syms[sym[:100]] += 1
        else:
            kind = 'other thread'
        count[kind] += 1
    ser, par = count['serial'], count['parallel']
    print(f'{args.bench}, {args.threads} thread(s), {args.bin}')
    if summary:
        print(summary[-1])
    print('samples in the loop:', dict(count))
    print(f'serial fraction s = {ser} / ({ser} + {par}) = {ser / (ser + par):.3f}  '
          f'(Amdahl bound on 2 threads: {1.0 / (ser / (ser + par) + par / (ser + par) / 2):.2f}x)')
    print('serial samples by function (% of serial + parallel):')
    for sym, n in serial_syms.most_common(12):
        print(f'  {100.0 * n / (ser + par):5.2f} %  {sym}')
    if args.keep:
        print('perf data:', data)


if __name__ == '__main__':
    main()
