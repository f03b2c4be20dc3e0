// `spikeblox plot RUN.h5 [RUN2.h5 ...] [--out DIR]` (or a sweep's index.csv): runs the Python
// analysis package (analysis/, see analysis/__main__.py) as
//     /usr/bin/python3 -m analysis plot ARGS...
// replacing this process, so its exit status and messages are the command's.
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

// Executes the interpreter on `python3 -m analysis plot <args>`. Returns only on failure, with
// exit status 1 after printing why (no interpreter, no analysis package, exec failed).
int exec_plot(const std::vector<std::string>& args);

}  // namespace sbx::app
