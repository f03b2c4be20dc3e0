"""Per-step rows of the episodes experiment (/steps, experiment.record_steps) and their loader
(analysis.io.load_run(...).steps). Usage: steps_runfile_test.py SPIKEBLOX_BIN SOURCE_DIR CASE

Cases:
  bandit    bandit_ach_na.toml, 2 contexts of 50 steps: one row per step, the named values
            acetylcholine / noradrenaline / regret / best_arm, the forced first pulls 0..7, the
            per-step rewards summing to the /episodes return, regret 0 exactly on best-arm steps;
            the ach_na edge's arm values in /weights (initial and final).
  cartpole  cartpole_dopamine.toml, 3 episodes: rows per episode = its length, steps 0..n-1,
            rewards 1 per step, the TD delta column recomputed from nothing but its range.
  actor_critic  cartpole_spiking.toml, 40 episodes: value = V(s_t) of each step's window and
            td_error = r + gamma V(s_t+1) - V(s_t) recomputed from the value column (reward_scale
            0), failure_reward - V(s_T) at a terminal step, NaN at a truncated end.
  off       without record_steps there is no /steps and run.steps is empty.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

BIN, SRC, CASE = sys.argv[1:4]
sys.path.insert(0, SRC)
try:
    import numpy as np  # noqa: E402
    from analysis import load_run  # noqa: E402
except ImportError as e:  # h5py / pandas missing: skip, not fail
    print(f"skip: {e}")
    sys.exit(77)


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def run(toml, *overrides):
    d = tempfile.mkdtemp(prefix="sbx_steps_")
    atexit.register(shutil.rmtree, d, True)
    out = os.path.join(d, "run.h5")
    sets = [a for o in overrides for a in ("--set", o)]
    r = subprocess.run([BIN, "run", os.path.join(SRC, "circuits_toml", toml), *sets,
                        "--out", out, "-q"], capture_output=True, text=True, cwd=SRC)
    check(r.returncode == 0, f"spikeblox run failed: {r.stderr}")
    return load_run(out)


if CASE == "bandit":
    run_ = run("bandit_ach_na.toml", "experiment.record_steps=true",
               "experiment.bandit_change_every=50", "experiment.bandit_contexts=2")
    s, ep = run_.steps, run_.episodes
    check(list(s.columns) == ["episode", "step", "action", "reward", "acetylcholine",
                              "noradrenaline", "regret", "best_arm"], f"columns {list(s.columns)}")
    check(len(s) == 100 and len(ep) == 1 and int(ep["length"][0]) == 100, f"{len(s)} rows")
    check((s["episode"] == 0).all(), "episode column")
    check((s["step"].to_numpy() == np.arange(100)).all(), "step column")
    check((s["action"].to_numpy()[:8] == np.arange(8)).all(),
          f"try_each_action_first: first actions {s['action'].to_numpy()[:8]}")
    check(s["action"].between(0, 7).all(), "actions in 0..7")
    check(abs(s["reward"].sum() - float(ep["return"][0])) < 1e-9 * max(1.0, abs(s["reward"].sum())),
          f"sum of rewards {s['reward'].sum()} != return {float(ep['return'][0])}")
    check(s["acetylcholine"].between(0, 1).all(), "ACh = U/(U+A) in [0, 1]")
    check((s["noradrenaline"] >= 1e-3 - 1e-15).all(), "NA >= t_floor")
    check((s["regret"] >= 0).all(), "regret >= 0")
    check(((s["regret"] == 0) == (s["best_arm"] == 1)).all(), "regret 0 exactly on best-arm steps")
    # The ach_na edge's weights are the learnt arm values: /weights has the initial and final
    # ones (one weight per arm here: the bias unit onto each motor unit).
    check(run_.plastic_edges == ["bias->motor"], f"plastic edges {run_.plastic_edges}")
    after, values, src, dst = run_.weight_snapshots("bias->motor")
    check(values.shape == (2, 8) and list(after) == [-1, 0], f"snapshots {after} {values.shape}")
    pulled = np.unique(s["action"].to_numpy())
    check((values[1][pulled] != values[0][pulled]).all(), "the pulled arms' values moved")
elif CASE == "cartpole":
    run_ = run("cartpole_dopamine.toml", "experiment.record_steps=true",
               "experiment.n_episodes=3")
    s, ep = run_.steps, run_.episodes
    check(list(s.columns) == ["episode", "step", "action", "reward", "dopamine"],
          f"columns {list(s.columns)}")
    check(len(ep) == 3 and len(s) == int(ep["length"].sum()), "rows = sum of lengths")
    for e, n in zip(ep["episode"], ep["length"]):
        se = s[s["episode"] == e]
        check(len(se) == n and (se["step"].to_numpy() == np.arange(n)).all(), f"episode {e} steps")
        check((se["reward"] == 1.0).all(), "CartPole reward 1 per step")
    check(s["action"].isin([0, 1]).all(), "actions 0/1")
    check(np.isfinite(s["dopamine"]).all() and (s["dopamine"] != 0).any(), "dopamine delta")
elif CASE == "actor_critic":
    run_ = run("cartpole_spiking.toml", "experiment.record_steps=true", "experiment.n_episodes=40")
    s, ep = run_.steps, run_.episodes
    check(list(s.columns) == ["episode", "step", "action", "reward", "value", "td_error"],
          f"columns {list(s.columns)}")
    check(len(s) == int(ep["length"].sum()), "rows = sum of lengths")
    check((s["value"] != 0).any(), "the critic learnt something (non-zero values)")
    for _, e in ep.iterrows():
        se = s[s["episode"] == e["episode"]]
        v, d = se["value"].to_numpy(), se["td_error"].to_numpy()
        # (the circuit: reward_scale 0, gamma 0.99, failure_reward -1)
        check(np.array_equal(d[:-1], 0.99 * v[1:] - v[:-1]), f"episode {e['episode']}: TD errors")
        if e["terminated"] and not e["truncated"]:
            check(d[-1] == -1.0 - v[-1], f"episode {e['episode']}: terminal TD error")
        else:
            check(np.isnan(d[-1]), f"episode {e['episode']}: truncated end")
elif CASE == "off":
    run_ = run("bandit_softmax.toml", "experiment.bandit_change_every=20",
               "experiment.bandit_contexts=2")
    check(not run_.has_steps and run_.steps.empty, "no /steps without record_steps")
    check(len(run_.episodes) == 1, "episodes row still written")
else:
    print("unknown case", CASE)
    sys.exit(2)
print("ok")
