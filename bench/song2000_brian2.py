#!/usr/bin/env python3
"""Brian2 twin of circuits_toml/stdp_song2000.toml (Song, Miller & Abbott 2000, Fig. 2), for
bench/song2000_vs_brian2.py.

One conductance LIF neuron (C_m 200 pF, g_L 10 nS, E_L -70 mV, V_th -54 mV, V_reset -60 mV, no
refractory period, E_e 0 mV, E_i -70 mV, tau_e = tau_i = 5 ms, exponential Euler, dt 0.1 ms),
1000 excitatory Poisson inputs at 10 Hz through additive pair STDP with all-to-all traces
(A+ = 0.00075 nS, A- = 0.0007875 nS, tau+ = tau- = 20 ms, 0 <= w <= 0.15 nS, initial w uniform
in [0, 0.15] nS) and 200 static inhibitory Poisson inputs of 0.5 nS — the TOML's values. Brian2's
standard form of the model (its own Song 2000 example): PoissonGroup sources, event-driven traces.

Usage:  python3 bench/song2000_brian2.py --builddir DIR [--duration 100] [--seed 1]
Compiles and runs the cpp_standalone project once and prints one JSON line: output spikes, input
spikes, final weight statistics, and the standalone run's own loop time.
"""
import argparse
import json
import os
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument('--duration', type=float, default=100.0, help='biological time, s')
ap.add_argument('--seed', type=int, default=1)
ap.add_argument('--builddir', default=os.path.join(tempfile.gettempdir(), 'brian2_song2000'))
args = ap.parse_args()

from brian2 import *  # noqa: E402,F403

set_device('cpp_standalone', directory=args.builddir, build_on_run=False)
seed(args.seed)
defaultclock.dt = 0.1 * ms

Cm, gL, EL = 200 * pF, 10 * nS, -70 * mV
Vt, Vr, Ee, Ei = -54 * mV, -60 * mV, 0 * mV, -70 * mV
taue = taui = 5 * ms
gmax = 0.15 * nS
Aplus, Aminus = 0.00075 * nS, 0.0007875 * nS
taupre = taupost = 20 * ms

post = NeuronGroup(1, '''dv/dt = (gL*(EL - v) + ge*(Ee - v) + gi*(Ei - v)) / Cm : volt
                         dge/dt = -ge/taue : siemens
                         dgi/dt = -gi/taui : siemens''',
                   threshold='v > Vt', reset='v = Vr', method='exponential_euler')
post.v = Vr
exc = PoissonGroup(1000, 10 * Hz)
inh = PoissonGroup(200, 10 * Hz)
S = Synapses(exc, post,
             '''w : siemens
                dApre/dt = -Apre/taupre : siemens (event-driven)
                dApost/dt = -Apost/taupost : siemens (event-driven)''',
             on_pre='''ge += w
                       Apre += Aplus
                       w = clip(w - Apost, 0*nS, gmax)''',
             on_post='''Apost += Aminus
                        w = clip(w + Apre, 0*nS, gmax)''')
S.connect()
S.w = 'rand() * gmax'
Si = Synapses(inh, post, on_pre='gi += 0.5*nS')
Si.connect()
out = SpikeMonitor(post)
inputs = SpikeMonitor(exc, record=False)

run(args.duration * second)
device.build(directory=args.builddir, compile=True, run=True, debug=False)

with open(os.path.join(args.builddir, 'results', 'last_run_info.txt')) as f:
    loop = float(f.read().split()[0])
w = np.asarray(S.w / gmax)
print(json.dumps({'duration_s': args.duration, 'loop_s': loop, 'output_spikes': int(out.num_spikes),
                  'input_spikes': int(inputs.num_spikes),
                  'w_below_0.1': float(np.mean(w < 0.1)), 'w_above_0.9': float(np.mean(w > 0.9)),
                  'w_mean': float(np.mean(w))}))
