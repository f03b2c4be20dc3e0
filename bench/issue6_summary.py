#!/usr/bin/env python3
"""The issue-6 performance table, with verdicts, from the logs of bench/issue6_table.sh.

Usage:  /usr/bin/python3 bench/issue6_summary.py LOG_DIR

Reads LOG_DIR/<row>.log as written by bench/issue6_table.sh and prints one Markdown table:
each row's figures, its target and a verdict (✔ met, ✘ missed, "-" no target or row not run).
Rows whose log is missing (ROWS= ran a subset) or unreadable are listed as "not run". Exit
status 0 when the table could be made (whatever the verdicts), 2 when LOG_DIR has no logs.
"""
import glob
import json
import os
import re
import statistics
import sys


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def json_rows(text):
    """The JSON objects printed one per line by the bench/*_vs_*.py scripts."""
    rows = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def bench_row(text, name):
    for r in json_rows(text):
        if r.get("bench", name) == name:
            return r
    return None


def number(pattern, text, group=1):
    m = re.search(pattern, text or "")
    return float(m.group(group)) if m else None


def verdict(ok):
    return "-" if ok is None else ("✔" if ok else "✘")


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    d = sys.argv[1]
    if not glob.glob(os.path.join(d, "*.log")):
        print(f"issue6_summary: no *.log files in {d} (run bash bench/issue6_table.sh first)",
              file=sys.stderr)
        return 2
    log = lambda name: read(os.path.join(d, name + ".log"))  # noqa: E731
    rows = []  # (workload, ours, peer/target, verdict)

    norec = log("cobahh_cuba_norecord")
    rec = log("cobahh_record")
    cob, cuba = bench_row(norec, "cobahh"), bench_row(norec, "cuba")
    if cob:
        x = cob["loop_speedup"]
        rows.append(("COBAHH 4000 HH, 1 s, 1 thread",
                     f"loop {cob['ours_loop_s'] * 1e3:.1f} ms, {cob['ours_spikes']} spikes",
                     f"Brian2 {cob['brian2_loop_s'] * 1e3:.1f} ms, {cob['brian2_spikes']} spikes "
                     f"→ {x:.2f}× (≥ 7×, spikes ±10 %)",
                     verdict(x >= 7.0 and cob.get("spikes_agree_10pct", False))))
    else:
        rows.append(("COBAHH 4000 HH, 1 s, 1 thread", "not run", "≥ 7×", "-"))
    cobr = bench_row(rec, "cobahh")
    if cob and cobr:
        extra = cobr["ours_loop_s"] / cob["ours_loop_s"] - 1.0
        rows.append(("COBAHH, all spikes to HDF5", f"loop {cobr['ours_loop_s'] * 1e3:.1f} ms "
                     f"({extra * 100:+.1f} % vs not recording)", "≤ +10 %", verdict(extra <= 0.10)))
    else:
        rows.append(("COBAHH, all spikes to HDF5", "not run", "≤ +10 %", "-"))
    nrn = bench_row(log("cobahh_neuron"), "cobahh")
    if nrn and "neuron_loop_s" in nrn:
        rows.append(("COBAHH vs NEURON", f"loop {nrn['ours_loop_s'] * 1e3:.1f} ms",
                     f"NEURON {nrn['neuron_loop_s'] * 1e3:.0f} ms → {nrn['loop_speedup']:.1f}× (≥ 20×)",
                     verdict(nrn["loop_speedup"] >= 20.0)))
    else:
        rows.append(("COBAHH vs NEURON", "not run", "≥ 20×", "-"))
    if cuba:
        x = cuba["loop_speedup"]
        rows.append(("CUBA 4000 LIF, 1 s", f"loop {cuba['ours_loop_s'] * 1e3:.1f} ms, "
                     f"{cuba['ours_spikes']} spikes",
                     f"Brian2 {cuba['brian2_loop_s'] * 1e3:.1f} ms → {x:.2f}× (≥ 2.5×)",
                     verdict(x >= 2.5 and cuba.get("spikes_agree_10pct", False))))
    else:
        rows.append(("CUBA 4000 LIF, 1 s", "not run", "≥ 2.5×", "-"))

    st = log("static_delivery")
    ns = number(r"delivery: ([0-9.]+) ns/event", st)
    mev = number(r"= ([0-9.]+) M events/s \(empty", st)
    bps = number(r"memory: storage ([0-9.]+) bytes/synapse", st)
    if ns is not None and mev is not None:
        rows.append(("static delivery, 10⁸ synapses",
                     f"{ns:.2f} ns/event = {mev:.0f} M events/s"
                     + (f", {bps:.2f} B/synapse" if bps is not None else ""),
                     "≥ 300 M/s, ≤ 12 B/synapse",
                     verdict(mev >= 300 and (bps is None or bps <= 12))))
    else:
        rows.append(("static delivery, 10⁸ synapses", "not run", "≥ 300 M/s", "-"))

    br = log("brunel_stdp")
    ratio = number(r"ratio ([0-9.]+);", br)
    pb = number(r"memory, plastic E->E: ([0-9.]+) bytes/synapse", br)
    if ratio is not None:
        rows.append(("Brunel, 10⁷ synapses, STDP on E→E",
                     f"plastic/static per event {ratio:.2f}×"
                     + (f", {pb:.2f} B per plastic synapse" if pb is not None else ""),
                     "≤ 3×, ≤ 24 B", verdict(ratio <= 3.0 and (pb is None or pb <= 24))))
    else:
        rows.append(("Brunel, 10⁷ synapses, STDP on E→E", "not run", "≤ 3×", "-"))

    dr = log("distal_reward")
    full = number(r"loop wall ([0-9.]+) s", dr)
    dratio = number(r"plastic [0-9.]+ ns, ratio ([0-9.]+);", dr)
    db = number(r"plastic synapses: [0-9]+, ([0-9.]+) bytes each", dr)
    if full is not None and dratio is not None:
        rows.append(("distal reward (issue 4), 3600 s",
                     f"{full:.2f} s; plastic/static per event {dratio:.2f}×"
                     + (f"; {db:.2f} B per R-STDP synapse" if db is not None else ""),
                     "≤ 60 s, ≤ 3×, ≤ 24 B",
                     f"{verdict(full <= 60)} time, {verdict(dratio <= 3.0)} ratio"
                     + (f", {verdict(db <= 24)} memory" if db is not None else "")))
    else:
        rows.append(("distal reward (issue 4), 3600 s", "not run", "≤ 60 s, ≤ 3×", "-"))

    def walls(prefix):
        out = []
        for p in sorted(glob.glob(os.path.join(d, prefix + "_*.log"))):
            w = number(r"simulated [0-9.]+ ms in ([0-9.]+) s wall", read(p))
            if w is not None:
                out.append(w)
        return out

    dc = walls("distal_circuit")
    rows.append(("distal reward, ready circuit",
                 " / ".join(f"{w:.2f}" for w in dc) + " s wall" if dc else "not run",
                 "≤ 60 s", verdict(max(dc) <= 60) if dc else "-"))
    cat = walls("category")
    rows.append(("category learning, 400 trials",
                 (" / ".join(f"{w:.2f}" for w in cat) + f" s wall (median {statistics.median(cat):.2f})")
                 if cat else "not run",
                 "≤ 5 s", verdict(statistics.median(cat) <= 5.0) if cat else "-"))

    def threads_row(name):
        m = re.search(r"\| " + name + r" \|[^\n]*\| ([0-9.]+) ms \| ([0-9.]+) ms \| ([0-9.]+)x \| (\w+)",
                      log("threads_" + name) or "")
        return (float(m.group(1)), float(m.group(2)), float(m.group(3)), m.group(4)) if m else None

    tc, tu = threads_row("cobahh"), threads_row("cuba")
    if tc or tu:
        parts, ok = [], True
        if tc:
            parts.append(f"COBAHH {tc[0]:.1f} → {tc[1]:.1f} ms = {tc[2]:.2f}×")
            ok = ok and tc[2] >= 1.7 and tc[3] == "yes"
        if tu:
            parts.append(f"CUBA {tu[0]:.1f} vs {tu[1]:.1f} ms = {tu[2]:.2f}×")
            ok = ok and tu[2] >= 1.0 and tu[3] == "yes"
        rows.append(("two threads", "; ".join(parts), "COBAHH ≥ 1.7×, never slower", verdict(ok)))
    else:
        rows.append(("two threads", "not run", "COBAHH ≥ 1.7×", "-"))

    song = bench_row(log("song2000"), None) if log("song2000") else None
    if song and "loop_speedup" in song:
        rows.append(("Song 2000 STDP example, 100 s", f"loop {song['ours_loop_s']:.3f} s",
                     f"Brian2 {song['brian2_loop_s']:.2f} s → {song['loop_speedup']:.1f}×", "-"))

    sc = log("scaling")
    sd = number(r"\[double\] log-log slope, loop time vs N: ([0-9.]+)", sc)
    sf = number(r"\[float\] log-log slope, loop time vs N: ([0-9.]+)", sc)
    fd = number(r"\[floor double\] log-log slope, loop time vs N: ([0-9.]+)", sc)
    sm = number(r"-> ([0-9.]+) bytes per static synapse at the peak", sc)
    if sd is not None:
        rows.append(("scaling 10³–10⁶ neurons",
                     f"loop-time slope {sd:.3f} double"
                     + (f", {sf:.3f} float" if sf is not None else "")
                     + (f" (hand-fused floor {fd:.3f})" if fd is not None else "")
                     + (f"; {sm:.2f} B per static synapse" if sm is not None else ""),
                     "linear (slope ≈ 1), ≤ 12 B",
                     f"{verdict(sd <= 1.05)} time" + (f", {verdict(sm <= 12)} memory" if sm is not None else "")))
    else:
        rows.append(("scaling 10³–10⁶ neurons", "not run", "linear", "-"))

    machine = read(os.path.join(d, "machine.txt"))
    if machine:
        print("```\n" + machine.strip() + "\n```\n")
    print("| workload | ours | peer / target | verdict |")
    print("|---|---|---|---|")
    for w, o, t, v in rows:
        print(f"| {w} | {o} | {t} | {v} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
