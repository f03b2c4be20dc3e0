#!/usr/bin/env python3
"""Reference numbers for tests/models_point/test_point_vs_brian.cpp, computed with Brian 2.5.1.

Single cells of the Brette et al. 2007 benchmarks (equations copied from
../shared/peers/brian2_cuba.py and brian2_cobahh.py; COBA from Brian's COBA example) driven by
input spikes at fixed steps (and, for COBAHH/COBA, a constant bias current I_b, not present in
the benchmarks). Brian applies an input spike generated in step k after that step's update, so
it acts from step k+1 on: the C++ test adds the weight into the receptor buffer before step k+1.

Run with the Debian interpreter:  /usr/bin/python3 tests/models_point/brian_reference.py
Prints C++ initialisers that are pasted into the test.
"""
import numpy as np
from brian2 import *

prefs.codegen.target = 'numpy'
defaultclock.dt = 0.1 * ms


def drive(P, times_e, w_e, times_i, w_i, on_e, on_i):
    objs = []
    for times, w, on in ((times_e, w_e, on_e), (times_i, w_i, on_i)):
        if not len(times):
            continue
        G = SpikeGeneratorGroup(1, np.zeros(len(times), dtype=int), np.array(times) * 0.1 * ms)
        S = Synapses(G, P, on_pre=on.format(w=w))
        S.connect()
        objs += [G, S]
    return objs


def emit(name, spikes_steps, v_samples):
    print(f'// {name}')
    print(f'const std::vector<long> {name}_spike_steps = {{{", ".join(str(s) for s in spikes_steps)}}};')
    print(f'const std::vector<std::pair<long, double>> {name}_V = {{')
    for k, v in v_samples:
        print(f'    {{{k}, {v!r}}},')
    print('};')


def run_case(name, P, objs, steps, sample_steps, vscale):
    M = StateMonitor(P, 'v', record=0)
    sm = SpikeMonitor(P)
    net = Network(P, M, sm, *objs)
    net.run((steps + 1) * defaultclock.dt)  # one extra step so record k+1 exists for k < steps
    v = np.asarray(M.v[0]) / vscale
    # Brian records v at the start of each step (before the update); the C++ test samples after
    # step k, i.e. Brian's record k+1.
    samples = [(k, float(v[k + 1])) for k in sample_steps]
    spike_steps = [int(round(t / defaultclock.dt)) for t in sm.t[:]]
    spike_steps = [k for k in spike_steps if k < steps]
    emit(name, spike_steps, samples)


# ---- CUBA ---------------------------------------------------------------------------------
start_scope()
taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
eqs = '''
dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt
'''
P = NeuronGroup(1, eqs, threshold='v>Vt', reset='v = Vr', refractory=5 * ms, method='exact')
P.v = -58 * mV
te = [5, 6, 7, 30, 31, 32, 33, 120, 400, 401, 402, 403, 404]
ti = [150, 151, 300, 305, 310]
objs = drive(P, te, '1.62*mV', ti, '-9*mV', 'ge += {w}', 'gi += {w}')
run_case('cuba', P, objs, 3000, [0, 4, 5, 6, 10, 31, 50, 99, 121, 155, 299, 311, 405, 600, 999, 1500, 2999], mV)

# ---- COBAHH (with bias current) -------------------------------------------------------------
start_scope()
area = 20000 * umetre ** 2
Cm = (1 * ufarad * cm ** -2) * area
gl = (5e-5 * siemens * cm ** -2) * area
El, EK, ENa = -60 * mV, -90 * mV, 50 * mV
g_na = (100 * msiemens * cm ** -2) * area
g_kd = (30 * msiemens * cm ** -2) * area
VT = -63 * mV
taue, taui = 5 * ms, 10 * ms
Ee, Ei = 0 * mV, -80 * mV
I_b = 400 * pA
eqs = Equations('''
dv/dt = (gl*(El-v)+ge*(Ee-v)+gi*(Ei-v)-
         g_na*(m*m*m)*h*(v-ENa)-
         g_kd*(n*n*n*n)*(v-EK) + I_b)/Cm : volt
dm/dt = alpha_m*(1-m)-beta_m*m : 1
dn/dt = alpha_n*(1-n)-beta_n*n : 1
dh/dt = alpha_h*(1-h)-beta_h*h : 1
dge/dt = -ge*(1./taue) : siemens
dgi/dt = -gi*(1./taui) : siemens
alpha_m = 0.32*(mV**-1)*4*mV/exprel((13*mV-v+VT)/(4*mV))/ms : Hz
beta_m = 0.28*(mV**-1)*5*mV/exprel((v-VT-40*mV)/(5*mV))/ms : Hz
alpha_h = 0.128*exp((17*mV-v+VT)/(18*mV))/ms : Hz
beta_h = 4./(1+exp((40*mV-v+VT)/(5*mV)))/ms : Hz
alpha_n = 0.032*(mV**-1)*5*mV/exprel((15*mV-v+VT)/(5*mV))/ms : Hz
beta_n = .5*exp((10*mV-v+VT)/(40*mV))/ms : Hz
''')
P = NeuronGroup(1, model=eqs, threshold='v>-20*mV', refractory=3 * ms, method='exponential_euler')
P.v = -65 * mV
P.ge = 40 * nS
P.gi = 200 * nS
te = [100, 101, 102, 103, 104, 105, 700, 701, 702, 703, 1500, 1501]
ti = [900, 901, 902, 1200]
objs = drive(P, te, '6*nS', ti, '67*nS', 'ge += {w}', 'gi += {w}')
run_case('cobahh', P, objs, 3000,
         [0, 1, 2, 5, 10, 50, 99, 101, 106, 150, 500, 702, 903, 1201, 1502, 2000, 2999], mV)

# ---- COBA LIF (with bias current) -----------------------------------------------------------
start_scope()
C, gl = 200 * pF, 10 * nS
El, Vt, Vr = -60 * mV, -50 * mV, -60 * mV
Ee, Ei = 0 * mV, -80 * mV
taue, taui = 5 * ms, 10 * ms
I_b = 105 * pA
eqs = '''
dv/dt = (gl*(El-v)+ge*(Ee-v)+gi*(Ei-v)+I_b)/C : volt (unless refractory)
dge/dt = -ge/taue : siemens
dgi/dt = -gi/taui : siemens
'''
P = NeuronGroup(1, eqs, threshold='v>Vt', reset='v = Vr', refractory=5 * ms,
                method='exponential_euler')
P.v = -55 * mV
te = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 500, 501, 502, 503, 504, 505]
ti = [250, 251, 700]
objs = drive(P, te, '0.27*nS*10', ti, '4.5*nS', 'ge += {w}', 'gi += {w}')
run_case('coba', P, objs, 2000, [0, 9, 10, 11, 15, 21, 100, 252, 506, 701, 1000, 1999], mV)
