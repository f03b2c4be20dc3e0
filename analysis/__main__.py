"""python3 -m analysis plot RUN.h5 [RUN2.h5 ...] [--out DIR] [--window N] [--what a,b,...]
python3 -m analysis plot INDEX.csv [--out DIR]

Writes PNG figures (see analysis/plots.py) and prints one line per file written.
Several run files: a combined learning curve (per-seed lines, mean ± s.e.m.) in DIR and every
run's own figures in DIR/<run name>/. A sweep's index.csv: DIR/sweep.png.
Default DIR: <run>_plots next to a single run file; otherwise plots/ next to the first input.
The figures are drawn into a temporary folder next to DIR (DIR.partial-XXXXXXXX) and moved into
DIR only once all of them are written: a plot that fails or is interrupted (Ctrl-C, SIGTERM)
leaves DIR exactly as it was. Figures of an earlier plot in DIR are replaced, other files kept.
Exit status: 0 written, 2 bad input (missing file, not a run file or sweep index, a damaged file,
an output folder that cannot be written), 1 missing Python modules or another failure, 130 / 143
interrupted by SIGINT / SIGTERM.
"""
import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile

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


# Set by the stop-signal handler that main() installs (_on_stop) and by Staging.commit.
_signals = {"stopping": 0, "committed": False}


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class Staging:
    """The output folder of one plot, written all at once: figures are saved into a temporary
    folder next to `out` (path()), then moved into `out` (commit()) once every one of them was
    written, or thrown away (discard()) when the plot fails or is interrupted, leaving `out` as it
    was (not created if it did not exist). Where the folder next to `out` cannot be made (a
    writable `out` in a read-only folder, e.g. `--out .` in one's home), the temporary folder is
    made inside `out` instead, under a hidden name."""

    def __init__(self, out):
        self.out = os.path.abspath(out)
        self.tmp = None  # the temporary folder, once the first figure is saved
        self.files = []  # paths relative to out, as saved

    def final(self, rel):
        """Where the figure `rel` (relative to out) ends up."""
        return os.path.join(self.out, rel)

    def _base(self):
        """The deepest existing folder on the way to out (its parent, unless out is to be
        created with parents). CannotWrite if a file is in the way."""
        if os.path.lexists(self.out) and not os.path.isdir(self.out):
            raise CannotWrite(f"cannot create the output folder {self.out}: a file of that name "
                              f"exists")
        base = os.path.dirname(self.out)
        while not os.path.isdir(base):
            if os.path.lexists(base):
                raise CannotWrite(f"cannot create the output folder {self.out}: {base} is not a "
                                  f"folder")
            base = os.path.dirname(base)
        return base

    def begin(self):
        """Makes the temporary folder (before anything is drawn: an output folder that cannot
        be written is an error at once)."""
        if self.tmp is not None:
            return
        base = self._base()
        try:
            tmp = tempfile.mkdtemp(prefix=os.path.basename(self.out) + ".partial-", dir=base)
        except OSError as e:
            if not os.path.isdir(self.out):
                raise CannotWrite(f"cannot create the output folder {self.out}: "
                                  f"{e.strerror or e}") from None
            try:
                tmp = tempfile.mkdtemp(prefix=".spikeblox-plot.partial-", dir=self.out)
            except OSError as e2:
                raise CannotWrite(f"cannot write into the output folder {self.out}: "
                                  f"{e2.strerror or e2}") from None
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 0700, were it renamed to out
        self.tmp = tmp
        # `spikeblox plot` removes the folder if this process is killed (apps/plot.cpp).
        fd = os.environ.get("SPIKEBLOX_PLOT_STAGING_FD")
        if fd:
            with contextlib.suppress(OSError, ValueError):
                os.write(int(fd), os.fsencode(tmp) + b"\n")

    def path(self, rel):
        """Where to save the figure `rel` now (its folder made)."""
        self.begin()
        p = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        self.files.append(rel)
        return p

    def discard(self):
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def commit(self):
        """Moves the figures into out: the whole temporary folder at once where out does not
        exist yet, else figure by figure, replacing files of the same name. On any error or an
        interrupt, what was moved goes back (and replaced files come back): out is as it was."""
        if self.tmp is None:
            return
        undo = []  # closures, run in reverse order; each added before its step (a no-op undo
        # of a step an interrupt kept from happening fails and is skipped)
        try:
            if not os.path.lexists(self.out) and os.path.dirname(self.tmp) == self._base():
                self._makedirs(os.path.dirname(self.out), undo)
                tmp = self.tmp
                undo.append(lambda: os.replace(self.out, tmp))
                os.replace(tmp, self.out)
                self.tmp = None
            else:
                old = os.path.join(self.tmp, ".replaced")
                for rel in self.files:
                    src, dst = os.path.join(self.tmp, rel), os.path.join(self.out, rel)
                    self._makedirs(os.path.dirname(dst), undo)
                    if os.path.lexists(dst):
                        if os.path.isdir(dst) and not os.path.islink(dst):
                            raise CannotWrite(f"cannot write {dst}: a folder of that name exists")
                        keep = os.path.join(old, rel)
                        os.makedirs(os.path.dirname(keep), exist_ok=True)
                        undo.append(lambda keep=keep, dst=dst: os.replace(keep, dst))
                        os.replace(dst, keep)
                    undo.append(lambda src=src, dst=dst: os.replace(dst, src))
                    os.replace(src, dst)
            _signals["committed"] = True  # from here on, a stop signal is ignored
        except BaseException as e:
            for step in reversed(undo):
                try:
                    step()
                except OSError:
                    pass
            if isinstance(e, OSError):
                raise CannotWrite(f"cannot move the figures into {self.out}: "
                                  f"{e.strerror or e}") from None
            raise
        finally:
            self.discard()

    @staticmethod
    def _makedirs(d, undo):
        """os.makedirs(d), each folder it makes removed again by undo."""
        if os.path.isdir(d):
            return
        Staging._makedirs(os.path.dirname(d), undo)
        undo.append(lambda: os.rmdir(d))
        os.mkdir(d)


def _save(fig, stage, rel, written):
    """Saves the figure as `rel` (relative to the output folder) into the staging folder;
    `written` gets its final path."""
    import matplotlib.pyplot as plt
    try:
        fig.savefig(stage.path(rel), dpi=110)
    except OSError as e:
        raise CannotWrite(f"cannot write {stage.final(rel)}: {e.strerror or e}") from e
    plt.close(fig)
    written.append(stage.final(rel))


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


def plot_run(run, stage, sub, what, window, written):
    """Saves every figure in `what` that applies to this run into the subfolder `sub` ("" for
    the output folder itself) of the staged output folder `stage`."""
    import matplotlib.pyplot as plt
    from analysis import plots

    def save(fig, name):
        _save(fig, stage, os.path.join(sub, name), written)

    has_trials = run.has_trials and len(run.trials) > 0
    if "learning_curve" in what and has_choices(run):
        fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
        plots.learning_curve([run], ax, window=window)
        save(fig, "learning_curve.png")
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
        save(fig, "raster.png")
    if "dopamine_rpe" in what and has_dopamine(run):
        fig, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True, constrained_layout=True)
        plots.dopamine_rpe(run, axes)
        save(fig, "dopamine_rpe.png")
    if "weight_matrix" in what and run.adjacency() is not None:
        axes = plots.weight_matrix(run)
        save(axes[0].figure, "weight_matrix.png")
    if "weight_trajectories" in what and run.plastic_edges:
        axes = plots.weight_trajectories(run)
        save(axes[0].figure, "weight_trajectories.png")
    if "rates" in what and run.populations:
        fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
        plots.rates(run, ax)
        save(fig, "rates.png")
    if "traces" in what and run.reports:
        axes = plots.traces(run)
        save(axes[0].figure, "traces.png")
    if "synapses" in what and run.synapse_probes:
        axes = plots.synapses(run)
        save(axes[0][0].figure, "synapses.png")
    if "episodes" in what and run.has_episodes and len(run.episodes):
        fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
        e = run.episodes
        ax.plot(e["episode"] + 1, e["return"], ".", color="0.5", label="return")
        ax.plot(e["episode"] + 1, e["return"].rolling(window, min_periods=1).mean(), color="C0",
                lw=2, label=f"moving average ({window})")
        ax.set_xlabel("episode")
        ax.set_ylabel("return")
        ax.legend(fontsize=7)
        save(fig, "episodes.png")
    if "steps" in what and run.has_steps and len(run.steps):
        axes = plots.steps(run, window=window)
        save(axes[0].figure, "steps.png")


def cmd_plot(args):
    out = args.out or _default_out(args.files)
    what = set(args.what.split(",")) if args.what else set(RUN_FIGURES)
    unknown = what - set(RUN_FIGURES)
    if unknown:
        raise analysis.NotARunFile(f"--what: unknown figure(s) {', '.join(sorted(unknown))} "
                                   f"(figures: {', '.join(RUN_FIGURES)})")
    stage = Staging(out)
    written = []
    try:
        _draw(args, what, stage, written)
        if not written:
            raise analysis.NotARunFile("no figure applies to this input" + (
                f" (asked for: {', '.join(sorted(what))})" if args.what else ""))
        stage.commit()
    finally:  # failed or interrupted: nothing of this plot stays (no-op after the commit)
        stage.discard()
    for p in written:
        print(p)
    return 0


def _draw(args, what, stage, written):
    """Draws every figure into `stage`, the input checked first."""
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
        stage.begin()
        _save(axes[0][0].figure, stage, "sweep.png", written)
        return
    runs = [analysis.load_run(p) for p in args.files]  # every file checked before drawing
    for r in runs:
        note = r.incomplete_note()
        if note:
            print(f"note: {r.path}: {note}", file=sys.stderr)
    stage.begin()  # an output folder that cannot be written: an error before drawing
    from analysis import plots
    if len(runs) == 1:
        plot_run(runs[0], stage, "", what, args.window, written)
        return
    import matplotlib.pyplot as plt
    with_trials = [r for r in runs if has_choices(r)]
    if "learning_curve" in what and with_trials:
        fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
        plots.learning_curve(with_trials, ax, window=args.window)
        _save(fig, stage, "learning_curve.png", written)
    names = [os.path.splitext(os.path.basename(r.path))[0] for r in runs]
    for i, (r, name) in enumerate(zip(runs, names)):
        if names.count(name) > 1:
            name = f"{i}_{name}"
        before = len(written)
        plot_run(r, stage, name, what, args.window, written)
        if len(written) == before:  # no figure applies to this run (and no folder is made)
            print(f"note: {r.path}: no figure applies to this run", file=sys.stderr)


def _on_stop(signum, _frame):
    """SIGINT, SIGTERM, SIGHUP: KeyboardInterrupt, so the staged figures are thrown away. Only
    the first: a Ctrl-C reaches `spikeblox plot` and its Python process both, and a signal the
    parent gets from elsewhere is passed on; a second one must not interrupt the clean-up. None
    once the figures are in place (Staging.commit): the plot is done."""
    if _signals["stopping"] or _signals["committed"]:
        return
    _signals["stopping"] = signum
    raise KeyboardInterrupt


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
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_stop)
    try:
        return cmd_plot(args)
    except analysis.NotARunFile as e:
        print(f"{ap.prog}: error: {e}", file=sys.stderr)
        return 2
    except CannotWrite as e:
        print(f"{ap.prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        sig = _signals["stopping"] or signal.SIGINT
        try:
            print(f"{ap.prog}: interrupted ({signal.Signals(sig).name}): no figure written",
                  file=sys.stderr)
        except OSError:  # SIGHUP: the terminal may be gone
            pass
        return 128 + sig


if __name__ == "__main__":
    sys.exit(main())
