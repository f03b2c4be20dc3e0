#!/usr/bin/env python3
"""Check and summarise a spikeblox run file (engine/io/run_file.hpp).

    scripts/check_runfile.py runs/run.h5 [--quiet]

Opens the file as analysis.io does: plainly, and in SWMR read mode when a plain open is refused
(a crashed or still running run: "file is already open for write"), so such files open without
`h5clear -s`. Checks the SONATA parts that other tools depend on and prints a summary, saying when
the run did not complete (interrupted or killed: the file holds what was flushed). Exit status 0
if the file passes, 1 if it has problems, 2 if it is missing or not an HDF5 run file.
"""
import argparse
import os
import sys

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from analysis.io import NotARunFile, open_h5  # noqa: E402  (after the path)


def open_run(path):
    """Returns (h5py.File, opened_with_swmr). Raises NotARunFile with the reason."""
    # The analysis package's checks (missing, a folder, not HDF5, unreadable; metadata on which
    # HDF5 crashes or hangs, read in a child process first).
    f = open_h5(path, probe=True)
    meta = f.get("meta")
    if not isinstance(meta, h5py.Group) or "format" not in meta.attrs:
        f.close()
        raise NotARunFile(f"{path}: not a spikeblox run file (no /meta@format)")
    return f, bool(f.swmr_mode)


def check(f):
    problems = []

    def need(cond, msg):
        if not cond:
            problems.append(msg)

    need(int(f.attrs.get("magic", 0)) == 0x0A7A, "root @magic != 0x0A7A")
    need(list(f.attrs.get("version", [])) == [0, 1], "root @version != [0, 1]")
    meta = f.get("meta")
    need(meta is not None and meta.attrs.get("format") == "spikeblox-run/1",
         "/meta@format != spikeblox-run/1")
    for pop, g in f.get("spikes", {}).items():
        ts, ids = g["timestamps"], g["node_ids"]
        need(ts.dtype == np.float64 and ids.dtype == np.uint64, f"spikes/{pop}: wrong dtypes")
        need(ts.attrs.get("units") == "ms", f"spikes/{pop}/timestamps@units != ms")
        n = min(ts.shape[0], ids.shape[0])
        sorting = g.attrs.get("sorting")
        enum = h5py.check_enum_dtype(g.attrs.get_id("sorting").dtype) if "sorting" in g.attrs else None
        need(enum == {"none": 0, "by_id": 1, "by_time": 2}, f"spikes/{pop}@sorting is not the SONATA enum")
        if sorting == 2:
            need(bool(np.all(np.diff(ts[:n]) >= 0)), f"spikes/{pop}: @sorting=by_time but unsorted")
    for name, g in f.get("report", {}).items():
        m = g["mapping"]
        k = m["node_ids"].shape[0]
        need(m["index_pointers"].shape[0] == k + 1, f"report/{name}: index_pointers != K+1")
        need("index_pointer" in m, f"report/{name}: no index_pointer link (bmtk)")
        need(g["data"].shape[1] == k, f"report/{name}: data width != K")
        need("units" in g["data"].attrs and "units" in m["time"].attrs, f"report/{name}: units")
    return problems


def summary(f, swmr):
    meta = f["meta"]
    print(f"opened {'in SWMR read mode' if swmr else 'normally'}; "
          f"completed={int(meta.attrs.get('completed', 0))} seed={meta.attrs.get('seed')} "
          f"created={meta.attrs.get('created')} simulator_version={meta.attrs.get('simulator_version')}")
    if not int(meta.attrs.get("completed", 0)):
        print("  not completed: the run was interrupted, killed or is still running; the file "
              "holds what was flushed (the rows below)")
    for pop, g in f.get("spikes", {}).items():
        print(f"  spikes/{pop}: {g['timestamps'].shape[0]} spikes")
    for name, g in f.get("report", {}).items():
        t = g["mapping/time"][()]
        print(f"  report/{name}: {g['data'].shape} {g['data'].attrs.get('variable')} "
              f"[{t[0]}, {t[1]}) step {t[2]} ms")
    for name, g in f.get("weights", {}).items():
        print(f"  weights/{name}: {g['values'].shape} snapshots x edges")
    if "trials" in f:
        df = pd.DataFrame(f["trials"][:])
        acc = df["correct"].mean() if len(df) else float("nan")
        print(f"  trials: {len(df)} rows, accuracy {acc:.3f}")
    if "episodes" in f:
        print(f"  episodes: {f['episodes'].shape[0]} rows")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    try:
        f, swmr = open_run(args.path)
    except NotARunFile as e:
        print(f"check_runfile.py: error: {e}", file=sys.stderr)
        return 2
    with f:
        problems = check(f)
        if not args.quiet:
            summary(f, swmr)
    for p in problems:
        print("problem:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
