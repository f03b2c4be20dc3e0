#!/usr/bin/env python3
"""Scaling of the engine with network size (issue "performance", scaling row).

Runs bench/scaling_cuba.toml (CUBA LIF, fixed in-degree 80) for N = 1e3 ... 1e6 neurons and
reports, per N: build and loop wall time, loop time per neuron-step and per synaptic event, peak
RSS. Memory per static synapse is measured as the slope of peak RSS against the synapse count at
fixed N (in-degree 80 vs 160 vs 320), so neuron state, the binary and HDF5 do not count. That
slope is the build peak (the 24-byte SynapseSpec list the connection rule returns, plus the 12-byte
CSR); the steady storage per synapse is printed by bench/static_delivery.cpp (12 bytes).
Writes a table to stdout and docs/img/scaling.png.

Usage: /usr/bin/python3 bench/scaling.py [--max-n 1000000] [--reps 3] [--bin build/spikeblox]
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOML = os.path.join(ROOT, "bench", "scaling_cuba.toml")


def run(binary, n, k_e=64, k_i=16, duration=200.0):
    n_e, n_i = int(n * 0.8), n - int(n * 0.8)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "run.h5")
        cmd = [binary, "run", TOML, "--out", out, "--force", "--json", "--quiet",
               "--set", f"blocks.E.n={n_e}", "--set", f"blocks.I.n={n_i}",
               "--set", f"connections[0].indegree={k_e}", "--set", f"connections[1].indegree={k_i}",
               "--set", f"run.duration={duration}"]
        # Peak RSS of this child alone: run it through a tiny wrapper that reports its own rusage.
        wrapper = ("import resource,subprocess,sys;"
                   "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
                   "sys.stdout.write(r.stdout);sys.stderr.write(r.stderr);"
                   "print('RSS_KB',resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
                   "sys.exit(r.returncode)")
        p = subprocess.run([sys.executable, "-c", wrapper] + cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"run failed ({' '.join(cmd)}):\n{p.stderr}")
        lines = p.stdout.strip().splitlines()
        summary = json.loads(lines[0])
        rss_kb = int(lines[-1].split()[1])
    summary["rss_mb"] = rss_kb / 1024.0
    summary["synapses"] = n * (k_e + k_i)
    summary["n"] = n
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "spikeblox"))
    ap.add_argument("--max-n", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--png", default=os.path.join(ROOT, "docs", "img", "scaling.png"))
    a = ap.parse_args()
    sizes = [n for n in (1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000) if n <= a.max_n]
    rows = []
    print(f"{'N':>9} {'synapses':>11} {'build s':>8} {'loop s':>8} {'ns/neuron-step':>15} "
          f"{'ns/syn-event':>13} {'spikes/cell/s':>13} {'peak RSS MB':>12}")
    for n in sizes:
        reps = [run(a.bin, n) for _ in range(a.reps if n < 300_000 else 1)]
        r = sorted(reps, key=lambda x: x["loop_s"])[len(reps) // 2]
        steps = r["simulated_ms"] / 0.1
        ns_step = r["loop_s"] / (n * steps) * 1e9
        ns_ev = r["loop_s"] / max(r["synaptic_events"], 1) * 1e9
        rate = r["spikes"] / n / (r["simulated_ms"] / 1000.0)
        rows.append(dict(r, ns_step=ns_step, ns_ev=ns_ev, rate=rate))
        print(f"{n:>9} {r['synapses']:>11} {r['build_s']:>8.3f} {r['loop_s']:>8.3f} {ns_step:>15.2f} "
              f"{ns_ev:>13.2f} {rate:>13.1f} {r['rss_mb']:>12.1f}", flush=True)
    # Bytes per synapse: RSS slope over the synapse count at fixed N.
    n_mem = min(100_000, a.max_n)
    mem = [run(a.bin, n_mem, k_e=4 * k, k_i=k, duration=10.0) for k in (16, 32, 64)]
    slope = (mem[-1]["rss_mb"] - mem[0]["rss_mb"]) * 2**20 / (mem[-1]["synapses"] - mem[0]["synapses"])
    print(f"\nmemory: N = {n_mem}, in-degree 80/160/320 -> peak RSS "
          + " / ".join(f"{m['rss_mb']:.1f}" for m in mem) + f" MB -> {slope:.2f} bytes per static synapse")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(1, 2, figsize=(10, 4))
        ns = [r["n"] for r in rows]
        ax[0].loglog(ns, [r["loop_s"] for r in rows], "o-", label="loop time")
        ax[0].loglog(ns, [rows[0]["loop_s"] * n / ns[0] for n in ns], "k--", lw=0.8, label="linear")
        ax[0].set_xlabel("neurons (in-degree 80)"); ax[0].set_ylabel(f"s per {rows[0]['simulated_ms']:.0f} ms simulated")
        ax[0].legend()
        ax[1].semilogx(ns, [r["ns_step"] for r in rows], "o-", label="ns per neuron-step")
        ax[1].semilogx(ns, [r["ns_ev"] for r in rows], "s-", label="ns per synaptic event")
        ax[1].set_xlabel("neurons"); ax[1].set_ylim(bottom=0); ax[1].legend()
        fig.suptitle("spikeblox scaling, CUBA LIF fixed in-degree (bench/scaling.py)")
        fig.tight_layout()
        os.makedirs(os.path.dirname(a.png), exist_ok=True)
        fig.savefig(a.png, dpi=100)
        print(f"plot: {a.png}")
    except ImportError:
        print("matplotlib missing: no plot")


if __name__ == "__main__":
    main()
