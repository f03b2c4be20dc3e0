#!/usr/bin/env python3
"""Where each issue-6 workload spends its time: `perf record -e cpu-clock` of one run per workload,
the samples grouped by function into neuron update / continuous couplings / spike delivery /
events and queue / learning / recording (HDF5, zlib) / set-up, build and OS kernel / other, as a
Markdown table.

Usage (from the top of the tree, Release build in BUILD):
    /usr/bin/python3 bench/profile_workloads.py [--build build] [--only NAME ...] [--keep DIR]

Needs `perf` (Debian package linux-perf) and permission to sample your own processes
(kernel.perf_event_paranoid <= 2). The shares are of the samples outside set-up, build and the OS
kernel (in these runs the kernel's time is almost all the first touch of the build's arrays and
their unmapping at exit), which is what a long run sees; the last column gives that excluded part
as a share of the whole process.
A function is put in a group by its name (GROUPS below, first match wins); the largest ungrouped
functions are listed under the table so the grouping can be checked.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (group, regular expressions on the function name, on the library name); first match wins.
GROUPS = [
    ("set-up, build, OS kernel", [r"build_spike_projection", r"SpikeProjectionBuilder", r"Loader",
                          r"toml::", r"(^|::)parse", r"make_simulator", r"(^|::)lower_", r"CircuitGraph",
                          r"reverse_synapse_index", r"column_entries", r"^build_", r"_dl_",
                          r"do_lookup", r"sample_without_replacement", r"Rng::below",
                          r"draw_targets", r"hypergeometric", r"visit_structure",
                          r"make_spike_projection", r"visit_fixed_indegree", r"distinct",
                          r"^main::\{lambda", r"^main$", r"::wire\b",
                          r"PairStdp::PairStdp", r"ThreeFactorStdp::ThreeFactorStdp",
                          ],
     # the OS kernel: here almost all first touch of the build's arrays and the final unmapping
     [r"^ld-linux", r"^\[kernel"]),
    ("recording (HDF5, zlib)", [r"^H5", r"deflate", r"RunFile", r"Recorder", r"SpikeWriter",
                                r"on_spikes", r"on_sample", r"crc32", r"adler32"],
     [r"^libhdf5", r"^libz\.so"]),
    ("learning rules", [r"Stdp", r"ThreeFactor", r"pair_pass", r"three_factor", r"Hebbian",
                        r"LearningRule", r"on_pre", r"on_post", r"Modulator", r"apply_learning"],
     []),
    ("spike delivery", [r"deliver", r"prefetch_rows", r"staged_slot", r"stage_", r"Delivery"], []),
    ("events, queue, step loop", [r"EventQueue", r"settle", r"d_ary_heap", r"process_events",
                                  r"emit", r"schedule_spike", r"fire_predicted", r"Poisson",
                                  r"poisson_schedule", r"run_until", r"control_event", r"do_step"],
     []),
    ("continuous couplings", [r"Coupling", r"coupling", r"ContinuousProjection"], []),
    ("neuron update", [r"Population::step", r"::step\b", r"::step_", r"traub", r"Traub",
                       r"\bhh_", r"HH", r"Lif", r"lif_", r"Izhikevich", r"NeuralMass",
                       r"neural_mass", r"^__tanh", r"^__exp", r"^__expm1", r"^__ieee754_exp",
                       r"etdrk", r"Rng::", r"xoshiro", r"nan_guard", r"first_nonfinite"], []),
]

SETUP = GROUPS[0][0]
CIRCUIT = os.path.join(ROOT, "circuits_toml")


def workloads(build):
    b = lambda *p: os.path.join(build, *p)  # noqa: E731
    sb = b("spikeblox")
    run = lambda toml, *sets: [sb, "run", os.path.join(CIRCUIT, toml), "--force", "-q",  # noqa: E731
                               "-o", "{tmp}/run.h5"] + [a for s in sets for a in ("--set", s)]
    return [
        ("COBAHH 4000 HH, 5 s, spikes recorded", run("cobahh.toml", "run.duration=5000")),
        ("CUBA 4000 LIF, 100 s, spikes not recorded", run("cuba.toml", "run.duration=100000",
                                                         "output.spikes=\"none\"")),
        ("static delivery, 10^8 synapses, 500 ms", [b("tests", "plasticity", "static_delivery"),
                                                     "--duration", "500", "--repeats", "1"]),
        ("Brunel 10^7 synapses, pair STDP on E->E, 1 s (plastic run only)",
         [b("tests", "plasticity", "brunel_stdp"), "--duration", "1000", "--mode", "2"]),
        ("distal reward 1000 Izhikevich, R-STDP, 600 s", run("izhikevich_distal_reward.toml",
                                                              "run.duration=600000")),
        ("category learning, 400 trials (main job)", run("category_learning.toml")),
        ("scaling network 10^6 LIF (float), 1 s",
         [b("tests", "circuits", "scaling_engine"), os.path.join(ROOT, "bench", "scaling_cuba.toml"),
          "--set", "blocks.E.n=800000", "--set", "blocks.I.n=200000",
          "--set", "blocks.E.precision=\"float\"", "--set", "blocks.I.precision=\"float\"",
          "--set", "run.duration=1000"]),
    ]


LINE = re.compile(r"^\s+([0-9.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$")


def classify(dso, sym):
    for group, sym_pats, dso_pats in GROUPS:
        if any(re.search(p, sym) for p in sym_pats) or any(re.search(p, dso) for p in dso_pats):
            return group
    return "other"


def profile(cmd, tmp):
    data = os.path.join(tmp, "perf.data")
    cmd = [c.replace("{tmp}", tmp) for c in cmd]
    p = subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "2000", "-o", data, "--"] + cmd,
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym",
                          "--stdio"], capture_output=True, text=True).stdout
    shares, unclassified, members = {}, [], {}
    for line in rep.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
        g = classify(dso, sym)
        shares[g] = shares.get(g, 0.0) + pct
        members.setdefault(g, []).append((pct, f"{dso} {sym}"[:110]))
        if g == "other" and pct >= 0.5:
            unclassified.append((pct, f"{dso} {sym}"))
    return shares, unclassified, members


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--only", nargs="*", default=[], help="workloads whose name contains one of these")
    ap.add_argument("--keep", help="keep the perf data and run files in this folder")
    ap.add_argument("--detail", action="store_true", help="list the largest functions of each group")
    a = ap.parse_args()
    if not shutil.which("perf"):
        sys.exit("perf not found: apt-get install linux-perf")
    groups = [g for g, _, _ in GROUPS] + ["other"]
    cols = [g for g in groups if g != SETUP]
    print("| workload | " + " | ".join(cols) + f" | {SETUP} (excluded) |")
    print("|---|" + "---|" * (len(cols) + 1))
    notes = []
    for name, cmd in workloads(a.build):
        if a.only and not any(o.lower() in name.lower() for o in a.only):
            continue
        if a.keep:  # one folder per workload, so nothing is overwritten
            tmp = os.path.join(a.keep, re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_"))
        else:
            tmp = tempfile.mkdtemp(prefix="sbx_profile_")
        os.makedirs(tmp, exist_ok=True)
        shares, other, members = profile(cmd, tmp)
        setup = shares.get(SETUP, 0.0)
        loop = max(1e-9, sum(v for g, v in shares.items() if g != SETUP))
        cells = [f"{100.0 * shares.get(g, 0.0) / loop:.1f} %" for g in cols]
        print(f"| {name} | " + " | ".join(cells) + f" | {setup:.1f} % of the process |", flush=True)
        if other:
            notes.append(f"{name}: largest functions in 'other': " +
                         "; ".join(f"{s} {p:.1f} %" for p, s in sorted(other, reverse=True)[:5]))
        if a.detail:
            for g, fs in sorted(members.items()):
                notes.append(f"{name} / {g}: " + "; ".join(f"{s} {p:.1f} %" for p, s in sorted(fs, reverse=True)[:6]))
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    for n in notes:
        print("\n" + n)


if __name__ == "__main__":
    main()
