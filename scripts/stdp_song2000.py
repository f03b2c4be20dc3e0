#!/usr/bin/env python3
"""Weight distribution and output rate of a circuits_toml/stdp_song2000.toml run file.

    /usr/bin/python3 scripts/stdp_song2000.py runs/stdp_song2000_1.h5 [--png out.png]

For every weight snapshot: time, fraction of excitatory weights below 0.1 g_max and above
0.9 g_max, the output rate over the preceding snapshot interval; then the final histogram in
tenths of g_max (Song, Miller & Abbott 2000, Fig. 2: bimodal)."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from analysis.io import Run  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_file")
    ap.add_argument("--edge", default="exc_in->post")
    ap.add_argument("--g-max", type=float, default=None,
                    help="upper weight bound (default: the rule's w_max from the run's TOML)")
    ap.add_argument("--png", default=None, help="also plot the histograms over time")
    a = ap.parse_args()
    run = Run(a.run_file)
    _, values, _, _ = run.weight_snapshots(a.edge)
    times = run.snapshot_times(a.edge)
    if times is None:
        sys.exit(f"{a.run_file}: /weights/{a.edge} has no time_ms (not a spikeblox run file)")
    g_max = a.g_max
    if g_max is None:
        import tomllib
        cfg = tomllib.loads(run.meta["circuit_toml"])
        g_max = float(cfg["rules"]["song"]["w_max"])
    spikes = run.spikes
    post = np.sort(spikes[spikes["population"] == "post"]["timestamps"].to_numpy())
    print(f"{'t (s)':>8} {'< 0.1':>6} {'> 0.9':>6} {'rate (Hz)':>9}")
    for i, t in enumerate(times):
        w = values[i] / g_max
        rate = float("nan")
        if i > 0:
            n = np.searchsorted(post, t) - np.searchsorted(post, times[i - 1])
            rate = n / ((t - times[i - 1]) / 1000.0)
        print(f"{t / 1000:8.0f} {np.mean(w < 0.1):6.2f} {np.mean(w > 0.9):6.2f} {rate:9.2f}")
    hist = np.histogram(values[-1] / g_max, bins=10, range=(0.0, 1.0))[0]
    print("final histogram (tenths of g_max):", " ".join(str(h) for h in hist))
    if a.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for i in np.unique(np.linspace(0, len(times) - 1, 4).astype(int)):
            ax.hist(values[i] / g_max, bins=40, range=(0, 1), histtype="step",
                    label=f"{times[i] / 1000:.0f} s")
        ax.set_xlabel("g / g_max")
        ax.set_ylabel("synapses")
        ax.legend()
        fig.tight_layout()
        fig.savefig(a.png, dpi=120)


if __name__ == "__main__":
    main()
