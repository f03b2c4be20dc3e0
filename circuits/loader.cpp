#include "circuits/loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "circuits/circuit_graph.hpp"
#include "circuits/overrides.hpp"

namespace sbx::circuits {

bool on_grid(double ms, double grid) {
  const double n = ms / grid, k = std::nearbyint(n);
  return std::fabs(n - k) <= 1e-9 * std::max(1.0, std::fabs(n)) && (k != 0.0 || ms == 0.0);
}

std::string beyond_tick_range(std::string_view name, double ms, double tick) {
  constexpr double kMaxTicks = 0x1p62;
  if (!(ms / tick > kMaxTicks)) return {};
  return std::string(name) + " = " + format_number(ms) + " ms is " + format_number(ms / tick) +
         " ticks of " + format_number(tick) + " ms; at most 2^62 ticks (" +
         format_number(kMaxTicks * tick) + " ms at this tick)";
}

namespace {

const SectionSpec& section(const Registry& reg, std::string_view name) {
  const SectionSpec* s = reg.section(name);
  if (!s) throw InternalError("registry has no section '" + std::string(name) + "'");
  return *s;
}

const ParamSpec& spec_of(const SectionSpec& s, std::string_view key) {
  for (const auto& p : s.params)
    if (p.name == key) return p;
  throw InternalError("section '" + s.name + "' has no key '" + std::string(key) + "'");
}

// (name, position) pairs of a from/to value (a string or an array of strings).
std::vector<std::pair<std::string, SourcePos>> endpoint_names(const toml::node& n,
                                                              const DiagnosticSink& sink) {
  std::vector<std::pair<std::string, SourcePos>> out;
  if (auto s = n.as_string()) {
    out.emplace_back(s->get(), sink.pos(n.source()));
  } else if (auto a = n.as_array()) {
    for (const auto& e : *a)
      if (auto es = e.as_string()) out.emplace_back(es->get(), sink.pos(e.source()));
  }
  return out;
}

class Loader {
 public:
  Loader(const toml::table& root, const Registry& reg, DiagnosticSink& sink)
      : root_(root), reg_(reg), sink_(sink) {}

  CircuitDescription run() {
    d_.file = sink_.file();
    TableReader r(root_, "", sink_, true);
    const SectionSpec& rs = section(reg_, "root");
    if (auto s = r.text(spec_of(rs, "schema"))) d_.schema = *s;
    read_meta(r);
    read_run(r);
    read_blocks(r);
    read_rules(r);
    read_connections(r);
    check_shared_bounds();
    read_experiment(r);
    read_output(r);
    r.finish();
    check_block_refs();
    check_block_experiments();
    check_durations();
    check_memory();
    CircuitGraph::build(d_, reg_, sink_);
    return std::move(d_);
  }

 private:
  const toml::table& root_;
  const Registry& reg_;
  DiagnosticSink& sink_;
  CircuitDescription d_;
  bool run_ok_ = true;
  // Block-name parameters to check once every block is known: (value, position, key path, types).
  struct BlockRef {
    std::string name;
    SourcePos pos;
    std::string path;
    std::vector<std::string> types;
    bool needs_neurons = false;  // a trace or spike recording: the block must build neurons
  };
  std::vector<BlockRef> block_refs_;

  static const toml::table& empty_table() {
    static const toml::table t;
    return t;
  }

  void read_meta(TableReader& root) {
    const toml::table* t = root.subtable("meta");
    TableReader r(t ? *t : empty_table(), "meta", sink_);
    const SectionSpec& s = section(reg_, "meta");
    if (auto v = r.text(spec_of(s, "name"))) d_.meta.name = *v;
    if (auto v = r.integer(spec_of(s, "seed"))) d_.meta.seed = static_cast<std::uint64_t>(*v);
    if (auto v = r.text(spec_of(s, "description"))) d_.meta.description = *v;
    r.finish();
  }

  void read_run(TableReader& root) {
    const toml::table* t = root.subtable("run");
    TableReader r(t ? *t : empty_table(), "run", sink_);
    const SectionSpec& s = section(reg_, "run");
    auto duration = r.number(spec_of(s, "duration"));
    auto dt = r.number(spec_of(s, "dt"));
    auto tick = r.number(spec_of(s, "tick"));
    auto threads = r.integer(spec_of(s, "threads"));
    r.finish();
    if (!duration || !dt || !tick || !threads) {
      run_ok_ = false;
      return;
    }
    d_.run = {*duration, *dt, *tick, static_cast<std::uint32_t>(*threads)};
    // (on_grid accepts a value that rounds to 0 ticks: a dt or duration below half a tick would
    // become a zero-length step or run)
    for (const auto& [key, ms] :
         {std::pair<const char*, double>{"dt", *dt}, {"duration", *duration}})
      if (ms / *tick < 0.5) {
        r.error_at_value(key, std::string(key) + " = " + format_number(ms) +
                                  " ms is less than one tick (tick = " + format_number(*tick) +
                                  " ms); it must be a whole number >= 1 of ticks");
        run_ok_ = false;
      }
    if (!run_ok_) return;
    if (!on_grid(*dt, *tick)) {
      r.error_at_value("dt", "dt = " + format_number(*dt) +
                                 " ms is not a multiple of tick = " + format_number(*tick) + " ms");
      run_ok_ = false;
    }
    if (!on_grid(*duration, *tick)) {
      r.error_at_value("duration", "duration = " + format_number(*duration) +
                                       " ms is not a multiple of tick = " + format_number(*tick) +
                                       " ms");
      run_ok_ = false;
    }
    for (const auto& [key, ms] :
         {std::pair<const char*, double>{"dt", *dt}, {"duration", *duration}})
      if (const std::string beyond = beyond_tick_range(key, ms, *tick);
          run_ok_ && !beyond.empty()) {
        r.error_at_value(key, beyond);
        run_ok_ = false;
      }
  }

  // ---- blocks ----------------------------------------------------------------------------------

  void read_blocks(TableReader& root) {
    const toml::table* blocks = root.subtable("blocks", true);
    if (!blocks) return;
    if (blocks->empty())
      sink_.error(sink_.pos(blocks->source()), "blocks",
                  "no blocks: a circuit needs at least one [blocks.NAME] table");
    TableReader br(*blocks, "blocks", sink_);
    for (auto&& [k, v] : *blocks) {
      const std::string name(k.str());
      br.take(name);
      const std::string path = "blocks." + name;
      const toml::table* bt = v.as_table();
      if (!bt) {
        std::string msg =
            "a block must be a table { type = \"...\", ... }, got " + toml_type_name(v);
        const auto& roots = root_level_keys();
        if (std::find(roots.begin(), roots.end(), name) != roots.end())
          msg +=
              "; root-level keys must precede the first [table] header: written after "
              "[blocks], '" +
              name + "' became '" + path + "'; move it above the first [table] header";
        sink_.error(sink_.pos(v.source()), path, msg);
        continue;
      }
      // Block names become HDF5 group and dataset names in the run file (/spikes/<name>,
      // /report/<name>): '/' would open a subgroup there. Edges are named "from->to" ("#k" for
      // the k-th between the same pair; run file groups, random streams): a block name holding
      // "->" or '#' would let two edges share a name (E->E twice and E -> "E#2" are both
      // "E->E#2"), which check accepted and the run file then refused.
      // Control characters (a newline, a tab) and names of blanks only break the one-line
      // messages, the DOT graph and the sweep's CSV index, and cannot be told apart there.
      const bool control = escape_control(name) != name;
      const bool blank = name.find_first_not_of(' ') == std::string::npos;
      if (blank || control || name.find('/') != std::string::npos || name == "." || name == ".." ||
          name.find('#') != std::string::npos || name.find("->") != std::string::npos) {
        sink_.error(sink_.pos(v.source()), path,
                    "block name '" + escape_control(name) +
                        "' is not allowed: a name must not be empty or blank, not '.' or '..', "
                        "and contain no control character (newline, tab, ...), no '/' (it "
                        "names groups in the run file), '#' or '->' (they make the edge names "
                        "\"from->to\" and \"from->to#k\")");
      }  // still read: the edges that name it are judged on their own
      read_block(name, *bt, path);
    }
  }

  void read_block(const std::string& name, const toml::table& t, const std::string& path) {
    TableReader r(t, path, sink_);
    BlockDesc b;
    b.name = name;
    b.pos = r.where();
    auto type = r.text(text_required("type", reg_.block_type_names(), "block type"));
    if (!type) {  // without a type the other keys cannot be judged
      d_.refused_blocks.push_back(name);
      return;
    }
    const BlockTypeSpec* bt = reg_.block_type(*type);
    b.type = *type;
    b.kind = bt->kind.empty() ? bt->name : bt->kind;
    bool complete = true;
    if (b.type == "population") {
      ParamSpec model_spec = bt->params[0];
      model_spec.choices = reg_.model_names();
      auto model = r.text(model_spec);
      auto n = r.integer(bt->params[1]);
      if (n) b.n = static_cast<std::uint32_t>(*n);
      if (!model) {  // unknown model: its keys cannot be judged
        d_.refused_blocks.push_back(name);
        return;
      }
      const PopulationModelSpec* m = reg_.model(*model);
      b.model = *model;
      b.kind = m->kind;
      const std::size_t before = sink_.size();
      r.read_all(m->params, b.params);
      for (const auto& s : m->init_states) {
        ParamSpec is = generic(s.name + "_init", ValueKind::number_or_dist, Need::optional, "",
                               s.unit, {}, "");
        if (auto dist = r.distribution(is)) b.init[s.name] = *dist;
      }
      complete = n.has_value() && sink_.size() == before;
      if (complete && m->check)
        for (const auto& msg : m->check(b))
          sink_.error(b.pos, path, "invalid parameters of model '" + m->name + "': " + msg);
    } else {
      r.read_all(bt->params, b.params);
      if (b.params.has("n")) b.n = static_cast<std::uint32_t>(b.params.integer("n"));
      for (const auto& p : bt->params)
        if (p.kind == ValueKind::block_name && b.params.has(p.name))
          block_refs_.push_back(
              {b.params.text(p.name), b.params.position(p.name), path + "." + p.name, p.choices});
    }
    r.finish();
    d_.blocks.push_back(std::move(b));
  }

  // ---- rules -----------------------------------------------------------------------------------

  void read_rules(TableReader& root) {
    const toml::table* rules = root.subtable("rules");
    if (!rules) return;
    TableReader rr(*rules, "rules", sink_);
    for (auto&& [k, v] : *rules) {
      const std::string name(k.str());
      rr.take(name);
      const std::string path = "rules." + name;
      const toml::table* t = v.as_table();
      if (!t) {
        sink_.error(
            sink_.pos(v.source()), path,
            "a learning rule must be a table { type = \"...\", ... }, got " + toml_type_name(v));
        continue;
      }
      TableReader r(*t, path, sink_);
      RuleDesc rd;
      rd.name = name;
      rd.pos = r.where();
      auto type = read_rule_type(r);
      if (!type) continue;
      rd.type = *type;
      read_rule_params(r, *reg_.learning_rule(*type), rd.params);
      check_weight_bounds(r, rd.params, rd.name);
      r.finish();
      d_.rules.push_back(std::move(rd));
    }
  }

  std::optional<std::string> read_rule_type(TableReader& r) {
    const auto names = reg_.learning_rule_names();
    const toml::node* n = r.table().get("type");
    if (names.empty() && n && n->is_string()) {
      r.take("type");
      r.error_at_value("type", "unknown learning-rule type '" + n->as_string()->get() +
                                   "' (no learning-rule types are registered in this build)");
      return std::nullopt;
    }
    return r.text(text_required("type", names, "learning-rule type"));
  }

  void read_rule_params(TableReader& r, const LearningRuleSpec& spec, ParamMap& out) {
    r.read_all(spec.params, out);
    for (const auto& p : spec.params)
      if (p.kind == ValueKind::block_name && out.has(p.name))
        block_refs_.push_back(
            {out.text(p.name), out.position(p.name), r.key_path(p.name), p.choices});
  }

  // ---- connections -----------------------------------------------------------------------------

  void read_connections(TableReader& root) {
    const toml::node* n = root.take("connections");
    if (!n) return;
    const toml::array* arr = n->as_array();
    if (!arr) {
      sink_.error(sink_.pos(n->source()), "connections",
                  "must be an array of tables ([{ from = ..., to = ... }, ...] or "
                  "[[connections]] blocks), got " +
                      toml_type_name(*n));
      return;
    }
    std::map<std::string, int> repeats;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const toml::node& e = *arr->get(i);
      const std::string path = "connections[" + std::to_string(i) + "]";
      const toml::table* t = e.as_table();
      if (!t) {
        sink_.error(
            sink_.pos(e.source()), path,
            "a connection must be a table { from = ..., to = ... }, got " + toml_type_name(e));
        continue;
      }
      read_connection(i, *t, path, repeats);
    }
  }

  void read_connection(std::size_t index, const toml::table& t, const std::string& path,
                       std::map<std::string, int>& repeats) {
    TableReader r(t, path, sink_);
    const SectionSpec& cs = section(reg_, "connection");
    const std::size_t before = sink_.size();
    ConnectionDesc c;
    c.entry = index;
    c.path = path;
    c.pos = r.where();

    auto from = r.strings(spec_of(cs, "from"));
    auto to = r.strings(spec_of(cs, "to"));
    ParamSpec rule_spec = spec_of(cs, "rule");
    rule_spec.choices = reg_.connection_rule_names();
    auto rule = r.text(rule_spec);
    if (rule) c.rule = *rule;
    c.rule_pos = r.where("rule");
    auto density = r.number(spec_of(cs, "density"));
    const ParamSpec& indeg_spec = spec_of(cs, "indegree");
    auto indegree = r.integer(indeg_spec);
    auto autapses = r.boolean(spec_of(cs, "autapses"));
    if (autapses) c.autapses = *autapses;
    if (auto w = r.distribution(spec_of(cs, "weight"))) c.weight = *w;
    c.delay_pos = r.where("delay");
    if (r.has("delay"))
      c.delay = read_delay(r, spec_of(cs, "delay"));
    else
      r.take("delay");
    auto receptor = r.text(spec_of(cs, "receptor"));
    if (receptor) c.receptor = *receptor == "inh" ? 1u : 0u;
    c.receptor_pos = r.where("receptor");
    c.t_event_pos = r.where("t_event");
    c.t_event = r.number(spec_of(cs, "t_event"));
    if (const toml::node* ln = r.take("learning"))
      c.learning = read_learning(*ln, path + ".learning");

    // Rule-specific keys: required by the rule, or rejected when the rule does not use them.
    if (rule) {
      const ConnectionRuleSpec* rs = reg_.connection_rule(*rule);
      auto uses = [&](const char* key) {
        return std::find(rs->uses.begin(), rs->uses.end(), key) != rs->uses.end();
      };
      for (const char* key : {"density", "indegree"}) {
        const bool given = r.has(key);
        if (uses(key) && !given) {
          r.missing(key, std::string("rule '") + *rule + "' needs it");
        } else if (!uses(key) && given) {
          std::vector<std::string> users;
          for (const auto& x : reg_.connection_rules)
            if (std::find(x.uses.begin(), x.uses.end(), key) != x.uses.end())
              users.push_back(x.name);
          r.error_at_value(key, std::string("'") + key + "' is not used by rule '" + *rule +
                                    "' (rules that use it: " + join_names(users) + ")");
        }
      }
      if (density) c.density = *density;
      if (indegree) c.indegree = static_cast<std::uint32_t>(*indegree);
      if (*rule == "hypergeometric" && density && *density <= 0.0)
        r.error_at_value("density",
                         "rule 'hypergeometric' needs density > 0, got " + format_number(*density));
    }
    r.finish();

    if (!from || !to) return;
    const auto froms = endpoint_names(*t.get("from"), sink_);
    const auto tos = endpoint_names(*t.get("to"), sink_);
    if (froms.empty()) r.error_at_value("from", "must name at least one block");
    if (tos.empty()) r.error_at_value("to", "must name at least one block");
    if (sink_.size() != before) return;
    for (const auto& [fname, fpos] : froms)
      for (const auto& [tname, tpos] : tos) {
        ConnectionDesc e = c;
        e.from = fname, e.from_pos = fpos;
        e.to = tname, e.to_pos = tpos;
        const std::string base = fname + "->" + tname;
        const int k = ++repeats[base];
        e.name = k == 1 ? base : base + "#" + std::to_string(k);
        if (e.learning && e.learning->inline_rule) e.learning->rule = e.name + ".learning";
        d_.connections.push_back(std::move(e));
      }
  }

  std::optional<Distribution> read_delay(TableReader& r, const ParamSpec& spec) {
    const toml::node* n = r.take("delay");
    auto d = TableReader::parse_distribution(*n, r.key_path("delay"), spec, sink_);
    if (!d || !run_ok_) return d;
    const double tick = d_.run.tick;
    const SourcePos pos = sink_.pos(n->source());
    if (d->is_constant()) {
      if (!on_grid(d->a, tick)) {
        sink_.error(pos, r.key_path("delay"),
                    "delay " + format_number(d->a) + " ms is not a multiple of the tick (" +
                        format_number(tick) + " ms); scalar delays must lie on the tick grid");
        return std::nullopt;
      }
      if (std::nearbyint(d->a / tick) < 0.0) {  // 0 is allowed: Brian2's "no delay"
        sink_.error(pos, r.key_path("delay"), "delay " + format_number(d->a) + " ms is negative");
        return std::nullopt;
      }
    } else {
      const double low = d->a;  // uniform: low; normal: mean
      if (low < tick * (1.0 - 1e-9)) {
        sink_.error(pos, r.key_path("delay"),
                    std::string(d->kind == Distribution::Kind::uniform ? "low" : "mean") +
                        " of the delay distribution must be >= one tick (" + format_number(tick) +
                        " ms), got " + format_number(low) + " ms");
        return std::nullopt;
      }
    }
    return d;
  }

  std::optional<LearningDesc> read_learning(const toml::node& n, const std::string& path) {
    LearningDesc l;
    l.pos = sink_.pos(n.source());
    if (auto s = n.as_string()) {
      const RuleDesc* rd = find_rule_or_report(s->get(), l.pos, path);
      if (!rd) return std::nullopt;
      l.rule = rd->name, l.type = rd->type, l.params = rd->params;
      return l;
    }
    const toml::table* t = n.as_table();
    if (!t) {
      sink_.error(l.pos, path,
                  "must be a rule name, { rule = \"name\", overrides... } or { type = \"...\", "
                  "params... }, got " +
                      toml_type_name(n));
      return std::nullopt;
    }
    TableReader r(*t, path, sink_);
    const bool has_rule = t->contains("rule"), has_type = t->contains("type");
    if (has_rule == has_type) {
      r.error_at_table(has_rule ? "give either 'rule' (a [rules] name) or 'type' (an inline "
                                  "rule), not both"
                                : "a learning table needs 'rule' (a [rules] name) or 'type' (an "
                                  "inline rule type)");
      for (auto&& [k, v] : *t) r.take(k.str());
      return std::nullopt;
    }
    if (has_rule) {
      auto name = r.text(text_required("rule", {}, "[rules] name"));
      if (!name) return std::nullopt;
      const RuleDesc* rd = find_rule_or_report(*name, r.where("rule"), r.key_path("rule"));
      if (!rd) {
        for (auto&& [k, v] : *t) r.take(k.str());
        return std::nullopt;
      }
      l.rule = rd->name, l.type = rd->type;
      // Overrides: the rule's keys given here replace the [rules] values for this edge.
      const LearningRuleSpec& spec = *reg_.learning_rule(rd->type);
      ParamMap overrides;
      for (const auto& p : spec.params) {
        if (t->contains(p.name))
          r.read_into(p, overrides);
        else
          r.allow(p.name);
      }
      l.params = rd->params;
      for (auto& [k, v] : overrides.values) l.params.set(k, v, overrides.where[k]);
      if (overrides.has("w_min") || overrides.has("w_max")) bounds_overridden_.insert(rd->name);
      check_weight_bounds(r, l.params);
      r.finish();
      return l;
    }
    auto type = read_rule_type(r);
    if (!type) {
      for (auto&& [k, v] : *t) r.take(k.str());
      return std::nullopt;
    }
    l.type = *type;
    l.inline_rule = true;
    read_rule_params(r, *reg_.learning_rule(*type), l.params);
    check_weight_bounds(r, l.params);
    r.finish();
    return l;
  }

  // A rule's weight bounds must satisfy w_min <= w_max, checked at the key where a bound is
  // written. For a [rules] entry (`shared`) the check waits until the connections are read
  // (check_shared_bounds): a rule whose edges give their own bounds may leave one of its own to
  // be overridden (e.g. w_max = -1 for inhibitory edges, w_min on each edge); each edge's merged
  // bounds are checked at the edge, at its bound, or at its learning table when the conflict is
  // all the rule's and the defaults'. Unused [rules] entries are checked too (the attach
  // functions only see used rules).
  void check_weight_bounds(TableReader& r, const ParamMap& p, const std::string& shared_rule = {}) {
    if (!p.has("w_min") || !p.has("w_max")) return;
    const double lo = p.number("w_min"), hi = p.number("w_max");
    if (lo <= hi) return;
    const bool has_max = r.table().contains("w_max"), has_min = r.table().contains("w_min");
    std::string msg = "the weight bounds need w_min <= w_max, got w_min = " + format_number(lo) +
                      " and w_max = " + format_number(hi);
    if (!shared_rule.empty()) {
      if (has_max || has_min) {
        const char* key = has_max ? "w_max" : "w_min";
        pending_bounds_.push_back({shared_rule, r.where(key), r.key_path(key), std::move(msg)});
      }
      return;
    }
    if (has_max || has_min)
      r.error_at_value(has_max ? "w_max" : "w_min", msg);
    else
      sink_.error(r.where(), r.path(), msg + " (from the rule and the defaults)");
  }
  // The [rules] entries' conflicting bounds, reported unless an edge overrides a bound.
  void check_shared_bounds() {
    for (const PendingBounds& b : pending_bounds_)
      if (!bounds_overridden_.count(b.rule)) sink_.error(b.pos, b.path, b.message);
  }
  struct PendingBounds {
    std::string rule;
    SourcePos pos;
    std::string path, message;
  };
  std::vector<PendingBounds> pending_bounds_;
  std::set<std::string> bounds_overridden_;  // [rules] names whose bounds an edge overrides

  const RuleDesc* find_rule_or_report(const std::string& name, const SourcePos& pos,
                                      const std::string& path) {
    if (const RuleDesc* rd = d_.find_rule(name)) return rd;
    std::vector<std::string> names;
    for (const auto& r : d_.rules) names.push_back(r.name);
    std::string msg = "undefined learning rule '" + name + "' (defined in [rules]: " +
                      (names.empty() ? std::string("none") : join_names(names));
    const std::string m = did_you_mean(name, names);
    msg += m.empty() ? ")" : "; " + m + ")";
    sink_.error(pos, path, msg);
    return nullptr;
  }

  // ---- experiment, output
  // --------------------------------------------------------------------------

  void read_experiment(TableReader& root) {
    const toml::table* t = root.subtable("experiment");
    TableReader r(t ? *t : empty_table(), "experiment", sink_);
    d_.experiment.pos = r.where();
    auto type = r.text(text("type", "run", reg_.experiment_names(), "experiment type"));
    if (!type) return;
    d_.experiment.type = *type;
    const ExperimentSpec& spec = *reg_.experiment(*type);
    r.read_all(spec.params, d_.experiment.params);
    for (const auto& p : spec.params)
      if (p.kind == ValueKind::block_name && d_.experiment.params.has(p.name))
        block_refs_.push_back({d_.experiment.params.text(p.name),
                               d_.experiment.params.position(p.name), r.key_path(p.name),
                               p.choices});
    r.finish();
  }

  void read_output(TableReader& root) {
    const toml::table* t = root.subtable("output");
    TableReader r(t ? *t : empty_table(), "output", sink_);
    const SectionSpec& s = section(reg_, "output");
    OutputDesc& o = d_.output;
    if (auto f = r.text(spec_of(s, "file"))) {
      o.file = *f;
      // (an empty name failed at run time without the key; "~" is not the home folder here, it
      // made a folder named '~' in the working directory)
      if (f->empty())
        r.error_at_value("file",
                         "the run file name is empty; give a path such as runs/{name}_{seed}.h5");
      else if ((*f)[0] == '~')
        r.error_at_value("file", "'" + *f +
                                     "' starts with '~', which is not expanded to the home folder "
                                     "here; give an absolute path or one relative to the working "
                                     "directory");
      // Only {name} and {seed} are placeholders.
      for (std::size_t i = f->find('{'); i != std::string::npos; i = f->find('{', i + 1)) {
        const auto close = f->find('}', i);
        const std::string ph =
            close == std::string::npos ? f->substr(i) : f->substr(i, close - i + 1);
        if (ph != "{name}" && ph != "{seed}") {
          r.error_at_value("file", "unknown placeholder '" + ph + "' (allowed: {name}, {seed})");
          break;
        }
      }
    }
    if (const toml::node* sp = r.table().get("spikes")) {
      if (auto str = sp->as_string(); str && str->get() != "all" && str->get() != "none") {
        r.take("spikes");
        r.error_at_value("spikes", "'" + str->get() +
                                       "' is not allowed (allowed: \"all\", \"none\", or a list "
                                       "of block names)");
      } else if (auto v = r.strings(spec_of(s, "spikes"))) {
        if (sp->is_string()) {
          o.spikes = (*v)[0] == "all" ? OutputDesc::Spikes::all : OutputDesc::Spikes::none;
        } else {
          o.spikes = OutputDesc::Spikes::list;
          o.spike_blocks = *v;
          const toml::array& a = *sp->as_array();
          for (std::size_t i = 0; i < v->size(); ++i) {
            const std::string key = "output.spikes[" + std::to_string(i) + "]";
            // (a block listed twice was recorded once: a typo for another block, as a rule)
            const auto first = std::find(v->begin(), v->begin() + i, (*v)[i]);
            if (first != v->begin() + i)
              sink_.error(sink_.pos(a.get(i)->source()), key,
                          "block '" + (*v)[i] + "' is listed twice (also output.spikes[" +
                              std::to_string(first - v->begin()) + "])");
            block_refs_.push_back({(*v)[i], sink_.pos(a.get(i)->source()), key, {}, true});
          }
        }
      }
    } else {
      r.take("spikes");
    }
    if (auto v = r.boolean(spec_of(s, "swmr"))) o.swmr = *v;
    if (auto v = r.number(spec_of(s, "flush_every"))) o.flush_every = *v;
    if (auto v = r.text(spec_of(s, "weights")))
      o.weights = *v == "none" ? OutputDesc::Weights::none : OutputDesc::Weights::final;
    if (auto v = r.number(spec_of(s, "weights_every"))) {
      o.weights_every = *v;
      o.weights_every_pos = sink_.pos(r.table().get("weights_every")->source());
      const std::string beyond = beyond_tick_range("weights_every", *v, d_.run.tick);
      if (run_ok_ && !beyond.empty())  // (1e300 ms failed at run time, exit 1)
        r.error_at_value("weights_every", beyond);
      else if (run_ok_ && !on_grid(*v, d_.run.tick))  // (rounding it silently moved every snapshot;
        r.error_at_value("weights_every",             // below one tick it snapshot every tick)
                         "weights_every = " + format_number(*v) +
                             " ms is not a multiple of tick = " + format_number(d_.run.tick) +
                             " ms");
      else if (o.weights == OutputDesc::Weights::none)
        r.error_at_value("weights_every",
                         "weights_every needs weights = \"final\" (weights = \"none\" records no "
                         "snapshots)");
      else if (d_.experiment.type != "run" && d_.experiment.type != "episodes")
        r.error_at_value("weights_every",
                         "weights_every applies to plain runs (experiment 'run') and episode runs; "
                         "the '" +
                             d_.experiment.type +
                             "' experiment keeps its own weight snapshots (README, run file)");
    }
    if (const toml::node* tr = r.take("traces")) {
      const toml::array* arr = tr->as_array();
      if (!arr) {
        sink_.error(sink_.pos(tr->source()), "output.traces",
                    "must be an array of tables [{ block, variable, neurons or n, dt }], got " +
                        toml_type_name(*tr));
      } else {
        for (std::size_t i = 0; i < arr->size(); ++i) read_trace(*arr->get(i), i);
      }
    }
    r.finish();
  }

  void read_trace(const toml::node& n, std::size_t i) {
    const std::string path = "output.traces[" + std::to_string(i) + "]";
    const toml::table* t = n.as_table();
    if (!t) {
      sink_.error(sink_.pos(n.source()), path, "a trace must be a table, got " + toml_type_name(n));
      return;
    }
    TableReader r(*t, path, sink_);
    const SectionSpec& s = section(reg_, "trace");
    TraceDesc td;
    td.pos = r.where();
    auto block = r.text(spec_of(s, "block"));
    auto variable = r.text(spec_of(s, "variable"));
    auto neurons = r.numbers(spec_of(s, "neurons"));
    auto count = r.integer(spec_of(s, "n"));
    auto dt = r.number(spec_of(s, "dt"));
    if (neurons && count) r.error_at_value("n", "give either 'neurons' or 'n', not both");
    r.finish();
    if (!block || !variable) return;
    td.block = *block;
    td.variable = *variable;
    if (neurons) {
      if (neurons->empty())
        r.error_at_value("neurons",
                         "an empty list records nothing; leave 'neurons' out to record every "
                         "neuron, or give 'n'");
      // (above 2^32 - 1 the cast saturated: neuron 4294967296 was reported as 4294967295)
      for (double x : *neurons)
        td.neurons.push_back(static_cast<std::uint32_t>(std::min(x, kMaxNeurons)));
      std::vector<std::uint32_t> sorted = td.neurons;
      std::sort(sorted.begin(), sorted.end());
      if (auto twice = std::adjacent_find(sorted.begin(), sorted.end()); twice != sorted.end())
        r.error_at_value("neurons", "neuron " + std::to_string(*twice) +
                                        " is listed twice (each neuron is one column)");
    }
    // (n = 2^32 + 1 wrapped to 1 and recorded one neuron without a word)
    if (count) td.n = static_cast<std::uint32_t>(std::min<std::int64_t>(*count, 4294967295));
    if (dt) {
      td.dt = *dt;
      if (run_ok_ && !on_grid(*dt, d_.run.dt))
        r.error_at_value(
            "dt", "trace dt = " + format_number(*dt) +
                      " ms must be a multiple of [run].dt = " + format_number(d_.run.dt) + " ms");
    }
    const BlockDesc* b = d_.find_block(td.block);
    if (!b || !builds_neurons(*b)) {  // judged with the other block references
      block_refs_.push_back({td.block, r.where("block"), path + ".block", {}, true});
    } else {
      if (const PopulationModelSpec* m = reg_.model(b->model);
          m && !m->recordables.empty() &&
          std::find(m->recordables.begin(), m->recordables.end(), td.variable) ==
              m->recordables.end()) {
        std::string msg = "block '" + td.block + "' (model " + m->name + ") has no variable '" +
                          td.variable + "' (recordable: " + join_names(m->recordables);
        const std::string dym = did_you_mean(td.variable, m->recordables);
        msg += dym.empty() ? ")" : "; " + dym + ")";
        r.error_at_value("variable", msg);
      }
      const std::uint32_t size = block_size(*b, reg_);
      for (std::size_t k = 0; k < td.neurons.size(); ++k)
        if (td.neurons[k] >= size) {
          sink_.error(sink_.pos(t->get("neurons")->as_array()->get(k)->source()),
                      path + ".neurons[" + std::to_string(k) + "]",
                      "neuron " + format_number((*neurons)[k]) + " is out of range: block '" +
                          td.block + "' has " + std::to_string(size) + " neurons");
        }
      if (count && *count > size && size > 0)  // (size 0: the block's own n was refused already)
        r.error_at_value("n", "n = " + std::to_string(*count) + " exceeds the " +
                                  std::to_string(size) + " neurons of block '" + td.block + "'");
    }
    if (td.neurons.empty() && td.n == 0 && b) td.n = block_size(*b, reg_);
    d_.output.traces.push_back(std::move(td));
  }

  // ---- cross checks
  // ----------------------------------------------------------------------------------

  void check_block_refs() {
    std::vector<std::string> names;
    for (const auto& b : d_.blocks) names.push_back(b.name);
    for (const auto& ref : block_refs_) {
      const BlockDesc* b = d_.find_block(ref.name);
      if (!b && d_.is_refused(ref.name)) continue;  // its own error says why
      if (!b) {
        std::string msg = "undefined block '" + ref.name + "' (defined blocks: " +
                          (names.empty() ? std::string("none") : join_names(names));
        const std::string m = did_you_mean(ref.name, names);
        msg += m.empty() ? ")" : "; " + m + ")";
        sink_.error(ref.pos, ref.path, msg);
      } else if (!ref.types.empty() &&
                 std::find(ref.types.begin(), ref.types.end(), b->type) == ref.types.end()) {
        sink_.error(ref.pos, ref.path,
                    "block '" + ref.name + "' is of type " + b->type +
                        ", expected a block of type " + join_names(ref.types));
      } else if (ref.needs_neurons && !builds_neurons(*b)) {
        sink_.error(ref.pos, ref.path,
                    "block '" + ref.name + "' (type " + b->type +
                        ") has no neurons: there is nothing to record");
      }
    }
  }

  bool builds_neurons(const BlockDesc& b) const {
    const BlockTypeSpec* bt = reg_.block_type(b.type);
    return !bt || bt->builds_neurons;
  }

  // Blocks that work only in some experiments (BlockTypeSpec::experiments), e.g. the modulator
  // block (plain runs) and the decoders (episodes).
  void check_block_experiments() {
    for (const BlockDesc& b : d_.blocks) {
      const BlockTypeSpec* bt = reg_.block_type(b.type);
      if (!bt || bt->experiments.empty() ||
          std::find(bt->experiments.begin(), bt->experiments.end(), d_.experiment.type) !=
              bt->experiments.end())
        continue;
      sink_.error(b.pos, "blocks." + b.name,
                  "a block of type " + b.type + " works in the " + join_names(bt->experiments) +
                      " experiment" + (bt->experiments.size() > 1 ? "s" : "") + ", not in '" +
                      d_.experiment.type + "' (it would do nothing there)");
    }
  }

  // A circuit that cannot fit in this machine's memory fails here, with the part that makes it
  // big, instead of being killed by the kernel part way through the build (a probe's n = 2e9
  // neurons: no message, exit 137). The estimate is a lower bound — 16 bytes per neuron, 8 per
  // synapse (the static synapse's measured size; plastic ones and every model's state take
  // more), expected synapse counts of the random rules — so a circuit that runs is never refused.
  void check_memory() {
    double available = 0.0;  // bytes, MemAvailable of /proc/meminfo; 0 = unknown (no check)
    {
      std::ifstream mi("/proc/meminfo");
      std::string key;
      double kb = 0.0;
      std::string unit;
      while (mi >> key >> kb >> unit)
        if (key == "MemAvailable:") {
          available = kb * 1024.0;
          break;
        }
    }
    if (!(available > 0.0)) return;
    const auto size = [&](const std::string& block) {
      const BlockDesc* b = d_.find_block(block);
      return b ? static_cast<double>(b->n) : 0.0;
    };
    double total = 0.0, biggest = 0.0;
    std::string biggest_key;
    SourcePos biggest_pos;
    const auto part = [&](double bytes, const std::string& key, const SourcePos& pos) {
      total += bytes;
      if (bytes > biggest) biggest = bytes, biggest_key = key, biggest_pos = pos;
    };
    for (const auto& b : d_.blocks)
      part(16.0 * b.n, "blocks." + b.name + ".n",
           b.params.has("n") ? b.params.position("n") : b.pos);
    for (const auto& c : d_.connections) {
      const double pre = size(c.from), post = size(c.to);
      double synapses = 0.0;
      if (c.rule == "all_to_all")
        synapses = pre * post;
      else if (c.rule == "one_to_one")
        synapses = std::min(pre, post);
      else if (c.rule == "bernoulli" || c.rule == "hypergeometric")
        synapses = c.density * pre * post;
      else if (c.rule == "fixed_indegree")
        synapses = static_cast<double>(c.indegree) * post;
      part(8.0 * synapses, c.path, c.pos);
    }
    if (total <= available) return;
    char msg[320];
    std::snprintf(msg, sizeof msg,
                  "the circuit needs at least %.3g GB of memory (16 B per neuron, 8 B per "
                  "synapse), this machine has %.3g GB available; the largest part is %s "
                  "(%.3g GB)",
                  total / 1e9, available / 1e9, biggest_key.c_str(), biggest / 1e9);
    sink_.error(biggest_pos, biggest_key, msg);
  }

  void check_durations() {
    if (!run_ok_) return;
    bool clocked = false;
    for (const auto& b : d_.blocks) {
      if (const PopulationModelSpec* m = reg_.model(b.model); m && m->dynamics == Dynamics::clocked)
        clocked = true;
      if (b.type == "current_source") clocked = true;
      // Source switch times are event times: they must lie on the tick grid.
      for (const char* key : {"start", "stop"})
        if ((b.type == "current_source" || b.type == "poisson_source") && b.params.has(key)) {
          const double v = b.params.number(key);
          const double grid = b.type == "current_source" ? d_.run.dt : d_.run.tick;
          if (!on_grid(v, grid))
            sink_.error(b.params.position(key), "blocks." + b.name + "." + key,
                        std::string(key) + " = " + format_number(v) + " ms is not a multiple of " +
                            (b.type == "current_source" ? "[run].dt = " : "[run].tick = ") +
                            format_number(grid) + " ms");
        }
    }
    // A Poisson train's spike times are ticks: above one spike per tick on average a train is no
    // longer Poisson (spikes pile up on ticks), and the run's work grows without bound.
    for (const auto& b : d_.blocks)
      if (b.type == "poisson_source" && b.params.has("rate")) {
        const double rate = b.params.number("rate"), max_rate = 1000.0 / d_.run.tick;
        if (rate > max_rate)
          sink_.error(b.params.position("rate"), "blocks." + b.name + ".rate",
                      "rate = " + format_number(rate) +
                          " Hz is more than one spike per tick "
                          "(run.tick = " +
                          format_number(d_.run.tick) + " ms): at most " + format_number(max_rate) +
                          " Hz");
      }
    if (clocked && !on_grid(d_.run.duration, d_.run.dt)) {
      const toml::table* run = root_.get_as<toml::table>("run");
      const toml::node* dn = run ? run->get("duration") : nullptr;
      sink_.error(dn ? sink_.pos(dn->source()) : SourcePos{}, "run.duration",
                  "duration = " + format_number(d_.run.duration) +
                      " ms is not a multiple of dt = " + format_number(d_.run.dt) +
                      " ms (the circuit has clocked populations)");
    }
  }
};

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw UserError(Diagnostic{path, 0, 0, "", "is a directory, not a circuit TOML file"});
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw UserError(Diagnostic{path, 0, 0, "",
                               std::string("cannot open the circuit file: ") + std::strerror(err)});
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

toml::table parse_circuit_text(std::string_view text, const std::string& file) {
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    Diagnostic d;
    d.file = file;
    d.line = static_cast<int>(e.source().begin.line);
    d.column = static_cast<int>(e.source().begin.column);
    d.message = "TOML syntax error: " + std::string(e.description());
    throw UserError(d);
  }
}

CircuitDescription describe_circuit(const toml::table& root, const Registry& reg,
                                    DiagnosticSink& sink) {
  return Loader(root, reg, sink).run();
}

CircuitDescription load_circuit_string(std::string_view text, const std::string& file,
                                       const std::vector<std::string>& overrides,
                                       const Registry& reg) {
  toml::table root = parse_circuit_text(text, file);
  DiagnosticSink sink(file);
  apply_overrides(root, overrides, sink);
  CircuitDescription d = describe_circuit(root, reg, sink);
  sink.throw_if_any();
  d.toml_text = std::string(text);
  d.resolved_json = resolved_config_json(root);
  d.overrides = overrides;
  return d;
}

CircuitDescription load_circuit_file(const std::string& path,
                                     const std::vector<std::string>& overrides) {
  return load_circuit_file(path, overrides, registry());
}

CircuitDescription load_circuit_file(const std::string& path,
                                     const std::vector<std::string>& overrides,
                                     const Registry& reg) {
  return load_circuit_string(read_file(path), path, overrides, reg);
}

std::string resolved_config_json(const toml::table& root) {
  std::ostringstream os;
  os << toml::json_formatter{root};
  return os.str();
}

std::string resolved_config_json(const std::string& path,
                                 const std::vector<std::string>& overrides) {
  toml::table root = parse_circuit_text(read_file(path), path);
  DiagnosticSink sink(path);
  apply_overrides(root, overrides, sink);
  sink.throw_if_any();
  return resolved_config_json(root);
}

}  // namespace sbx::circuits
