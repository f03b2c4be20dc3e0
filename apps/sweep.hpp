// `spikeblox sweep`: many independent runs of one circuit, one per (grid point, seed).
//
// Every run is a child process `spikeblox run FILE --set ... --seed S --out DIR/<stem>.h5 --force
// --quiet` (stdout/stderr to DIR/logs/<stem>.log), so runs share nothing but the output folder: a
// run that crashes or blows up cannot take the others down, and the HDF5 library (not thread-safe
// in Debian's build) is never used from two threads. Up to `jobs` children run at once.
//
// Under mpirun / srun (detected from the launcher's environment, see sweep_mpi.hpp) the runs are
// dealt out round-robin by run index over the ranks; each rank runs its share with its own `jobs`
// children and writes its own partial index DIR/index.rank<R>.csv; at the end rank 0 writes
// DIR/index.csv from the run files themselves, so a rank that dies loses only its unfinished runs.
//
// Index DIR/index.csv (written atomically: temporary file + rename; rewritten as runs finish):
//   point,seed,<dotted grid key>...,file,status,acc_1_20,acc_100_400,acc_total
//   point = grid point index (0-based, cartesian product with the first --grid varying slowest),
//   file = run file name relative to DIR, status = complete | failed, accuracies = mean of
//   /trials.correct over trials 1-20, 100-400 (only when >= 400 trials) and all trials; empty when
//   the run has no trial with a chosen action (plain circuits, open-loop experiments) or failed.
// Re-running the same sweep skips runs whose file is complete (/meta@completed = 1) and was made
// from the same resolved configuration (/meta/resolved_config_json); every other run is redone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/sweep_mpi.hpp"

namespace sbx::app {

// One --grid argument: `dotted.key=v1,v2,...`.
struct GridAxis {
  std::string key;                  // dotted key path, as given
  std::vector<std::string> values;  // TOML values as text, as given
  std::string label;                // short name for file names (last key segment, unless shared)
};

struct SweepOptions {
  std::string circuit_file;
  std::string seeds;               // "1..10", "1,4,7", "1..3,9"; empty = the circuit's meta.seed
  std::vector<std::string> grids;  // --grid arguments
  std::vector<std::string> sets;   // --set overrides common to every run
  std::string out_dir;             // empty = "sweeps/<meta.name>"
  int jobs = 0;                    // concurrent runs per process; 0 = cores (/ ranks on the node)
  std::string exe;                 // spikeblox binary for the child runs
  bool quiet = false;              // no per-run progress lines
};

// Accuracy summary of a run file's /trials (nullopt fields = no such figure).
struct RunFigures {
  std::optional<double> acc_1_20, acc_100_400, acc_total;
};

// Status of an existing run file.
struct RunFileState {
  bool exists = false;
  bool complete = false;             // opened, and /meta@completed == 1
  std::string resolved_config_json;  // /meta/resolved_config_json ("" if unreadable)
  RunFigures figures;                // from /trials (only read when complete)
};

// "1..10" / "1,2,5" / "1..3,8" -> seeds in the given order. Throws UserError on malformed input,
// descending ranges or repeated seeds.
std::vector<std::uint64_t> parse_seed_list(const std::string& text);
// "a.b.K=0.04,0.06" -> axis. Throws UserError on a missing '=', empty key or value, repeats.
GridAxis parse_grid_axis(const std::string& text);
// Sets the labels: the last key segment, or more segments where two axes would share one.
void label_axes(std::vector<GridAxis>& axes);
// File-name-safe text: [A-Za-z0-9._+-] kept, anything else becomes '_'.
std::string safe_file_part(const std::string& text);
// "<name>_<label><value>..._s<seed>" (no extension).
std::string run_stem(const std::string& circuit_name, const std::vector<GridAxis>& axes,
                     const std::vector<std::size_t>& value_index, std::uint64_t seed);
// One CSV field, quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& text);

// Reads the state of a run file (never throws; HDF5 errors mean "not complete").
RunFileState read_run_file_state(const std::string& path);

// Writes `text` to `path` through a temporary file in the same folder and rename(2).
void write_file_atomic(const std::string& path, const std::string& text);

// Runs the sweep. Returns the exit status: 0 every run complete, 1 some run failed, 2 bad input
// (every problem printed, nothing run). `world` from mpi::init (rank 0 of 1 without MPI); every
// rank returns the same status.
int run_sweep(const SweepOptions& opt, const mpi::World& world);

}  // namespace sbx::app
