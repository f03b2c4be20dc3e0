#!/usr/bin/env python3
"""Scaling of the engine with network size (issue "performance", scaling row).

Runs bench/scaling_cuba.toml (CUBA LIF, fixed in-degree 80: synapses grow linearly with neurons)
for N = 1e3 ... 1e6 neurons through BUILD/tests/circuits/scaling_engine, which builds and runs the
circuit exactly as `spikeblox run` does but without the HDF5 run file (whose /edges datasets are
streamed in blocks since session 5, so they no longer set the peak memory; --runner checks that).
Reports per N: build and loop wall time, loop time per neuron-step and per synaptic event, loop
thread-CPU time per event (less sensitive to other processes), steady synapse storage
(SpikeProjection::memory_bytes per synapse) and peak RSS; then least-squares slopes of
log(loop time) against log(N) and log(peak RSS) against log(synapses), and the memory per synapse
as the slope of RSS against the synapse count at N = 1e5 (in-degree 80/160/320, build only), so
neuron state and the binary do not count. With --runner it also measures that slope for the whole
`spikeblox run` process (run file included). Writes a table to stdout and docs/img/scaling.png.

Usage: /usr/bin/python3 bench/scaling.py [--max-n 1000000] [--reps 3] [--build build]
                                         [--runner]
"""
import argparse, json, math, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOML = os.path.join(ROOT, "bench", "scaling_cuba.toml")


def sets(n, k_e, k_i, duration):
    n_e, n_i = int(n * 0.8), n - int(n * 0.8)
    out = []
    for s in (f"blocks.E.n={n_e}", f"blocks.I.n={n_i}", f"connections[0].indegree={k_e}",
              f"connections[1].indegree={k_i}", f"run.duration={duration}"):
        out += ["--set", s]
    return out


def run_engine(build, n, k_e=64, k_i=16, duration=200.0, run=True):
    cmd = [os.path.join(build, "tests", "circuits", "scaling_engine"), TOML] + \
        sets(n, k_e, k_i, duration) + ([] if run else ["--no-run"])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"run failed ({' '.join(cmd)}):\n{p.stderr}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["n"] = n
    return r


def run_spikeblox(build, n, k_e, k_i, duration):
    """Peak RSS (MB) of a whole `spikeblox run` (run file with /edges included)."""
    with tempfile.TemporaryDirectory() as d:
        cmd = [os.path.join(build, "spikeblox"), "run", TOML, "--out", os.path.join(d, "r.h5"),
               "--force", "--json", "--quiet"] + sets(n, k_e, k_i, duration)
        wrapper = ("import resource,subprocess,sys;"
                   "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
                   "sys.stderr.write(r.stderr);"
                   "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
                   "sys.exit(r.returncode)")
        p = subprocess.run([sys.executable, "-c", wrapper] + cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"run failed ({' '.join(cmd)}):\n{p.stderr}")
        return int(p.stdout.strip().splitlines()[-1]) / 1024.0


def loglog_slope(xs, ys):
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def lin_slope(xs, ys):
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="CMake build directory")
    ap.add_argument("--max-n", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--runner", action="store_true",
                    help="also measure the memory slope of the whole spikeblox run process")
    ap.add_argument("--png", default=os.path.join(ROOT, "docs", "img", "scaling.png"))
    a = ap.parse_args()
    sizes = [n for n in (1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000) if n <= a.max_n]
    rows = []
    print(f"{'N':>9} {'synapses':>11} {'build s':>8} {'loop s':>8} {'ns/neuron-step':>15} "
          f"{'ns/syn-event':>13} {'CPU ns/event':>13} {'spikes/cell/s':>13} {'B/synapse':>10} {'peak RSS MB':>12}")
    for n in sizes:
        reps = [run_engine(a.build, n) for _ in range(a.reps if n < 300_000 else 1)]
        r = sorted(reps, key=lambda x: x["loop_s"])[len(reps) // 2]
        steps = r["simulated_ms"] / 0.1
        ns_step = r["loop_s"] / (n * steps) * 1e9
        ns_ev = r["loop_s"] / max(r["synaptic_events"], 1) * 1e9
        # Thread CPU time of the loop: on a shared machine wall time also counts other processes.
        cpu_ev = r.get("loop_cpu_s", float("nan")) / max(r["synaptic_events"], 1) * 1e9
        rate = r["spikes"] / n / (r["simulated_ms"] / 1000.0)
        bps = r["projection_bytes"] / r["synapses"]
        rows.append(dict(r, ns_step=ns_step, ns_ev=ns_ev, cpu_ev=cpu_ev, rate=rate, bps=bps))
        print(f"{n:>9} {r['synapses']:>11} {r['build_s']:>8.3f} {r['loop_s']:>8.3f} {ns_step:>15.2f} "
              f"{ns_ev:>13.2f} {cpu_ev:>13.2f} {rate:>13.1f} {bps:>10.2f} {r['peak_mb']:>12.1f}", flush=True)
    ns = [r["n"] for r in rows]
    if len(rows) >= 2:
        print(f"\nlog-log slope, loop time vs N: {loglog_slope(ns, [r['loop_s'] for r in rows]):.3f}"
              f" (all sizes); {loglog_slope(ns[-3:], [r['loop_s'] for r in rows[-3:]]):.3f} (largest 3)")
        print(f"log-log slope, synaptic events vs N: "
              f"{loglog_slope(ns, [r['synaptic_events'] for r in rows]):.3f}")
        print(f"log-log slope, peak RSS vs synapses: "
              f"{loglog_slope([r['synapses'] for r in rows], [r['peak_mb'] for r in rows]):.3f}"
              f" (all sizes); {loglog_slope([r['synapses'] for r in rows[-3:]], [r['peak_mb'] for r in rows[-3:]]):.3f}"
              " (largest 3)")
    # Bytes per synapse: RSS slope over the synapse count at fixed N (build only).
    n_mem = min(100_000, a.max_n)
    ks = (16, 32, 64)
    mem = [run_engine(a.build, n_mem, k_e=4 * k, k_i=k, duration=10.0, run=False) for k in ks]
    syn = [m["synapses"] for m in mem]
    to_b = 2**20
    peak = lin_slope(syn, [m["peak_build_mb"] * to_b for m in mem])
    resident = lin_slope(syn, [m["rss_built_mb"] * to_b for m in mem])
    print(f"\nmemory: N = {n_mem}, in-degree 80/160/320, build only: peak RSS "
          + " / ".join(f"{m['peak_build_mb']:.1f}" for m in mem) + f" MB -> {peak:.2f} bytes per static"
          f" synapse at the peak; resident after the build {resident:.2f} bytes; storage "
          + " / ".join(f"{m['projection_bytes'] / m['synapses']:.2f}" for m in mem) + " bytes (memory_bytes)")
    if a.runner:
        whole = [run_spikeblox(a.build, n_mem, 4 * k, k, 10.0) for k in ks]
        print(f"memory, whole `spikeblox run` (run file with /edges): peak RSS "
              + " / ".join(f"{w:.1f}" for w in whole)
              + f" MB -> {lin_slope(syn, [w * to_b for w in whole]):.2f} bytes per synapse")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(1, 3, figsize=(14, 4))
        ax[0].loglog(ns, [r["loop_s"] for r in rows], "o-", label="loop time")
        ax[0].loglog(ns, [rows[0]["loop_s"] * n / ns[0] for n in ns], "k--", lw=0.8,
                     label="linear from 10³")
        ax[0].loglog(ns, [rows[-1]["loop_s"] * n / ns[-1] for n in ns], "k:", lw=0.8,
                     label="linear to 10⁶")
        ax[0].set_xlabel("neurons (in-degree 80)")
        ax[0].set_ylabel(f"s per {rows[0]['simulated_ms']:.0f} ms simulated")
        ax[0].legend()
        ax[1].semilogx(ns, [r["ns_step"] for r in rows], "o-", label="ns per neuron-step")
        ax[1].semilogx(ns, [r["ns_ev"] for r in rows], "s-", label="ns per synaptic event")
        ax[1].set_xlabel("neurons"); ax[1].set_ylim(bottom=0); ax[1].legend()
        syn_n = [r["synapses"] for r in rows]
        ax[2].loglog(syn_n, [r["peak_mb"] for r in rows], "o-", label="peak RSS")
        ax[2].loglog(syn_n, [r["projection_bytes"] / 2**20 for r in rows], "s-",
                     label="synapse storage")
        ax[2].loglog(syn_n, [12 * s / 2**20 for s in syn_n], "k--", lw=0.8, label="12 B/synapse")
        ax[2].set_xlabel("synapses"); ax[2].set_ylabel("MB"); ax[2].legend()
        fig.suptitle("spikeblox scaling, CUBA LIF fixed in-degree (bench/scaling.py)")
        fig.tight_layout()
        os.makedirs(os.path.dirname(a.png), exist_ok=True)
        fig.savefig(a.png, dpi=100)
        print(f"plot: {a.png}")
    except ImportError:
        print("matplotlib missing: no plot")


if __name__ == "__main__":
    main()
