// The circuit registry: every block type, population model, connection rule, edge kind, learning
// rule and experiment type the TOML loader accepts, with the full list of their keys (kind, unit,
// default, allowed range, meaning). It is data written in ONE place (circuits/registry.cpp, no
// static self-registration), read by the loader for validation, by the builder for lowering, and
// by tests that check docs/toml_reference.md against it.
//
// Extending: a module that adds block types (e.g. the Neuroblox blocks) writes a function
// `void add_<module>(Registry&)` that calls Registry::add(...) with its specs, including the
// lowering functions, and that function is called from make_builtin_registry() in registry.cpp
// (or, in a program or test, on `registry()` before loading).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/population.hpp"

namespace sbx::circuits {

struct BlockDesc;
struct ConnectionDesc;
struct LearningDesc;
struct EdgeBuilt;
class BuildContext;

enum class ValueKind : std::uint8_t {
  number,   // float or integer
  integer,  // integer only
  boolean,
  string,          // a string, optionally restricted to `choices`
  string_or_list,  // a string or an array of strings
  number_or_dist,  // a number or a distribution table { dist = ..., ... }
  block_name,      // a string naming a block (of a type in `choices`, if given)
  number_list,     // array of numbers
  integer_list,    // array of integers
  table,           // a table (its keys are specified elsewhere)
  array_of_tables,
  rule_ref,  // a [rules] name or an inline rule table
};
const char* kind_name(ValueKind k);

struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
  bool contains(double x) const;
  bool unbounded() const;
  // "> 0", ">= 1", "[0, 1]", "(0, 1]", "any"
  std::string describe() const;
};
inline Range any_value() {
  return {};
}
inline Range positive() {
  return {0.0, std::numeric_limits<double>::infinity(), true, false};
}
inline Range non_negative() {
  return {0.0, std::numeric_limits<double>::infinity(), false, false};
}
// Largest block size: neuron indices are 32-bit in the engine (with room for SIMD padding).
inline constexpr double kMaxNeurons = 2147483647.0;  // 2^31 - 1
// Largest step count and episode length (also per-context steps and contexts of the bandit):
// environment steps are counted in 32 bits.
inline constexpr double kMaxSteps = 4294967295.0;  // 2^32 - 1
inline Range at_least(double x) {
  return {x, std::numeric_limits<double>::infinity(), false, false};
}
inline Range closed(double lo, double hi) {
  return {lo, hi, false, false};
}
inline Range left_open(double lo, double hi) {
  return {lo, hi, true, false};
}

enum class Need : std::uint8_t {
  required,   // must be given
  defaulted,  // absent = the default
  optional,   // absent = not set (the consumer decides)
};

struct ParamSpec {
  std::string name;
  ValueKind kind = ValueKind::number;
  std::string unit;  // "" = dimensionless
  Need need = Need::defaulted;
  double default_number = 0.0;       // number / integer / boolean (0 or 1)
  std::string default_text;          // strings; or the shown default of other kinds
  Range range;                       // numbers, integers and numeric distribution values
  std::vector<std::string> choices;  // allowed strings, or allowed block types for block_name
  std::string doc;

  std::string default_repr() const;  // as written in the reference ("20", "\"exc\"", "required")
  std::string range_repr() const;    // "> 0", "one of: a, b", "-"
};

// Builders keep the tables in registry.cpp to one line per key.
ParamSpec num(std::string name, std::string unit, double def, Range r, std::string doc);
ParamSpec num_required(std::string name, std::string unit, Range r, std::string doc);
ParamSpec num_optional(std::string name, std::string unit, Range r, std::string doc);
ParamSpec integer(std::string name, std::int64_t def, Range r, std::string doc);
ParamSpec integer_required(std::string name, Range r, std::string doc);
ParamSpec boolean(std::string name, bool def, std::string doc);
ParamSpec text(std::string name, std::string def, std::vector<std::string> choices,
               std::string doc);
ParamSpec text_required(std::string name, std::vector<std::string> choices, std::string doc);
ParamSpec block_ref(std::string name, Need need, std::vector<std::string> block_types,
                    std::string doc);
ParamSpec generic(std::string name, ValueKind kind, Need need, std::string shown_default,
                  std::string unit, Range r, std::string doc);

// ---- entries ------------------------------------------------------------------------------

// A top-level section (meta, run, output, ...) or a sub-table schema (connection, trace,
// distribution). Read by hand-written code in the loader; listed here for validation messages
// and the reference.
struct SectionSpec {
  std::string name;
  std::string doc;
  std::vector<ParamSpec> params;
};

using PopulationFactory =
    std::function<std::unique_ptr<Population>(const BlockDesc&, BuildContext&)>;

// A state variable whose initial value can be set by a "<name>_init" key.
struct StateSpec {
  std::string name;
  std::string unit;
};

struct PopulationModelSpec {
  std::string name;
  std::string doc;
  Dynamics dynamics = Dynamics::clocked;
  std::string kind = "population";       // connection kind of blocks of this model
  std::vector<ParamSpec> params;         // the model's parameters (struct fields 1:1)
  std::vector<StateSpec> init_states;    // state variables settable by "<name>_init"
  std::vector<std::string> recordables;  // state variables for traces (empty = not checked)
  std::vector<std::string> receptors = {"exc", "inh"};  // receptor index = position
  bool takes_current = false;  // accepts a current coupling (current_source)
  PopulationFactory make;
  // Cross-parameter checks (e.g. V_reset < V_th), run at load time; each message is reported
  // at the block. Null = none.
  std::function<std::vector<std::string>(const BlockDesc&)> check;
};

// Lowers one block: creates its population(s) in ctx.sim and records them in ctx.built.
using BlockLowerFn = std::function<void(const BlockDesc&, BuildContext&)>;
// Number of units of a block, from its description (used for one_to_one checks and degrees).
using BlockSizeFn = std::function<std::uint32_t(const BlockDesc&)>;

struct BlockTypeSpec {
  std::string name;
  std::string doc;
  std::string kind;               // connection kind ("" = the name); population: model's kind
  std::vector<ParamSpec> params;  // besides `type` (population: plus the model's parameters)
  BlockLowerFn lower;
  BlockSizeFn size;  // default: the integer parameter `n`
  // Called after every block and edge is built and every learning rule attached (for blocks
  // that act on what the rules create, e.g. the modulators). Null = nothing to do.
  BlockLowerFn finish = nullptr;
  // False for blocks that build no neurons (decoders, the modulator block): the loader refuses
  // traces and output.spikes entries naming them.
  bool builds_neurons = true;
  // Experiment types the block works in (empty = every one); the loader refuses it elsewhere.
  std::vector<std::string> experiments = {};
};

// Lowers one edge (one expanded connection) whose endpoints are already built.
using EdgeLowerFn = std::function<void(const ConnectionDesc&, BuildContext&)>;

// What happens when a block of kind `source_kind` connects to one of kind `target_kind`.
// A pair missing from the table is an error naming both kinds and the allowed targets.
struct EdgeKindSpec {
  std::string source_kind, target_kind;
  std::string name;  // "spike", "current", ...
  std::string doc;
  bool uses_delay = true;        // accepts `delay`
  bool uses_receptor = true;     // accepts `receptor`
  bool accepts_t_event = false;  // accepts `t_event`
  bool accepts_learning = true;  // accepts `learning`
  bool uses_rule = true;         // accepts rule / density / indegree / autapses
  EdgeLowerFn lower;
};

struct ConnectionRuleSpec {
  std::string name;
  std::string doc;
  std::vector<std::string> uses;  // connection keys the rule reads (density, indegree, autapses)
};

// Attaches a learning rule to an edge after its projections/couplings exist.
using LearningAttachFn = std::function<void(const LearningDesc&, const EdgeBuilt&, BuildContext&)>;

struct LearningRuleSpec {
  std::string name;
  std::string doc;
  std::vector<ParamSpec> params;  // besides `type`
  LearningAttachFn attach;        // null = the experiment handles it (trial-level rules)
};

struct ExperimentSpec {
  std::string name;
  std::string doc;
  std::vector<ParamSpec> params;  // besides `type`
};

class Registry {
 public:
  std::vector<SectionSpec> sections;
  std::vector<BlockTypeSpec> block_types;
  std::vector<PopulationModelSpec> models;
  std::vector<ConnectionRuleSpec> connection_rules;
  std::vector<EdgeKindSpec> edge_kinds;
  std::vector<LearningRuleSpec> learning_rules;
  std::vector<ExperimentSpec> experiments;

  // Adding a name twice throws std::invalid_argument.
  void add(SectionSpec s);
  void add(BlockTypeSpec s);
  void add(PopulationModelSpec s);
  void add(ConnectionRuleSpec s);
  void add(EdgeKindSpec s);
  void add(LearningRuleSpec s);
  void add(ExperimentSpec s);

  const SectionSpec* section(std::string_view name) const;
  const BlockTypeSpec* block_type(std::string_view name) const;
  const PopulationModelSpec* model(std::string_view name) const;
  const ConnectionRuleSpec* connection_rule(std::string_view name) const;
  const EdgeKindSpec* edge_kind(std::string_view source_kind, std::string_view target_kind) const;
  const LearningRuleSpec* learning_rule(std::string_view name) const;
  const ExperimentSpec* experiment(std::string_view name) const;

  std::vector<std::string> block_type_names() const;
  std::vector<std::string> model_names() const;
  std::vector<std::string> connection_rule_names() const;
  std::vector<std::string> learning_rule_names() const;
  std::vector<std::string> experiment_names() const;
  std::vector<std::string> targets_of_kind(std::string_view source_kind) const;
};

// The built-in entries (sections, population / poisson_source / current_source blocks, the point
// models whose headers exist, connection rules, edge kinds, the "run" experiment).
Registry make_builtin_registry();

// The process-wide registry the loader uses by default; starts as make_builtin_registry().
Registry& registry();

// The keys of a population block of model `m` besides type/model/n: its parameters, then one
// "<state>_init" key per settable state variable.
std::vector<ParamSpec> model_block_keys(const PopulationModelSpec& m);

// Markdown tables of every entry, in the format docs/toml_reference.md uses (see there).
std::string registry_markdown(const Registry& reg);

// "a, b, c"
std::string join_names(const std::vector<std::string>& names);

}  // namespace sbx::circuits
