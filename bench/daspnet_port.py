#!/usr/bin/env python3
"""Independent direct port of Izhikevich's daspnet.m (Izhikevich 2007, Fig. 1) in NumPy.

Written from the reference MATLAB code (seed_systems.md §5.1-5.2), not from spikeblox, so that
the C++ experiment (envs/distal_reward.*) can be checked against what the reference algorithm
itself does. Every operation of one 1-ms step is done in daspnet's order:

  1. I = 13·(rand − 0.5)                               random thalamic input, per neuron
  2. fired = v >= 30; v ← −65, u ← u + d              (detected at the start of the ms)
  3. STDP(fired, t+1) = 0.1                            trace set (not added)
  4. LTP: for every fired neuron, sd(pre syn) += STDP(pre neuron, t)   (trace one step back)
  5. delivery (D = 1: spikes of this ms): I(post) += s; sd(syn) −= 1.5·STDP(post, t+1)
                                                       (post trace including this ms's spike)
     MATLAB's I(ind) = I(ind) + s(n, del)' does not accumulate repeated indices: when a neuron
     has several synapses onto the same target (duplicates are allowed), only the last one's
     weight reaches I (≈ 4.8 of the 100 excitatory synapses per neuron carry no current, though
     their weights and tags still evolve). Reproduced by default; --additive-duplicates adds
     every synapse (as spikeblox does).
  6. v ← v + 0.5·(0.04v² + 5v + 140 − u + I) twice; u ← u + a(0.2v − u)
  7. STDP(:, t+2) = 0.95·STDP(:, t+1)
  8. DA ← 0.995·DA
  9. every 10 ms: s_exc ← clip(s_exc + (0.002 + DA)·sd_exc, 0, 4); sd ← 0.99·sd
 10. n1/n2 bookkeeping; a coincidence (n2 fires, last n1 spike strictly earlier and < 20 ms
     before) schedules a reward at now + 1000 + ceil(2000·rand) ms
 11. if a reward is due now: DA ← DA + 0.5 (once, even if several are due in the same ms)

Control protocol (not in daspnet.m; the spec's "non-contingent control"): --control RATE (or
--rates, one entry per seed: c = contingent, or a rate) gives
rewards at random times, each ms independently with probability RATE/1000 (a Poisson process at
RATE per second on daspnet's 1-ms grid); coincidences are counted but schedule nothing.

Several seeds run side by side in one process (the arrays get a leading seed dimension) to
amortise NumPy's per-call overhead; each seed has its own generators, so its run does not depend
on which other seeds share the batch. Not bit-compatible with MATLAB's rand (different
generator): results are statistical evidence, compared over seeds.

  /usr/bin/python3 bench/daspnet_port.py --seeds 1 2 3 [--control RATE | --rates c R2 R3]
      [--duration S] [--samples PREFIX]

Part-by-part switches for fidelity checks against distal_reward_run: --static (weights frozen),
--ltp-scale / --ltd-scale (0 switches LTP / LTD off), --da-baseline, --reward-amount,
--progress S (every S seconds a line to stderr with the rates per population over the last S
seconds and the excitatory weight statistics, the keys of distal_reward_run --progress).

Prints one line of key=value figures per seed (the same keys as bench/distal_reward_run.cpp
where they exist). Cost: ~1-3 min of CPU per seed and simulated hour (dominated by the every-10-ms
weight update over the 80 000 excitatory synapses).
"""
import argparse
import math
import sys
import time

import numpy as np

NE, NI, M = 800, 200, 100
N = NE + NI
SM = 4.0  # maximal synaptic strength


def build(seed):
    """Connectivity of one seed: post targets (N, M), daspnet's ceil([N·rand(Ne,M); Ne·rand(Ni,M)])."""
    rng = np.random.default_rng([seed, 0])
    post = np.empty((N, M), dtype=np.int64)
    post[:NE] = rng.integers(0, N, size=(NE, M))
    post[NE:] = rng.integers(0, NE, size=(NI, M))
    return post


def run(seeds, duration_s, rates, sample_every_ms=100, log=sys.stderr, matlab_dup=True,
        ltp_scale=1.0, plastic=True, ltd_scale=1.0, da_base=0.002, reward_amount=0.5,
        progress_every=60):
    """rates[b]: None = contingent (daspnet), else the control reward rate (1/s) of seed b."""
    B = len(seeds)
    contingent = [r is None for r in rates]
    ctl_p = np.array([0.0 if r is None else r / 1000.0 for r in rates])
    BN = B * N
    post = np.concatenate([build(s) + b * N for b, s in enumerate(seeds)])  # (B·N, M), global ids
    s = np.tile(np.concatenate([np.ones((NE, M)), -np.ones((NI, M))]), (B, 1))
    sd = np.zeros((BN, M))
    n1 = np.array([b * N + 0 for b in range(B)])  # daspnet n1 = 1, syn = 1 (0-based here)
    n2 = post[n1, 0]
    s[n1, 0] = 0.0  # "start with 0 value"
    # live[n, m]: synapse m of neuron n reaches I (MATLAB: last of repeated targets wins).
    live = np.ones((BN, M))
    if matlab_dup:
        for n in range(BN):
            _, last = np.unique(post[n, ::-1], return_index=True)
            live[n] = 0.0
            live[n, M - 1 - last] = 1.0
    # pre{i} = find(post == i & s > 0), taken before s(n1, syn) = 0: every excitatory synapse.
    exc_row = (np.arange(BN) % N) < NE
    syn_ids = np.flatnonzero(np.repeat(exc_row, M))  # flat ids of excitatory synapses
    syn_post = post.ravel()[syn_ids]
    order = np.argsort(syn_post, kind="stable")
    in_syn = syn_ids[order]  # grouped by postsynaptic neuron
    in_pre = in_syn // M  # presynaptic neuron of each
    in_ptr = np.searchsorted(syn_post[order], np.arange(BN + 1))

    a = np.tile(np.concatenate([0.02 * np.ones(NE), 0.1 * np.ones(NI)]), B)
    d = np.tile(np.concatenate([8.0 * np.ones(NE), 2.0 * np.ones(NI)]), B)
    v = -65.0 * np.ones(BN)
    u = 0.2 * v
    P = np.zeros(BN)  # STDP(:, t): trace at the previous ms (after that ms's set)
    DA = np.zeros(B)
    noise_rng = [np.random.default_rng([sd_, 1]) for sd_ in seeds]
    rew_rng = [np.random.default_rng([sd_, 2]) for sd_ in seeds]  # contingent reward delays
    ctl_rng = [np.random.default_rng([sd_, 3]) for sd_ in seeds]  # control reward times
    n1f = [-100] * B
    pending = [dict() for _ in range(B)]  # reward time -> count
    coinc = np.zeros(B, dtype=np.int64)
    rewards = np.zeros(B, dtype=np.int64)
    spikes = np.zeros(B, dtype=np.int64)
    spikes_exc = np.zeros(B, dtype=np.int64)
    is_exc = (np.arange(BN) % N) < NE
    t95 = [-1.0] * B
    t90 = [-1.0] * B
    samples = [[] for _ in range(B)]
    s3 = s.reshape(B, N, M)
    sd3 = sd.reshape(B, N, M)
    tmp = np.empty((B, NE, M))
    seed_of = np.arange(BN) // N
    t_wall = time.time()
    last_exc = np.zeros(B, dtype=np.int64)
    last_all = np.zeros(B, dtype=np.int64)
    for sec in range(1, int(duration_s) + 1):
        noise = np.concatenate([r.random((1000, N)) for r in noise_rng], axis=1)
        ctl = np.stack([r.random(1000) for r in ctl_rng], axis=1) < ctl_p  # control rewards
        for t in range(1, 1001):
            now = sec * 1000 + t
            I = 13.0 * (noise[t - 1] - 0.5)
            C = 0.95 * P  # STDP(:, t+1) as computed at the end of the previous ms
            fired = np.flatnonzero(v >= 30.0)
            if fired.size:
                v[fired] = -65.0
                u[fired] += d[fired]
                C[fired] = 0.1
                spikes += np.bincount(seed_of[fired], minlength=B)
                spikes_exc += np.bincount(seed_of[fired], weights=is_exc[fired],
                                          minlength=B).astype(np.int64)
                # LTP: every excitatory synapse onto a fired neuron, pre trace one step back.
                if fired.size == 1:
                    j = fired[0]
                    sl = slice(in_ptr[j], in_ptr[j + 1])
                    sd.ravel()[in_syn[sl]] += ltp_scale * P[in_pre[sl]]  # ids distinct
                else:
                    idx = np.concatenate([np.arange(in_ptr[j], in_ptr[j + 1]) for j in fired])
                    sd.ravel()[in_syn[idx]] += ltp_scale * P[in_pre[idx]]  # ids distinct
                # Delivery of this ms's spikes (D = 1) and LTD with the post trace just set.
                tg = post[fired]
                I += np.bincount(tg.ravel(), weights=(s[fired] * live[fired]).ravel(),
                                 minlength=BN)
                sd[fired] -= (1.5 * ltd_scale) * C[tg]
            for _ in range(2):  # two 0.5-ms half-steps for v
                v += 0.5 * ((0.04 * v + 5.0) * v + 140.0 - u + I)
            u += a * (0.2 * v - u)
            P = C  # STDP(:, t+2) = 0.95·STDP(:, t+1) is taken at the start of the next ms
            DA *= 0.995
            if t % 10 == 0 and plastic:
                se = s3[:, :NE, :]
                np.multiply(sd3[:, :NE, :], (da_base + DA)[:, None, None], out=tmp)
                tmp += se
                np.clip(tmp, 0.0, SM, out=tmp)
                se[...] = tmp
                sd *= 0.99
            if fired.size:
                f_set = set(fired.tolist())
                for b in range(B):
                    if n1[b] in f_set:
                        n1f[b] = now
                    if n2[b] in f_set and now - n1f[b] < 20 and now > n1f[b]:
                        coinc[b] += 1
                        if contingent[b]:
                            due = now + 1000 + math.ceil(2000 * rew_rng[b].random())
                            pending[b][due] = pending[b].get(due, 0) + 1
            for b in range(B):
                due = pending[b].pop(now, 0) if contingent[b] else int(ctl[t - 1, b])
                if due:
                    DA[b] += reward_amount
                    rewards[b] += due
            if t % sample_every_ms == 0:
                for b in range(B):
                    w = s[n1[b], 0]
                    samples[b].append((now - 1000, w, sd[n1[b], 0], DA[b]))
                    if t90[b] < 0 and w >= 0.9 * SM:
                        t90[b] = (now - 1000) / 1000.0
                    if t95[b] < 0 and w >= 0.95 * SM:
                        t95[b] = (now - 1000) / 1000.0
        if sec % progress_every == 0 and log:
            ws = " ".join(f"{s[n1[b], 0]:.3f}" for b in range(B))
            print(f"[{sec} s, {time.time() - t_wall:.0f} s wall] chosen w: {ws}", file=log,
                  flush=True)
            # Same keys as distal_reward_run --progress (rates over the last interval).
            for b in range(B):
                we = s3[b, :NE, :].ravel()
                print(f"progress seed={seeds[b]} t_s={sec} "
                      f"rate_exc_hz={(spikes_exc[b] - last_exc[b]) / (NE * progress_every):.4f} "
                      f"rate_inh_hz={(spikes[b] - spikes_exc[b] - last_all[b] + last_exc[b]) / (NI * progress_every):.4f} "
                      f"median={np.median(we):.4f} mean={we.mean():.4f} "
                      f"p99={np.quantile(we, 0.99):.4f} frac_at_max={np.mean(we >= SM):.5f} "
                      f"rewards={rewards[b]}", file=log, flush=True)
            last_exc = spikes_exc.copy()
            last_all = spikes.copy()
    out = []
    for b in range(B):
        we = s3[b, :NE, :].ravel()
        wc = s[n1[b], 0]
        out.append(dict(
            seed=seeds[b], dup="matlab" if matlab_dup else "additive", ltp_scale=ltp_scale,
            chosen_live=int(live[n1[b], 0]),
            mode="contingent" if contingent[b] else "control", rate=rates[b],
            n2=int(n2[b] - b * N), n2_exc=int(n2[b] - b * N < NE),
            rate_hz=spikes[b] / (N * duration_s),
            rate_exc_hz=spikes_exc[b] / (NE * duration_s),
            rate_inh_hz=(spikes[b] - spikes_exc[b]) / (NI * duration_s), coincidences=int(coinc[b]),
            rewards=int(rewards[b]), t90_s=t90[b], t95_s=t95[b], w_final=wc,
            pct_final=100.0 * np.mean(we < wc), p90=np.quantile(we, 0.9),
            median=np.median(we), mean=we.mean(), p99=np.quantile(we, 0.99),
            frac_at_max=np.mean(we >= SM), frac_below_0p1=np.mean(we < 0.1),
            w_max_seen=max(x[1] for x in samples[b]),
            samples=samples[b]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--duration", type=float, default=3600.0, help="simulated seconds")
    ap.add_argument("--control", type=float, default=None,
                    help="non-contingent rewards at this mean rate (per second)")
    ap.add_argument("--rates", nargs="+", default=None,
                    help="per seed: 'c' (contingent) or a control rate (per second); "
                         "overrides --control")
    ap.add_argument("--additive-duplicates", action="store_true",
                    help="every synapse adds to I (default: MATLAB's last-of-repeated-targets)")
    ap.add_argument("--ltp-current-step", action="store_true",
                    help="LTP reads the pre trace decayed once more (0.95·STDP(:, t)), i.e. "
                         "spikeblox's rule without --ltp-prev-step (for comparison only)")
    ap.add_argument("--ltp-scale", type=float, default=None,
                    help="multiply the LTP read by this (0: no LTP); overrides --ltp-current-step")
    ap.add_argument("--ltd-scale", type=float, default=1.0, help="multiply A- (0: no LTD)")
    ap.add_argument("--da-baseline", type=float, default=0.002, help="tonic DA (0.002)")
    ap.add_argument("--reward-amount", type=float, default=0.5, help="DA per reward (0.5)")
    ap.add_argument("--progress", type=int, default=60,
                    help="seconds between progress lines on stderr")
    ap.add_argument("--static", action="store_true",
                    help="weights frozen at their initial values (tags still computed)")
    ap.add_argument("--samples", default=None, help="write PREFIX_<seed>.csv (t_ms, w, c, d)")
    args = ap.parse_args()
    if args.rates:
        if len(args.rates) != len(args.seeds):
            ap.error("--rates needs one entry per seed")
        rates = [None if x == "c" else float(x) for x in args.rates]
    else:
        rates = [args.control] * len(args.seeds)
    for r in run(args.seeds, args.duration, rates, matlab_dup=not args.additive_duplicates,
                 ltp_scale=(args.ltp_scale if args.ltp_scale is not None
                            else 0.95 if args.ltp_current_step else 1.0),
                 plastic=not args.static, ltd_scale=args.ltd_scale, da_base=args.da_baseline,
                 reward_amount=args.reward_amount, progress_every=args.progress):
        smp = r.pop("samples")
        keys = ["seed", "mode", "dup", "ltp_scale", "chosen_live", "n2", "n2_exc", "rate_hz", "coincidences", "rewards", "t90_s",
                "t95_s", "w_final", "pct_final", "p90", "median", "mean", "p99", "frac_at_max",
                "frac_below_0p1", "w_max_seen", "rate_exc_hz", "rate_inh_hz"]
        line = " ".join(f"{k}={r[k]:.3f}" if isinstance(r[k], float) else f"{k}={r[k]}"
                        for k in keys)
        if r["rate"] is not None:
            line += f" control_rate_hz={r['rate']:g}"
        print("port " + line, flush=True)
        if args.samples:
            np.savetxt(f"{args.samples}_{r['seed']}.csv", np.array(smp), delimiter=",",
                       header="t_ms,w,c,d", comments="", fmt="%.6g")


if __name__ == "__main__":
    main()
