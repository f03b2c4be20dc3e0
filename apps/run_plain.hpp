// Running a circuit: the shared part of every experiment (build, run file, summary) and the
// plain "run" experiment (simulate [run].duration once).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "circuits/build.hpp"
#include "circuits/description.hpp"
#include "engine/io/run_file.hpp"
#include "engine/simulator.hpp"

namespace sbx::app {

struct CheckpointInfo;

struct RunOptions {
  std::string out_path;  // resolved output path
  bool force = false;
  bool quiet = false;  // no progress line
  std::string command_line;
  // Checkpoint/resume (apps/checkpoint.hpp; trial-based experiments only).
  std::uint64_t checkpoint_every = 0;            // trials between checkpoints, 0 = none
  std::vector<std::string> overrides;            // the --set arguments, saved in checkpoints
  std::shared_ptr<const CheckpointInfo> resume;  // continue from this checkpoint
};

struct RunSummary {
  double simulated_ms = 0.0;
  double wall_s = 0.0;  // whole run incl. building and writing
  double build_s = 0.0;
  double loop_s = 0.0;  // simulation loop(s) only
  std::uint64_t spikes = 0;
  std::uint64_t synaptic_events = 0;
  std::map<std::string, double> figures;  // experiment-specific (e.g. accuracy)
};

// Writes /meta (TOML text, resolved config, seed, command line).
void write_run_meta(const circuits::CircuitDescription& desc, RunFile& file, const RunOptions& opt);
// Whether [output].spikes asks for the spikes of `block`.
bool spikes_recorded(const circuits::CircuitDescription& desc, const std::string& block);

// Declares /meta, /nodes + /spikes (per output.spikes), /report (per output.traces) and /edges.
// Returns, per spike projection of the circuit's edges, (projection id, run-file edge id).
std::vector<std::pair<std::uint32_t, std::uint32_t>> declare_common(
    const circuits::CircuitDescription& desc, const circuits::BuiltCircuit& built, Simulator& sim,
    RunFile& file, const RunOptions& opt);

// The "run" experiment.
RunSummary run_plain(const circuits::CircuitDescription& desc, const RunOptions& opt);

}  // namespace sbx::app
