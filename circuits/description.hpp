// The validated, unit-resolved description of a circuit: what the TOML loader produces and the
// builder (circuits/build.hpp) consumes. Nothing here refers to TOML; every element keeps the
// source position it came from, so cross-reference checks made later (graph, build) can still
// point at the right file:line:column.
//
// Units: every time is in ms, every rate in Hz; model parameters are in the units listed in the
// registry (circuits/registry.cpp) and docs/toml_reference.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/rng.hpp"

namespace sbx::circuits {

struct SourcePos {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown (e.g. a value set by --set)
  int column = 0;  // 1-based; 0 = unknown
};

// A scalar or a random distribution of one (weights, delays, initial states).
struct Distribution {
  enum class Kind : std::uint8_t { constant, uniform, normal };
  Kind kind = Kind::constant;
  double a = 0.0;  // constant: value; uniform: low; normal: mean
  double b = 0.0;  // uniform: high; normal: sd

  static Distribution constant(double v) { return {Kind::constant, v, 0.0}; }
  static Distribution uniform(double lo, double hi) { return {Kind::uniform, lo, hi}; }
  static Distribution normal(double mean, double sd) { return {Kind::normal, mean, sd}; }

  bool is_constant() const { return kind == Kind::constant; }
  double mean() const { return kind == Kind::uniform ? 0.5 * (a + b) : a; }
  // Draws nothing from the stream for a constant, so adding a constant never shifts other draws.
  double sample(Rng& rng) const {
    switch (kind) {
      case Kind::uniform:
        return rng.uniform(a, b);
      case Kind::normal:
        return rng.normal(a, b);
      case Kind::constant:
        break;
    }
    return a;
  }
  std::string describe() const;
};

// Parameter values of a block, rule or experiment, by key name. Nested tables are flattened to
// dotted names ("reward.correct"). Integers stay integers; number() converts either.
using ParamValue = std::variant<double, std::int64_t, bool, std::string, std::vector<std::string>,
                                std::vector<double>, Distribution>;

struct ParamMap {
  std::map<std::string, ParamValue, std::less<>> values;
  std::map<std::string, SourcePos, std::less<>> where;

  bool has(std::string_view key) const { return values.find(key) != values.end(); }
  void set(std::string key, ParamValue v, SourcePos pos = {}) {
    where[key] = std::move(pos);
    values[std::move(key)] = std::move(v);
  }
  // Typed access; throw sbx::InternalError when the key is absent or of another type (the loader
  // has validated every key against the registry, so that is a bug, not a user error).
  double number(std::string_view key) const;
  double number_or(std::string_view key, double fallback) const;
  std::int64_t integer(std::string_view key) const;
  bool boolean(std::string_view key) const;
  const std::string& text(std::string_view key) const;
  const std::vector<std::string>& strings(std::string_view key) const;
  const std::vector<double>& numbers(std::string_view key) const;
  const Distribution& distribution(std::string_view key) const;
  SourcePos position(std::string_view key) const;
};

struct MetaDesc {
  std::string name = "circuit";
  std::uint64_t seed = 1;
  std::string description;
};

struct RunDesc {
  double duration = 1000.0;   // ms
  double dt = 0.1;            // ms, clock of clocked populations
  double tick = 0.001;        // ms, time resolution of every event
  std::uint32_t threads = 1;  // worker threads of the clocked step (Simulator::set_threads)
};

struct BlockDesc {
  std::string name;
  std::string type;   // block type ("population", "poisson_source", ...)
  std::string model;  // population model (type == "population"), else empty
  std::string kind;   // connection kind used by the edge-kind table (see registry)
  std::uint32_t n = 0;
  ParamMap params;  // every registry parameter of the type/model, defaults filled in
  std::map<std::string, Distribution> init;  // state variable -> initial distribution
  SourcePos pos;                             // the block's table
};

// A learning rule attached to a connection: a named [rules.NAME] entry (possibly with inline
// overrides) or an anonymous inline rule { type = "...", ... }.
struct LearningDesc {
  std::string rule;  // the [rules] name, or "<edge name>.learning" for an inline rule
  std::string type;  // learning-rule type (registry)
  ParamMap params;   // rule parameters with overrides applied, defaults filled in
  bool inline_rule = false;
  SourcePos pos;
};

// One edge of the graph. A `connections` entry with lists in from/to expands into one
// ConnectionDesc per (from, to) pair, in the order from-major.
struct ConnectionDesc {
  std::size_t entry = 0;  // index of the `connections` entry this edge came from
  std::string from, to;
  std::string name;       // "from->to", "#k" appended to the k-th repeat of the same pair (k >= 2)
  std::string edge_kind;  // filled by the graph check ("spike", "current", ...)
  std::string rule = "all_to_all";
  double density = 0.0;        // bernoulli, hypergeometric
  std::uint32_t indegree = 0;  // fixed_indegree
  bool autapses = false;       // only meaningful when from == to
  Distribution weight = Distribution::constant(1.0);
  std::optional<Distribution> delay;  // ms; absent = one tick
  std::uint32_t receptor = 0;         // 0 = exc, 1 = inh
  std::optional<double> t_event;      // ms
  std::optional<LearningDesc> learning;
  // Positions for later cross-reference errors.
  SourcePos pos, from_pos, to_pos, rule_pos, delay_pos, receptor_pos, t_event_pos;
  std::string path;  // dotted key path of the entry, e.g. "connections[2]"
};

struct RuleDesc {
  std::string name;
  std::string type;
  ParamMap params;
  SourcePos pos;
};

struct ExperimentDesc {
  std::string type = "run";
  ParamMap params;
  SourcePos pos;
};

struct TraceDesc {
  std::string block;
  std::string variable;
  std::vector<std::uint32_t> neurons;  // explicit neuron indices; empty = the first `n`
  std::uint32_t n = 0;
  double dt = 0.0;  // ms sampling period (0 = every [run].dt)
  SourcePos pos;
};

struct OutputDesc {
  enum class Spikes : std::uint8_t { all, none, list };
  std::string file = "runs/{name}_{seed}.h5";
  Spikes spikes = Spikes::all;
  std::vector<std::string> spike_blocks;  // Spikes::list
  std::vector<TraceDesc> traces;
  bool swmr = true;
  double flush_every = 1000.0;  // ms of simulated time
  // Weights of plastic spike edges (runs without trials): initial and final snapshots, or none;
  // weights_every > 0 adds one every this many ms.
  enum class Weights : std::uint8_t { final, none };
  Weights weights = Weights::final;
  double weights_every = 0.0;   // ms; 0 = only the initial and final weights
  SourcePos weights_every_pos;  // where weights_every was given (notes)
};

struct CircuitDescription {
  std::string file;  // source file name (diagnostics)
  std::string schema = "spikeblox/1";
  MetaDesc meta;
  RunDesc run;
  std::vector<BlockDesc> blocks;  // sorted by name (toml tables iterate in key order)
  // Blocks the loader refused (unknown type or model; errors already reported): references to
  // them are not reported again as "undefined block".
  std::vector<std::string> refused_blocks;
  std::vector<ConnectionDesc> connections;  // in file order, expanded
  std::vector<RuleDesc> rules;              // sorted by name
  ExperimentDesc experiment;
  OutputDesc output;
  std::string toml_text;               // the file as read (before overrides)
  std::string resolved_json;           // the TOML tree after overrides, as JSON
  std::vector<std::string> overrides;  // the --set arguments applied

  const BlockDesc* find_block(std::string_view name) const;
  bool is_refused(std::string_view block_name) const;  // in refused_blocks
  const RuleDesc* find_rule(std::string_view name) const;
  // output.file with {name} and {seed} substituted.
  std::string output_path() const;
};

}  // namespace sbx::circuits
