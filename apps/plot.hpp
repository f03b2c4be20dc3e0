// `spikeblox plot RUN.h5 [RUN2.h5 ...] [--out DIR]` (or a sweep's index.csv): runs the Python
// analysis package (analysis/, see analysis/__main__.py) as
//     /usr/bin/python3 -m analysis plot ARGS...
// in a child process and waits for it: its messages and exit status are the command's. SIGINT,
// SIGTERM and SIGHUP sent to spikeblox are passed on to it (a terminal's Ctrl-C reaches both
// already), and an interrupted plot exits with 128 + the signal, as Python does. HDF5 can crash
// on a damaged run file (the Python side reads a file's metadata in a child process first,
// analysis/io.py probe_metadata, but a crash elsewhere kills the interpreter): a child killed
// by SIGSEGV, SIGABRT, SIGBUS, ... is reported in one line naming the run files, exit status 2;
// one killed by another signal (SIGKILL, ...) is reported with exit status 128 + the signal.
//
// Where the package is found (first directory D that holds D/analysis/__main__.py):
//   1. $SPIKEBLOX_ANALYSIS_DIR
//   2. the directory of the spikeblox binary and up to three of its parents (a build directory
//      inside the source tree: build/spikeblox -> ./analysis)
//   3. <binary dir>/../share/spikeblox (an installed layout)
//   4. the source tree this binary was built from (compiled in)
// The interpreter is $SPIKEBLOX_PYTHON or /usr/bin/python3: Debian's python3-h5py & co import
// only under Debian's own interpreter, not a pyenv/venv python3 earlier on PATH.
#pragma once

#include <string>
#include <vector>

namespace sbx::app {

// The directory D holding D/analysis/__main__.py, or "" (see the search order above).
std::string find_analysis_root();

// Runs the interpreter on `python3 -m analysis plot <args>` and returns the command's exit status:
// the interpreter's; 1 after printing why if it cannot be run (no interpreter, no analysis
// package, fork or exec failed); for a child killed by a signal, see above. `files` are the
// input files among `args` (named in the crash message).
int run_plot(const std::vector<std::string>& args, const std::vector<std::string>& files);

}  // namespace sbx::app
