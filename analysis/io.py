"""Reading spikeblox run files (layout: engine/io/run_file.hpp) into pandas.

    from analysis import load_run
    run = load_run("runs/category_learning_1.h5")
    run.trials      # one row per trial: trial, start_time, stop_time (ms), stimulus, category,
                    # action (-1 = none), correct, reward, dopamine, rpe, decision_time, ...
    run.spikes      # timestamps (ms), node_ids, population  (bmtk's column names)
    run.weights     # long format: edge, edge_index, source, target, after_trial, weight, time_ms
    run.episodes    # episode, return, length, terminated, truncated
    run.steps       # per-step rows if experiment.record_steps: episode, step, action, reward,
                    # then named values (acetylcholine, noradrenaline, dopamine, regret, best_arm)
    run.meta        # pandas Series: /meta attributes + circuit_toml, command_line, ...
    run.completed   # False for an interrupted / killed run; run.incomplete_note() says how far
    run.edges       # every edge population: edge, edge_index, source, target, syn_weight, delay
    run.trace(name) # a /report as a DataFrame: index time (ms), one column per node id
    run.modulators  # names of the logged neuromodulators (plain runs; /modulators/<name>)
    run.modulator(name, times=None)  # its change log (time, value), or its value at `times` (ms)
    run.synapse_probes  # names of the sampled synapses (/synapses/<name>; distal_reward: "chosen")
    run.synapse(name)   # its samples: time (ms), w, c, d; attrs edge, synapse, learning_rule, ...

Every table is read when first used and then cached, so a large run costs only what is asked for.
Files are opened in SWMR read mode first: a run that is still being written, or one killed
mid-run, loads without `h5clear -s` (everything up to its last per-trial flush).
Ids are int64 (uint64 ids mixed with Python ints turn into float64 in NumPy).
"""
import functools
import json
import os

import h5py
import numpy as np
import pandas as pd

RUN_FORMAT = "spikeblox-run/1"


class NotARunFile(Exception):
    """The path does not exist, is not HDF5, or is not a spikeblox run file."""


def _text(x):
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if isinstance(x, np.ndarray) and x.dtype.kind in "SO":
        return [_text(v) for v in x.tolist()]
    return x


def open_h5(path):
    """h5py.File of a run file, SWMR read mode when possible. Raises NotARunFile."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise NotARunFile(f"{path}: no such file")
    if os.path.isdir(path):
        raise NotARunFile(f"{path}: is a directory, not a run file")
    if not h5py.is_hdf5(path):
        raise NotARunFile(f"{path}: not an HDF5 file (expected a spikeblox run file written by "
                          f"`spikeblox run`)")
    try:
        return h5py.File(path, "r", libver="latest", swmr=True)
    except (OSError, ValueError):
        try:
            return h5py.File(path, "r")  # files written without SWMR (older file format)
        except OSError as e:
            raise NotARunFile(f"{path}: cannot open: {e}") from None


class Run:
    """Lazy, cached view of one run file. See the module docstring."""

    def __init__(self, path):
        self.path = os.fspath(path)
        with open_h5(self.path) as f:
            meta = f.get("meta")
            fmt = _text(meta.attrs.get("format")) if isinstance(meta, h5py.Group) else None
            if fmt != RUN_FORMAT:
                raise NotARunFile(
                    f"{self.path}: not a spikeblox run file (/meta@format is "
                    f"{fmt!r}, expected {RUN_FORMAT!r})")
            self._groups = {k: sorted(f[k].keys()) if isinstance(f[k], h5py.Group) else None
                            for k in f.keys()}
            self.populations = list(self._groups.get("spikes") or [])
            self.node_counts = {p: int(f[f"nodes/{p}/node_type_id"].shape[0])
                                for p in (self._groups.get("nodes") or [])
                                if f"nodes/{p}/node_type_id" in f}
            self.block_types = {p: _text(f[f"nodes/{p}"].attrs.get("block_type", ""))
                                for p in (self._groups.get("nodes") or [])}

    def __repr__(self):
        parts = [f"Run({self.path!r}"]
        if self.has_trials:
            parts.append(f"{len(self.trials)} trials")
        if not self.completed:
            parts.append("not completed")
        parts.append(f"populations={self.populations}")
        return ", ".join(parts) + ")"

    @property
    def completed(self):
        """True once the run finished (/meta@completed); False for a run that was interrupted,
        killed, stopped by an error, or is still being written."""
        return bool(int(self.meta.get("completed", 0)))

    def incomplete_note(self):
        """None for a completed run, otherwise one line saying how far the file goes against what
        the run was to do, e.g. 'not completed (interrupted, killed or still running): 144 of 400
        trials in the file'."""
        if self.completed:
            return None
        what = ""
        try:
            cfg = json.loads(self.meta.get("resolved_config_json") or "{}")
            x = cfg.get("experiment", {})
            if self.has_trials and "n_trials" in x:
                what = f"{len(self.trials)} of {int(x['n_trials'])} trials"
            elif self.has_episodes and "n_episodes" in x:
                n = int(x["n_episodes"]) + int(x.get("test_episodes", 0))
                what = f"{len(self.episodes)} of {n} episodes"
            elif "duration" in cfg.get("run", {}):
                t = self.duration
                for name in self.synapse_probes:
                    s = self.synapse(name)
                    if len(s):
                        t = max(t, float(s["time"].iloc[-1]))
                for edge in self.plastic_edges:
                    times = self.snapshot_times(edge)
                    if times is not None and len(times):
                        t = max(t, float(times[-1]))
                what = f"about {t:.0f} of {float(cfg['run']['duration']):.0f} ms"
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        return ("not completed (interrupted, killed, stopped by an error or still running)" +
                (f": {what} in the file" if what else ""))

    def _open(self):
        return open_h5(self.path)

    # ---- what the file holds --------------------------------------------------------------
    @property
    def has_trials(self):
        return "trials" in self._groups

    @property
    def has_episodes(self):
        return "episodes" in self._groups

    @property
    def has_steps(self):
        return "steps" in self._groups

    @property
    def plastic_edges(self):
        """Edge populations with weight snapshots (/weights/<edge>)."""
        return list(self._groups.get("weights") or [])

    @property
    def reports(self):
        """Names of the sampled traces (/report/<name>)."""
        return list(self._groups.get("report") or [])

    # ---- tables ---------------------------------------------------------------------------
    @functools.cached_property
    def meta(self):
        with self._open() as f:
            m = f["meta"]
            d = {k: _text(v) for k, v in m.attrs.items()}
            for k, ds in m.items():
                if isinstance(ds, h5py.Dataset) and ds.shape == ():
                    d[k] = _text(ds[()])
        d.setdefault("completed", 0)
        return pd.Series(d, dtype=object)

    @functools.cached_property
    def trials(self):
        if not self.has_trials:
            return pd.DataFrame()
        with self._open() as f:
            return pd.DataFrame(f["trials"][()])

    @functools.cached_property
    def episodes(self):
        if not self.has_episodes:
            return pd.DataFrame()
        with self._open() as f:
            return pd.DataFrame(f["episodes"][()])

    @functools.cached_property
    def steps(self):
        """/steps rows of episodes that have their /episodes row (the commit record: a file read
        live or after a crash may hold the steps of one more episode)."""
        if not self.has_steps:
            return pd.DataFrame()
        with self._open() as f:
            df = pd.DataFrame(f["steps"][()])
        if self.has_episodes:
            df = df[df["episode"].isin(self.episodes["episode"])].reset_index(drop=True)
        return df

    @functools.cached_property
    def spikes(self):
        frames = []
        with self._open() as f:
            for pop in self.populations:
                g = f[f"spikes/{pop}"]
                n = min(g["timestamps"].shape[0], g["node_ids"].shape[0])
                frames.append(pd.DataFrame({
                    "timestamps": g["timestamps"][:n],
                    "node_ids": g["node_ids"][:n].astype(np.int64),
                    "population": pop}))
        if not frames:
            return pd.DataFrame({"timestamps": pd.Series(dtype=float),
                                 "node_ids": pd.Series(dtype=np.int64),
                                 "population": pd.Series(dtype=object)})
        df = pd.concat(frames, ignore_index=True)
        df["population"] = pd.Categorical(df["population"], categories=self.populations)
        return df

    def weight_snapshots(self, edge):
        """(after_trial int[S], values float[S x E], source int64[E], target int64[E]) of one
        plastic edge population. Only complete snapshots: the writer appends values before
        after_trial, but HDF5 may write either extent to disk first, so a file read live or after
        a crash can hold one more row in either dataset (or a not-yet-written row of fill values).
        Keep the rows present in both, up to the first one whose after_trial does not increase."""
        if edge not in self.plastic_edges:
            raise KeyError(f"{self.path}: no weight snapshots of edge '{edge}' (plastic edges: "
                           f"{', '.join(self.plastic_edges) or 'none'})")
        with self._open() as f:
            g = f[f"weights/{edge}"]
            s = min(g["after_trial"].shape[0], g["values"].shape[0])
            after = g["after_trial"][:s].astype(np.int64)
            if s > 1:
                bad = np.flatnonzero(np.diff(after) <= 0)
                if bad.size:
                    s = int(bad[0]) + 1
                    after = after[:s]
            values = g["values"][:s]
            src = (g["source_ids"] if "source_ids" in g
                   else f[f"edges/{edge}/source_node_id"])[()].astype(np.int64)
            tgt = (g["target_ids"] if "target_ids" in g
                   else f[f"edges/{edge}/target_node_id"])[()].astype(np.int64)
        return after, values, src, tgt

    def snapshot_times(self, edge):
        """time_ms float[S] of an edge's weight snapshots (runs without trials, `spikeblox run`
        with output.weights), or None (trial runs: rows are indexed by after_trial)."""
        after, _, _, _ = self.weight_snapshots(edge)
        with self._open() as f:
            g = f[f"weights/{edge}"]
            if "time_ms" not in g or g["time_ms"].shape[0] < len(after):
                return None
            return g["time_ms"][:len(after)]

    @functools.cached_property
    def weights(self):
        """Long format: edge, edge_index, source, target, after_trial (in runs without trials:
        the snapshot index, -1 = initial), weight, and time_ms where the file has it (else NaN)."""
        frames = []
        for edge in self.plastic_edges:
            after, values, src, tgt = self.weight_snapshots(edge)
            s, e = values.shape
            times = self.snapshot_times(edge)
            frames.append(pd.DataFrame({
                "edge": edge,
                "edge_index": np.tile(np.arange(e, dtype=np.int64), s),
                "source": np.tile(src, s),
                "target": np.tile(tgt, s),
                "after_trial": np.repeat(after, e),
                "weight": values.reshape(-1),
                "time_ms": np.repeat(times, e) if times is not None else np.nan}))
        if not frames:
            return pd.DataFrame(columns=["edge", "edge_index", "source", "target", "after_trial",
                                         "weight", "time_ms"])
        return pd.concat(frames, ignore_index=True)

    @functools.cached_property
    def edges(self):
        frames = []
        with self._open() as f:
            for edge in self._groups.get("edges") or []:
                g = f[f"edges/{edge}"]
                src = g["source_node_id"][()].astype(np.int64)
                frames.append(pd.DataFrame({
                    "edge": edge,
                    "edge_index": np.arange(len(src), dtype=np.int64),
                    "source_population": _text(g["source_node_id"].attrs.get("node_population", "")),
                    "target_population": _text(g["target_node_id"].attrs.get("node_population", "")),
                    "source": src,
                    "target": g["target_node_id"][()].astype(np.int64),
                    "syn_weight": g["0/syn_weight"][()] if "0/syn_weight" in g else np.nan,
                    "delay": g["0/delay"][()] if "0/delay" in g else np.nan,
                    "learning_rule": _text(g.attrs.get("learning_rule", ""))}))
        if not frames:
            return pd.DataFrame(columns=["edge", "edge_index", "source_population",
                                         "target_population", "source", "target", "syn_weight",
                                         "delay", "learning_rule"])
        return pd.concat(frames, ignore_index=True)

    def adjacency(self):
        """(before, after) DataFrames of /adjacency (unit x unit weights, row = source), labelled
        with the unit names; after is all-NaN for an unfinished run. None if the file has none."""
        if "adjacency" not in self._groups:
            return None
        with self._open() as f:
            names = [str(n) for n in _text(f["adjacency/node_names"][()])]
            before = f["adjacency/before"][()]
            after = f["adjacency/after"][()] if "adjacency/after" in f else np.full_like(before, np.nan)
        return (pd.DataFrame(before, index=names, columns=names),
                pd.DataFrame(after, index=names, columns=names))

    def trace(self, name):
        """A /report/<name> as a DataFrame: index `time` (ms), one column per recorded node id."""
        if name not in self.reports:
            raise KeyError(f"{self.path}: no trace '{name}' (recorded: "
                           f"{', '.join(self.reports) or 'none; [output].traces lists them'})")
        with self._open() as f:
            g = f[f"report/{name}"]
            t0, _stop, step = g["mapping/time"][()]
            data = g["data"][()]
            ids = g["mapping/node_ids"][()].astype(np.int64)
            variable = _text(g["data"].attrs.get("variable", ""))
            units = _text(g["data"].attrs.get("units", ""))
        df = pd.DataFrame(data, columns=pd.Index(ids, name="node_id"))
        df.index = pd.Index(t0 + step * np.arange(len(df)), name="time")
        df.attrs["variable"] = variable
        df.attrs["units"] = units
        return df

    @property
    def modulators(self):
        """Names of the neuromodulators whose changes the run logged (/modulators/<name>)."""
        return list(self._groups.get("modulators") or [])

    def modulator(self, name, times=None):
        """The change log of a neuromodulator as a DataFrame (time in ms, value right after each
        pulse or set; attrs baseline and tau_ms), or, with `times` (ms, array-like), its value at
        those times: between changes m(t) = baseline + (value - baseline)·exp(-(t - time)/tau_ms),
        the engine's own formula (engine/modulator.hpp). Times before the first row give NaN."""
        rows, attrs = self._logged_rows(
            "modulators", name, "modulator", "logged",
            "none; plain runs log the modulators their rules read")
        baseline = float(attrs["baseline"])
        tau = float(attrs["tau_ms"])
        log = pd.DataFrame({"time": rows["time"], "value": rows["value"]})
        log.attrs["baseline"] = baseline
        log.attrs["tau_ms"] = tau
        if times is None:
            return log
        t = np.asarray(times, dtype=float)
        # The last change at or before each time (a change at t itself counts).
        k = np.searchsorted(log["time"].to_numpy(), t, side="right") - 1
        out = np.full(t.shape, np.nan)
        ok = k >= 0
        t0 = log["time"].to_numpy()[k[ok]]
        v0 = log["value"].to_numpy()[k[ok]]
        out[ok] = baseline + (v0 - baseline) * np.exp(-(t[ok] - t0) / tau)
        return out

    @property
    def synapse_probes(self):
        """Names of the sampled synapses (/synapses/<name>; the distal_reward experiment's
        "chosen" synapse)."""
        return list(self._groups.get("synapses") or [])

    def synapse(self, name):
        """One sampled synapse as a DataFrame: time (ms), w (weight), c (eligibility), d
        (modulator); attrs hold the dataset's attributes (edge, synapse, source_node_id,
        target_node_id, learning_rule, modulator)."""
        rows, attrs = self._logged_rows("synapses", name, "sampled synapse", "sampled", "none")
        df = pd.DataFrame({k: rows[k] for k in rows.dtype.names})
        df.attrs.update({k: _text(v) for k, v in attrs.items()})
        return df

    def _logged_rows(self, group, name, what, listed, none):
        """(rows, attrs) of the compound dataset /<group>/<name>; a KeyError naming the ones the
        file has when it is not there (`listed` says how they came to be, `none` if none did)."""
        names = list(self._groups.get(group) or [])
        if name not in names:
            raise KeyError(f"{self.path}: no {what} '{name}' ({listed}: "
                           f"{', '.join(names) or none})")
        with self._open() as f:
            ds = f[f"{group}/{name}"]
            return ds[()], dict(ds.attrs)

    @property
    def duration(self):
        """Simulated time in ms: [run].duration for a completed plain or distal-reward run (both
        run that long), otherwise the last time the file knows of (the end of the last trial,
        the last spike or the last synapse sample)."""
        if int(self.meta.get("completed", 0)) and self.meta.get("resolved_config_json"):
            try:
                cfg = json.loads(self.meta["resolved_config_json"])
                if cfg.get("experiment", {}).get("type", "run") in ("run", "distal_reward"):
                    return float(cfg["run"]["duration"])
            except (ValueError, KeyError, TypeError):
                pass
        t = 0.0
        if self.has_trials and len(self.trials):
            t = float(self.trials["stop_time"].max())
        if len(self.spikes):
            t = max(t, float(self.spikes["timestamps"].max()))
        for name in self.synapse_probes:
            s = self.synapse(name)
            if len(s):
                t = max(t, float(s["time"].max()))
        return t


def load_run(path):
    """Opens a run file; raises NotARunFile with the reason if it is not one."""
    return Run(path)


SWEEP_FIXED_COLUMNS = ["point", "seed", "file", "status", "acc_1_20", "acc_100_400", "acc_total"]


def load_sweep_index(path):
    """A sweep's index.csv as a DataFrame; returns (frame, grid_keys). The grid keys are the
    columns besides point, seed, file, status and the acc_* figures (named by dotted key)."""
    path = os.fspath(path)
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise NotARunFile(f"{path}: cannot read as a sweep index CSV: {e}") from None
    missing = [c for c in SWEEP_FIXED_COLUMNS if c not in df.columns]
    if missing:
        raise NotARunFile(f"{path}: not a sweep index (missing columns: {', '.join(missing)}; "
                          f"expected point,seed,<grid keys>,file,status,acc_1_20,acc_100_400,"
                          f"acc_total)")
    keys = [c for c in df.columns if c not in SWEEP_FIXED_COLUMNS]
    for c in ["acc_1_20", "acc_100_400", "acc_total"]:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df, keys
