#!/usr/bin/env python3
"""bench/issue6_summary.py turns bench/issue6_table.sh logs into the verdict table.

Synthetic logs in the formats the benchmark programs print (copied from a real batch, figures
changed so that some rows pass and some fail); rows without a log are "not run"; a folder
without logs is exit 2. Usage: issue6_summary_test.py SOURCE_DIR
"""
import os
import subprocess
import sys
import tempfile

src = sys.argv[1]
script = os.path.join(src, "bench", "issue6_summary.py")
logs = {
    "cobahh_cuba_norecord": [
        '{"bench": "cuba", "ours_loop_s": 0.0283, "brian2_loop_s": 0.0934, "ours_spikes": 22303, '
        '"brian2_spikes": 22463, "spikes_agree_10pct": true, "loop_speedup": 3.30}',
        '{"bench": "cobahh", "ours_loop_s": 0.4338, "brian2_loop_s": 4.5275, "ours_spikes": 138903, '
        '"brian2_spikes": 149161, "spikes_agree_10pct": true, "loop_speedup": 10.44}'],
    "cobahh_record": ['{"bench": "cobahh", "ours_loop_s": 0.4900, "brian2_loop_s": 4.53, '
                      '"loop_speedup": 9.2}'],
    "brunel_stdp": ["per synaptic event (empty subtracted), whole network: static 1.72 ns, with "
                    "STDP on E->E 3.75 ns, ratio 2.19; one E->E event ...",
                    "memory, plastic E->E: 21.23 bytes/synapse (12 static + 9.20 of the rule)"],
    "distal_reward": ["full run: 3600 s simulated, loop wall 11.84 s, thread CPU 11.84 s",
                      "per synaptic event (replay overhead subtracted): static 1.23 ns, plastic "
                      "4.11 ns, ratio 3.34; without subtraction: ...",
                      "plastic synapses: 80000, 16.96 bytes each (synapse arrays + rule state)"],
    "category_1": ["simulated 400200.0 ms in 4.90 s wall (loop 4.8 s, build 0.01 s): ..."],
    "category_2": ["simulated 400200.0 ms in 5.20 s wall (loop 5.1 s, build 0.01 s): ..."],
    "category_3": ["simulated 400200.0 ms in 4.95 s wall (loop 4.9 s, build 0.01 s): ..."],
    "threads_cobahh": ["| cobahh | 0.45 0.45 | 0.26 0.26 | 452.7 ms | 262.0 ms | 1.73x | yes (138903) |"],
}
with tempfile.TemporaryDirectory() as d:
    r = subprocess.run([sys.executable, script, d], capture_output=True, text=True)
    assert r.returncode == 2 and "no *.log files" in r.stderr, (r.returncode, r.stderr)
    for name, lines in logs.items():
        with open(os.path.join(d, name + ".log"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    r = subprocess.run([sys.executable, script, d], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = {line.split(" | ")[0].lstrip("| "): line for line in r.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| workload")}
    want = {
        "COBAHH 4000 HH, 1 s, 1 thread": ("10.44×", "| ✔ |"),
        "COBAHH, all spikes to HDF5": ("+13.0 %", "| ✘ |"),   # 490 / 433.8 ms
        "CUBA 4000 LIF, 1 s": ("3.30×", "| ✔ |"),
        "Brunel, 10⁷ synapses, STDP on E→E": ("2.19×", "| ✔ |"),
        "distal reward (issue 4), 3600 s": ("3.34×", "✔ time, ✘ ratio, ✔ memory"),
        "category learning, 400 trials": ("median 4.95", "| ✔ |"),
        "two threads": ("1.73×", "| ✔ |"),
        "COBAHH vs NEURON": ("not run", "| - |"),
        "static delivery, 10⁸ synapses": ("not run", "| - |"),
        "scaling 10³–10⁶ neurons": ("not run", "| - |"),
    }
    for row, (figure, verdict) in want.items():
        assert row in rows, (row, r.stdout)
        assert figure in rows[row] and verdict in rows[row], (row, rows[row])
print("ok: issue6_summary")
