#!/usr/bin/python3
"""Bitwise comparison of two spikeblox run files.

Usage: h5compare.py A.h5 B.h5 [--only GROUP[,GROUP...]] [--ignore PATH[,PATH...]]

Compares every group, dataset (shape, dtype, raw bytes: NaN == NaN, -0.0 != 0.0) and attribute
of the two files. Timestamps are ignored by default: the attributes /meta@created and
/meta@wall_time_s. --only restricts the comparison to the given top-level groups/datasets (e.g.
trials,weights,spikes); --ignore adds object paths (an attribute is "PATH@NAME"). Files that were
killed (SWMR write mode never closed) are opened in SWMR read mode. Prints every difference and
exits 1 if there is one, 0 otherwise.
"""
import sys

import h5py
import numpy as np


def open_file(path):
    try:
        return h5py.File(path, "r")
    except OSError:
        return h5py.File(path, "r", libver="latest", swmr=True)


def as_bytes(x):
    a = np.asarray(x)
    if a.dtype.kind == "O":  # variable-length strings
        return repr([v.decode() if isinstance(v, bytes) else v for v in a.ravel()]).encode()
    return a.tobytes()


def main():
    args = sys.argv[1:]
    only, ignore = None, {"/meta@created", "/meta@wall_time_s"}
    files = []
    i = 0
    while i < len(args):
        if args[i] == "--only":
            only = set(args[i + 1].split(","))
            i += 2
        elif args[i] == "--ignore":
            ignore |= set(args[i + 1].split(","))
            i += 2
        else:
            files.append(args[i])
            i += 1
    if len(files) != 2:
        print(__doc__)
        return 2
    a, b = open_file(files[0]), open_file(files[1])
    diffs = []

    def objects(f):
        out = {"/": f}
        f.visititems(lambda name, obj: out.__setitem__("/" + name, obj))
        return out

    oa, ob = objects(a), objects(b)

    def selected(path):
        if path in ignore:
            return False
        if only is None or path == "/":
            return True
        return path.split("/")[1] in only

    for path in sorted(set(oa) | set(ob)):
        if not selected(path):
            continue
        if path not in oa or path not in ob:
            diffs.append(f"{path}: only in {'B' if path not in oa else 'A'}")
            continue
        x, y = oa[path], ob[path]
        if isinstance(x, h5py.Dataset) != isinstance(y, h5py.Dataset):
            diffs.append(f"{path}: group vs dataset")
            continue
        if isinstance(x, h5py.Dataset):
            if x.shape != y.shape or x.dtype != y.dtype:
                diffs.append(f"{path}: shape/dtype {x.shape} {x.dtype} vs {y.shape} {y.dtype}")
            elif as_bytes(x[()]) != as_bytes(y[()]):
                xv, yv = np.asarray(x[()]), np.asarray(y[()])
                where = ""
                try:
                    xb = np.ascontiguousarray(xv).reshape(-1).view(np.uint8).reshape(xv.size, -1)
                    yb = np.ascontiguousarray(yv).reshape(-1).view(np.uint8).reshape(yv.size, -1)
                    if xv.dtype.kind == "O" or xb.shape != yb.shape:
                        raise ValueError("not comparable element-wise")
                    idx = np.nonzero((xb != yb).any(axis=1))[0]
                    where = f" ({len(idx)} elements, first at flat index {idx[0]})"
                except (ValueError, TypeError, IndexError, AttributeError):
                    pass
                diffs.append(f"{path}: values differ{where}")
        for name in sorted(set(x.attrs) | set(y.attrs)):
            key = f"{path}@{name}" if path != "/" else f"/@{name}"
            if key in ignore or (path == "/meta" and f"/meta@{name}" in ignore):
                continue
            if (only is not None and path == "/"):
                continue
            if name not in x.attrs or name not in y.attrs:
                diffs.append(f"{key}: attribute only in one file")
            elif as_bytes(x.attrs[name]) != as_bytes(y.attrs[name]):
                diffs.append(f"{key}: {x.attrs[name]!r} vs {y.attrs[name]!r}")
    for d in diffs:
        print("DIFF", d)
    if not diffs:
        print(f"identical ({'all' if only is None else ','.join(sorted(only))}; "
              f"ignored {','.join(sorted(ignore))})")
    return 1 if diffs else 0


sys.exit(main())
