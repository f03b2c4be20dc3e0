// The HDF5 run file: one file per run, written incrementally (ecosystem.md §1.6).
//
// Layout (times in ms, `units` attributes, strings variable-length UTF-8; every growing dataset is
// chunked, unlimited along its growth axis, shuffle + deflate, its partly filled last chunk stored
// unfiltered until it is whole):
//
//   /            @magic u32 = 0x0A7A, @version u32[2] = {0, 1}            (SONATA root attributes)
//   /meta        @format = "spikeblox-run/1", @simulator = "spikeblox", @simulator_version,
//                @seed u64, @created (ISO-8601 UTC), @hdf5_version, @time_units = "ms",
//                @tick_ms f8;
//                after finish(): @completed u8 = 1, @wall_time_s f8
//                datasets (scalar strings): circuit_toml, circuit_sha256, resolved_config_json,
//                command_line, circuit_file
//   /nodes/<pop>     node_type_id, node_group_id, node_group_index (i64[N]), group 0/; @block_type
//   /spikes/<pop>    @sorting = enum u8 {none, by_id, by_time} = by_time (set to none at finish()
//                    if a spike ever arrived out of time order);
//                    timestamps f64[n] @units = "ms", node_ids u64[n]
//   /report/<name>   data f32[T x K] @units @variable, mapping/{node_ids u64[K] @sorted,
//                    index_pointers u64[K+1] (+ hard link index_pointer), element_ids u32[K],
//                    element_pos f32[K] (0.5), time f64[3] = start, stop, step @units = "ms"}
//                    <name> is the population name, or "<pop>__<variable>" if that population
//                    already has a report (then "<pop>__<variable>__<probe>"); @population,
//                    @variable.
//   /edges/<edge>    source_node_id, target_node_id (u64[E], @node_population), edge_type_id,
//                    edge_group_id, edge_group_index (i64[E]), 0/syn_weight f64 (initial),
//                    0/delay f64 @units = "ms"; @learning_rule
//   /weights/<edge>  values f64[n_snapshots x E], after_trial i32[n_snapshots] (-1 = initial,
//                    written by add_edges), source_ids, target_ids u64[E]
//   /trials          compound {trial u4, start_time f8, stop_time f8, stimulus u4, category u1,
//                    action i1, correct u1, reward f8, dopamine f8, rpe f8, decision_time f8,
//                    striosome_1/2, tan_rate_1/2, tan_spikes_1/2, drive_1/2 f8} — the last eight
//                    are the per-striatum quantities that decide choices and dopamine (Neuroblox
//                    §8.2: block-1 striosome latch, TAN rate and draw, matrisome decision drive;
//                    NaN when the experiment has no striata)
//   /episodes        compound {episode u4, return f8, length u4, terminated u1, truncated u1}
//   /steps           compound {episode u4, step u4, action i4, reward f8, <name> f8 ...}: optional
//                    per-step rows of step-based environments; the trailing f8 columns are named
//                    at enable_steps() (modulators such as acetylcholine / noradrenaline /
//                    dopamine, environment figures such as regret); written per episode
//   /synapses/<name> compound {time, w, c, d f8}: one sampled synapse of a plastic edge
//                    (distal_reward: the chosen synapse), @edge, @synapse, @learning_rule, ...
//   /modulators/<name> compound {time, value f8}: a neuromodulator's value after each change
//                    (plain runs), @baseline, @tau_ms; between rows it decays analytically
//   /adjacency       node_names str[N], before f64[N x N], after f64[N x N] (NaN until finish())
//
// Life cycle: construct (creates the file as PATH.partial-PID) -> declare everything (write_meta,
// add_*, enable_*, set_adjacency) -> start() (renames it to PATH) -> run (on_spikes/on_sample/
// append_*/flush) -> finish(). A RunFile destroyed before start() deletes its partial file; an
// existing file at PATH (--force) is replaced only by start(). The rename replaces PATH itself:
// a symbolic link there is replaced by the new file (its target is left alone), and the old
// file's hard links and permissions are not carried over.
//
// Crash safety. With `swmr` (the default) the file uses the latest format and SWMR write mode
// after start(): objects are all created before start(), afterwards datasets are only extended and
// written. A process killed at any moment after start() leaves a file that opens in SWMR read mode
// (killed before it: a PATH.partial-PID file of the declarations, which can be deleted)
// (h5py: `h5py.File(p, "r", libver="latest", swmr=True)`, C: H5F_ACC_RDONLY | H5F_ACC_SWMR_READ)
// and holds everything up to the last flush(). A plain open of such a crashed file fails with
// "file is already open for write (may use <h5clear file> to clear file consistency flags)";
// `h5clear -s run.h5` (Debian package hdf5-tools) clears the flag, after which any reader works.
// A cleanly finished file (or one whose RunFile was destroyed) opens normally.
// Each trial / episode row is one extend + write of one compound element, so columns never get
// ragged. For weight snapshots `values` is appended before `after_trial`, but between flushes HDF5
// may write either extent to disk first: a file read live or after a crash can hold one extra row
// in either dataset. Readers keep the rows present in both (analysis/io.py); /trials is the commit
// record (the snapshots of every trial row were flushed before that row).
//
// Populations / probes not declared with add_spike_population / add_report are not recorded
// (on_spikes / on_sample ignore them), so a run can record a subset of its blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/recorder.hpp"
#include "engine/time.hpp"

namespace sbx {

struct RunFileOptions {
  bool swmr = true;    // latest file format + SWMR write mode after start()
  bool force = false;  // overwrite an existing file
  // gzip level for growing datasets (0 = no compression, no shuffle). Level 1: after shuffle the
  // spike and trial columns compress almost as well as at 4 (category run file +3 %), and the
  // compression was ~ 3 % of a 400-trial category run at level 4.
  int deflate = 1;
  // Threads that may compress the /edges columns of add_edges_streamed at once (the run's
  // --threads; HDF5 itself is called from the calling thread only).
  unsigned threads = 1;
};

struct RunMeta {
  std::string circuit_toml;  // exact bytes of the TOML file as read
  std::string circuit_file;  // path as given by the user
  std::string resolved_config_json;
  std::string command_line;
  std::string version;  // simulator version; empty = SBX_VERSION
  std::uint64_t seed = 0;
};

// One row of /trials (memory layout is private to the writer; the file type is packed).
struct TrialRow {
  std::uint32_t trial = 0;
  double start_time = 0.0;  // ms
  double stop_time = 0.0;   // ms
  std::uint32_t stimulus = 0;
  std::uint8_t category = 0;
  std::int8_t action = -1;  // -1 = no action
  std::uint8_t correct = 0;
  double reward = 0.0;
  double dopamine = 0.0;
  double rpe = 0.0;
  double decision_time = 0.0;  // ms, absolute like start_time (NaN = no decision)
  // Diagnostics per striatum s = 1, 2 (NaN = not applicable).
  double striosome_1 = 0.0, striosome_2 = 0.0;    // striosome latch at the first block end
  double tan_rate_1 = 0.0, tan_rate_2 = 0.0;      // R_TAN at the TAN draw
  double tan_spikes_1 = 0.0, tan_spikes_2 = 0.0;  // TAN_spikes written by the draw
  double drive_1 = 0.0, drive_2 = 0.0;            // matrisome decision variable ρ_
};

// One row of /episodes (step-based environments).
struct EpisodeRow {
  std::uint32_t episode = 0;
  double ret = 0.0;  // column "return"
  std::uint32_t length = 0;
  std::uint8_t terminated = 0;
  std::uint8_t truncated = 0;
};

// The fixed columns of one /steps row (the named values follow, see append_steps).
struct StepRow {
  std::uint32_t episode = 0;
  std::uint32_t step = 0;  // within the episode, from 0
  std::int32_t action = -1;
  double reward = 0.0;
};

// One row of /synapses/<name>: one synapse of a plastic edge sampled during the run.
struct SynapseSampleRow {
  double time = 0.0;  // ms
  double w = 0.0;     // weight
  double c = 0.0;     // eligibility trace (NaN if the rule has none)
  double d = 0.0;     // value of the rule's modulator (NaN if none)
};

// One row of /modulators/<name>: the modulator's value right after a change (a pulse or a set,
// and its state at the start). Between rows m(t) = baseline + (value − baseline)·e^{−(t−time)/tau}
// (engine/modulator.hpp), baseline and tau_ms being the dataset's attributes.
struct ModulatorChangeRow {
  double time = 0.0;   // ms
  double value = 0.0;  // m(time) after the change
};

// Lowercase hex SHA-256 of `data` (FIPS 180-4); used for /meta/circuit_sha256.
std::string sha256_hex(std::string_view data);

class RunFile final : public Recorder {
 public:
  // Checks that `path` can be created: throws UserError (naming the path) if it exists and !force,
  // if it is a directory, if its directory cannot be created or written, or if less than 1 MiB is
  // free there. Missing parent directories are created (like `mkdir -p`) unless !create_dirs
  // (the early check of the command, before any work: then a missing folder is only checked to
  // be creatable, and the RunFile constructor creates it).
  static void check_target(const std::string& path, bool force, bool create_dirs = true);

  // Runs check_target, then creates the file (root and /meta attributes are written here) under
  // a sibling name, `path` + ".partial-<pid>", which start() renames to `path`: set-up that
  // fails before start() (bad input found while building) leaves nothing behind, and an existing
  // file (--force) is replaced only when the run starts.
  RunFile(const std::string& path, TimeGrid grid, RunFileOptions opt = {});
  // Flushes and closes if finish() was not called (never throws); before start() it deletes
  // the partial file instead.
  ~RunFile() override;
  RunFile(const RunFile&) = delete;
  RunFile& operator=(const RunFile&) = delete;

  const std::string& path() const;

  // ---- declaration phase (before start(); each throws InternalError afterwards) -------------
  void write_meta(const RunMeta& meta);
  // /nodes/<name> and /spikes/<name>; `population_id` is the simulator's population index.
  void add_spike_population(std::uint32_t population_id, const std::string& name,
                            std::uint64_t n_nodes, const std::string& block_type);
  // /nodes/<name> only (no spikes): populations that are not recorded and discrete units
  // (e.g. "STR1.matrisome") that edges point at, so every edge's @node_population resolves.
  void add_node_population(const std::string& name, std::uint64_t n_nodes,
                           const std::string& block_type, std::uint32_t node_type_id);
  // /report/<name> for simulator probe `probe_id`, sampling `node_ids` of `population` every
  // dt_ms starting at t0_ms (NaN: the first sample's time). Samples must lie on that grid.
  void add_report(std::uint32_t probe_id, const std::string& population,
                  const std::string& variable, const std::string& units,
                  std::vector<std::uint64_t> node_ids, double t0_ms, double dt_ms);
  // /edges/<edge> (+ /weights/<edge> with the initial snapshot, after_trial = -1, if
  // snapshot_weights). Returns the edge id for append_weights.
  std::uint32_t add_edges(const std::string& edge, const std::string& source_population,
                          const std::string& target_population, std::vector<std::uint64_t> src,
                          std::vector<std::uint64_t> tgt, std::vector<double> initial_w,
                          std::vector<double> delay_ms, const std::string& learning_rule,
                          bool snapshot_weights);
  // /edges/<edge> as add_edges() writes it (same datasets, types, chunking and filters), without
  // the whole columns in memory: the columns are written in blocks of `block` synapses, each
  // filled by fill(first, count, src, tgt, w, delay_ms) for synapses first..first+count-1 (blocks
  // in ascending order). Peak memory ~ 36 bytes x block instead of ~ 48 bytes per synapse: run
  // files of 10^8-synapse circuits (apps/run_plain.cpp). No /weights snapshot.
  struct EdgeBlock {
    std::uint32_t* src;
    std::uint32_t* tgt;
    float* w;
    double* delay_ms;
  };
  std::uint32_t add_edges_streamed(
      const std::string& edge, const std::string& source_population,
      const std::string& target_population, std::size_t n_edges,
      const std::function<void(std::size_t first, std::size_t count, const EdgeBlock& out)>& fill,
      const std::string& learning_rule, std::size_t block = std::size_t{1} << 18);
  void enable_trials();
  void enable_episodes();
  // names: N node names; before: N*N row-major (before[i*N + j] = weight i -> j).
  void set_adjacency(std::vector<std::string> names, const std::vector<double>& before);
  // Ends the declaration phase: renames the partial file to `path` (see the constructor), then
  // switches to SWMR write mode if opt.swmr.
  void start();

  // ---- run phase --------------------------------------------------------------------------
  void on_spikes(std::uint32_t population, std::span<const std::uint32_t> neurons, Tick t) override;
  void on_sample(std::uint32_t probe, Tick t, std::span<const double> values) override;
  void append_trial(const TrialRow& row);
  void append_episode(const EpisodeRow& row);
  // /steps with the fixed columns of StepRow followed by one f8 column per name (unique, not a
  // fixed column's name). Declared before start().
  void enable_steps(const std::vector<std::string>& value_names);
  // Appends rows.size() rows; values holds rows.size() x value_names.size() doubles, row-major.
  void append_steps(std::span<const StepRow> rows, std::span<const double> values);
  // /synapses/<name>: compound rows {time, w, c, d} (SynapseSampleRow) with attributes edge,
  // synapse (index within the edge), source_node_id, target_node_id, learning_rule, modulator.
  // Declared before start(); rows are buffered and written at flush(). Returns the probe id.
  std::uint32_t add_synapse_probe(const std::string& name, const std::string& edge,
                                  std::uint64_t synapse, std::uint64_t source, std::uint64_t target,
                                  const std::string& learning_rule, const std::string& modulator);
  void append_synapse_sample(std::uint32_t probe, const SynapseSampleRow& row);
  // /modulators/<name>: compound rows {time, value} (ModulatorChangeRow) with attributes baseline
  // and tau_ms. Declared before start(); rows are buffered and written at flush(). Returns its id.
  std::uint32_t add_modulator_log(const std::string& name, double baseline, double tau_ms);
  void append_modulator_change(std::uint32_t log, const ModulatorChangeRow& row);
  void append_weights(std::uint32_t edge_id, int after_trial, std::span<const double> w);
  // Weight snapshots of an edge declared by add_edges_streamed (runs without trials):
  // /weights/<edge>/{values (f64, snapshots x edges), after_trial (snapshot index: -1 the
  // initial weights, then 0, 1, ...), time_ms}; no source/target columns (they are /edges').
  // Declaration phase; rows are appended with the timed append_weights below.
  void enable_weight_snapshots(std::uint32_t edge_id);
  void append_weights(std::uint32_t edge_id, int index, double time_ms, std::span<const float> w);
  // Writes buffered spikes and samples, updates report stop times, then H5Fflush.
  void flush() override;
  // The simulator's worker threads, used to compress spike columns while they are lent;
  // otherwise up to RunFileOptions::threads threads of its own (parallel_items).
  void lend_threads(Parallel parallel) override;
  // Writes /adjacency/after (if adjacency_after is non-empty; it must be N*N), closes the file,
  // reopens it without SWMR and adds /meta@completed = 1 and /meta@wall_time_s.
  void finish(std::span<const double> adjacency_after, double wall_seconds);

  // ---- checkpoint / resume support (apps/checkpoint.cpp) -----------------------------------
  // Rows [0, n) of /trials of the open HDF5 file `file_id` (an hid_t), fields matched by name.
  static std::vector<TrialRow> read_trials(std::int64_t file_id, std::size_t n);
  // Renames the file on disk (the open handle stays valid); finish() reopens the new path.
  void rename(const std::string& new_path);

 private:
  // The partial file becomes `path` (no-op once done). Throws UserError if `path` appeared
  // meanwhile and !force, or if the rename fails.
  void commit();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sbx
