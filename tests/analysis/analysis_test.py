#!/usr/bin/python3
"""Tests of the analysis package and of `spikeblox plot` / `spikeblox graph` (issue 7).

    /usr/bin/python3 analysis_test.py BIN SOURCE_DIR DATA_DIR CASE

The `make_runs` case (a CTest fixture) writes the run files the other cases read into DATA_DIR:
three seeds of a short category-learning run (12 trials of 300 ms) and the demo LIF network (1 s,
with a membrane-potential report). Exit 0 = pass, 1 = fail, 77 = skipped.
"""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile

BIN, SRC, DATA, CASE = sys.argv[1:5]
BIN = os.path.abspath(BIN)
SRC = os.path.abspath(SRC)
DATA = os.path.abspath(DATA)
sys.path.insert(0, SRC)

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

CL = os.path.join(SRC, "circuits_toml", "category_learning.toml")
DEMO = os.path.join(SRC, "circuits_toml", "demo_lif.toml")
SHORT = ["--set", "experiment.n_trials=12", "--set", "blocks.stim.t_stimulus=300.0",
         "--set", "experiment.t_warmup=100.0"]
SEEDS = [1, 2, 3]


def cat(seed):
    return os.path.join(DATA, f"cat_{seed}.h5")


PLAIN = os.path.join(DATA, "demo.h5")


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def error_of(exc_type, fn, what):
    """The message of the exc_type that fn() raises; Fail naming `what` if it raises none."""
    try:
        fn()
    except exc_type as e:
        return str(e)
    raise Fail(f"{what} did not raise {exc_type.__name__}")


def sh(args, env=None, cwd=None, timeout=None):
    """Runs args; with `timeout` (s), a command still running then is killed and fails the case
    (a hang must not hold up the suite until CTest's own TIMEOUT)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    try:
        return subprocess.run(args, capture_output=True, text=True, env=e, cwd=cwd,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail(f"{' '.join(args)}: still running after {timeout} s (killed)") from None


def png_ok(path, min_w=400, min_h=250):
    """The PNG exists, has a sensible size and is not blank: a tenth of a per cent of its pixels
    differ from the background and it has more than a handful of distinct colours."""
    import matplotlib.image as mpimg
    check(os.path.isfile(path), f"{path} was not written")
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    check(w >= min_w and h >= min_h, f"{path}: {w}x{h} px is too small")
    rgb = (img[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    background = np.array([255, 255, 255], np.uint8)
    ink = np.mean(np.any(rgb != background, axis=1))
    colours = len(np.unique(rgb, axis=0))
    check(ink > 0.02, f"{path}: only {ink:.4f} of the pixels are not white (blank figure?)")
    check(colours > 20, f"{path}: only {colours} distinct colours (blank figure?)")
    return img


def plot(args, env=None, timeout=None):
    return sh([BIN, "plot"] + args, env=env, timeout=timeout)


# ---- fixture -----------------------------------------------------------------------------------

def case_make_runs():
    os.makedirs(DATA, exist_ok=True)
    for s in SEEDS:
        r = sh([BIN, "run", CL, *SHORT, "--seed", str(s), "--out", cat(s), "--force", "-q"])
        check(r.returncode == 0, f"category run seed {s} failed: {r.stderr}")
    r = sh([BIN, "run", DEMO, "--out", PLAIN, "--force", "-q"])
    check(r.returncode == 0, f"demo run failed: {r.stderr}")


# ---- plots -------------------------------------------------------------------------------------

TRIAL_FIGURES = ["learning_curve", "raster", "dopamine_rpe", "weight_matrix",
                 "weight_trajectories", "rates"]


def case_plot_category():
    out = tempfile.mkdtemp()
    try:
        r = plot([cat(1), "--out", out, "--window", "5"])
        check(r.returncode == 0, f"spikeblox plot failed ({r.returncode}): {r.stderr}")
        written = r.stdout.split()
        for name in TRIAL_FIGURES:
            p = os.path.join(out, name + ".png")
            check(p in written, f"{name}.png not reported on stdout: {r.stdout}")
            png_ok(p)
        check(not os.path.exists(os.path.join(out, "traces.png")),
              "traces.png written for a run without /report")
    finally:
        shutil.rmtree(out)


def case_plot_plain():
    """A run without trials gets the figures that apply: raster, rates and its traces."""
    out = tempfile.mkdtemp()
    try:
        r = plot([PLAIN, "--out", out])
        check(r.returncode == 0, f"spikeblox plot failed: {r.stderr}")
        got = sorted(os.listdir(out))
        check(got == ["raster.png", "rates.png", "traces.png"], f"plain run figures: {got}")
        for g in got:
            png_ok(os.path.join(out, g))
    finally:
        shutil.rmtree(out)


def case_plot_open_loop():
    """An open-loop trial run (cortical_hebbian.toml: no policy, action 0, correct 0 and NaN
    dopamine / RPE on every trial) gets no learning curve (it drew accuracy 0.000) and no empty
    dopamine / RPE figure; its raster, rates and weights are drawn."""
    d = tempfile.mkdtemp()
    try:
        run = os.path.join(d, "open.h5")
        r = sh([BIN, "run", os.path.join(SRC, "circuits_toml", "cortical_hebbian.toml"), "--set",
                "experiment.n_trials=3", "--out", run, "-q"])
        check(r.returncode == 0, f"cortical_hebbian run failed: {r.stderr}")
        out = os.path.join(d, "o")
        r = plot([run, "--out", out])
        check(r.returncode == 0, f"plot failed: {r.stderr}")
        got = sorted(os.listdir(out))
        check(got == ["raster.png", "rates.png", "weight_matrix.png", "weight_trajectories.png"],
              f"open-loop figures: {got}")
        # With a closed-loop run, the combined learning curve has that run only.
        r = plot([run, cat(1), "--out", os.path.join(d, "two"), "--what", "learning_curve"])
        check(r.returncode == 0 and os.path.isfile(os.path.join(d, "two", "learning_curve.png"))
              and os.path.isfile(os.path.join(d, "two", "cat_1", "learning_curve.png"))
              and not os.path.exists(os.path.join(d, "two", "open", "learning_curve.png")),
              f"open + closed loop: {r.returncode} {r.stdout} {r.stderr}")
    finally:
        shutil.rmtree(d)


def case_plot_distal():
    """The distal_reward experiment: run.synapse("chosen") is /synapses/chosen, `plot` draws it
    (synapses.png), and the weight trajectories of its two snapshots (no trials, no snapshot
    times) are not labelled 'trials completed'."""
    import matplotlib
    matplotlib.use("Agg")
    from analysis import load_run, plots
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "distal.h5")
        r = sh([BIN, "run", os.path.join(SRC, "circuits_toml", "izhikevich_distal_reward.toml"),
                "--set", "run.duration=5000.0", "--out", path, "-q"])
        check(r.returncode == 0, f"distal run failed: {r.stderr}")
        run = load_run(path)
        check(run.synapse_probes == ["chosen"], f"synapse probes {run.synapse_probes}")
        syn = run.synapse("chosen")
        with h5py.File(path, "r") as f:
            raw = f["synapses/chosen"][()]
            edge = _text(f["synapses/chosen"].attrs["edge"])
        check(list(syn.columns) == ["time", "w", "c", "d"] and len(syn) == len(raw) == 51,
              f"synapse table {list(syn.columns)} {len(syn)} rows")
        for c in ("time", "w", "c", "d"):
            check(np.array_equal(syn[c].to_numpy(), raw[c]), f"synapse column {c}")
        check(syn.attrs["edge"] == edge == "exc->exc", f"attrs {syn.attrs}")
        check(run.duration == 5000.0, f"duration {run.duration}")  # spikes not recorded
        e = error_of(KeyError, lambda: run.synapse("other"), "an unknown synapse probe")
        check("chosen" in e, f"KeyError should name the probes: {e}")
        axes = plots.weight_trajectories(run)
        check(axes[0].get_xlabel() == "snapshot (0 = initial)", f"x label {axes[0].get_xlabel()}")
        out = os.path.join(d, "o")
        r = plot([path, "--out", out])
        check(r.returncode == 0, f"plot failed: {r.stderr}")
        png_ok(os.path.join(out, "synapses.png"))
        png_ok(os.path.join(out, "weight_trajectories.png"))
    finally:
        shutil.rmtree(d)


def case_plot_steps():
    """An episodes run with experiment.record_steps (the ACh/NA bandit): `plot` draws steps.png
    with reward, best-arm choices, cumulative regret and the modulators; the curves are the file's
    numbers (checked against h5py); without record_steps there is no steps figure."""
    import matplotlib
    matplotlib.use("Agg")
    from analysis import load_run, plots
    d = tempfile.mkdtemp()
    try:
        circuit = os.path.join(SRC, "circuits_toml", "bandit_ach_na.toml")
        path = os.path.join(d, "bandit.h5")
        r = sh([BIN, "run", circuit, "--set", "experiment.record_steps=true", "--out", path, "-q"])
        check(r.returncode == 0, f"bandit run failed: {r.stderr}")
        run = load_run(path)
        with h5py.File(path, "r") as f:
            raw = f["steps"][()]
        check(plots.step_panels(run.steps) == ["reward", "best_arm", "regret", "modulators"],
              f"panels {plots.step_panels(run.steps)}")
        axes = plots.steps(run, window=10)
        regret = axes[2].get_lines()[0].get_ydata()
        check(len(regret) == len(raw) and abs(regret[-1] - raw["regret"].sum()) < 1e-9,
              "cumulative regret")
        best = axes[1].get_lines()[0].get_ydata()
        k = len(raw) - 1
        check(abs(best[k] - raw["best_arm"][k - 9:k + 1].mean()) < 1e-12, "best-arm moving average")
        labels = [line.get_label() for line in axes[3].get_lines()]
        check(labels == ["acetylcholine", "noradrenaline"], f"modulator lines {labels}")
        check(np.array_equal(axes[3].get_lines()[1].get_ydata(), raw["noradrenaline"]),
              "noradrenaline curve")
        out = os.path.join(d, "o")
        r = plot([path, "--out", out])
        check(r.returncode == 0, f"plot failed: {r.stderr}")
        png_ok(os.path.join(out, "steps.png"))
        plain = os.path.join(d, "plain.h5")
        r = sh([BIN, "run", circuit, "--out", plain, "-q"])
        check(r.returncode == 0, f"bandit run failed: {r.stderr}")
        # The spiking actor-critic: a critic panel of the value and TD-error columns.
        ac = os.path.join(d, "ac.h5")
        r = sh([BIN, "run", os.path.join(SRC, "circuits_toml", "cartpole_spiking.toml"), "--set",
                "experiment.record_steps=true", "--set", "experiment.n_episodes=5", "--out", ac,
                "-q"])
        check(r.returncode == 0, f"actor-critic run failed: {r.stderr}")
        acr = load_run(ac)
        check(plots.step_panels(acr.steps) == ["reward", "critic"],
              f"panels {plots.step_panels(acr.steps)}")
        axes = plots.steps(acr)
        check(np.array_equal(axes[1].get_lines()[0].get_ydata(), acr.steps["value"].to_numpy()),
              "V(s) curve")
        out2 = os.path.join(d, "o2")
        r = plot([plain, "--out", out2])
        check(r.returncode == 0 and not os.path.exists(os.path.join(out2, "steps.png")),
              "a steps figure without /steps")
    finally:
        shutil.rmtree(d)


def case_plot_python_module():
    """`python3 -m analysis plot` from the source tree, default output folder next to the run."""
    d = tempfile.mkdtemp()
    try:
        run = os.path.join(d, "r.h5")
        shutil.copy(cat(2), run)
        r = sh(["/usr/bin/python3", "-m", "analysis", "plot", run, "--what",
                "learning_curve,dopamine_rpe"], cwd=SRC)
        check(r.returncode == 0, f"python3 -m analysis failed: {r.stderr}")
        got = sorted(os.listdir(os.path.join(d, "r_plots")))
        check(got == ["dopamine_rpe.png", "learning_curve.png"], f"--what subset: {got}")
        r = sh(["/usr/bin/python3", "-m", "analysis", "plot", run, "--what", "bogus"], cwd=SRC)
        check(r.returncode == 2 and "bogus" in r.stderr and "learning_curve" in r.stderr,
              f"unknown --what: rc {r.returncode} {r.stderr}")
    finally:
        shutil.rmtree(d)


def case_plot_several_seeds():
    """Combined learning curve of three runs + every run's figures in a subfolder; the mean ±
    s.e.m. it draws is checked against a direct computation."""
    from analysis import load_run, plots
    out = tempfile.mkdtemp()
    try:
        r = plot([cat(s) for s in SEEDS] + ["--out", out, "--what", "learning_curve,rates"])
        check(r.returncode == 0, f"spikeblox plot failed: {r.stderr}")
        png_ok(os.path.join(out, "learning_curve.png"))
        for s in SEEDS:
            png_ok(os.path.join(out, f"cat_{s}", "learning_curve.png"))
            png_ok(os.path.join(out, f"cat_{s}", "rates.png"))
        runs = [load_run(cat(s)) for s in SEEDS]
        curves = [plots.moving_accuracy(r.trials["correct"], 5) for r in runs]
        mean, sem, n = plots.mean_sem(curves)
        m = np.vstack(curves)
        check(np.allclose(mean, m.mean(axis=0)), "mean across seeds")
        check(np.allclose(sem, m.std(axis=0, ddof=1) / np.sqrt(3)), "s.e.m. across seeds")
        check(list(n) == [3] * m.shape[1], "count per trial")
        # Runs that share a seed (a sweep's grid points) are told apart by file name.
        for name in ("sweep_K0.04_s1.h5", "sweep_K0.08_s1.h5"):
            shutil.copy(cat(1), os.path.join(out, name))
        same = [load_run(os.path.join(out, n)) for n in ("sweep_K0.04_s1.h5", "sweep_K0.08_s1.h5")]
        ax = plots.learning_curve(same + [runs[1]], window=5)
        labels = ax.get_legend_handles_labels()[1]
        check(labels[:3] == ["sweep_K0.04_s1", "sweep_K0.08_s1", "cat_2"],
              f"legend of runs with a repeated seed: {labels}")
        ax = plots.learning_curve(runs, window=5)
        check(ax.get_legend_handles_labels()[1][:3] == ["seed 1", "seed 2", "seed 3"],
              "distinct seeds are labelled by seed")
        # A run that none of the asked figures applies to (a plain run has no learning curve)
        # gets a note, not an empty subfolder.
        out2 = os.path.join(out, "mixed")
        r = plot([cat(1), cat(2), PLAIN, "--out", out2, "--what", "learning_curve"])
        check(r.returncode == 0, f"spikeblox plot failed: {r.stderr}")
        plain_name = os.path.splitext(os.path.basename(PLAIN))[0]
        check(not os.path.exists(os.path.join(out2, plain_name)),
              f"empty folder for {plain_name}: {os.listdir(out2)}")
        check(f"{PLAIN}: no figure applies to this run" in r.stderr, f"no note: {r.stderr}")
        png_ok(os.path.join(out2, "cat_1", "learning_curve.png"))
    finally:
        shutil.rmtree(out)


def not_run_files(d):
    """Two files in d that are not run files: a text file named .h5 and another program's HDF5
    file. Returns their paths."""
    txt = os.path.join(d, "notes.h5")
    with open(txt, "w") as f:
        f.write("not hdf5\n")
    other = os.path.join(d, "other.h5")
    with h5py.File(other, "w") as f:
        f["x"] = [1, 2, 3]
    return txt, other


def case_plot_bad_input():
    """Not a run file -> exit 2 with the path and the reason, nothing written."""
    d = tempfile.mkdtemp()
    try:
        txt, other = not_run_files(d)
        out = os.path.join(d, "figs")
        for path, reason in [(txt, "not an HDF5 file"), (other, "not a spikeblox run file"),
                             (os.path.join(d, "missing.h5"), "no such file"),
                             (CL, "not an HDF5 file")]:
            r = plot([path, "--out", out])
            check(r.returncode == 2, f"{path}: exit {r.returncode}, expected 2 ({r.stderr})")
            check(path in r.stderr and reason in r.stderr and "Traceback" not in r.stderr,
                  f"{path}: message {r.stderr!r} should name the file and say '{reason}'")
        # A good file next to a bad one: still refused before anything is drawn.
        r = plot([cat(1), other, "--out", out])
        check(r.returncode == 2, "a bad file among good ones")
        check(not os.path.exists(out), "an output folder was created on bad input")
        r = plot([])
        check(r.returncode == 2, f"no files: exit {r.returncode}")
    finally:
        shutil.rmtree(d)


def case_plot_environment():
    """No interpreter, or an interpreter without h5py & co: exit 1 with what to install."""
    d = tempfile.mkdtemp()
    try:
        r = plot([cat(1)], env={"SPIKEBLOX_PYTHON": os.path.join(d, "nopython")})
        check(r.returncode == 1 and "no Python interpreter" in r.stderr, f"no python: {r.stderr}")
        # `python3 -S` skips site-packages, where Debian puts h5py: the package must say so.
        wrapper = os.path.join(d, "python-nosite")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec /usr/bin/python3 -S \"$@\"\n")
        os.chmod(wrapper, 0o755)
        r = plot([cat(1), "--out", os.path.join(d, "o")], env={"SPIKEBLOX_PYTHON": wrapper})
        check(r.returncode == 1, f"missing modules: exit {r.returncode}: {r.stderr}")
        check("python3-h5py" in r.stderr and "Traceback" not in r.stderr,
              f"missing modules message: {r.stderr}")
        # The package is found from the binary's location even from another working directory,
        # and SPIKEBLOX_ANALYSIS_DIR pointing nowhere useful falls back to the search.
        r = sh([BIN, "plot", cat(1), "--out", os.path.join(d, "p"), "--what", "rates"], cwd=d,
               env={"SPIKEBLOX_ANALYSIS_DIR": d, "PYTHONPATH": ""})
        check(r.returncode == 0 and os.path.isfile(os.path.join(d, "p", "rates.png")),
              f"plot from another directory: {r.stderr}")
    finally:
        shutil.rmtree(d)


def write_index(path):
    """A hand-made sweep index: 2 grid keys x 3 seeds, one failed run, one run < 400 trials."""
    rows = []
    k_values = [0.03, 0.06, 0.12]
    orders = ["sequential", "random"]
    acc = {0.03: 0.55, 0.06: 0.70, 0.12: 0.80}
    point = 0
    for k in k_values:
        for o in orders:
            for s in (1, 2, 3):
                a = acc[k] + 0.02 * s + (0.01 if o == "random" else 0.0)
                rows.append(dict(point=point, seed=s, **{"rules.hebb_da.K": k,
                                                          "experiment.order": o},
                                 file=f"p{point}_s{s}.h5", status="complete",
                                 acc_1_20=0.5, acc_100_400=round(a, 4), acc_total=round(a - 0.05, 4)))
            point += 1
    rows[4]["status"] = "failed"
    rows[4]["acc_1_20"] = rows[4]["acc_100_400"] = rows[4]["acc_total"] = None
    df = pd.DataFrame(rows)
    df.to_csv(path, index=False, na_rep="")
    return df


def case_plot_sweep_index():
    from analysis import load_sweep_index, plots
    d = tempfile.mkdtemp()
    try:
        idx = os.path.join(d, "index.csv")
        write_index(idx)
        r = plot([idx, "--out", os.path.join(d, "o")])
        check(r.returncode == 0, f"sweep plot failed: {r.stderr}")
        png_ok(os.path.join(d, "o", "sweep.png"), 800, 600)
        df, keys = load_sweep_index(idx)
        check(keys == ["rules.hebb_da.K", "experiment.order"], f"grid keys {keys}")
        s = plots.sweep_summary(df, "rules.hebb_da.K", "acc_100_400")
        # K = 0.03: seeds 1..3 x {sequential, random}, minus the failed (sequential, seed 2).
        vals = [0.57, 0.59, 0.61, 0.58, 0.62]  # rows[4] = (K 0.03, random, seed 2) failed
        check(s.loc[0.03, "n"] == 5, f"n at K=0.03: {s.loc[0.03, 'n']}")
        check(abs(s.loc[0.03, "mean"] - np.mean(vals)) < 1e-9, "mean at K=0.03")
        check(abs(s.loc[0.03, "sem"] - np.std(vals, ddof=1) / np.sqrt(5)) < 1e-9, "sem at K=0.03")
        check(s.loc[0.12, "n"] == 6, "n at K=0.12")
        # Not a sweep index: exit 2 naming the missing columns.
        bad = os.path.join(d, "bad.csv")
        with open(bad, "w") as f:
            f.write("a,b\n1,2\n")
        r = plot([bad])
        check(r.returncode == 2 and "missing columns" in r.stderr and "status" in r.stderr,
              f"bad index: {r.returncode} {r.stderr}")
        # A sweep of runs without choices (episodes, plain runs): no accuracy, say what to do.
        df = write_index(idx)
        df[["acc_1_20", "acc_100_400", "acc_total"]] = None
        df.to_csv(idx, index=False, na_rep="")
        r = plot([idx, "--out", os.path.join(d, "none")])
        check(r.returncode == 2 and "no complete run with an accuracy figure" in r.stderr and
              "*.h5" in r.stderr, f"index without accuracies: {r.returncode} {r.stderr}")
    finally:
        shutil.rmtree(d)


def case_plot_real_sweep():
    """The index.csv that `spikeblox sweep` writes plots (the contract between the two)."""
    d = tempfile.mkdtemp()
    try:
        r = sh([BIN, "sweep", CL, "--seeds", "1", "--grid", "rules.hebb_da.K=0.03,0.06", *SHORT,
                "--out", os.path.join(d, "sw"), "-j1", "-q"])
        check(r.returncode == 0, f"sweep failed: {r.stderr}")
        idx = os.path.join(d, "sw", "index.csv")
        r = plot([idx])
        check(r.returncode == 0, f"plot of a sweep index: {r.stderr}")
        png_ok(os.path.join(d, "sw", "plots", "sweep.png"), 400, 500)
    finally:
        shutil.rmtree(d)


def case_check_runfile():
    """scripts/check_runfile.py (the tutorial's check): a good file passes; a run that did not
    complete says so; a missing file, a text file and another HDF5 file exit 2 with the path and
    the reason, no traceback."""
    script = os.path.join(SRC, "scripts", "check_runfile.py")
    r = sh(["/usr/bin/python3", script, cat(1)])
    check(r.returncode == 0 and "trials: 12 rows" in r.stdout and "not completed" not in r.stdout,
          f"good file: {r.returncode} {r.stdout} {r.stderr}")
    d = tempfile.mkdtemp()
    try:
        unfinished = os.path.join(d, "unfinished.h5")
        shutil.copy(cat(1), unfinished)
        with h5py.File(unfinished, "r+") as f:
            f["meta"].attrs["completed"] = np.uint8(0)
        r = sh(["/usr/bin/python3", script, unfinished])
        check(r.returncode == 0 and "not completed" in r.stdout, f"unfinished: {r.stdout}")
        txt, other = not_run_files(d)
        for path, reason in [(os.path.join(d, "missing.h5"), "no such file"),
                             (txt, "not an HDF5 file"), (other, "not a spikeblox run file"),
                             (d, "is a directory")]:
            r = sh(["/usr/bin/python3", script, path])
            check(r.returncode == 2 and path in r.stderr and reason in r.stderr and
                  "Traceback" not in r.stderr, f"{path}: {r.returncode} {r.stderr!r}")
    finally:
        shutil.rmtree(d)


# ---- the loader --------------------------------------------------------------------------------

def case_load_run():
    """load_run's DataFrames hold exactly what the file holds."""
    from analysis import load_run
    run = load_run(cat(1))
    with h5py.File(cat(1), "r", libver="latest", swmr=True) as f:
        t = f["trials"][()]
        check(len(run.trials) == 12 and list(run.trials.columns) == list(t.dtype.names),
              "trials columns / rows")
        for c in t.dtype.names:
            check(np.array_equal(run.trials[c].to_numpy(), t[c], equal_nan=True), f"trials.{c}")
        n_spikes = sum(f[f"spikes/{p}/timestamps"].shape[0] for p in f["spikes"])
        check(len(run.spikes) == n_spikes, "spike count")
        check(list(run.spikes.columns) == ["timestamps", "node_ids", "population"],
              "spike columns (bmtk's names)")
        check(run.spikes["node_ids"].dtype == np.int64, "node ids as int64")
        ac = run.spikes[run.spikes["population"] == "AC"]
        check(np.array_equal(ac["timestamps"].to_numpy(), f["spikes/AC/timestamps"][()]), "AC times")
        edges = list(f["weights"])
        check(run.plastic_edges == sorted(edges), "plastic edges")
        total = sum(f[f"weights/{e}/values"].size for e in edges)
        check(len(run.weights) == total, f"weights rows {len(run.weights)} != {total}")
        e0 = edges[0]
        w = run.weights[run.weights["edge"] == e0]
        piv = w.pivot(index="after_trial", columns="edge_index", values="weight")
        check(np.array_equal(piv.to_numpy(), f[f"weights/{e0}/values"][()]), "weight values")
        check(list(piv.index) == list(f[f"weights/{e0}/after_trial"][()]), "after_trial")
        check(np.array_equal(w["source"].to_numpy()[:piv.shape[1]],
                             f[f"edges/{e0}/source_node_id"][()].astype(np.int64)), "sources")
        check(int(run.meta["seed"]) == 1 and run.meta["format"] == "spikeblox-run/1", "meta")
        check("circuit_toml" in run.meta and "[blocks.VAC]" in run.meta["circuit_toml"],
              "meta circuit_toml as text")
        check(run.episodes.empty, "no episodes in a category run")
        before, after = run.adjacency()
        check(before.shape == after.shape == f["adjacency/before"].shape, "adjacency shape")
        check(len(run.edges) == sum(f[f"edges/{e}/source_node_id"].shape[0] for e in f["edges"]),
              "edges rows")
    e = error_of(KeyError, lambda: run.weight_snapshots("VAC->ACC"),
                 "weight_snapshots of an unknown edge")
    check("VAC->ACC" in e and "VAC->AC)" in e, f"error names the plastic edges: {e}")
    plain = load_run(PLAIN)
    check(plain.trials.empty and not plain.has_trials and plain.weights.empty, "plain run tables")
    tr = plain.trace(plain.reports[0])
    with h5py.File(PLAIN, "r", libver="latest", swmr=True) as f:
        g = f[f"report/{plain.reports[0]}"]
        check(np.array_equal(tr.to_numpy(), g["data"][()]), "trace data")
        t0, _, step = g["mapping/time"][()]
        check(np.allclose(tr.index.to_numpy(), t0 + step * np.arange(len(tr))), "trace times")
    # A completed plain run lasts run.duration (demo_lif.toml: 1000 ms), not its last spike.
    check(plain.duration == 1000.0, f"plain run duration {plain.duration}")
    e = error_of(KeyError, lambda: plain.trace("no_such_block"), "trace() of an unrecorded name")
    check("no trace 'no_such_block'" in e and plain.reports[0] in e,
          f"trace() error names the recorded traces: {e}")


def case_load_killed_run():
    """A run killed with SIGKILL mid-run loads (SWMR, no h5clear) with every finished trial, and
    plots; the same holds while it is still being written."""
    import signal
    import time
    from analysis import load_run
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "killed.h5")
        p = subprocess.Popen([BIN, "run", CL, *SHORT[:1], "experiment.n_trials=400", *SHORT[2:],
                              "--out", path, "-q"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        live = None
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None:
            time.sleep(0.2)
            try:
                n = len(load_run(path).trials)  # read while the writer is running
            except Exception:  # the file may not exist yet, or be between creation and start()
                continue
            if n >= 3:
                live = n
                break
        p.send_signal(signal.SIGKILL)
        p.wait()
        check(live is not None, "the run never reached 3 trials (or a live read failed)")
        run = load_run(path)
        n = len(run.trials)
        check(live <= n < 400, f"{n} trials after the kill ({live} seen live)")
        check(list(run.trials["trial"]) == list(range(n)), "trial rows 0..n-1, none half-written")
        check(int(run.meta["completed"]) == 0, "a killed run is not marked completed")
        w = run.weights
        for edge in run.plastic_edges:
            after = sorted(w.loc[w["edge"] == edge, "after_trial"].unique())
            check(after[0] == -1 and after[-1] in (n - 1, n) and len(after) == after[-1] + 2,
                  f"{edge}: snapshots {after[:3]}...{after[-2:]} for {n} trials")
        r = plot([path, "--out", os.path.join(d, "o"), "--what", "learning_curve,weight_matrix"])
        check(r.returncode == 0, f"plot of the killed run: {r.stderr}")
        # ... and says how far the file goes; load_run says it too.
        check(f"not completed" in r.stderr and f"{n} of 400 trials" in r.stderr,
              f"plot of a killed run should say it is incomplete: {r.stderr!r}")
        check(not run.completed and "not completed" in repr(run), f"repr {run!r}")
        r = plot([cat(1), "--out", os.path.join(d, "c"), "--what", "learning_curve"])
        check(r.returncode == 0 and "note:" not in r.stderr and load_run(cat(1)).completed,
              f"a complete run gets no note: {r.stderr!r}")
        png_ok(os.path.join(d, "o", "learning_curve.png"))
        # /adjacency/after is only written at the end: the matrix shows the initial weights.
        png_ok(os.path.join(d, "o", "weight_matrix.png"), 300, 250)
    finally:
        shutil.rmtree(d)


def case_rates_numbers():
    """Population rates: per trial and per bin equal a direct count of the spikes."""
    from analysis import load_run, plots
    run = load_run(cat(1))
    r = plots.rates_per_trial(run)
    t = run.trials.iloc[3]
    sp = run.spikes
    n = run.node_counts["VAC"]
    cnt = ((sp["population"] == "VAC") & (sp["timestamps"] >= t["start_time"])
           & (sp["timestamps"] < t["stop_time"])).sum()
    expect = cnt / n / ((t["stop_time"] - t["start_time"]) / 1000.0)
    check(abs(r.loc[t["trial"], "VAC"] - expect) < 1e-9, f"rate per trial {r.loc[t['trial'], 'VAC']} != {expect}")
    check(cnt > 0, "VAC spikes in trial 3")
    plain = load_run(PLAIN)
    b = plots.rates_binned(plain, 50.0)
    e = plain.spikes[(plain.spikes["population"] == "E") & (plain.spikes["timestamps"] >= 100.0)
                     & (plain.spikes["timestamps"] < 150.0)]
    check(abs(b.loc[100.0, "E"] - len(e) / plain.node_counts["E"] / 0.05) < 1e-9, "binned rate")
    m = plots.moving_accuracy([1, 0, 1, 1, 0], 2)
    check(np.allclose(m, [1.0, 0.5, 0.5, 1.0, 0.5]), f"moving accuracy {m}")


# ---- SONATA ------------------------------------------------------------------------------------

def _enum_ok(attr_id):
    return h5py.check_enum_dtype(attr_id.dtype) == {"none": 0, "by_id": 1, "by_time": 2}


def _vlen_utf8(attrs, name, value):
    aid = attrs.get_id(name)
    info = h5py.check_string_dtype(aid.dtype)
    return info is not None and info.encoding == "utf-8" and info.length is None and \
        attrs[name] == value


def case_sonata_layout():
    """The SONATA parts of real run files have the exact names, dtypes and attributes of the
    spike file and frame report specs (ecosystem.md §1.1-1.3), with bmtk's and libsonata's
    compatibility requirements (index_pointer link, element_pos, units)."""
    for path in (PLAIN, cat(1)):
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            magic = f.attrs.get_id("magic")
            check(magic.dtype == np.dtype("<u4") and magic.shape == () and
                  int(f.attrs["magic"]) == 0x0A7A, f"{path}: @magic")
            version = f.attrs.get_id("version")
            check(version.dtype == np.dtype("<u4") and version.shape == (2,) and
                  list(f.attrs["version"]) == [0, 1], f"{path}: @version")
            nodes = f["nodes"]
            for pop in f["spikes"]:
                g = f[f"spikes/{pop}"]
                check(set(g.keys()) == {"timestamps", "node_ids"}, f"spikes/{pop} members")
                check(_enum_ok(g.attrs.get_id("sorting")) and
                      g.attrs.get_id("sorting").dtype.base == np.dtype("u1"),
                      f"spikes/{pop}@sorting must be the u8 enum")
                check(int(g.attrs["sorting"]) == 2, f"spikes/{pop}@sorting = by_time")
                ts, ids = g["timestamps"], g["node_ids"]
                check(ts.dtype == np.dtype("<f8") and ts.ndim == 1, f"spikes/{pop}/timestamps f64")
                check(ids.dtype == np.dtype("<u8") and ids.ndim == 1, f"spikes/{pop}/node_ids u64")
                check(ts.shape == ids.shape, f"spikes/{pop}: equal lengths")
                check(_vlen_utf8(ts.attrs, "units", "ms"), f"spikes/{pop}/timestamps@units")
                t = ts[()]
                check(bool(np.all(np.diff(t) >= 0)), f"spikes/{pop} sorted by time")
                check(pop in nodes, f"spikes/{pop} has a node population")
                n = nodes[pop]["node_type_id"].shape[0]
                check(ids.size == 0 or int(ids[()].max()) < n, f"spikes/{pop}: ids < {n}")
            for pop in nodes:
                for k in ("node_type_id", "node_group_id", "node_group_index"):
                    check(nodes[pop][k].dtype == np.dtype("<i8"), f"nodes/{pop}/{k} int64")
            for e in f.get("edges", {}):
                g = f[f"edges/{e}"]
                for k in ("source_node_id", "target_node_id"):
                    check(g[k].dtype == np.dtype("<u8"), f"edges/{e}/{k} u64")
                    pop = _text(g[k].attrs["node_population"])
                    check(pop in nodes,
                          f"edges/{e}/{k}@node_population {pop!r} names no node population")
                    if pop in nodes:
                        n = nodes[pop]["node_type_id"].shape[0]
                        ids = g[k][()]
                        check(ids.size == 0 or int(ids.max()) < n, f"edges/{e}/{k}: ids < {n}")
            for name in f.get("report", {}):
                g = f[f"report/{name}"]
                m = g["mapping"]
                data = g["data"]
                k = m["node_ids"].shape[0]
                check(data.dtype == np.dtype("<f4") and data.ndim == 2 and data.shape[1] == k,
                      f"report/{name}/data f32 [T x K]")
                check(_vlen_utf8(data.attrs, "units", "mV"), f"report/{name}/data@units")
                check(m["node_ids"].dtype == np.dtype("<u8"), "mapping/node_ids u64")
                ip = m["index_pointers"]
                check(ip.dtype == np.dtype("<u8") and ip.shape == (k + 1,),
                      "mapping/index_pointers u64 [K+1] (libsonata)")
                check(list(ip[()]) == list(range(k + 1)), "one element per node")
                check(h5py.h5o.get_info(m["index_pointer"].id).addr ==
                      h5py.h5o.get_info(ip.id).addr, "index_pointer is a hard link (bmtk 1.0.6)")
                check(m["element_ids"].dtype == np.dtype("<u4") and m["element_ids"].shape == (k,),
                      "mapping/element_ids u32 [K]")
                check(m["element_pos"].dtype == np.dtype("<f4") and m["element_pos"].shape == (k,),
                      "mapping/element_pos f32 [K]")
                tm = m["time"]
                check(tm.dtype == np.dtype("<f8") and tm.shape == (3,), "mapping/time f64[3]")
                check(_vlen_utf8(tm.attrs, "units", "ms"), "mapping/time@units")
                start, stop, step = tm[()]
                check(step > 0 and stop > start and
                      round((stop - start) / step) == data.shape[0],
                      f"time grid {start, stop, step} vs {data.shape[0]} frames")


def _text(x):
    return x.decode() if isinstance(x, bytes) else x


def case_sonata_bmtk():
    """Debian's bmtk (python3-bmtk 1.0.6) reads the spikes and the report of a run file and gets
    the same numbers as h5py."""
    try:
        from bmtk.utils.reports.compartment import CompartmentReport
        from bmtk.utils.reports.spike_trains import SpikeTrains
    except ImportError as e:
        print(f"SKIP: bmtk not importable ({e}); scripts/install-deps.sh installs python3-bmtk")
        sys.exit(77)
    from analysis import load_run
    for path in (PLAIN, cat(1)):
        st = SpikeTrains.load(path)
        df = st.to_dataframe()
        ours = load_run(path).spikes
        check(len(df) == len(ours), f"{path}: bmtk sees {len(df)} spikes, h5py {len(ours)}")
        for pop in ours["population"].unique():
            a = np.sort(df.loc[df["population"] == pop, "timestamps"].to_numpy())
            b = np.sort(ours.loc[ours["population"] == pop, "timestamps"].to_numpy())
            check(np.array_equal(a, b), f"{path}: spike times of {pop}")
    rep = CompartmentReport(PLAIN, mode="r")
    run = load_run(PLAIN)
    pop = run.reports[0]
    check(rep.populations == [pop], f"bmtk report populations {rep.populations}")
    tr = run.trace(pop)
    check(np.array_equal(np.asarray(rep.data(population=pop)), tr.to_numpy()), "bmtk report data")
    check(list(rep.node_ids(population=pop)) == list(tr.columns), "bmtk report node ids")
    check(abs(rep.dt(population=pop) - (tr.index[1] - tr.index[0])) < 1e-12, "bmtk report dt")


# ---- graph -------------------------------------------------------------------------------------

def case_graph_cli():
    """`spikeblox graph` writes DOT that Graphviz accepts; bad TOML gives positioned errors."""
    d = tempfile.mkdtemp()
    try:
        dot_file = os.path.join(d, "c.dot")
        r = sh([BIN, "graph", CL, "--out", dot_file])
        check(r.returncode == 0, f"graph failed: {r.stderr}")
        text = open(dot_file).read()
        check(text.startswith("digraph"), "DOT digraph")
        r2 = sh([BIN, "graph", CL])
        check(r2.returncode == 0 and r2.stdout == text, "stdout output equals --out output")
        if shutil.which("dot"):
            r = sh(["dot", "-Tsvg", dot_file, "-o", os.path.join(d, "c.svg")])
            check(r.returncode == 0 and not r.stderr.strip(), f"dot rejects the file: {r.stderr}")
            svg = open(os.path.join(d, "c.svg")).read()
            for block in ("VAC", "AC", "STR1", "STR2", "SNc", "policy", "hebb_da"):
                check(block in svg, f"{block} missing from the rendered graph")
        else:
            print("note: graphviz (dot) not installed; DOT syntax not checked by dot")
        bad = os.path.join(d, "bad.toml")
        with open(CL) as f:
            src = f.read()
        with open(bad, "w") as f:
            f.write(src.replace("n_wta = 4", "n_wtaa = 4"))
        out = os.path.join(d, "bad.dot")
        r = sh([BIN, "graph", bad, "--out", out])
        check(r.returncode == 2, f"bad TOML: exit {r.returncode}")
        import re
        check(re.search(r"bad\.toml:\d+:\d+: error: 'blocks\.VAC\.n_wtaa'", r.stderr) is not None,
              f"positioned error expected: {r.stderr}")
        check(not os.path.exists(out), "a DOT file was written for a bad circuit")
    finally:
        shutil.rmtree(d)


# ---- tutorial ----------------------------------------------------------------------------------

def case_tutorial():
    """Every fenced shell block of docs/tutorial.md runs (in order, in one temporary folder, with
    `spikeblox` meaning this build's binary); the files the tutorial says it writes exist."""
    import re
    text = open(os.path.join(SRC, "docs", "tutorial.md")).read()
    blocks = re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", text, flags=re.S | re.M)
    check(len(blocks) >= 5, f"only {len(blocks)} shell blocks in the tutorial")
    d = tempfile.mkdtemp()
    try:
        bindir = os.path.join(d, ".bin")
        os.makedirs(bindir)
        os.symlink(BIN, os.path.join(bindir, "spikeblox"))
        # What the tutorial's setup section asks the reader to export.
        outputs = []
        env = {"PATH": bindir + ":" + os.environ["PATH"], "SPIKEBLOX": SRC, "PYTHONPATH": SRC}
        for i, b in enumerate(blocks):
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", b], cwd=d, capture_output=True,
                               text=True, env={**os.environ, **env}, timeout=120)
            check(r.returncode == 0,
                  f"tutorial block {i + 1} failed ({r.returncode}):\n{b}\nstdout:\n{r.stdout}\n"
                  f"stderr:\n{r.stderr}")
            outputs.append(r.stdout + r.stderr)
        for f in ["runs/ei_7.h5", "figs/raster.png", "figs/rates.png", "figs/traces.png",
                  "cl_figs/learning_curve.png", "cl_figs/cl_1/weight_matrix.png",
                  "cl_figs/cl_2/dopamine_rpe.png", "summary.png", "ei.dot", "runs/rstdp.h5"]:
            check(os.path.isfile(os.path.join(d, f)), f"the tutorial should have written {f}")
        # The output the tutorial shows for `check` is what the commands print.
        shown = re.search(r"prints\n\n```text\n(.*?)```", text, flags=re.S).group(1)
        for line in shown.strip().splitlines():
            line = line.replace(" ...", "")
            check(any(line in o for o in outputs), f"tutorial shows {line!r}, not printed")
    finally:
        shutil.rmtree(d)


MODULATED = """
[meta]
name = "modulated"
seed = 5
[run]
duration = 3000.0
[blocks.In]
type = "poisson_source"
n = 50
rate = 20.0
[blocks.Out]
type = "population"
model = "lif_cuba"
n = 10
[blocks.VTA]
type = "poisson_source"
n = 5
rate = 8.0
[blocks.DA]
type = "modulator"
modulator = "dopamine"
source = "VTA"
per_spike = 0.05
pulse_times = [1000.0, 2000.0]
pulse_amount = 0.5
[[connections]]
from = "In"
to = "Out"
rule = "bernoulli"
density = 0.5
weight = 2.0
learning = { type = "rstdp" }
"""


def case_modulator_log():
    """A plain run logs the modulator its rules read (/modulators/<name>); run.modulator(name,
    times) gives the same values as the sum of the decayed pulses of the recorded VTA spikes and
    the schedule, computed here independently."""
    import analysis
    d = tempfile.mkdtemp()
    try:
        toml = os.path.join(d, "m.toml")
        with open(toml, "w") as f:
            f.write(MODULATED)
        out = os.path.join(d, "m.h5")
        r = sh([BIN, "run", toml, "--out", out, "-q"])
        check(r.returncode == 0, f"run failed: {r.stderr}")
        run = analysis.load_run(out)
        check(run.modulators == ["dopamine"], f"modulators: {run.modulators}")
        log = run.modulator("dopamine")
        check(log.attrs["baseline"] == 0.002 and log.attrs["tau_ms"] == 200.0, f"attrs {log.attrs}")
        check(log["time"].iloc[0] == 0.0 and log["value"].iloc[0] == 0.002,
              f"first row {log.iloc[0].to_dict()}")
        vta = run.spikes[run.spikes["population"] == "VTA"]["timestamps"].to_numpy()
        check(len(vta) > 50, f"only {len(vta)} VTA spikes")
        check(len(log) == 1 + len(np.unique(vta)) + 2, f"{len(log)} rows for {len(vta)} spikes")
        times = np.linspace(0.0, 2999.0, 777)
        expected = np.full(times.shape, 0.002)
        # A Poisson (event-driven) spike inside a 0.1-ms step pulses at the step's end.
        ticks = np.rint(vta / 0.001).astype(np.int64)
        for at in -(-ticks // 100) * 100 * 0.001:
            expected += np.where(times >= at, 0.05 * np.exp(-(times - at) / 200.0), 0.0)
        for p_ in (1000.0, 2000.0):
            expected += np.where(times >= p_, 0.5 * np.exp(-(times - p_) / 200.0), 0.0)
        got = run.modulator("dopamine", times)
        check(np.allclose(got, expected, rtol=1e-9, atol=1e-12),
              f"max difference {np.max(np.abs(got - expected))}")
        check(np.isnan(run.modulator("dopamine", [-1.0])[0]), "a time before the log is not NaN")
        e = error_of(KeyError, lambda: run.modulator("serotonin"), "an unknown modulator")
        check("dopamine" in e, f"KeyError does not name the logged ones: {e}")
    finally:
        shutil.rmtree(d)


# ---- damaged and malformed run files -----------------------------------------------------------

def damage_object_header(path, name):
    """Inverts 16 bytes in the middle of the messages of the object header of `name` (HDF5
    version-2 header, the latest format run files use), leaving its prefix (and so the length
    HDF5 reads) intact: the header's checksum then fails whenever HDF5 loads it."""
    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        addr = h5py.h5o.get_info(f[name].id).addr
    with open(path, "r+b") as fh:
        fh.seek(addr)
        head = fh.read(64)
        check(head[:4] == b"OHDR", f"{path}: {name} has no version-2 object header")
        flags = head[5]
        pos = 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)  # times, phase change
        width = 1 << (flags & 3)
        size = int.from_bytes(head[pos:pos + width], "little")  # of chunk 0's messages
        check(size >= 32, f"{path}: {name}: object header of {size} bytes")
        at = addr + pos + width + size // 2 - 8
        fh.seek(at)
        b = fh.read(16)
        fh.seek(at)
        fh.write(bytes(x ^ 0xFF for x in b))


def killed_run(path):
    """A category run killed (SIGKILL) after its first trial rows: its file is still marked open
    for SWMR writing, so it opens in SWMR read mode only."""
    import signal
    import time
    from analysis import load_run
    p = subprocess.Popen([BIN, "run", CL, *SHORT[:1], "experiment.n_trials=400", *SHORT[2:],
                          "--out", path, "-q"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    n = 0
    deadline = time.time() + 120
    while n == 0 and time.time() < deadline and p.poll() is None:
        time.sleep(0.1)
        try:
            n = len(load_run(path).trials)
        except Exception:  # not there yet, or between creation and start()
            pass
    p.send_signal(signal.SIGKILL)
    p.wait()
    check(n > 0, "the run to kill never wrote a trial row")
    r = sh(["/usr/bin/python3", "-c", "import h5py, sys; h5py.File(sys.argv[1], 'r')", path])
    check(r.returncode != 0 and "already open for write" in r.stderr,
          f"the killed run's file opens without SWMR: {r.stderr}")


def case_plot_damaged_metadata():
    """A run file with damaged metadata (a bad object-header checksum), completed or left by a
    killed run (SWMR read mode, where HDF5 retries a failed checksum with a doubling back-off:
    100 attempts by default, never ending), is refused within seconds: exit 2, one line naming
    the file and the object, no traceback. A hang is killed after 60 s and fails the case."""
    import time
    d = tempfile.mkdtemp()
    try:
        done = os.path.join(d, "done.h5")
        shutil.copy(cat(1), done)
        killed = os.path.join(d, "killed.h5")
        killed_run(killed)
        for path in (done, killed):
            damage_object_header(path, "meta")
            t0 = time.time()
            r = plot([path, "--out", os.path.join(d, "o")], timeout=60)
            took = time.time() - t0
            check(r.returncode == 2 and path in r.stderr and "/meta" in r.stderr and
                  "checksum" in r.stderr and "Traceback" not in r.stderr,
                  f"{path}: exit {r.returncode}, expected 2 and the file and /meta: {r.stderr!r}")
            check(took < 20, f"{path}: refused only after {took:.1f} s")
            check(len(r.stderr.strip().splitlines()) == 1, f"{path}: message {r.stderr!r}")
        check(not os.path.exists(os.path.join(d, "o")), "an output folder for a damaged file")
    finally:
        shutil.rmtree(d)


def damage_compressed_chunk(path):
    """Inverts 16 bytes in the middle of the largest deflated chunk of the file. Returns the
    dataset's name."""
    best = None
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            nonlocal best
            if not (isinstance(obj, h5py.Dataset) and obj.compression == "gzip"):
                return
            raw = obj.dtype.itemsize * int(np.prod(obj.chunks))
            for i in range(obj.id.get_num_chunks()):
                c = obj.id.get_chunk_info(i)
                # Filtered (mask 0) and of another size than the raw chunk: deflated.
                if c.filter_mask == 0 and c.size != raw and (best is None or c.size > best[2]):
                    best = ("/" + name, c.byte_offset, c.size)
        f.visititems(visit)
    check(best is not None, f"{path}: no deflated chunk")
    name, offset, size = best
    with open(path, "r+b") as fh:
        at = offset + size // 2 - 8
        fh.seek(at)
        b = fh.read(16)
        fh.seek(at)
        fh.write(bytes(x ^ 0xFF for x in b))
    return name


def case_plot_malformed_run():
    """Run files whose tables are not what the package reads get exit 2 and one line naming the
    file and the dataset (and the missing field), no traceback: /trials replaced by an integer
    array, /trials without stop_time, and a corrupted deflated chunk (inflate() fails)."""
    d = tempfile.mkdtemp()
    try:
        cases = []
        ints = os.path.join(d, "ints.h5")
        shutil.copy(cat(1), ints)
        with h5py.File(ints, "r+") as f:
            del f["trials"]
            f["trials"] = [1, 2, 3]
        cases.append((ints, ["/trials", "stop_time"]))
        no_stop = os.path.join(d, "no_stop.h5")
        shutil.copy(cat(1), no_stop)
        with h5py.File(no_stop, "r+") as f:
            t = f["trials"][()]
            keep = [c for c in t.dtype.names if c != "stop_time"]
            del f["trials"]
            f["trials"] = t[keep]
        cases.append((no_stop, ["/trials", "stop_time"]))
        chunk = os.path.join(d, "chunk.h5")
        shutil.copy(cat(1), chunk)
        cases.append((chunk, [damage_compressed_chunk(chunk)]))
        for path, names in cases:
            r = plot([path, "--out", os.path.join(d, "o")], timeout=120)
            check(r.returncode == 2 and path in r.stderr and
                  all(n in r.stderr for n in names) and "Traceback" not in r.stderr,
                  f"{path}: exit {r.returncode}, expected 2 and {names}: {r.stderr!r}")
            check(len(r.stderr.strip().splitlines()) == 1, f"{path}: message {r.stderr!r}")
        from analysis import NotARunFile, load_run
        e = error_of(NotARunFile, lambda: load_run(ints).trials,
                     "load_run(...).trials of an integer /trials")
        check("/trials" in e, f"NotARunFile should name /trials: {e}")
    finally:
        shutil.rmtree(d)


# ---- files that crash or hang HDF5 itself; partial and interrupted plots ----------------------

def heap_holding(data, text):
    """Offset in the file bytes `data` of the HDF5 global heap collection (signature GCOL,
    version 1, its size at bytes 8-15) that holds the bytes `text`: variable-length strings
    (/meta's attribute values, /adjacency/node_names) live there."""
    i = data.find(b"GCOL")
    while i >= 0:
        size = int.from_bytes(data[i + 8:i + 16], "little")
        if data[i + 4] == 1 and data.find(text, i, i + size) >= 0:
            return i
        i = data.find(b"GCOL", i + 1)
    raise Fail(f"no global heap collection holds {text!r}")


# Damage that HDF5 1.10.8 (Debian 12, h5py 3.7) does not survive: (name, the string whose heap is
# damaged, offset in that heap, bytes written there). Found by overwriting 16 bytes at every
# 16th offset of a fixture run file in forked children (the heaps are at bytes ~2000-6000 and
# ~60000 of a 12-trial category run). The first two crash (SIGSEGV / SIGABRT from free() or
# munmap_chunk(): which, varies from run to run), the third loops forever (100 % CPU), all while
# reading /meta's attributes; the last crashes reading /adjacency/node_names, which only the
# weight-matrix figure reads.
DAMAGE = [("meta_ff132", "format", 132, b"\xff" * 16),
          ("meta_ff52", "format", 52, b"\xff" * 16),
          ("meta_zero116", "format", 116, b"\x00" * 16),
          ("names_ff240", "node_names", 240, b"\xff" * 16)]


def damaged_copy(src, d, recipe):
    """A copy of run file `src` in folder d with the DAMAGE recipe (by name) applied."""
    name, heap_of, offset, new = next(r for r in DAMAGE if r[0] == recipe)
    with h5py.File(src, "r") as f:
        text = (f["meta"].attrs["format"] if heap_of == "format" else
                f["adjacency/node_names"][-1])
    text = text.encode() if isinstance(text, str) else bytes(text)
    data = bytearray(open(src, "rb").read())
    at = heap_holding(data, text) + offset
    data[at:at + len(new)] = new
    path = os.path.join(d, f"{name}.h5")
    with open(path, "wb") as f:
        f.write(data)
    return path


def partial_dirs(d):
    """Leftover temporary folders of `plot` (OUT.partial-XXXXXXXX) in folder d."""
    return sorted(n for n in os.listdir(d) if ".partial-" in n)


def snapshot(folder):
    """{relative path: bytes} of every file under folder ({} if it does not exist)."""
    got = {}
    for root, _dirs, files in os.walk(folder):
        for n in files:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                got[os.path.relpath(p, folder)] = f.read()
    return got


def old_figures(out):
    """An output folder as an earlier plot and the user left it: returns its snapshot."""
    os.makedirs(os.path.join(out, "cat_1"), exist_ok=True)
    for rel, text in [("keep.txt", "the user's notes\n"), ("learning_curve.png", "old figure\n"),
                      ("cat_1/rates.png", "old figure\n")]:
        with open(os.path.join(out, rel), "w") as f:
            f.write(text)
    return snapshot(out)


def case_plot_crashing_metadata():
    """Run files whose metadata crashes HDF5 (SIGSEGV, SIGABRT) or makes it loop forever are
    refused: exit 2 and one line naming the file, within seconds (the metadata is read in a
    forked child first: analysis.io.probe_metadata; SPIKEBLOX_OPEN_TIMEOUT=3 for the hang), no
    output folder. Without the child, `spikeblox plot` died of the signal or hung. A hang is
    killed after 60 s and fails the case."""
    import time
    from analysis import NotARunFile, load_run
    d = tempfile.mkdtemp()
    try:
        out = os.path.join(d, "o")
        kinds = set()
        for recipe, _, _, _ in DAMAGE:
            path = damaged_copy(cat(1), d, recipe)
            t0 = time.time()
            r = plot([path, "--out", out], env={"SPIKEBLOX_OPEN_TIMEOUT": "3"}, timeout=60)
            took = time.time() - t0
            err = r.stderr.strip()
            kind = ("crashed" if "the HDF5 library crashed" in err else
                    "hung" if "the HDF5 library hung" in err else None)
            check(r.returncode == 2 and kind and path in err and "the file is damaged" in err
                  and "Traceback" not in err and len(err.splitlines()) == 1,
                  f"{recipe}: exit {r.returncode}, expected 2 and one line saying HDF5 crashed or "
                  f"hung on {path} (if it says something else, the recipe no longer damages the "
                  f"file as it did: re-derive it): {r.stderr!r}")
            check(took < 30, f"{recipe}: refused only after {took:.1f} s")
            kinds.add(kind)
            check(not os.path.exists(out) and not partial_dirs(d),
                  f"{recipe}: output left: {os.listdir(d)}")
        check(kinds == {"crashed", "hung"}, f"only {kinds} among the recipes")
        # The default limit (30 s) and the Python command alone.
        path = damaged_copy(cat(1), d, "meta_ff132")
        r = sh(["/usr/bin/python3", "-m", "analysis", "plot", path, "--out", out], cwd=SRC,
               timeout=60)
        check(r.returncode == 2 and "the HDF5 library crashed" in r.stderr and path in r.stderr,
              f"python3 -m analysis: exit {r.returncode}: {r.stderr!r}")
        # In this very process: load_run survives and raises.
        e = error_of(NotARunFile, lambda: load_run(path), "load_run of a file that crashes HDF5")
        check("crashed" in e and path in e, f"NotARunFile: {e}")
    finally:
        shutil.rmtree(d)


def case_plot_reader_crash():
    """A crash that the metadata check does not see (here: the check turned off with
    SPIKEBLOX_OPEN_TIMEOUT=0) kills the Python process, not `spikeblox plot`, which forks it and
    waits: one line naming the file(s) and how to check them, exit 2, and the temporary folder
    the figures drawn so far were in is removed (the crash comes at the weight-matrix figure)."""
    import re
    d = tempfile.mkdtemp()
    try:
        off = {"SPIKEBLOX_OPEN_TIMEOUT": "0"}
        meta = damaged_copy(cat(1), d, "meta_ff132")
        names = damaged_copy(cat(1), d, "names_ff240")
        out = os.path.join(d, "o")
        r = sh(["/usr/bin/python3", "-m", "analysis", "plot", names, "--out", out], cwd=SRC,
               env=off, timeout=60)
        check(r.returncode < 0, f"python3 -m analysis survived the damaged file: exit "
                                f"{r.returncode} (the recipe no longer crashes HDF5?) {r.stderr!r}")
        for n in partial_dirs(d):  # Python alone cannot clean up after a crash; spikeblox does
            shutil.rmtree(os.path.join(d, n))
        for path in (meta, names):
            r = plot([path, "--out", out], env=off, timeout=60)
            last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
            want = (rf"spikeblox plot: the HDF5 reader crashed \(SIG[A-Z]+\) while reading "
                    rf"{re.escape(path)}; a damaged file\? Check it with: h5dump -H "
                    rf"{re.escape(path)}")
            check(r.returncode == 2 and re.fullmatch(want, last),
                  f"{path}: exit {r.returncode}, expected 2 and {want}: {r.stderr!r}")
            check(not os.path.exists(out) and not partial_dirs(d),
                  f"{path}: output left: {os.listdir(d)}")
        r = plot([cat(2), names, "--out", out], env=off, timeout=60)
        check(r.returncode == 2 and f"while reading one of {cat(2)}, {names}; a damaged file? "
              f"Check each with: h5dump -H FILE" in r.stderr, f"two files: {r.stderr!r}")
        check(not os.path.exists(out) and not partial_dirs(d), f"output left: {os.listdir(d)}")
    finally:
        shutil.rmtree(d)


def _children(pid):
    """Pids of the processes whose parent is pid (Linux /proc)."""
    kids = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(e))
    return kids


def case_plot_interrupt():
    """SIGINT or SIGTERM sent to `spikeblox plot` while it draws reaches its Python process,
    which throws the figures drawn so far away: exit 130 / 143, one line, the output folder as
    it was (pre-existing files included), no temporary folder. Python stuck inside HDF5 (a file
    that makes it loop, the metadata check off) cannot handle a signal: a second one kills it."""
    import glob
    import signal
    import time
    d = tempfile.mkdtemp()
    try:
        out = os.path.join(d, "o")
        before = old_figures(out)
        runs = [cat(s) for s in SEEDS]
        for cmd, sig, code in [([BIN, "plot"], signal.SIGINT, 130),
                               ([BIN, "plot"], signal.SIGTERM, 143),
                               (["/usr/bin/python3", "-m", "analysis", "plot"], signal.SIGINT,
                                130)]:
            p = subprocess.Popen(cmd + runs + ["--out", out], cwd=SRC, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            deadline = time.time() + 60
            # Some figure drawn: in the temporary folder (or, as before, in the output folder).
            while not (glob.glob(os.path.join(d, "o.partial-*", "**", "*.png"), recursive=True)
                       or set(glob.glob(os.path.join(out, "**", "*.png"), recursive=True)) -
                       {os.path.join(out, rel) for rel in before}):
                if p.poll() is not None:
                    raise Fail(f"{cmd[0]} finished before it could be interrupted: "
                               f"{p.returncode} {p.stderr.read()}")
                if time.time() > deadline:
                    p.kill()
                    raise Fail(f"{cmd[0]}: no figure drawn after 60 s")
                time.sleep(0.05)
            p.send_signal(sig)
            try:
                _, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                raise Fail(f"{cmd[0]}: still running 60 s after {sig.name}") from None
            check(p.returncode == code and f"interrupted ({sig.name})" in err and
                  "Traceback" not in err and len(err.strip().splitlines()) == 1,
                  f"{cmd[0]} {sig.name}: exit {p.returncode}, expected {code}: {err!r}")
            check(snapshot(out) == before, f"{sig.name}: the output folder changed: "
                                           f"{sorted(snapshot(out))}")
            check(not partial_dirs(d), f"{sig.name}: temporary folder left: {os.listdir(d)}")
        # Stuck in HDF5: the first SIGTERM is passed on and cannot be handled, the second kills.
        hang = damaged_copy(cat(1), d, "meta_zero116")
        p = subprocess.Popen([BIN, "plot", hang, "--out", out], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "SPIKEBLOX_OPEN_TIMEOUT": "0"})
        try:
            deadline = time.time() + 60
            child = None
            while child is None:  # the Python process has the damaged file open: it is stuck
                check(p.poll() is None and time.time() < deadline,
                      f"the plot of {hang} ended ({p.returncode}) or never opened the file")
                for c in _children(p.pid):
                    with contextlib.suppress(OSError):
                        if any(os.readlink(f"/proc/{c}/fd/{fd}") == hang
                               for fd in os.listdir(f"/proc/{c}/fd")):
                            child = c
                time.sleep(0.05)
            time.sleep(0.5)
            p.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            if p.poll() is not None:
                raise Fail(f"the stuck plot ended at the first SIGTERM ({p.returncode}): "
                           f"{p.stderr.read()!r}")
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            raise Fail("the stuck plot still runs 20 s after a second SIGTERM") from None
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        check(p.returncode == 143 and "interrupted (SIGTERM twice)" in err,
              f"second SIGTERM: exit {p.returncode}: {err!r}")
        check(not os.path.exists(f"/proc/{child}"), "the stuck Python process is still there")
        check(snapshot(out) == before and not partial_dirs(d), "output changed")
    finally:
        shutil.rmtree(d)


def case_plot_partial_failure():
    """A plot that fails after some figures were drawn (the second of two run files has a
    corrupted compressed chunk; a single run whose weight snapshots are corrupted, after four
    figures) writes nothing: the output folder stays exactly as it was (its files and an earlier
    plot's figures untouched, or not created at all) and no temporary folder is left. A plot that
    succeeds replaces the earlier figures and keeps the other files."""
    import stat
    d = tempfile.mkdtemp()
    try:
        chunk = os.path.join(d, "chunk.h5")
        shutil.copy(cat(2), chunk)
        damaged = damage_compressed_chunk(chunk)
        out = os.path.join(d, "o")
        before = old_figures(out)
        r = plot([cat(1), chunk, "--out", out], timeout=120)
        check(r.returncode == 2 and chunk in r.stderr and damaged in r.stderr and
              len(r.stderr.strip().splitlines()) == 1, f"exit {r.returncode}: {r.stderr!r}")
        check(snapshot(out) == before,
              f"the failed plot changed the output folder: {sorted(snapshot(out))}")
        check(not partial_dirs(d), f"temporary folder left: {os.listdir(d)}")
        # One run: four figures are drawn before the weight trajectories fail; no --out folder.
        fresh = os.path.join(d, "new", "figs")
        r = plot([chunk, "--out", fresh], timeout=120)
        check(r.returncode == 2 and damaged in r.stderr, f"one run: {r.returncode} {r.stderr!r}")
        check(not os.path.exists(os.path.join(d, "new")) and not partial_dirs(d),
              f"one run: output left: {os.listdir(d)}")
        # Success: figures in place, earlier ones replaced, the user's file kept, nothing left.
        r = plot([cat(1), cat(2), "--out", out, "--what", "learning_curve,rates"], timeout=120)
        check(r.returncode == 0, f"plot failed: {r.stderr}")
        after = snapshot(out)
        check(after["keep.txt"] == before["keep.txt"], "the user's file changed")
        for rel in ("learning_curve.png", "cat_1/rates.png", "cat_2/learning_curve.png"):
            check(after.get(rel, b"").startswith(b"\x89PNG"), f"{rel} not a new figure")
            check(os.path.join(out, rel) in r.stdout.split(), f"{rel} not reported")
        check(not partial_dirs(d), f"temporary folder left: {os.listdir(d)}")
        # A new output folder (with parents) gets the usual permissions, not mkdtemp's 0700.
        r = plot([PLAIN, "--out", fresh, "--what", "rates"], timeout=120)
        check(r.returncode == 0 and sorted(snapshot(fresh)) == ["rates.png"],
              f"new folder: {r.returncode} {r.stderr}")
        mask = os.umask(0)
        os.umask(mask)
        mode = stat.S_IMODE(os.stat(fresh).st_mode)
        check(mode == 0o777 & ~mask, f"{fresh}: mode {oct(mode)}")
        check(not partial_dirs(os.path.dirname(fresh)) and not partial_dirs(d),
              "temporary folder left")
    finally:
        shutil.rmtree(d)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}

if __name__ == "__main__":
    if CASE not in CASES:
        print(f"unknown case {CASE}; cases: {', '.join(CASES)}")
        sys.exit(1)
    try:
        CASES[CASE]()
    except Fail as e:
        print(f"FAIL: {e}")
        sys.exit(1)
    print("ok")
