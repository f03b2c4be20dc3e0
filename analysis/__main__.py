"""python3 -m analysis plot RUN.h5 [RUN2.h5 ...] [--out DIR] [--window N] [--what a,b,...]
python3 -m analysis plot INDEX.csv [--out DIR]

Writes PNG figures (see analysis/plots.py) and prints one line per file written.
Several run files: a combined learning curve (per-seed lines, mean ± s.e.m.) in DIR and every
run's own figures in DIR/<run name>/. A sweep's index.csv: DIR/sweep.png.
Default DIR: <run>_plots next to a single run file; otherwise plots/ next to the first input.
Exit status: 0 written, 2 bad input (missing file, not a run file or sweep index), 1 missing
Python modules or another failure.
"""
import argparse
import os
import sys

import analysis

RUN_FIGURES = ["learning_curve", "raster", "dopamine_rpe", "weight_matrix", "weight_trajectories",
               "rates", "traces", "synapses", "episodes", "steps"]


def _default_out(paths):
    first = os.path.abspath(paths[0])
    if len(paths) == 1 and not first.endswith(".csv"):
        return os.path.splitext(first)[0] + "_plots"
    return os.path.join(os.path.dirname(first), "plots")


class CannotWrite(Exception):
    """The figures cannot be written (--out names a file, or an unwritable folder)."""


def _mkdir(out):
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise CannotWrite(f"cannot create the output folder: {e}") from e


def _save(fig, path, written):
    try:
        fig.savefig(path, dpi=110)
    except OSError as e:
        raise CannotWrite(f"cannot write {path}: {e}") from e
    import matplotlib.pyplot as plt
    plt.close(fig)
    written.append(path)


def has_choices(run):
    """The run's trials hold choices (some action >= 1), so accuracy means something. Open-loop
    experiments (cortical_hebbian.toml: no policy) write action 0 and correct 0 on every trial;
    the same rule as the sweep's accuracy figures (apps/sweep.cpp)."""
    t = run.trials
    return run.has_trials and len(t) > 0 and "action" in t and bool((t["action"] >= 1).any())


def has_dopamine(run):
    """Some trial has a dopamine or RPE value (open-loop runs write NaN)."""
    t = run.trials
    return run.has_trials and len(t) > 0 and any(
        c in t and bool(t[c].notna().any()) for c in ("dopamine", "rpe"))


def plot_run(run, out, what, window, written):
    """Writes every figure in `what` that applies to this run into directory `out`."""
    import matplotlib.pyplot as plt
    from analysis import plots

    _mkdir(out)
    has_trials = run.has_trials and len(run.trials) > 0
    if "learning_curve" in what and has_choices(run):
        fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
        plots.learning_curve([run], ax, window=window)
        _save(fig, os.path.join(out, "learning_curve.png"), written)
    if "raster" in what and (len(run.spikes) or run.populations):
        if has_trials and len(run.trials) > 6:
            # A whole 400-trial raster is a solid smear: show the first and the last 3 trials.
            t = run.trials
            fig, axes = plt.subplots(1, 2, figsize=(14, 5), constrained_layout=True)
            plots.raster(run, axes[0], t["start_time"].iloc[0], t["stop_time"].iloc[2])
            plots.raster(run, axes[1], t["start_time"].iloc[-3], t["stop_time"].iloc[-1])
            axes[0].set_title("first 3 trials; " + axes[0].get_title(), fontsize=9)
            axes[1].set_title("last 3 trials; " + axes[1].get_title(), fontsize=9)
        else:
            fig, ax = plt.subplots(figsize=(10, 5), constrained_layout=True)
            plots.raster(run, ax)
        _save(fig, os.path.join(out, "raster.png"), written)
    if "dopamine_rpe" in what and has_dopamine(run):
        fig, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True, constrained_layout=True)
        plots.dopamine_rpe(run, axes)
        _save(fig, os.path.join(out, "dopamine_rpe.png"), written)
    if "weight_matrix" in what and run.adjacency() is not None:
        axes = plots.weight_matrix(run)
        _save(axes[0].figure, os.path.join(out, "weight_matrix.png"), written)
    if "weight_trajectories" in what and run.plastic_edges:
        axes = plots.weight_trajectories(run)
        _save(axes[0].figure, os.path.join(out, "weight_trajectories.png"), written)
    if "rates" in what and run.populations:
        fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
        plots.rates(run, ax)
        _save(fig, os.path.join(out, "rates.png"), written)
    if "traces" in what and run.reports:
        axes = plots.traces(run)
        _save(axes[0].figure, os.path.join(out, "traces.png"), written)
    if "synapses" in what and run.synapse_probes:
        axes = plots.synapses(run)
        _save(axes[0][0].figure, os.path.join(out, "synapses.png"), written)
    if "episodes" in what and run.has_episodes and len(run.episodes):
        fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
        e = run.episodes
        ax.plot(e["episode"] + 1, e["return"], ".", color="0.5", label="return")
        ax.plot(e["episode"] + 1, e["return"].rolling(window, min_periods=1).mean(), color="C0",
                lw=2, label=f"moving average ({window})")
        ax.set_xlabel("episode")
        ax.set_ylabel("return")
        ax.legend(fontsize=7)
        _save(fig, os.path.join(out, "episodes.png"), written)
    if "steps" in what and run.has_steps and len(run.steps):
        axes = plots.steps(run, window=window)
        _save(axes[0].figure, os.path.join(out, "steps.png"), written)


def cmd_plot(args):
    out = args.out or _default_out(args.files)
    what = set(args.what.split(",")) if args.what else set(RUN_FIGURES)
    unknown = what - set(RUN_FIGURES)
    if unknown:
        raise analysis.NotARunFile(f"--what: unknown figure(s) {', '.join(sorted(unknown))} "
                                   f"(figures: {', '.join(RUN_FIGURES)})")
    written = []
    csvs = [p for p in args.files if p.lower().endswith(".csv")]
    if csvs:
        if len(args.files) != 1:
            raise analysis.NotARunFile("give either one sweep index.csv or run files, not both")
        df, keys = analysis.load_sweep_index(csvs[0])
        if not keys:
            raise analysis.NotARunFile(f"{csvs[0]}: the sweep index has no grid-key columns")
        from analysis import plots  # matplotlib is slow to import: only once the input is good
        axes = plots.sweep(df, keys)
        if axes is None:
            raise analysis.NotARunFile(
                f"{csvs[0]}: no complete run with an accuracy figure (the acc_* columns come from "
                f"the choices in /trials; sweeps of episode or plain runs have none): plot the "
                f"run files instead, e.g. spikeblox plot {os.path.join(os.path.dirname(csvs[0]) or '.', '*.h5')}")
        _mkdir(out)
        _save(axes[0][0].figure, os.path.join(out, "sweep.png"), written)
    else:
        runs = [analysis.load_run(p) for p in args.files]  # every file checked before drawing
        for r in runs:
            note = r.incomplete_note()
            if note:
                print(f"note: {r.path}: {note}", file=sys.stderr)
        from analysis import plots
        if len(runs) == 1:
            plot_run(runs[0], out, what, args.window, written)
        else:
            import matplotlib.pyplot as plt
            with_trials = [r for r in runs if has_choices(r)]
            if "learning_curve" in what and with_trials:
                _mkdir(out)
                fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
                plots.learning_curve(with_trials, ax, window=args.window)
                _save(fig, os.path.join(out, "learning_curve.png"), written)
            names = [os.path.splitext(os.path.basename(r.path))[0] for r in runs]
            for i, (r, name) in enumerate(zip(runs, names)):
                if names.count(name) > 1:
                    name = f"{i}_{name}"
                sub = os.path.join(out, name)
                before = len(written)
                plot_run(r, sub, what, args.window, written)
                if len(written) == before:  # no figure applies to this run: no empty folder
                    try:
                        os.rmdir(sub)
                    except OSError:
                        pass  # not empty (files of an earlier plot): leave it
                    print(f"note: {r.path}: no figure applies to this run", file=sys.stderr)
    for p in written:
        print(p)
    if not written:
        raise analysis.NotARunFile("no figure applies to this input" +
                                   (f" (asked for: {', '.join(sorted(what))})" if args.what else ""))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="spikeblox plot" if os.environ.get("SPIKEBLOX_PLOT") else
                                 "python3 -m analysis",
                                 description="Figures of spikeblox run files.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plot", help="write PNG figures of run files or a sweep index.csv")
    p.add_argument("files", nargs="+", metavar="FILE", help="run file(s) .h5, or one index.csv")
    p.add_argument("--out", "-o", help="output directory")
    p.add_argument("--window", type=int, default=20,
                   help="moving-average window in trials (default 20)")
    p.add_argument("--what", help="comma-separated subset of: " + ", ".join(RUN_FIGURES))
    args = ap.parse_args(argv)
    if args.window is not None and args.window < 1:
        ap.error("--window must be >= 1")
    if analysis.MISSING is not None:
        print(f"{ap.prog}: error: " + analysis.missing_message(), file=sys.stderr)
        return 1
    try:
        return cmd_plot(args)
    except analysis.NotARunFile as e:
        print(f"{ap.prog}: error: {e}", file=sys.stderr)
        return 2
    except CannotWrite as e:
        print(f"{ap.prog}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
