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
A run that is still being written, or one killed mid-run, loads without `h5clear -s` (SWMR read
mode: everything up to its last per-trial flush). A damaged file (bad checksums, a corrupted
compressed chunk) or a table of the wrong shape raises NotARunFile naming the file and the
dataset, like any other file that is not a readable run file. HDF5 itself can crash (SIGSEGV,
SIGABRT) or loop forever on some damaged metadata, which no Python code can catch: load_run first
reads the file's metadata in a forked child process (probe_metadata), and a child that crashes or
does not finish within SPIKEBLOX_OPEN_TIMEOUT seconds (default 30) makes it raise NotARunFile.
Ids are int64 (uint64 ids mixed with Python ints turn into float64 in NumPy).
"""
import contextlib
import ctypes
import functools
import json
import os
import re
import select
import signal
import time

import h5py
import numpy as np
import pandas as pd

RUN_FORMAT = "spikeblox-run/1"
# The fields of the compound tables that the package reads (engine/io/run_file.hpp writes more).
TRIAL_FIELDS = ("trial", "start_time", "stop_time", "action", "correct", "reward", "dopamine",
                "rpe")
EPISODE_FIELDS = ("episode", "return")
STEP_FIELDS = ("episode", "step", "reward")


class NotARunFile(Exception):
    """The path does not exist, is not HDF5, or is not a spikeblox run file."""


def _text(x):
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if isinstance(x, np.ndarray) and x.dtype.kind in "SO":
        return [_text(v) for v in x.tolist()]
    return x


# HDF5 retries a metadata read whose checksum fails in SWMR read mode (the writer may be rewriting
# that piece of metadata: a torn read), sleeping 1, 2, 4, ... ns between attempts. The default of
# 100 attempts means about 2^100 ns on a damaged file: `plot` hung, deaf to Ctrl-C (nanosleep
# restarts). 28 attempts bound the wait to about 2^28 ns = 0.27 s per damaged object, still
# ample for a writer's metadata write to land (microseconds).
SWMR_READ_ATTEMPTS = 28


@functools.lru_cache(maxsize=None)
def _metadata_read_attempts_setter():
    """H5Pset_metadata_read_attempts(fapl_id, n) of the HDF5 library h5py uses, or None.
    h5py (3.7, Debian 12) does not wrap it, so it is called through ctypes, and it must be the
    very library h5py loaded (a property list id means nothing to another copy): the one libhdf5
    mapped into this process (Linux /proc/self/maps). None if that is not exactly one library."""
    if h5py.version.hdf5_version_tuple < (1, 10, 0):  # hid_t is int64_t from 1.10 (and SWMR)
        return None
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "libhdf5" in line}
    except OSError:
        return None
    # Debian's libhdf5_serial.so.103, a wheel's h5py.libs/libhdf5-<hash>.so.200; not the _hl one.
    libs = [p for p in libs if re.fullmatch(r"libhdf5(_serial|_openmpi|_mpich)?(-[0-9a-f]+)?\.so.*",
                                            os.path.basename(p))]
    if len(libs) != 1:
        return None
    try:
        fn = ctypes.CDLL(libs[0]).H5Pset_metadata_read_attempts
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _open_swmr(path):
    """h5py.File in SWMR read mode with at most SWMR_READ_ATTEMPTS metadata read attempts (h5py's
    own SWMR open where they cannot be set)."""
    set_attempts = _metadata_read_attempts_setter()
    if set_attempts is None:
        return h5py.File(path, "r", libver="latest", swmr=True)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)  # libver="latest"
    if set_attempts(fapl.id, SWMR_READ_ATTEMPTS) < 0:
        return h5py.File(path, "r", libver="latest", swmr=True)
    return h5py.File(h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY |
                                   h5py.h5f.ACC_SWMR_READ, fapl=fapl))


def open_h5(path, probe=False):
    """h5py.File of a run file: a plain read-only open, SWMR read mode for a file that a writer
    has open or a killed run left. With `probe`, its metadata is first read in a child process
    (probe_metadata). Raises NotARunFile."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise NotARunFile(f"{path}: no such file")
    if os.path.isdir(path):
        raise NotARunFile(f"{path}: is a directory, not a run file")
    if not h5py.is_hdf5(path):
        raise NotARunFile(f"{path}: not an HDF5 file (expected a spikeblox run file written by "
                          f"`spikeblox run`)")
    if probe:
        probe_metadata(path)
    # A plain open first: a finished run (the usual case) needs no SWMR, and without SWMR HDF5
    # reads metadata once, so a damaged file fails at once even where the SWMR retries cannot be
    # bounded. A plain open refuses a file whose superblock says a writer has it open (a live or
    # a killed SWMR run: "file is already open for write"); those are read in SWMR read mode,
    # with the retries bounded (SWMR_READ_ATTEMPTS).
    try:
        return h5py.File(path, "r")
    except OSError:
        try:
            return _open_swmr(path)
        except (OSError, ValueError) as e:
            raise NotARunFile(f"{path}: cannot open: {e}") from None


# ---- reading the metadata in a child process first -------------------------------------------
# HDF5 1.10 trusts the metadata it reads: on some damaged files (a corrupted global heap, which
# holds the variable-length strings of /meta's attributes and of /adjacency/node_names) it
# segfaults, aborts in free() or loops forever, where Python can neither catch nor interrupt it
# (Ctrl-C included). So before a run file is read, a forked child reads all of its metadata; the
# parent only goes on if the child finished. Raw numbers are not read there (damage to them is
# wrong numbers or an inflate() error, both harmless), so the probe costs a fork and 15-35 ms.
PROBE_TIMEOUT_S = 30.0  # SPIKEBLOX_OPEN_TIMEOUT (seconds) overrides it; 0 turns the probe off
PROBE_VLEN_MAX = 1 << 20  # variable-length datasets of up to this many elements are read


def probe_timeout():
    """The probe's time limit in seconds: $SPIKEBLOX_OPEN_TIMEOUT, else PROBE_TIMEOUT_S."""
    try:
        return float(os.environ.get("SPIKEBLOX_OPEN_TIMEOUT", PROBE_TIMEOUT_S))
    except ValueError:
        return PROBE_TIMEOUT_S


def _has_vlen(dt):
    """The dtype holds variable-length data (strings, sequences: object fields in h5py), which
    HDF5 keeps in the file's global heap."""
    if dt.names:
        return any(_has_vlen(dt.fields[n][0]) for n in dt.names)
    if dt.subdtype is not None:
        return _has_vlen(dt.subdtype[0])
    return dt.kind == "O"


def _read_attribute(a):
    """Reads the h5py.h5a.AttrID `a` as h5py's AttributeManager does (without its conversion of
    the result)."""
    if a.shape is None:  # an empty (null dataspace) attribute
        return
    dtype, shape = a.dtype, a.shape
    mtype = h5py.h5t.py_create(dtype)
    if dtype.subdtype is not None:  # NumPy has no top-level array types
        dtype, sub = dtype.subdtype
        shape = shape + sub
    a.read(np.zeros(shape, dtype=dtype), mtype=mtype)


def _read_all_metadata(path):
    """What the probe child reads: /meta@format, then, in a run file, every link, object header
    and attribute, every chunk index and every variable-length dataset of the file (h5py's
    low-level API: three times faster than its File objects). Exceptions are ignored: the
    parent, reading for itself, reports them where they matter; only a crash or a hang is the
    probe's business."""
    with open_h5(path) as f:
        try:
            if _text(f["meta"].attrs["format"]) != RUN_FORMAT:
                return  # not a run file: the parent says so, without reading more
        except Exception:
            return

        def visit(name, *_):
            try:
                obj = h5py.h5o.open(f.id, name)
                for i in range(h5py.h5a.get_num_attrs(obj)):
                    with contextlib.suppress(Exception):
                        _read_attribute(h5py.h5a.open(obj, index=i))
                if isinstance(obj, h5py.h5d.DatasetID):
                    if obj.get_create_plist().get_layout() == h5py.h5d.CHUNKED:
                        obj.get_num_chunks()
                    if _has_vlen(obj.dtype) and obj.get_space().get_simple_extent_npoints() <= \
                            PROBE_VLEN_MAX:
                        f[name][()]
            except Exception:
                pass

        visit(b".")
        with contextlib.suppress(Exception):
            h5py.h5o.visit(f.id, visit)


def _die_with_parent(parent):
    """In the probe child: SIGKILL when the parent dies (Linux prctl PR_SET_PDEATHSIG), so a
    child stuck in HDF5 does not outlive a parent killed while it waits."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)


def probe_metadata(path, timeout=None):
    """Reads the metadata of the HDF5 file `path` in a forked child process (_read_all_metadata)
    and raises NotARunFile if that child is killed by a signal (HDF5 crashed) or is still running
    after `timeout` seconds (default probe_timeout(); then it is killed). A no-op where fork() is
    not available or with a timeout <= 0."""
    path = os.fspath(path)
    timeout = probe_timeout() if timeout is None else timeout
    if timeout <= 0 or not hasattr(os, "fork"):
        return
    parent = os.getpid()
    r, w = os.pipe()
    # No other thread may be inside HDF5 (holding h5py's lock) when the child is made: the child
    # would wait for it forever.
    with h5py._objects.phil:
        pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's exit handlers
        try:
            _die_with_parent(parent)
            os.close(r)
            os.dup2(w, 2)  # what HDF5 or the C library says as it dies goes to the parent
            _read_all_metadata(path)
        finally:
            os._exit(0)
    os.close(w)
    said = b""
    ended = False
    try:
        deadline = time.monotonic() + timeout
        while not ended:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if select.select([r], [], [], left)[0]:
                chunk = os.read(r, 4096)
                ended = not chunk  # end of file: the child has exited
                said = (said + chunk)[-4096:]
    finally:  # also on KeyboardInterrupt: no child is left behind
        os.close(r)
        try:
            if not ended:
                os.kill(pid, signal.SIGKILL)
        finally:
            _, status = os.waitpid(pid, 0)
    if not ended:
        raise NotARunFile(f"{path}: the HDF5 library hung reading the file's metadata (no end "
                          f"after {timeout:g} s; SPIKEBLOX_OPEN_TIMEOUT sets the limit): the file "
                          f"is damaged")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        last = [ln.strip() for ln in said.decode("utf-8", "replace").splitlines() if ln.strip()]
        note = f": {last[-1][:120]}" if last else ""
        raise NotARunFile(f"{path}: the HDF5 library crashed (signal {name}{note}) reading the "
                          f"file's metadata: the file is damaged")


# What h5py raises when HDF5 cannot read something in an open file: OSError for data it cannot
# read or decode ("Can't read data (inflate() failed)" from a damaged compressed chunk),
# RuntimeError for damaged metadata ("incorrect metadata checksum"), KeyError when a damaged group
# cannot resolve a link ("Unable to open object").
H5_READ_ERRORS = (OSError, RuntimeError, KeyError)


def _reason(e):
    return e.args[0] if isinstance(e, KeyError) and e.args else str(e)  # KeyError str() quotes


@contextlib.contextmanager
def _reading(path, what):
    """Turns an h5py read error in the block into NotARunFile naming the file and `what`."""
    try:
        yield
    except H5_READ_ERRORS as e:
        raise NotARunFile(f"{path}: cannot read {what}: {_reason(e)} (a damaged file?)") from None


def _read(path, group, name, sel=()):
    """group[name][sel] (a NumPy array); NotARunFile naming the file and the dataset if it is not
    there, is not a dataset or cannot be read (a damaged file)."""
    where = f"{group.name.rstrip('/')}/{name}"
    with _reading(path, where):
        ds = group[name]
        if not isinstance(ds, h5py.Dataset):
            raise NotARunFile(f"{path}: {where} is a group, expected a dataset")
        return ds[sel]


def _table(path, f, name, fields):
    """The compound dataset /name (one row per trial, episode, ...) as a NumPy record array;
    NotARunFile naming the file, the dataset and the missing fields if it is not a 1-D table with
    (at least) `fields`, which the package reads without checking."""
    rows = _read(path, f, name)
    if rows.dtype.names is None or rows.ndim != 1:
        kind = "compound" if rows.dtype.names else str(rows.dtype)
        raise NotARunFile(f"{path}: /{name} is not a table but a {rows.shape} array of {kind}; "
                          f"expected one row per element with the fields {', '.join(fields)}")
    missing = [c for c in fields if c not in rows.dtype.names]
    if missing:
        raise NotARunFile(f"{path}: /{name} has no field {', '.join(missing)} (its fields: "
                          f"{', '.join(rows.dtype.names)})")
    return rows


class Run:
    """Lazy, cached view of one run file. See the module docstring."""

    def __init__(self, path, probe=True):
        """Reads the file's layout; with `probe` (the default), its metadata is first read in a
        child process that HDF5 may crash or hang on a damaged file (probe_metadata)."""
        self.path = os.fspath(path)
        with open_h5(self.path, probe=probe) as f:
            # Reading the layout reads most of the file's metadata: damage there is named here.
            # (No .get(): h5py's get() returns None for an object it cannot read.)
            with _reading(self.path, "/meta@format"):
                meta = f["meta"] if "meta" in f else None
                fmt = (_text(meta.attrs["format"]) if isinstance(meta, h5py.Group) and
                       "format" in meta.attrs else None)
            if fmt != RUN_FORMAT:
                raise NotARunFile(
                    f"{self.path}: not a spikeblox run file (/meta@format is "
                    f"{fmt!r}, expected {RUN_FORMAT!r})")
            with _reading(self.path, "the list of top-level groups"):
                names = list(f.keys())
            self._groups = {}
            for k in names:
                with _reading(self.path, f"/{k}"):
                    self._groups[k] = sorted(f[k].keys()) if isinstance(f[k], h5py.Group) else None
            self.populations = list(self._groups.get("spikes") or [])
            self.node_counts = {}
            self.block_types = {}
            for p in self._groups.get("nodes") or []:
                with _reading(self.path, f"/nodes/{p}"):
                    g = f[f"nodes/{p}"]
                    if "node_type_id" in g:
                        self.node_counts[p] = int(g["node_type_id"].shape[0])
                    self.block_types[p] = _text(g.attrs.get("block_type", ""))

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
        with self._open() as f, _reading(self.path, "/meta"):
            m = f["meta"]
            d = {k: _text(v) for k, v in m.attrs.items()}
            for k, ds in m.items():
                if isinstance(ds, h5py.Dataset) and ds.shape == ():
                    d[k] = _text(_read(self.path, m, k))
        d.setdefault("completed", 0)
        return pd.Series(d, dtype=object)

    @functools.cached_property
    def trials(self):
        if not self.has_trials:
            return pd.DataFrame()
        with self._open() as f:
            return pd.DataFrame(_table(self.path, f, "trials", TRIAL_FIELDS))

    @functools.cached_property
    def episodes(self):
        if not self.has_episodes:
            return pd.DataFrame()
        with self._open() as f:
            return pd.DataFrame(_table(self.path, f, "episodes", EPISODE_FIELDS))

    @functools.cached_property
    def steps(self):
        """/steps rows of episodes that have their /episodes row (the commit record: a file read
        live or after a crash may hold the steps of one more episode)."""
        if not self.has_steps:
            return pd.DataFrame()
        with self._open() as f:
            df = pd.DataFrame(_table(self.path, f, "steps", STEP_FIELDS))
        if self.has_episodes:
            df = df[df["episode"].isin(self.episodes["episode"])].reset_index(drop=True)
        return df

    @functools.cached_property
    def spikes(self):
        frames = []
        with self._open() as f:
            for pop in self.populations:
                with _reading(self.path, f"/spikes/{pop}"):
                    g = f[f"spikes/{pop}"]
                    n = min(g["timestamps"].shape[0], g["node_ids"].shape[0])
                frames.append(pd.DataFrame({
                    "timestamps": _read(self.path, g, "timestamps", slice(n)),
                    "node_ids": _read(self.path, g, "node_ids", slice(n)).astype(np.int64),
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
        with self._open() as f, _reading(self.path, f"/weights/{edge}"):
            g = f[f"weights/{edge}"]
            s = min(g["after_trial"].shape[0], g["values"].shape[0])
            after = _read(self.path, g, "after_trial", slice(s)).astype(np.int64)
            if s > 1:
                bad = np.flatnonzero(np.diff(after) <= 0)
                if bad.size:
                    s = int(bad[0]) + 1
                    after = after[:s]
            values = _read(self.path, g, "values", slice(s))
            src = (_read(self.path, g, "source_ids") if "source_ids" in g else
                   _read(self.path, f, f"edges/{edge}/source_node_id")).astype(np.int64)
            tgt = (_read(self.path, g, "target_ids") if "target_ids" in g else
                   _read(self.path, f, f"edges/{edge}/target_node_id")).astype(np.int64)
        return after, values, src, tgt

    def snapshot_times(self, edge):
        """time_ms float[S] of an edge's weight snapshots (runs without trials, `spikeblox run`
        with output.weights), or None (trial runs: rows are indexed by after_trial)."""
        after, _, _, _ = self.weight_snapshots(edge)
        with self._open() as f, _reading(self.path, f"/weights/{edge}"):
            g = f[f"weights/{edge}"]
            if "time_ms" not in g or g["time_ms"].shape[0] < len(after):
                return None
            return _read(self.path, g, "time_ms", slice(len(after)))

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
                with _reading(self.path, f"/edges/{edge}"):
                    g = f[f"edges/{edge}"]
                    src = _read(self.path, g, "source_node_id").astype(np.int64)
                    frames.append(pd.DataFrame({
                        "edge": edge,
                        "edge_index": np.arange(len(src), dtype=np.int64),
                        "source_population": _text(g["source_node_id"].attrs.get(
                            "node_population", "")),
                        "target_population": _text(g["target_node_id"].attrs.get(
                            "node_population", "")),
                        "source": src,
                        "target": _read(self.path, g, "target_node_id").astype(np.int64),
                        "syn_weight": (_read(self.path, g, "0/syn_weight") if "0/syn_weight" in g
                                       else np.nan),
                        "delay": _read(self.path, g, "0/delay") if "0/delay" in g else np.nan,
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
        with self._open() as f, _reading(self.path, "/adjacency"):
            names = [str(n) for n in _text(_read(self.path, f, "adjacency/node_names"))]
            before = _read(self.path, f, "adjacency/before")
            after = (_read(self.path, f, "adjacency/after") if "adjacency/after" in f
                     else np.full_like(before, np.nan))
        return (pd.DataFrame(before, index=names, columns=names),
                pd.DataFrame(after, index=names, columns=names))

    def trace(self, name):
        """A /report/<name> as a DataFrame: index `time` (ms), one column per recorded node id."""
        if name not in self.reports:
            raise KeyError(f"{self.path}: no trace '{name}' (recorded: "
                           f"{', '.join(self.reports) or 'none; [output].traces lists them'})")
        with self._open() as f, _reading(self.path, f"/report/{name}"):
            g = f[f"report/{name}"]
            t0, _stop, step = _read(self.path, g, "mapping/time")
            data = _read(self.path, g, "data")
            ids = _read(self.path, g, "mapping/node_ids").astype(np.int64)
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
            "modulators", name, ("time", "value"), "modulator", "logged",
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
        rows, attrs = self._logged_rows("synapses", name, ("time",), "sampled synapse",
                                        "sampled", "none")
        df = pd.DataFrame({k: rows[k] for k in rows.dtype.names})
        df.attrs.update({k: _text(v) for k, v in attrs.items()})
        return df

    def _logged_rows(self, group, name, fields, what, listed, none):
        """(rows, attrs) of the compound dataset /<group>/<name> with (at least) `fields`; a
        KeyError naming the ones the file has when it is not there (`listed` says how they came
        to be, `none` if none did)."""
        names = list(self._groups.get(group) or [])
        if name not in names:
            raise KeyError(f"{self.path}: no {what} '{name}' ({listed}: "
                           f"{', '.join(names) or none})")
        with self._open() as f, _reading(self.path, f"/{group}/{name}"):
            return _table(self.path, f, f"{group}/{name}", fields), dict(f[group][name].attrs)

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
    """Opens a run file; raises NotARunFile with the reason if it is not one (or if HDF5 crashes
    or hangs reading its metadata: probe_metadata)."""
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
