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


def opt(fmt, value):
    """fmt with value, or "" when the figure was not found."""
    return fmt.format(value) if value is not None else ""


# One function per row: (ours, peer / target, verdict) from the logs, or None if not run.
def row_cobahh(log):
    cob = bench_row(log("cobahh_cuba_norecord"), "cobahh")
    if not cob:
        return None
    x = cob["loop_speedup"]
    return (f"loop {cob['ours_loop_s'] * 1e3:.1f} ms, {cob['ours_spikes']} spikes",
            f"Brian2 {cob['brian2_loop_s'] * 1e3:.1f} ms, {cob['brian2_spikes']} spikes "
            f"→ {x:.2f}× (≥ 7×, spikes ±10 %)",
            verdict(x >= 7.0 and cob.get("spikes_agree_10pct", False)))


def row_recording(log):
    cob = bench_row(log("cobahh_cuba_norecord"), "cobahh")
    rec = bench_row(log("cobahh_record"), "cobahh")
    if not (cob and rec):
        return None
    extra = rec["ours_loop_s"] / cob["ours_loop_s"] - 1.0
    return (f"loop {rec['ours_loop_s'] * 1e3:.1f} ms ({extra * 100:+.1f} % vs not recording)",
            "≤ +10 %", verdict(extra <= 0.10))


def row_neuron(log):
    nrn = bench_row(log("cobahh_neuron"), "cobahh")
    if not (nrn and "neuron_loop_s" in nrn):
        return None
    return (f"loop {nrn['ours_loop_s'] * 1e3:.1f} ms",
            f"NEURON {nrn['neuron_loop_s'] * 1e3:.0f} ms → {nrn['loop_speedup']:.1f}× (≥ 20×)",
            verdict(nrn["loop_speedup"] >= 20.0))


def row_cuba(log):
    cuba = bench_row(log("cobahh_cuba_norecord"), "cuba")
    if not cuba:
        return None
    x = cuba["loop_speedup"]
    return (f"loop {cuba['ours_loop_s'] * 1e3:.1f} ms, {cuba['ours_spikes']} spikes",
            f"Brian2 {cuba['brian2_loop_s'] * 1e3:.1f} ms → {x:.2f}× (≥ 2.5×)",
            verdict(x >= 2.5 and cuba.get("spikes_agree_10pct", False)))


def row_static(log):
    st = log("static_delivery")
    ns = number(r"delivery: ([0-9.]+) ns/event", st)
    mev = number(r"= ([0-9.]+) M events/s \(empty", st)
    bps = number(r"memory: storage ([0-9.]+) bytes/synapse", st)
    if ns is None or mev is None:
        return None
    return (f"{ns:.2f} ns/event = {mev:.0f} M events/s" + opt(", {:.2f} B/synapse", bps),
            "≥ 300 M/s, ≤ 12 B/synapse", verdict(mev >= 300 and (bps is None or bps <= 12)))


def row_brunel(log):
    br = log("brunel_stdp")
    ratio = number(r"ratio ([0-9.]+);", br)
    pb = number(r"memory, plastic E->E: ([0-9.]+) bytes/synapse", br)
    if ratio is None:
        return None
    return (f"plastic/static per event {ratio:.2f}×" + opt(", {:.2f} B per plastic synapse", pb),
            "≤ 3×, ≤ 24 B", verdict(ratio <= 3.0 and (pb is None or pb <= 24)))


def row_distal(log):
    dr = log("distal_reward")
    full = number(r"loop wall ([0-9.]+) s", dr)
    ratio = number(r"plastic [0-9.]+ ns, ratio ([0-9.]+);", dr)
    b = number(r"plastic synapses: [0-9]+, ([0-9.]+) bytes each", dr)
    if full is None or ratio is None:
        return None
    return (f"{full:.2f} s; plastic/static per event {ratio:.2f}×"
            + opt("; {:.2f} B per R-STDP synapse", b),
            "≤ 60 s, ≤ 3×, ≤ 24 B",
            f"{verdict(full <= 60)} time, {verdict(ratio <= 3.0)} ratio"
            + (f", {verdict(b <= 24)} memory" if b is not None else ""))


def walls(d, prefix):
    out = []
    for p in sorted(glob.glob(os.path.join(d, prefix + "_*.log"))):
        w = number(r"simulated [0-9.]+ ms in ([0-9.]+) s wall", read(p))
        if w is not None:
            out.append(w)
    return out


def row_distal_circuit(log, d):
    dc = walls(d, "distal_circuit")
    return (" / ".join(f"{w:.2f}" for w in dc) + " s wall", "≤ 60 s",
            verdict(max(dc) <= 60)) if dc else None


def row_category(log, d):
    cat = walls(d, "category")
    if not cat:
        return None
    med = statistics.median(cat)
    return (" / ".join(f"{w:.2f}" for w in cat) + f" s wall (median {med:.2f})", "≤ 5 s",
            verdict(med <= 5.0))


def row_threads(log):
    def parse(name):
        m = re.search(r"\| " + name + r" \|[^\n]*\| ([0-9.]+) ms \| ([0-9.]+) ms \| ([0-9.]+)x \| (\w+)",
                      log("threads_" + name) or "")
        return (float(m.group(1)), float(m.group(2)), float(m.group(3)), m.group(4)) if m else None

    tc, tu = parse("cobahh"), parse("cuba")
    if not (tc or tu):
        return None
    parts, ok = [], True
    if tc:
        parts.append(f"COBAHH {tc[0]:.1f} → {tc[1]:.1f} ms = {tc[2]:.2f}×")
        ok = ok and tc[2] >= 1.7 and tc[3] == "yes"
    if tu:
        parts.append(f"CUBA {tu[0]:.1f} vs {tu[1]:.1f} ms = {tu[2]:.2f}×")
        ok = ok and tu[2] >= 1.0 and tu[3] == "yes"
    return "; ".join(parts), "COBAHH ≥ 1.7×, never slower", verdict(ok)


def row_song(log):
    song = bench_row(log("song2000"), None) if log("song2000") else None
    if not (song and "loop_speedup" in song):
        return None
    return (f"loop {song['ours_loop_s']:.3f} s",
            f"Brian2 {song['brian2_loop_s']:.2f} s → {song['loop_speedup']:.1f}×", "-")


def row_scaling(log):
    sc = log("scaling")
    slope = lambda what: number(r"\[" + what + r"\] log-log slope, loop time vs N: ([0-9.]+)", sc)  # noqa: E731
    sd, sf, fd = slope("double"), slope("float"), slope("floor double")
    sm = number(r"-> ([0-9.]+) bytes per static synapse at the peak", sc)
    if sd is None:
        return None
    return (f"loop-time slope {sd:.3f} double" + opt(", {:.3f} float", sf)
            + opt(" (hand-fused floor {:.3f})", fd) + opt("; {:.2f} B per static synapse", sm),
            "linear (slope ≈ 1), ≤ 12 B",
            f"{verdict(sd <= 1.05)} time" + (f", {verdict(sm <= 12)} memory" if sm is not None else ""))


# (workload, target shown when the row was not run, row function, takes the folder too)
ROWS = [
    ("COBAHH 4000 HH, 1 s, 1 thread", "≥ 7×", row_cobahh, False),
    ("COBAHH, all spikes to HDF5", "≤ +10 %", row_recording, False),
    ("COBAHH vs NEURON", "≥ 20×", row_neuron, False),
    ("CUBA 4000 LIF, 1 s", "≥ 2.5×", row_cuba, False),
    ("static delivery, 10⁸ synapses", "≥ 300 M/s", row_static, False),
    ("Brunel, 10⁷ synapses, STDP on E→E", "≤ 3×", row_brunel, False),
    ("distal reward (issue 4), 3600 s", "≤ 60 s, ≤ 3×", row_distal, False),
    ("distal reward, ready circuit", "≤ 60 s", row_distal_circuit, True),
    ("category learning, 400 trials", "≤ 5 s", row_category, True),
    ("two threads", "COBAHH ≥ 1.7×", row_threads, False),
    ("Song 2000 STDP example, 100 s", None, row_song, False),  # no target: left out if not run
    ("scaling 10³–10⁶ neurons", "linear", row_scaling, False),
]


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
    machine = read(os.path.join(d, "machine.txt"))
    if machine:
        print("```\n" + machine.strip() + "\n```\n")
    print("| workload | ours | peer / target | verdict |")
    print("|---|---|---|---|")
    for workload, target, row, with_dir in ROWS:
        got = row(log, d) if with_dir else row(log)
        if got is None and target is None:
            continue
        ours, peer, v = got if got else ("not run", target, "-")
        print(f"| {workload} | {ours} | {peer} | {v} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
