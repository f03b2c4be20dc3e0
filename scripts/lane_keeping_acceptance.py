#!/usr/bin/env python3
"""Lane-keeping SNN acceptance (seed_systems.md §2.6): runs the faithful configuration and the
working configuration over seeds 1..10 and prints every seed's figures and the verdicts.

  scripts/lane_keeping_acceptance.sh [--bin build/spikeblox] [--seeds 10] [--first-seed 1]
                                     [--only faithful|working]
                                     [--set key=value ...]   (extra overrides, both configs)
"""
import argparse, json, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(bin_, toml, seed, extra, out):
    cmd = [bin_, "run", toml, "--json", "--quiet", "--force", "-o", out, "--seed", str(seed)]
    for s in extra:
        cmd += ["--set", s]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "spikeblox"))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1, help="seeds first..first+seeds-1")
    ap.add_argument("--only", choices=["faithful", "working"])
    ap.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    ok_all = True
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.h5")
        if a.only in (None, "faithful"):
            toml = os.path.join(ROOT, "circuits_toml", "lane_keeping_snn.toml")
            print("== faithful 290.8 configuration (lane_keeping_snn.toml), 500 episodes ==")
            print("seed  best_return  best_episode  len_last100  ret_last100  network_spikes  "
                  "collapsed  episodes/s")
            best, collapsed, spikes = [], 0, 0
            for s in seeds:
                d = run(a.bin, toml, s, a.set, out)
                c = d["mean_length_last100"] <= 12 and d["mean_return_last100"] <= 0
                collapsed += c
                best.append(d["best_return"])
                spikes += d["source_spikes"]
                print(f"{s:4d}  {d['best_return']:11.2f}  {int(d['best_episode']):12d}  "
                      f"{d['mean_length_last100']:11.2f}  {d['mean_return_last100']:11.2f}  "
                      f"{int(d['source_spikes']):14d}  {'yes' if c else 'no':>9}  "
                      f"{d['episodes_per_s']:10.0f}")
            med = statistics.median(best)
            v1 = 180 <= med <= 300 and max(best) <= 302
            v2 = spikes == 0
            v3 = collapsed >= 0.8 * len(best)
            print(f"median best-episode return {med:.2f} (range {min(best):.2f}..{max(best):.2f}): "
                  f"{'PASS' if v1 else 'FAIL'} [180, 300], never > 302")
            print(f"network (hidden) spikes {spikes}: {'PASS' if v2 else 'FAIL'} (0)")
            print(f"always-left collapse in {collapsed}/{len(best)} seeds: "
                  f"{'PASS' if v3 else 'FAIL'} (>= 8/10)")
            ok_all = ok_all and v1 and v2 and v3
        if a.only in (None, "working"):
            toml = os.path.join(ROOT, "circuits_toml", "lane_keeping_snn_working.toml")
            print("== working controller (lane_keeping_snn_working.toml): 50 test episodes, "
                  "starts U(-0.5, 0.5), 10 % exploration, learning frozen ==")
            print("seed  train_ret_last100  test_mean_return  test_success  met  episodes/s")
            met = 0
            for s in seeds:
                d = run(a.bin, toml, s, a.set, out)
                m = d["test_mean_return"] >= 220 and d["test_success_rate"] >= 0.85
                met += m
                print(f"{s:4d}  {d['mean_return_last100']:17.2f}  {d['test_mean_return']:16.2f}  "
                      f"{100 * d['test_success_rate']:11.0f}%  {'yes' if m else 'no':>3}  "
                      f"{d['episodes_per_s']:10.0f}")
            v = met >= 0.8 * len(seeds)
            print(f"target met in {met}/{len(seeds)} seeds: {'PASS' if v else 'FAIL'} (>= 8/10)")
            ok_all = ok_all and v
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
