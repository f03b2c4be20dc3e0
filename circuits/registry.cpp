#include "circuits/registry.hpp"

#include "circuits/neuroblox_blocks.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "circuits/actor_critic_blocks.hpp"
#include "circuits/build.hpp"
#include "circuits/lane_blocks.hpp"
#include "circuits/plasticity_registry.hpp"
#include "circuits/point_models.hpp"
#include "circuits/rate_blocks.hpp"
#include "circuits/step_blocks.hpp"

namespace sbx::circuits {

namespace {

std::string fmt_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <class T>
const T* find_by_name(const std::vector<T>& v, std::string_view name) {
  for (const auto& x : v)
    if (x.name == name) return &x;
  return nullptr;
}

template <class T>
void add_unique(std::vector<T>& v, T s, const char* what) {
  if (find_by_name(v, s.name))
    throw std::invalid_argument(std::string("registry: duplicate ") + what + " '" + s.name + "'");
  v.push_back(std::move(s));
}

template <class T>
std::vector<std::string> names_of(const std::vector<T>& v) {
  std::vector<std::string> out;
  for (const auto& x : v) out.push_back(x.name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

const char* kind_name(ValueKind k) {
  switch (k) {
    case ValueKind::number:
      return "number";
    case ValueKind::integer:
      return "integer";
    case ValueKind::boolean:
      return "boolean";
    case ValueKind::string:
      return "string";
    case ValueKind::string_or_list:
      return "string or array of strings";
    case ValueKind::number_or_dist:
      return "number or distribution";
    case ValueKind::block_name:
      return "block name";
    case ValueKind::number_list:
      return "array of numbers";
    case ValueKind::integer_list:
      return "array of integers";
    case ValueKind::table:
      return "table";
    case ValueKind::array_of_tables:
      return "array of tables";
    case ValueKind::rule_ref:
      return "rule name or table";
  }
  return "?";
}

bool Range::contains(double x) const {
  if (lo_open ? !(x > lo) : !(x >= lo)) return false;
  if (hi_open ? !(x < hi) : !(x <= hi)) return false;
  return true;
}

bool Range::unbounded() const {
  return std::isinf(lo) && std::isinf(hi);
}

std::string Range::describe() const {
  const bool has_lo = !std::isinf(lo), has_hi = !std::isinf(hi);
  if (!has_lo && !has_hi) return "any";
  if (has_lo && !has_hi) return std::string(lo_open ? "> " : ">= ") + fmt_number(lo);
  if (!has_lo && has_hi) return std::string(hi_open ? "< " : "<= ") + fmt_number(hi);
  return std::string(lo_open ? "(" : "[") + fmt_number(lo) + ", " + fmt_number(hi) +
         (hi_open ? ")" : "]");
}

std::string ParamSpec::default_repr() const {
  if (need == Need::required) return "required";
  if (!default_text.empty() || kind == ValueKind::string)
    return kind == ValueKind::string ? "\"" + default_text + "\"" : default_text;
  if (need == Need::optional) return "unset";
  switch (kind) {
    case ValueKind::boolean:
      return default_number != 0.0 ? "true" : "false";
    case ValueKind::number:
    case ValueKind::integer:
    case ValueKind::number_or_dist:
      return fmt_number(default_number);
    default:
      return "-";
  }
}

std::string ParamSpec::range_repr() const {
  if (!choices.empty())
    return kind == ValueKind::block_name ? "a block of type " + join_names(choices)
                                         : "one of: " + join_names(choices);
  switch (kind) {
    case ValueKind::number:
    case ValueKind::integer:
    case ValueKind::number_or_dist:
    case ValueKind::number_list:
    case ValueKind::integer_list:
      return range.describe();
    case ValueKind::block_name:
      return "a block name";
    default:
      return "-";
  }
}

ParamSpec num(std::string name, std::string unit, double def, Range r, std::string doc) {
  ParamSpec s;
  s.name = std::move(name), s.kind = ValueKind::number, s.unit = std::move(unit);
  s.default_number = def, s.range = r, s.doc = std::move(doc);
  return s;
}
ParamSpec num_required(std::string name, std::string unit, Range r, std::string doc) {
  ParamSpec s = num(std::move(name), std::move(unit), 0.0, r, std::move(doc));
  s.need = Need::required;
  return s;
}
ParamSpec num_optional(std::string name, std::string unit, Range r, std::string doc) {
  ParamSpec s = num(std::move(name), std::move(unit), 0.0, r, std::move(doc));
  s.need = Need::optional;
  return s;
}
ParamSpec integer(std::string name, std::int64_t def, Range r, std::string doc) {
  ParamSpec s = num(std::move(name), "", static_cast<double>(def), r, std::move(doc));
  s.kind = ValueKind::integer;
  return s;
}
ParamSpec integer_required(std::string name, Range r, std::string doc) {
  ParamSpec s = integer(std::move(name), 0, r, std::move(doc));
  s.need = Need::required;
  return s;
}
ParamSpec boolean(std::string name, bool def, std::string doc) {
  ParamSpec s;
  s.name = std::move(name), s.kind = ValueKind::boolean, s.default_number = def ? 1.0 : 0.0;
  s.doc = std::move(doc);
  return s;
}
ParamSpec text(std::string name, std::string def, std::vector<std::string> choices,
               std::string doc) {
  ParamSpec s;
  s.name = std::move(name), s.kind = ValueKind::string, s.default_text = std::move(def);
  s.choices = std::move(choices), s.doc = std::move(doc);
  return s;
}
ParamSpec text_required(std::string name, std::vector<std::string> choices, std::string doc) {
  ParamSpec s = text(std::move(name), "", std::move(choices), std::move(doc));
  s.need = Need::required;
  return s;
}
ParamSpec block_ref(std::string name, Need need, std::vector<std::string> block_types,
                    std::string doc) {
  ParamSpec s;
  s.name = std::move(name), s.kind = ValueKind::block_name, s.need = need;
  s.choices = std::move(block_types), s.doc = std::move(doc);
  return s;
}
ParamSpec generic(std::string name, ValueKind kind, Need need, std::string shown_default,
                  std::string unit, Range r, std::string doc) {
  ParamSpec s;
  s.name = std::move(name), s.kind = kind, s.need = need, s.default_text = std::move(shown_default);
  s.unit = std::move(unit), s.range = r, s.doc = std::move(doc);
  return s;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// ---- Registry -----------------------------------------------------------------------------------

void Registry::add(SectionSpec s) {
  add_unique(sections, std::move(s), "section");
}
void Registry::add(BlockTypeSpec s) {
  add_unique(block_types, std::move(s), "block type");
}
void Registry::add(PopulationModelSpec s) {
  add_unique(models, std::move(s), "population model");
}
void Registry::add(ConnectionRuleSpec s) {
  add_unique(connection_rules, std::move(s), "connection rule");
}
void Registry::add(LearningRuleSpec s) {
  add_unique(learning_rules, std::move(s), "learning rule");
}
void Registry::add(ExperimentSpec s) {
  add_unique(experiments, std::move(s), "experiment");
}
void Registry::add(EdgeKindSpec s) {
  if (edge_kind(s.source_kind, s.target_kind))
    throw std::invalid_argument("registry: duplicate edge kind " + s.source_kind + " -> " +
                                s.target_kind);
  edge_kinds.push_back(std::move(s));
}

const SectionSpec* Registry::section(std::string_view n) const {
  return find_by_name(sections, n);
}
const BlockTypeSpec* Registry::block_type(std::string_view n) const {
  return find_by_name(block_types, n);
}
const PopulationModelSpec* Registry::model(std::string_view n) const {
  return find_by_name(models, n);
}
const ConnectionRuleSpec* Registry::connection_rule(std::string_view n) const {
  return find_by_name(connection_rules, n);
}
const LearningRuleSpec* Registry::learning_rule(std::string_view n) const {
  return find_by_name(learning_rules, n);
}
const ExperimentSpec* Registry::experiment(std::string_view n) const {
  return find_by_name(experiments, n);
}
const EdgeKindSpec* Registry::edge_kind(std::string_view src, std::string_view dst) const {
  for (const auto& e : edge_kinds)
    if (e.source_kind == src && e.target_kind == dst) return &e;
  return nullptr;
}

std::vector<std::string> Registry::block_type_names() const {
  return names_of(block_types);
}
std::vector<std::string> Registry::model_names() const {
  return names_of(models);
}
std::vector<std::string> Registry::connection_rule_names() const {
  return names_of(connection_rules);
}
std::vector<std::string> Registry::learning_rule_names() const {
  return names_of(learning_rules);
}
std::vector<std::string> Registry::experiment_names() const {
  return names_of(experiments);
}
std::vector<std::string> Registry::targets_of_kind(std::string_view src) const {
  std::vector<std::string> out;
  for (const auto& e : edge_kinds)
    if (e.source_kind == src) out.push_back(e.target_kind);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ---- the built-in table -------------------------------------------------------------------------

Registry make_builtin_registry() {
  Registry r;

  // Top-level sections and sub-table schemas. The loader reads these by hand (their values are
  // structured); the specs give it defaults, ranges, and the allowed-key lists of its messages.
  r.add(SectionSpec{
      "root",
      "keys at the top of the file (before the first [table] header)",
      {
          text("schema", "spikeblox/1", {"spikeblox/1"}, "format version"),
          generic("connections", ValueKind::array_of_tables, Need::defaulted, "[]", "", {},
                  "the edges: inline tables, or the long form [[connections]]"),
          generic("meta", ValueKind::table, Need::defaulted, "{}", "", {}, "[meta] section"),
          generic("run", ValueKind::table, Need::defaulted, "{}", "", {}, "[run] section"),
          generic("blocks", ValueKind::table, Need::required, "", "", {},
                  "[blocks.NAME] tables, one per block"),
          generic("rules", ValueKind::table, Need::defaulted, "{}", "", {},
                  "[rules.NAME] learning-rule objects"),
          generic("experiment", ValueKind::table, Need::defaulted, "{ type = \"run\" }", "", {},
                  "[experiment] section"),
          generic("output", ValueKind::table, Need::defaulted, "{}", "", {}, "[output] section"),
      }});
  r.add(SectionSpec{"meta",
                    "name and master seed of the run",
                    {
                        text("name", "circuit", {}, "run name (used in the output file name)"),
                        integer("seed", 1, non_negative(),
                                "master seed: every block / edge stream = f(seed, its name)"),
                        text("description", "", {}, "free text"),
                    }});
  r.add(SectionSpec{
      "run",
      "time axis of the simulation",
      {
          num("duration", "ms", 1000.0, positive(),
              "simulated time of a plain run; a multiple of tick (and of dt when "
              "the circuit has clocked populations)"),
          num("dt", "ms", 0.1, positive(), "step of clocked populations; a multiple of tick"),
          num("tick", "ms", 0.001, positive(),
              "time resolution of every event (spike times, delays)"),
          integer("threads", 1, closed(1, 256),
                  "worker threads for the clocked neuron updates (CLI --threads); they also "
                  "compress the run file's /edges at the start; results and run files are "
                  "bit-identical for every count"),
      }});
  r.add(SectionSpec{
      "connection",
      "one entry of `connections` (inline table or [[connections]])",
      {
          generic("from", ValueKind::string_or_list, Need::required, "", "", {},
                  "source block name, or a list (one edge per (from, to) pair)"),
          generic("to", ValueKind::string_or_list, Need::required, "", "", {},
                  "target block name, or a list"),
          text("rule", "all_to_all", {}, "connection rule: a name from the connection-rules table"),
          num_optional("density", "", closed(0.0, 1.0),
                       "bernoulli: probability per pair; hypergeometric: connection density; "
                       "required by those rules"),
          [] {
            ParamSpec s = integer_required("indegree", non_negative(),
                                           "fixed_indegree: inputs per target neuron");
            s.need = Need::optional;
            return s;
          }(),
          boolean("autapses", false, "allow i -> i synapses when from == to (ignored otherwise)"),
          generic("weight", ValueKind::number_or_dist, Need::defaulted, "1", "target's unit", {},
                  "synaptic weight, or a distribution of weights"),
          generic("delay", ValueKind::number_or_dist, Need::optional, "one tick", "ms",
                  non_negative(),
                  "0 (Brian2's 'no delay': a spike emitted at the end of step n acts on clocked "
                  "targets from step n+1) or >= one tick; a scalar must be on the tick grid; "
                  "distribution draws are rounded to the grid (draws below one tick become one "
                  "tick)"),
          text("receptor", "exc", {"exc", "inh"}, "target receptor (0 = exc, 1 = inh)"),
          generic("learning", ValueKind::rule_ref, Need::optional, "unset", "", {},
                  "a [rules] name, { rule = \"name\", overrides... } or { type = \"...\", "
                  "params... }"),
          num_optional("t_event", "ms", non_negative(),
                       "time of the edge's discrete event (only edge kinds that accept it)"),
      }});
  r.add(SectionSpec{
      "distribution",
      "a distribution table, accepted where a key's type says 'number or "
      "distribution' (value ranges are those of the key)",
      {
          text_required("dist", {"constant", "normal", "uniform"}, "family"),
          num_optional("value", "key's unit", {}, "constant: the value"),
          num_optional("low", "key's unit", {}, "uniform: lower bound"),
          num_optional("high", "key's unit", {}, "uniform: upper bound (>= low)"),
          num_optional("mean", "key's unit", {}, "normal: mean"),
          num_optional("sd", "key's unit", non_negative(), "normal: standard deviation"),
      }});
  r.add(SectionSpec{
      "output",
      "what the run file records",
      {
          text("file", "runs/{name}_{seed}.h5", {},
               "run file; {name} and {seed} are replaced by meta.name and meta.seed"),
          generic("spikes", ValueKind::string_or_list, Need::defaulted, "\"all\"", "", {},
                  "\"all\", \"none\", or a list of block names"),
          generic("traces", ValueKind::array_of_tables, Need::defaulted, "[]", "", {},
                  "state traces, see the trace table"),
          boolean("swmr", true, "open the HDF5 file in single-writer/multiple-reader mode"),
          num("flush_every", "ms", 1000.0, positive(),
              "flush the file every this much simulated time"),
          text("weights", "final", {"final", "none"},
               "weights of plastic spike edges (edges with a learning rule) in /weights/<edge> "
               "(values, after_trial = snapshot index from -1, time_ms): \"final\" the initial "
               "and final weights, \"none\" no snapshots (plain and episode runs; trial runs "
               "keep their per-trial snapshots)"),
          num_optional("weights_every", "ms", positive(),
                       "also snapshot the plastic weights every this much simulated time, a "
                       "multiple of [run].tick (episode runs: at the end of the episode the time "
                       "falls in); plain and episode runs only, other experiments refuse it"),
      }});
  r.add(SectionSpec{"trace",
                    "one entry of output.traces",
                    {
                        block_ref("block", Need::required, {}, "block to record"),
                        text_required("variable", {}, "state variable name (model's recordables)"),
                        generic("neurons", ValueKind::integer_list, Need::optional, "unset", "",
                                non_negative(), "neuron indices to record"),
                        [] {
                          ParamSpec s = integer("n", 0, at_least(1),
                                                "record neurons 0..n-1 (instead of neurons)");
                          s.need = Need::optional;
                          return s;
                        }(),
                        num_optional("dt", "ms", positive(),
                                     "sampling period, a multiple of [run].dt (default: [run].dt)"),
                    }});
  r.add(SectionSpec{"rules",
                    "[rules.NAME]: a learning-rule object shared by every connection naming it",
                    {text_required("type", {}, "learning-rule type (see the learning rules)")}});

  // Connection rules (circuits/connect.hpp).
  r.add(ConnectionRuleSpec{"all_to_all", "every (pre, post) pair", {"autapses"}});
  r.add(ConnectionRuleSpec{"one_to_one", "pre i -> post i; block sizes must match", {}});
  r.add(ConnectionRuleSpec{
      "bernoulli", "each pair independently with probability density", {"density", "autapses"}});
  r.add(ConnectionRuleSpec{"fixed_indegree",
                           "each post neuron gets exactly indegree distinct random pre neurons",
                           {"indegree", "autapses"}});
  r.add(ConnectionRuleSpec{
      "hypergeometric",
      "Neuroblox's rule: N_c = density*N_pre*N_post, each post gets ceil(N_c/N_post) distinct "
      "pre neurons among those with fewer than ceil(N_c/N_pre) outputs so far",
      {"density", "autapses"}});

  // Block types.
  BlockTypeSpec population{
      "population",
      "a group of n neurons of one model; the model's parameters are keys of the block",
      "",
      {text_required("model", {}, "population model (see the models)"),
       integer_required("n", closed(1, kMaxNeurons), "number of neurons")},
      lower_population_block,
      nullptr};
  r.add(std::move(population));
  r.add(BlockTypeSpec{
      "poisson_source",
      "n independent Poisson spike trains",
      "poisson_source",
      {integer("n", 1, closed(1, kMaxNeurons), "number of spike trains"),
       num_required("rate", "Hz", non_negative(),
                    "rate of each train; at most one spike per tick on average (1000/[run].tick "
                    "Hz)"),
       num("start", "ms", 0.0, non_negative(), "first time a spike may occur"),
       num_optional("stop", "ms", positive(), "no spikes at or after this time (unset = never)")},
      lower_poisson_source,
      nullptr});
  r.add(BlockTypeSpec{
      "current_source",
      "n step currents (amplitude while start <= t < stop), drives clocked populations through "
      "a current coupling: I_post += weight * amplitude",
      "current_source",
      {integer("n", 1, closed(1, kMaxNeurons), "number of outputs"),
       num_required("amplitude", "target's current unit", any_value(), "current while on"),
       num("start", "ms", 0.0, non_negative(), "switch-on time"),
       num_optional("stop", "ms", positive(), "switch-off time (unset = never)")},
      lower_current_source,
      nullptr});

  // Which kinds connect, and how.
  r.add(EdgeKindSpec{"population", "population", "spike",
                     "spike projection (CSR, delays, receptor)", true, true, false, true, true,
                     lower_spike_edge});
  r.add(EdgeKindSpec{"poisson_source", "population", "spike",
                     "spike projection from the Poisson trains", true, true, false, true, true,
                     lower_spike_edge});
  r.add(EdgeKindSpec{"current_source", "population", "current",
                     "continuous current coupling (targets with a current input: rate, "
                     "rate_linear, hh_exci, hh_inhib)",
                     false, false, false, false, true, lower_current_edge});

  // Neuroblox cells and neural masses (models registered in point_models.cpp).
  r.add(EdgeKindSpec{"neuroblox_hh", "neuroblox_hh", "conductance",
                     "the synapse the source cell emits: I = w·G_pre·(E_syn,pre − V_post)", false,
                     false, false, true, true, lower_conductance_edge});
  r.add(EdgeKindSpec{"neuroblox_hh", "population", "spike",
                     "spike projection (0 mV crossings) to point neurons", true, true, false, true,
                     true, lower_spike_edge});
  r.add(EdgeKindSpec{"current_source", "neuroblox_hh", "current",
                     "continuous current coupling: I_post += w·amplitude", false, false, false,
                     false, true, lower_current_edge});
  r.add(EdgeKindSpec{"neural_mass", "neuroblox_hh", "current",
                     "continuous current coupling: I_post += w·R_E", false, false, false, false,
                     true, lower_current_edge});

  // The Neuroblox corticostriatal blocks, rules and the category_learning experiment.
  add_neuroblox_blocks(r);

  // Rate units, the DNMS task input, the miconi rule and the dnms experiment (rate_blocks.cpp).
  add_rate_models(r);

  // Step-based environments: encoder / decoder blocks, td_dopamine, the episodes experiment.
  add_step_blocks(r);

  // Experiments.
  r.add(ExperimentSpec{"run", "a plain run for [run].duration", {}});

  // Point-neuron models (one header each in models/).
  add_point_models(r);

  // Spiking plasticity: izhikevich model, stdp / rstdp / three_factor rules, distal_reward.
  add_plasticity(r);

  // The Neuro-Encoder lane-keeping agent: lif_euler model, eligibility_dopamine rule.
  add_lane_blocks(r);

  // The spiking TD actor-critic: value_decoder block, td_three_factor rule.
  add_actor_critic_blocks(r);
  return r;
}

Registry& registry() {
  static Registry r = make_builtin_registry();
  return r;
}

// ---- reference tables ---------------------------------------------------------------------------

namespace {

std::string md_escape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else
      out += c;
  }
  return out;
}

void param_table(std::string& out, const std::vector<ParamSpec>& params) {
  out += "| key | type | unit | default | allowed | meaning |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const auto& p : params)
    out += "| `" + p.name + "` | " + kind_name(p.kind) + " | " + (p.unit.empty() ? "-" : p.unit) +
           " | " + md_escape(p.default_repr()) + " | " + md_escape(p.range_repr()) + " | " +
           md_escape(p.doc) + " |\n";
  out += "\n";
}

}  // namespace

std::vector<ParamSpec> model_block_keys(const PopulationModelSpec& m) {
  std::vector<ParamSpec> keys = m.params;
  for (const auto& s : m.init_states) {
    ParamSpec p =
        generic(s.name + "_init", ValueKind::number_or_dist, Need::optional, "model default",
                s.unit, {}, "initial value of state '" + s.name + "' of every neuron");
    keys.push_back(std::move(p));
  }
  return keys;
}

std::string registry_markdown(const Registry& reg) {
  std::string out;
  for (const auto& s : reg.sections) {
    out += "### section: " + s.name + "\n\n" + s.doc + "\n\n";
    param_table(out, s.params);
  }
  out += "### connection rules\n\n| rule | uses | meaning |\n|---|---|---|\n";
  for (const auto& c : reg.connection_rules)
    out += "| `" + c.name + "` | " + (c.uses.empty() ? "-" : join_names(c.uses)) + " | " +
           md_escape(c.doc) + " |\n";
  out +=
      "\n### edge kinds\n\n| from kind | to kind | edge | delay | receptor | t_event | learning "
      "| meaning |\n|---|---|---|---|---|---|---|---|\n";
  auto yn = [](bool b) { return b ? "yes" : "no"; };
  for (const auto& e : reg.edge_kinds)
    out += "| `" + e.source_kind + "` | `" + e.target_kind + "` | " + e.name + " | " +
           yn(e.uses_delay) + " | " + yn(e.uses_receptor) + " | " + yn(e.accepts_t_event) + " | " +
           yn(e.accepts_learning) + " | " + md_escape(e.doc) + " |\n";
  out += "\n";
  for (const auto& b : reg.block_types) {
    out += "### block: " + b.name + "\n\n" + b.doc + "\n\n";
    param_table(out, b.params);
  }
  for (const auto& m : reg.models) {
    out += "### model: " + m.name + "\n\n" + m.doc + " (" +
           (m.dynamics == Dynamics::clocked ? "clocked" : "event-driven") +
           "; receptors: " + join_names(m.receptors) +
           (m.takes_current ? "; takes current couplings" : "") +
           (m.recordables.empty() ? "" : "; recordable: " + join_names(m.recordables)) + ")\n\n";
    param_table(out, model_block_keys(m));
  }
  for (const auto& l : reg.learning_rules) {
    out += "### learning_rule: " + l.name + "\n\n" + l.doc + "\n\n";
    param_table(out, l.params);
  }
  for (const auto& e : reg.experiments) {
    out += "### experiment: " + e.name + "\n\n" + e.doc + "\n\n";
    param_table(out, e.params);
  }
  return out;
}

}  // namespace sbx::circuits
