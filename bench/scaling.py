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
                                         [--runner] [--precision double|float|both]
                                         [--compare OTHER/scaling_engine] [--reps-large 1]
                                         [--duration 200] [--no-memory] [--set KEY=VALUE ...]
                                         [--compare-set KEY=VALUE ...] [--floor]

--precision sets `precision` of both lif_cuba blocks (lif_cuba.hpp: float = 16 instead of 32
bytes per cell); `both` runs double and float alternately at every size and repetition.
--compare also runs another scaling_engine binary (e.g. an older build, default precision) in the
same alternation, so old and new see the same machine load; its rows are labelled "compare"
(--compare-set: overrides for its runs only, e.g. the one-tick delays of the session-5 network).
--floor also runs BUILD/tests/circuits/scaling_floor (bench/scaling_floor.cpp: the same network as
one hand-fused loop, no engine) at the same sizes and precisions, rows "floor double"/"floor float":
what grows with N on this machine whatever the code.
Medians are taken over the repetitions (by loop wall time; the CPU column is the median of the
CPU times); slopes are printed for wall and thread-CPU loop time of every configuration.
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


def run_floor(floor, n, k_e=64, k_i=16, duration=200.0, precision=None):
    """bench/scaling_floor.cpp: the same network as one hand-fused loop (no engine)."""
    return run_json([floor, "--n", str(n), "--k-e", str(k_e), "--k-i", str(k_i), "--duration",
                     str(duration), "--precision", precision or "double"], n)


def run_json(cmd, n):
    """Runs a benchmark binary that prints one JSON line last; its dict with "n" added."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"run failed ({' '.join(cmd)}):\n{p.stderr}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["n"] = n
    return r


def run_engine(build, n, k_e=64, k_i=16, duration=200.0, run=True, precision=None, engine=None,
               extra=()):
    if engine and os.path.basename(engine) == "scaling_floor":
        return run_floor(engine, n, k_e, k_i, duration, precision)
    cmd = [engine or os.path.join(build, "tests", "circuits", "scaling_engine"), TOML] + \
        sets(n, k_e, k_i, duration) + ([] if run else ["--no-run"])
    for kv in extra:
        cmd += ["--set", kv]
    if precision:
        cmd += ["--set", f'blocks.E.precision="{precision}"', "--set",
                f'blocks.I.precision="{precision}"']
    return run_json(cmd, n)


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
    ap.add_argument("--precision", choices=("double", "float", "both"), default="double",
                    help="precision of the lif_cuba blocks (both: alternate double and float)")
    ap.add_argument("--compare", metavar="ENGINE",
                    help="another scaling_engine binary run alternately (default precision)")
    ap.add_argument("--floor", action="store_true",
                    help="also run BUILD/tests/circuits/scaling_floor (the network as one hand-fused "
                         "loop, bench/scaling_floor.cpp) alternately, at each precision")
    ap.add_argument("--reps-large", type=int, default=1, help="repetitions from N = 3e5 up")
    ap.add_argument("--duration", type=float, default=200.0, help="simulated ms per run")
    ap.add_argument("--no-memory", action="store_true", help="skip the bytes-per-synapse part")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="extra override for every timed run, e.g. connections[0].delay=0.001")
    ap.add_argument("--compare-set", action="append", default=[], metavar="KEY=VALUE",
                    help="extra override for the --compare binary's runs only")
    a = ap.parse_args()
    sizes = [n for n in (1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000) if n <= a.max_n]
    # (label, engine binary or None = this build's, precision key or None = not set)
    configs = [("compare", a.compare, None, a.set + a.compare_set)] if a.compare else []
    precisions = ("double", "float") if a.precision == "both" else (a.precision,)
    if a.floor:
        floor = os.path.join(a.build, "tests", "circuits", "scaling_floor")
        configs += [(f"floor {p}", floor, p, []) for p in precisions]
    configs += [(p, None, None if p == "double" else p, a.set) for p in precisions]
    label_w = max(len(c[0]) for c in configs)
    results = {c[0]: [] for c in configs}
    print(f"{'config':>{label_w}} {'N':>9} {'synapses':>11} {'build s':>8} {'loop s':>8} {'ns/neuron-step':>15} "
          f"{'ns/syn-event':>13} {'CPU ns/event':>13} {'spikes/cell/s':>13} {'B/synapse':>10} {'peak RSS MB':>12}")
    for n in sizes:
        reps = {c[0]: [] for c in configs}
        for _ in range(a.reps if n < 300_000 else a.reps_large):
            for label, engine, prec, extra in configs:  # alternated: all see the same load
                reps[label].append(run_engine(a.build, n, duration=a.duration, precision=prec,
                                              engine=engine, extra=extra))
        for label, *_ in configs:
            rr = reps[label]
            r = dict(sorted(rr, key=lambda x: x["loop_s"])[len(rr) // 2])
            r["loop_cpu_s"] = sorted(x.get("loop_cpu_s", float("nan")) for x in rr)[len(rr) // 2]
            steps = r["simulated_ms"] / 0.1
            ns_step = r["loop_s"] / (n * steps) * 1e9
            ns_ev = r["loop_s"] / max(r["synaptic_events"], 1) * 1e9
            # Thread CPU time of the loop: on a shared machine wall time also counts other processes.
            cpu_ev = r["loop_cpu_s"] / max(r["synaptic_events"], 1) * 1e9
            rate = r["spikes"] / n / (r["simulated_ms"] / 1000.0)
            bps = r["projection_bytes"] / r["synapses"]
            results[label].append(dict(r, ns_step=ns_step, ns_ev=ns_ev, cpu_ev=cpu_ev, rate=rate,
                                       bps=bps, cpu_all=[x.get("loop_cpu_s") for x in rr]))
            print(f"{label:>{label_w}} {n:>9} {r['synapses']:>11} {r['build_s']:>8.3f} {r['loop_s']:>8.3f} {ns_step:>15.2f} "
                  f"{ns_ev:>13.2f} {cpu_ev:>13.2f} {rate:>13.1f} {bps:>10.2f} {r['peak_mb']:>12.1f}", flush=True)
    for label, *_ in configs:
        rows = results[label]
        ns = [r["n"] for r in rows]
        if len(rows) < 2:
            continue
        print(f"\n[{label}] loop CPU ms per repetition: " + "; ".join(
            f"{r['n']}: " + " ".join(f"{c * 1e3:.3f}" for c in r["cpu_all"]) for r in rows))
        print(f"[{label}] log-log slope, loop time vs N: {loglog_slope(ns, [r['loop_s'] for r in rows]):.3f}"
              f" (all sizes); {loglog_slope(ns[-3:], [r['loop_s'] for r in rows[-3:]]):.3f} (largest 3)")
        print(f"[{label}] log-log slope, loop thread-CPU time vs N: "
              f"{loglog_slope(ns, [r['loop_cpu_s'] for r in rows]):.3f} (all sizes); "
              f"{loglog_slope(ns[-3:], [r['loop_cpu_s'] for r in rows[-3:]]):.3f} (largest 3)")
        print(f"[{label}] log-log slope, synaptic events vs N: "
              f"{loglog_slope(ns, [r['synaptic_events'] for r in rows]):.3f}")
        print(f"[{label}] log-log slope, peak RSS vs synapses: "
              f"{loglog_slope([r['synapses'] for r in rows], [r['peak_mb'] for r in rows]):.3f}"
              f" (all sizes); {loglog_slope([r['synapses'] for r in rows[-3:]], [r['peak_mb'] for r in rows[-3:]]):.3f}"
              " (largest 3)")
    main_label = configs[-1][0] if a.precision != "both" else "double"
    rows = results[main_label]
    ns = [r["n"] for r in rows]
    if a.no_memory:
        return
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
        # One colour per configuration in both panels; the hand-fused floor dashed.
        shown = [l for l in results if len(results[l]) == len(rows)]
        colour = {l: f"C{i}" for i, l in enumerate(shown)}
        style = {l: ("^--" if l.startswith("floor") else "o-") for l in shown}
        for label in shown:
            ax[0].loglog(ns, [r["loop_s"] for r in results[label]], style[label],
                         color=colour[label], label=f"loop time ({label})")
        ax[0].loglog(ns, [rows[0]["loop_s"] * n / ns[0] for n in ns], "k--", lw=0.8,
                     label=f"linear from 10³ ({main_label})")
        ax[0].loglog(ns, [rows[-1]["loop_s"] * n / ns[-1] for n in ns], "k:", lw=0.8,
                     label=f"linear to 10⁶ ({main_label})")
        ax[0].set_xlabel("neurons (in-degree 80)")
        ax[0].set_ylabel(f"s per {rows[0]['simulated_ms']:.0f} ms simulated")
        ax[0].legend(fontsize=8)
        for label in shown:
            ax[1].semilogx(ns, [r["ns_ev"] for r in results[label]], style[label],
                           color=colour[label], label=f"ns per synaptic event ({label})")
        ax[1].semilogx(ns, [r["ns_step"] for r in rows], "s:", color="gray",
                       label=f"ns per neuron-step ({main_label})")
        ax[1].set_xlabel("neurons"); ax[1].set_ylim(bottom=0); ax[1].legend(fontsize=8)
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
