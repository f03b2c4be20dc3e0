#!/usr/bin/env python3
"""Per-seed acceptance figures of category-learning run files (issue: category learning).

For each run file: mean accuracy over trials 100-400 (>= 0.70 required in >= 8 of 10 seeds) and
over trials 1-20 (chance: 0.40-0.60), and the dopamine checks of neuroblox_models.md §5.4: in
trials 1-20 the DA trace (r + SNc value) is 1 or 2 in all but at most 5 trials; in trials 40-100
it is below its ceiling (r + 1) in more than 40 trials.
Usage: /usr/bin/python3 analysis/acceptance_category.py runs/*.h5
"""
import sys

import h5py
import numpy as np


def figures(path):
    with h5py.File(path, 'r', libver='latest', swmr=True) as f:
        t = f['trials'][:]
        seed = int(f['meta'].attrs['seed'])
    correct = t['correct'].astype(float)
    da = t['dopamine']
    r = t['reward']
    n = len(t)
    acc_100_400 = correct[99:400].mean() if n >= 400 else float('nan')
    acc_1_20 = correct[:20].mean()
    first = da[:20]
    exceptions = int(np.sum(~(np.isclose(first, 1.0) | np.isclose(first, 2.0))))
    mid = slice(39, 100)
    below = int(np.sum(da[mid] < r[mid] + 1.0 - 1e-9))
    return dict(seed=seed, trials=n, acc_100_400=acc_100_400, acc_1_20=acc_1_20,
                da_exceptions_1_20=exceptions, da_below_ceiling_40_100=below)


def main(paths):
    rows = [figures(p) for p in paths]
    rows.sort(key=lambda x: x['seed'])
    print('| seed | trials | accuracy 100-400 | accuracy 1-20 | DA not 1/2 in 1-20 | DA below ceiling in 40-100 |')
    print('|---|---|---|---|---|---|')
    for x in rows:
        print(f"| {x['seed']} | {x['trials']} | {x['acc_100_400']:.3f} | {x['acc_1_20']:.2f} | "
              f"{x['da_exceptions_1_20']} | {x['da_below_ceiling_40_100']} |")
    ok_acc = sum(x['acc_100_400'] >= 0.70 for x in rows)
    ok_chance = sum(0.40 <= x['acc_1_20'] <= 0.60 for x in rows)
    ok_da1 = sum(x['da_exceptions_1_20'] <= 5 for x in rows)
    ok_da2 = sum(x['da_below_ceiling_40_100'] > 40 for x in rows)
    accs = np.array([x['acc_100_400'] for x in rows])
    print(f"\nseeds with accuracy(100-400) >= 0.70: {ok_acc}/{len(rows)} (mean {np.nanmean(accs):.3f})")
    print(f"seeds at chance (0.40-0.60) over trials 1-20: {ok_chance}/{len(rows)}")
    print(f"seeds with <= 5 DA exceptions in trials 1-20: {ok_da1}/{len(rows)}")
    print(f"seeds with > 40 trials of DA below ceiling in 40-100: {ok_da2}/{len(rows)}")


if __name__ == '__main__':
    main(sys.argv[1:])
