"""spikeblox analysis: load run files into pandas and plot them.

    from analysis import load_run
    run = load_run("runs/category_learning_1.h5")
    run.trials.head()

Command line:  spikeblox plot RUN.h5 [RUN2.h5 ...] [--out DIR]
          or:  /usr/bin/python3 -m analysis plot RUN.h5 ...   (from the source tree's top level)
Needs Debian's python3-h5py, python3-numpy, python3-pandas and python3-matplotlib, which import
only under Debian's /usr/bin/python3 (not a pyenv/venv python3 that may come first on PATH).
"""
__all__ = ["NotARunFile", "Run", "load_run", "load_sweep_index", "MISSING", "missing_message"]
REQUIREMENTS = ("h5py", "numpy", "pandas", "matplotlib")
MISSING = None  # the ImportError if a requirement is missing

try:
    from .io import NotARunFile, Run, load_run, load_sweep_index  # noqa: F401
except ImportError as e:  # keep `import analysis` working so the CLI can say what is missing
    MISSING = e

    def load_run(path):  # noqa: D103
        raise ImportError(missing_message()) from MISSING


def missing_message():
    import sys
    return (f"the spikeblox analysis package needs {', '.join(REQUIREMENTS)} "
            f"({MISSING}; interpreter {sys.executable}). Install Debian's python3-h5py "
            f"python3-numpy python3-pandas python3-matplotlib (scripts/install-deps.sh) and use "
            f"/usr/bin/python3.")
