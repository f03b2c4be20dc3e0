// Checkpoints of trial-based runs (issue 7): `spikeblox run FILE --checkpoint-every N` writes the
// sidecar RUN.h5.ckpt after every N-th finished trial; `spikeblox run --resume RUN.h5` continues
// from it, and the finished run file is bit-identical (in /trials, /weights, /spikes, /edges,
// /adjacency, /nodes) to an uninterrupted run.
//
// The sidecar holds: the circuit TOML text, its path and the --set overrides (so the resumed run
// rebuilds exactly the same circuit), the original command line, N, how much of the run file the
// checkpoint covers (trial rows, weight snapshots, spikes per population) and the experiment's
// full learning state (CategoryExperiment::save_checkpoint). It is written atomically: to
// RUN.h5.ckpt.tmp, fsync, rename over RUN.h5.ckpt, fsync of the directory. A trailing SHA-256 of
// the payload detects a damaged file. It is removed when the run finishes.
//
// Resume: the run file of the interrupted process (readable in SWMR mode after SIGKILL) is the
// source of the rows before the checkpoint: a new file RUN.h5.resume.tmp is declared exactly like
// a fresh run, those rows are copied into it, it is renamed over RUN.h5, and the run continues.
// Killed during the copy, RUN.h5 and the checkpoint are untouched; killed later, the checkpoint
// still describes a prefix of RUN.h5. Format: native byte order (same machine and build).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "apps/run_plain.hpp"

namespace sbx::app {

struct CheckpointInfo {
  std::string version;  // SBX_VERSION of the writer; resume refuses another version
  std::string circuit_toml;
  std::string circuit_file;
  std::vector<std::string> overrides;  // --set arguments (incl. meta.seed from --seed)
  std::string command_line;            // of the original run
  std::string run_path;                // absolute
  std::string cwd;  // working directory of the original run (relative paths in the circuit)
  std::uint64_t checkpoint_every = 0;
  // How much of the run file this checkpoint covers.
  std::uint64_t trials_done = 0;
  std::uint64_t weight_snapshots = 0;  // rows of every /weights/<edge> (initial + trials)
  std::vector<std::pair<std::string, std::uint64_t>> spike_counts;  // per recorded population
  std::string experiment_state;  // CategoryExperiment::save_checkpoint bytes
};

// RUN.h5 -> RUN.h5.ckpt
std::string checkpoint_path(const std::string& run_path);
// Atomic write (temp file + fsync + rename + directory fsync). Throws SimError on I/O failure.
void write_checkpoint(const std::string& path, const CheckpointInfo& info);
// Throws UserError (naming the file) if it is missing, damaged or from another version.
CheckpointInfo read_checkpoint(const std::string& path);

// `spikeblox run --resume RUN.h5`: reads RUN.h5.ckpt, rebuilds the circuit from the saved TOML
// text and overrides, and fills `opt` (out_path, overrides, checkpoint_every unless given,
// resume, command line). `other_args` = the user also gave FILE/--set/--seed/--out/--force, which
// --resume does not take. Throws UserError.
circuits::CircuitDescription prepare_resume(const std::string& run_path, bool other_args,
                                            const std::string& command_line, RunOptions& opt);
// --checkpoint-every needs a trial-based experiment. Throws UserError.
void check_checkpoint_options(const circuits::CircuitDescription& desc, const RunOptions& opt);

// Read access to the interrupted run file (normal open, else SWMR read after a crash).
class OldRunFile {
 public:
  explicit OldRunFile(const std::string& path);  // throws UserError if it cannot be opened
  ~OldRunFile();
  OldRunFile(const OldRunFile&) = delete;
  OldRunFile& operator=(const OldRunFile&) = delete;

  std::int64_t id() const { return file_; }
  // The first n elements (rows of `cols` values) of a dataset; throws SimError if it is shorter.
  std::vector<double> doubles(const std::string& dataset, std::uint64_t n, std::uint64_t cols = 1);
  std::vector<std::uint64_t> u64(const std::string& dataset, std::uint64_t n);
  std::vector<std::int32_t> i32(const std::string& dataset, std::uint64_t n);

 private:
  void read(const std::string& dataset, std::int64_t mem_type, std::uint64_t n, std::uint64_t cols,
            void* out);
  std::string path_;
  std::int64_t file_ = -1;
};

}  // namespace sbx::app
