"""Figures of spikeblox run files (matplotlib). One function per figure; each takes a Run (or a
list of Runs) and an optional Axes and returns what it drew on, so notebooks can compose them.
The numbers behind the curves come from the small pure functions at the top (tested on their own).

Figures (after Neuroblox's Makie recipes and ecosystem.md §6):
  learning_curve       accuracy per trial, moving average; with several runs per-seed lines and
                       mean ± s.e.m. across runs
  raster               spikes stacked by block (one colour per block), trial boundaries
  dopamine_rpe         dopamine and reward-prediction error per trial, rewarded trials marked
  weight_matrix        unit x unit adjacency before and after learning, and the change
  weight_trajectories  weight of each plastic edge after every trial, one panel per edge population
  rates                population firing rate per neuron (Hz): per trial, or in time bins
  traces               sampled state variables (/report), a few nodes per report
  synapses             a sampled synapse's weight, eligibility and modulator over time (/synapses)
  steps                per-step rows of an episodes run (/steps): reward, best-arm choices and
                       cumulative regret (bandits), the modulators (ACh, NA, dopamine), the
                       critic's V(s) and TD error (actor-critic)
  sweep                accuracy vs each grid parameter of a sweep index, mean ± s.e.m. over seeds
"""
import os
import re

import numpy as np
import pandas as pd

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend choice)

# ---- numbers -----------------------------------------------------------------------------------


def moving_accuracy(correct, window):
    """Trailing moving average of a 0/1 sequence: value k is the mean of trials
    max(0, k-window+1)..k (shorter windows at the start)."""
    c = pd.Series(np.asarray(correct, dtype=float))
    return c.rolling(int(window), min_periods=1).mean().to_numpy()


def mean_sem(curves):
    """Mean and standard error of the mean across rows of a ragged list of 1-D arrays, aligned at
    index 0. Returns (mean, sem, n) arrays as long as the longest curve; sem is NaN where fewer
    than two curves reach."""
    length = max(len(c) for c in curves)
    m = np.full((len(curves), length), np.nan)
    for i, c in enumerate(curves):
        m[i, :len(c)] = c
    n = np.sum(~np.isnan(m), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(m, axis=0)
        sd = np.nanstd(m, axis=0, ddof=1) if len(curves) > 1 else np.full(length, np.nan)
        sem = np.where(n > 1, sd / np.sqrt(n), np.nan)
    return mean, sem, n


def rates_per_trial(run):
    """DataFrame (index trial, one column per population): spikes per neuron per second within
    each trial's [start_time, stop_time)."""
    trials = run.trials
    spikes = run.spikes
    out = {}
    starts = trials["start_time"].to_numpy()
    stops = trials["stop_time"].to_numpy()
    dur_s = (stops - starts) / 1000.0
    for pop in run.populations:
        n = run.node_counts.get(pop, 0)
        if n == 0:
            continue
        t = np.sort(spikes.loc[spikes["population"] == pop, "timestamps"].to_numpy())
        counts = np.searchsorted(t, stops, side="left") - np.searchsorted(t, starts, side="left")
        with np.errstate(invalid="ignore", divide="ignore"):
            out[pop] = counts / n / dur_s
    return pd.DataFrame(out, index=pd.Index(trials["trial"].to_numpy(), name="trial"))


def rates_binned(run, bin_ms, t_end=None):
    """DataFrame (index bin start in ms, one column per population): spikes per neuron per second
    in bins of bin_ms from 0 to t_end (default: the run's last known time)."""
    spikes = run.spikes
    t_end = run.duration if t_end is None else t_end
    edges = np.arange(0.0, max(t_end, bin_ms) + bin_ms, bin_ms)
    out = {}
    for pop in run.populations:
        n = run.node_counts.get(pop, 0)
        if n == 0:
            continue
        t = spikes.loc[spikes["population"] == pop, "timestamps"].to_numpy()
        counts, _ = np.histogram(t, bins=edges)
        out[pop] = counts / n / (bin_ms / 1000.0)
    return pd.DataFrame(out, index=pd.Index(edges[:-1], name="time"))


def sweep_summary(df, key, metric):
    """Rows of a sweep index with status == complete grouped by the grid column `key`:
    DataFrame(index key value, columns mean, sem, n) of `metric` (NaN figures are left out)."""
    ok = df[(df["status"] == "complete") & df[metric].notna()]
    g = ok.groupby(key)[metric]
    res = pd.DataFrame({"mean": g.mean(), "sem": g.sem(ddof=1), "n": g.count()})
    if pd.api.types.is_numeric_dtype(df[key]):
        return res.sort_index()
    # Text values keep the grid's order (first appearance in the index).
    return res.reindex([v for v in pd.unique(df[key]) if v in res.index])


# ---- figures -----------------------------------------------------------------------------------

BLOCK_COLOURS = plt.get_cmap("tab10").colors


def _natural_key(name):
    """'AC.10' after 'AC.9': digit runs compare as numbers."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(name))]


def _new_ax(ax, figsize=(8, 4)):
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    return ax


def _chance(run):
    cats = run.trials["category"].nunique() if "category" in run.trials else 2
    return 1.0 / max(cats, 2)


def _run_label(run):
    seed = run.meta.get("seed")
    return f"seed {seed}" if seed is not None else run.path


def learning_curve(runs, ax=None, window=20):
    """Accuracy vs trial. One run: per-trial outcomes (ticks) and the moving average.
    Several runs: each run's moving average (thin; labelled by seed, or by file name when seeds
    repeat, as in a sweep's grid points) and mean ± s.e.m. across runs (band)."""
    runs = list(runs)
    if len(runs) > 1:  # legend in seed order, whatever order the files came in
        runs.sort(key=lambda r: (str(type(r.meta.get("seed"))), r.meta.get("seed")))
    ax = _new_ax(ax)
    curves = [moving_accuracy(r.trials["correct"], window) for r in runs]
    if len(runs) == 1:
        c = runs[0].trials["correct"].to_numpy(dtype=float)
        x = np.arange(1, len(c) + 1)
        ax.plot(x, np.where(c > 0, 1.02, -0.02), "|", color="0.5", ms=6,
                label="correct / wrong (per trial)")
        ax.plot(x, curves[0], color="C0", lw=2, label=f"moving average ({window} trials)")
        ax.set_title(f"Learning curve ({_run_label(runs[0])}, {len(c)} trials, "
                     f"accuracy {np.mean(c):.3f})")
    else:
        labels = [_run_label(r) for r in runs]
        if len(set(labels)) < len(labels):  # e.g. a sweep's grid points share seeds: file names
            labels = [os.path.splitext(os.path.basename(r.path))[0] for r in runs]
        for label, c in zip(labels, curves):
            ax.plot(np.arange(1, len(c) + 1), c, lw=0.8, alpha=0.6, label=label)
        mean, sem, _ = mean_sem(curves)
        x = np.arange(1, len(mean) + 1)
        ax.fill_between(x, mean - sem, mean + sem, color="k", alpha=0.2, lw=0,
                        label="mean ± s.e.m.")
        ax.plot(x, mean, color="k", lw=2.5, label=f"mean of {len(runs)} runs")
        ax.set_title(f"Learning curve: {len(runs)} runs, moving average over {window} trials")
    ax.axhline(_chance(runs[0]), color="r", ls="--", lw=1, label="chance")
    ax.set_xlabel("trial")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="lower right", fontsize=7, ncol=2 if len(runs) > 4 else 1)
    return ax


def raster(run, ax=None, t0=None, t1=None, max_spikes=200_000):
    """Spikes in [t0, t1) ms stacked by block: block b occupies rows offset_b .. offset_b + n_b,
    coloured per block and labelled on the y axis; trial starts are dotted lines."""
    ax = _new_ax(ax, (10, 5))
    sp = run.spikes
    t0 = 0.0 if t0 is None else t0
    t1 = run.duration if t1 is None else t1
    sel = sp[(sp["timestamps"] >= t0) & (sp["timestamps"] < t1)]
    thinned = len(sel) > max_spikes
    if thinned:  # keep the figure readable and the file small; said in the title
        sel = sel.sample(max_spikes, random_state=0)
    offset = 0
    ticks, labels = [], []
    for i, pop in enumerate(run.populations):
        n = run.node_counts.get(pop, 0)
        s = sel[sel["population"] == pop]
        ax.plot(s["timestamps"], s["node_ids"] + offset, "|" if len(sel) < 20000 else ",",
                color=BLOCK_COLOURS[i % len(BLOCK_COLOURS)], ms=3, rasterized=True)
        ticks.append(offset + n / 2.0)
        labels.append(f"{pop} ({n})")
        offset += n
        ax.axhline(offset - 0.5, color="0.85", lw=0.5)
    if run.has_trials:
        for ts in run.trials["start_time"]:
            if t0 <= ts < t1:
                ax.axvline(ts, color="k", ls=":", lw=0.8)
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax.set_xlim(t0, t1)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("block (units)")
    title = f"Spike raster {t0:.0f}-{t1:.0f} ms"
    if run.has_trials:
        title += " (dotted: trial starts)"
    if thinned:
        title += f" [random {max_spikes} of the spikes shown]"
    ax.set_title(title, fontsize=9)
    return ax


def dopamine_rpe(run, axes=None):
    """Dopamine and reward-prediction error per trial (two panels); rewarded trials marked."""
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True, constrained_layout=True)
    t = run.trials
    x = t["trial"].to_numpy() + 1
    rewarded = t["reward"].to_numpy() > 0
    axes[0].plot(x, t["dopamine"], color="C2", lw=1, marker=".", ms=3, label="dopamine")
    axes[0].plot(x[rewarded], t["dopamine"].to_numpy()[rewarded], "o", mfc="none", color="C1",
                 ms=4, label="rewarded trial")
    axes[0].set_ylabel("dopamine")
    axes[0].legend(fontsize=7, loc="upper right")
    axes[0].set_title("Dopamine and reward-prediction error per trial")
    axes[1].axhline(0.0, color="0.6", lw=0.8)
    axes[1].plot(x, t["rpe"], color="C3", lw=1, marker=".", ms=3)
    axes[1].set_ylabel("RPE")
    axes[1].set_xlabel("trial")
    return axes


def weight_matrix(run, axes=None):
    """Adjacency (row = source unit, column = target unit) before and after learning, and the
    change. Entries that are zero in both are left blank (no connection)."""
    adj = run.adjacency()
    if adj is None:
        return None
    before, after = adj
    order = sorted(range(len(before.index)), key=lambda i: _natural_key(before.index[i]))
    before, after = before.iloc[order, order], after.iloc[order, order]
    b, a = before.to_numpy(), after.to_numpy()
    finished = np.isfinite(a).any()
    none = (b == 0) & ((a == 0) | ~np.isfinite(a))
    if axes is None:
        ncol = 3 if finished else 1
        _, axes = plt.subplots(1, ncol, figsize=(5.5 * ncol, 5), constrained_layout=True,
                               squeeze=False)
        axes = axes[0]
    # Colour range up to the 98th percentile of |w|: one strong drive (e.g. a neural-mass input)
    # would otherwise flatten every plastic weight to one colour; the colour bar marks the cap.
    present = np.abs(np.concatenate([b[~none], a[~none & np.isfinite(a)]]))
    vmax = float(np.percentile(present, 98)) if present.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("white")
    names = list(before.index)
    panels = [("before learning", b)]
    if finished:
        panels.append(("after learning", a))
    for ax, (title, m) in zip(axes, panels):
        im = ax.imshow(np.ma.masked_where(none, m), cmap=cmap, vmin=min(0.0, np.nanmin(m)),
                       vmax=vmax, interpolation="nearest")
        ax.set_title(f"weights {title}", fontsize=9)
        plt.colorbar(im, ax=ax, shrink=0.8, extend="max" if np.nanmax(m) > vmax else "neither")
    if finished:
        d = np.ma.masked_where(none, a - b)
        lim = float(np.nanmax(np.abs(d))) if d.count() else 1.0
        lim = lim if lim > 0 else 1.0
        cm = plt.get_cmap("RdBu_r").copy()
        cm.set_bad("white")
        im = axes[2].imshow(d, cmap=cm, vmin=-lim, vmax=lim, interpolation="nearest")
        axes[2].set_title("change (after - before)", fontsize=9)
        plt.colorbar(im, ax=axes[2], shrink=0.8)
    step = max(1, len(names) // 40)
    for ax in axes:
        ax.set_xticks(range(0, len(names), step))
        ax.set_xticklabels(names[::step], rotation=90, fontsize=5)
        ax.set_yticks(range(0, len(names), step))
        ax.set_yticklabels(names[::step], fontsize=5)
        ax.set_xlabel("target")
        ax.set_ylabel("source")
    return axes


def weight_trajectories(run, axes=None, max_edges=40):
    """Weight of each plastic edge after every snapshot (x = trials completed, or simulated time
    for runs without trials), one panel per edge population; at most max_edges evenly chosen
    edges per panel."""
    edges = run.plastic_edges
    if not edges:
        return None
    if axes is None:
        ncol = min(3, len(edges))
        nrow = int(np.ceil(len(edges) / ncol))
        _, axes = plt.subplots(nrow, ncol, figsize=(4.5 * ncol, 3 * nrow), squeeze=False,
                               constrained_layout=True)
        axes = axes.ravel()
    for ax, edge in zip(axes, edges):
        after, values, src, tgt = run.weight_snapshots(edge)
        e = values.shape[1]
        pick = np.unique(np.linspace(0, e - 1, min(e, max_edges)).round().astype(int)) if e else []
        times = None if run.has_trials else run.snapshot_times(edge)
        if times is not None:  # `spikeblox run`: snapshots in simulated time
            x = np.asarray(times) / 1000.0
            ax.set_xlabel("time (s)")
        elif run.has_trials:
            x = after + 1  # trials completed
            ax.set_xlabel("trials completed")
        else:  # no trials and no snapshot times (distal_reward: initial and final weights)
            x = after + 1
            ax.set_xlabel("snapshot (0 = initial)")
            ax.set_xticks(x)
        for k in pick:
            ax.plot(x, values[:, k], lw=0.8)
        ax.set_title(f"{edge} ({len(pick)} of {e} edges)", fontsize=8)
        ax.set_ylabel("weight")
    for ax in list(axes)[len(edges):]:
        ax.set_visible(False)
    return axes


def rates(run, ax=None, bin_ms=None):
    """Firing rate per neuron of each block: per trial for trial-based runs, otherwise in time
    bins (bin_ms; default: duration / 200, at least 1 ms)."""
    ax = _new_ax(ax)
    if run.has_trials and len(run.trials):
        r = rates_per_trial(run)
        x = r.index.to_numpy() + 1
        ax.set_xlabel("trial")
        ax.set_title("Population rates per trial", fontsize=9)
    else:
        bin_ms = bin_ms or max(1.0, run.duration / 200.0)
        r = rates_binned(run, bin_ms)
        x = r.index.to_numpy() + bin_ms / 2
        ax.set_xlabel("time (ms)")
        ax.set_title(f"Population rates ({bin_ms:g} ms bins)", fontsize=9)
    for i, pop in enumerate(r.columns):
        ax.plot(x, r[pop], color=BLOCK_COLOURS[run.populations.index(pop) % len(BLOCK_COLOURS)],
                lw=1, label=pop)
    ax.set_ylabel("rate per neuron (Hz)")
    ax.legend(fontsize=7, loc="upper right")
    return ax


def traces(run, axes=None, max_nodes=5):
    """Sampled state variables: one panel per report, up to max_nodes nodes each."""
    names = run.reports
    if not names:
        return None
    if axes is None:
        _, axes = plt.subplots(len(names), 1, figsize=(9, 2.5 * len(names)), squeeze=False,
                               constrained_layout=True)
        axes = axes.ravel()
    for ax, name in zip(axes, names):
        df = run.trace(name)
        for col in list(df.columns)[:max_nodes]:
            ax.plot(df.index, df[col], lw=0.7, label=f"node {col}")
        ax.set_title(f"report/{name}", fontsize=9)
        units = df.attrs.get("units", "")
        ax.set_ylabel(df.attrs.get("variable", "") + (f" ({units})" if units else ""))
        ax.set_xlabel("time (ms)")
        ax.legend(fontsize=6, loc="upper right")
    return axes


def synapses(run, axes=None):
    """Each sampled synapse (/synapses/<name>): weight w, eligibility c and modulator d against
    simulated time, one column of three panels per synapse."""
    names = run.synapse_probes
    if not names:
        return None
    if axes is None:
        _, axes = plt.subplots(3, len(names), figsize=(9 * len(names), 6.5), sharex="col",
                               squeeze=False, constrained_layout=True)
    for j, name in enumerate(names):
        df = run.synapse(name)
        t = df["time"].to_numpy() / 1000.0
        a = df.attrs
        for i, (col, label, colour) in enumerate([("w", "weight w", "C0"),
                                                  ("c", "eligibility c", "C1"),
                                                  ("d", f"{a.get('modulator') or 'modulator'} d",
                                                   "C2")]):
            ax = axes[i][j]
            ax.plot(t, df[col], color=colour, lw=1)
            ax.set_ylabel(label)
        axes[0][j].set_title(f"synapses/{name}: {a.get('edge', '')} synapse {a.get('synapse', '')} "
                             f"({a.get('source_node_id', '')} -> {a.get('target_node_id', '')}, "
                             f"{a.get('learning_rule', '')})", fontsize=9)
        axes[2][j].set_xlabel("time (s)")
    return axes


STEP_MODULATORS = ("acetylcholine", "noradrenaline", "dopamine")


def step_panels(df):
    """The panels steps() draws for these /steps rows: reward always, best_arm and regret when
    the environment writes them (bandits), modulators when an edge publishes them."""
    panels = ["reward"]
    if "best_arm" in df:
        panels.append("best_arm")
    if "regret" in df:
        panels.append("regret")
    if any(m in df for m in STEP_MODULATORS):
        panels.append("modulators")
    if "value" in df and "td_error" in df:
        panels.append("critic")
    return panels


def steps(run, axes=None, window=50):
    """Per-step rows of an episodes run (/steps, experiment.record_steps): the reward (and the
    fraction of best-arm choices) as trailing moving averages over `window` steps, the cumulative
    regret, and the modulators, against the step count of the whole run (episode boundaries
    dotted when there are several)."""
    if not run.has_steps:
        return None
    df = run.steps
    if not len(df):
        return None
    panels = step_panels(df)
    if axes is None:
        _, axes = plt.subplots(len(panels), 1, figsize=(9, 2.2 * len(panels) + 0.6), sharex=True,
                               squeeze=False, constrained_layout=True)
        axes = axes[:, 0]
    x = np.arange(1, len(df) + 1)
    for ax, panel in zip(axes, panels):
        if panel == "reward":
            ax.plot(x, df["reward"], ".", ms=1.5, color="0.7", label="reward")
            ax.plot(x, moving_accuracy(df["reward"], window), color="C0", lw=1.5,
                    label=f"moving average ({window})")
            ax.set_ylabel("reward")
        elif panel == "best_arm":
            ax.plot(x, moving_accuracy(df["best_arm"], window), color="C1", lw=1.5)
            ax.set_ylim(-0.02, 1.02)
            ax.set_ylabel(f"best arm chosen\n(moving avg. {window})")
        elif panel == "regret":
            ax.plot(x, np.cumsum(df["regret"].to_numpy()), color="C3", lw=1.5)
            ax.set_ylabel("cumulative regret")
        elif panel == "critic":
            ax.plot(x, df["value"], lw=1, color="C8", label="V(s)")
            ax.plot(x, df["td_error"], lw=0.8, color="C9", label="TD error")
            ax.set_ylabel("critic")
        else:
            for k, m in enumerate(STEP_MODULATORS):
                if m in df:
                    ax.plot(x, df[m], lw=1, color=f"C{k + 4}", label=m)
            ax.set_ylabel("modulator")
        if panel in ("reward", "modulators", "critic"):
            ax.legend(fontsize=7, loc="upper right")
    starts = np.flatnonzero(np.diff(df["episode"].to_numpy()) != 0) + 1
    if 0 < len(starts) <= 50:
        for ax in axes:
            for s in starts:
                ax.axvline(s + 0.5, color="0.8", lw=0.6, ls=":")
    axes[-1].set_xlabel("step (whole run)")
    axes[0].set_title(f"{len(df)} steps of {df['episode'].nunique()} episode(s)", fontsize=9)
    return axes


def sweep(df, keys, metrics=("acc_1_20", "acc_100_400", "acc_total"), axes=None):
    """Accuracy vs each grid parameter: every (point, seed) as a dot, mean ± s.e.m. over the
    complete rows at each value (other grid keys pooled). One row of panels per metric that has
    data, one column per grid key."""
    metrics = [m for m in metrics
               if df.loc[df["status"] == "complete", m].notna().any()]
    if not metrics or not keys:
        return None
    if axes is None:
        _, axes = plt.subplots(len(metrics), len(keys), figsize=(4.5 * len(keys), 3.2 * len(metrics)),
                               squeeze=False, constrained_layout=True)
    ok = df[df["status"] == "complete"]
    n_failed = int((df["status"] != "complete").sum())
    for i, metric in enumerate(metrics):
        for j, key in enumerate(keys):
            ax = axes[i][j]
            s = sweep_summary(df, key, metric)
            numeric = pd.api.types.is_numeric_dtype(df[key])
            pos = {v: k for k, v in enumerate(s.index)}
            xs = s.index.to_numpy(dtype=float) if numeric else np.arange(len(s))
            px = ok[key].to_numpy(dtype=float) if numeric else ok[key].map(pos).to_numpy(dtype=float)
            # Spread the dots of one value a little sideways so seeds do not hide each other.
            u = np.random.default_rng(0).uniform(-0.08, 0.08, len(ok))
            log_x = numeric and len(xs) > 1 and xs.min() > 0 and xs.max() / xs.min() >= 20
            if log_x:  # e.g. a learning rate swept over decades
                ax.set_xscale("log")
                px = px * np.exp(u * np.log(xs.max() / xs.min()) / len(xs))
            elif numeric:
                px = px + u * (np.ptp(xs) / len(xs) if len(xs) > 1 else 1.0)
            else:
                px = px + u
            ax.plot(px, ok[metric], "o", color="C0", alpha=0.4, ms=4, label="runs")
            ax.errorbar(xs, s["mean"], yerr=s["sem"].fillna(0.0), color="k", marker="s", ms=5,
                        capsize=3, lw=1.5, label="mean ± s.e.m.")
            if not numeric:
                ax.set_xticks(xs)
                ax.set_xticklabels([str(v) for v in s.index], rotation=30, fontsize=7)
            ax.set_xlabel(key)
            ax.set_ylabel(metric)
            ax.set_ylim(-0.05, 1.05)
            ax.axhline(0.5, color="r", ls="--", lw=0.8)
            if i == 0 and j == 0:
                ax.legend(fontsize=7)
    title = f"Sweep: {len(ok)} complete runs"
    if n_failed:
        title += f", {n_failed} failed (left out)"
    axes[0][0].figure.suptitle(title, fontsize=10)
    return axes
