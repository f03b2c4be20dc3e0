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
  // `spikeblox check`: build the circuit and the experiment exactly as a run does, then return
  // before the run file is created (a default RunSummary); every error of the set-up surfaces.
  bool dry_run = false;
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

// The run file's options for this run: --force, output.swmr, and run.threads (which also
// compress /edges at the start, RunFileOptions::threads).
RunFileOptions run_file_options(const circuits::CircuitDescription& desc, const RunOptions& opt);
// Writes /meta (TOML text, resolved config, seed, command line).
void write_run_meta(const circuits::CircuitDescription& desc, RunFile& file, const RunOptions& opt);
// Whether [output].spikes asks for the spikes of `block`.
bool spikes_recorded(const circuits::CircuitDescription& desc, const std::string& block);
// Whether the run file gets a /spikes group for population `pop` of `block`: asked for, and a
// model that spikes (a rate or neural-mass population only gets its /nodes entry).
bool spikes_recorded(const circuits::CircuitDescription& desc, const std::string& block,
                     const Population& pop);

// A spike projection of the circuit's edges and its run-file edge id; `learning` when the edge
// names a learning rule (the rule may be a SpikeLearningRule or applied by the experiment).
struct DeclaredSpikeEdge {
  std::uint32_t projection = 0, edge_id = 0;
  bool learning = false;
};
// Declares /meta, /nodes + /spikes (per output.spikes), /report (per output.traces) and /edges.
std::vector<DeclaredSpikeEdge> declare_common(const circuits::CircuitDescription& desc,
                                              const circuits::BuiltCircuit& built, Simulator& sim,
                                              RunFile& file, const RunOptions& opt);

// The weights of p at tick t (>= its last event) into out, without changing the run: a
// SpikeLearningRule that keeps pending updates computes them (current_weights); without a rule
// (static, or weights written by the experiment) proj.weight is current.
void weights_now(const SpikeProjection& p, Tick t, std::vector<float>& out);

// output.weights: snapshots of the plastic spike edges' weights in /weights/<edge> (values,
// after_trial = snapshot index from -1, time_ms): the initial ones (initial(), after
// RunFile::start()), one per output.weights_every ms (at_now() at safe points: at the period's
// end, or the first safe point after it), and the final ones (final(), also after an error or an
// interruption). Computed with SpikeLearningRule::current_weights: the run is not changed.
class PlasticWeightSnapshots {
 public:
  // spike_edges: declare_common's; those with a learning rule (or a SpikeLearningRule) count.
  PlasticWeightSnapshots(const circuits::CircuitDescription& desc, Simulator& sim, RunFile& file,
                         const std::vector<DeclaredSpikeEdge>& spike_edges);
  // Simulated time of the next periodic snapshot (or the largest Tick: none).
  Tick next() const;
  void initial() { write(-1); }
  void at_now();
  // The weights now, unless a snapshot was just taken at this time.
  void final();
  // final() on an error path: a failure to write is swallowed (the first error is reported).
  void final_after_error() noexcept;

 private:
  void write(int index);

  Simulator& sim_;
  RunFile& file_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges_;  // (projection, edge id)
  Tick every_ = 0, next_ = 0, last_ = -1;
  int index_ = 0;
  std::vector<float> scratch_;
};

// The "run" experiment.
RunSummary run_plain(const circuits::CircuitDescription& desc, const RunOptions& opt);

}  // namespace sbx::app
