// Small helpers shared by the experiment runners (apps/run_*.cpp) and the sweep.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "circuits/description.hpp"
#include "engine/errors.hpp"
#include "engine/population.hpp"

namespace sbx::app {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Collects positioned problems of a circuit description (file:line:col, dotted key, message) so a
// runner's setup reports all of them at once, then throws them as one UserError.
struct Problems {
  const circuits::CircuitDescription& desc;
  std::vector<Diagnostic> list;
  void add(const circuits::SourcePos& p, const std::string& key, const std::string& msg) {
    list.push_back({p.file.empty() ? desc.file : p.file, p.line, p.column, key, msg});
  }
  void throw_if_any() {
    if (!list.empty()) throw UserError(list);
  }
};

// Notes (problems that do not stop the run, e.g. circuits::check_modulators_driven's) on stderr
// in compiler style, "file:line:col: note: 'key': message"; run and check print them alike.
// Each distinct note once per process: a sweep sets up every grid point (validation, then the
// runs) and would otherwise repeat the same note for each.
// Where an error about key `key` of block `b` points: the key's value when the file or a --set
// gave it, else the block's table (a defaulted key has no position of its own).
inline circuits::SourcePos key_or_table(const circuits::BlockDesc& b, std::string_view key) {
  const circuits::SourcePos p = b.params.position(key);
  return p.line > 0 || !p.file.empty() ? p : b.pos;
}

// The state array a decoder's membrane readout reads: `variable` of `target` (population `pop`),
// or the first of V, x, v it has when `variable` is empty. A missing one is a UserError at
// blocks.<decoder>.variable listing the target's state variables.
inline double* membrane_state(Population& pop, const std::string& target, std::string_view variable,
                              const circuits::CircuitDescription& desc,
                              const std::string& decoder) {
  if (variable.empty())
    for (std::string_view v : {"V", "x", "v"})
      if (pop.state(v)) {
        variable = v;
        break;
      }
  if (double* x = variable.empty() ? nullptr : pop.state(variable)) return x;
  std::string names;
  for (const auto& n : pop.state_names()) {
    if (!names.empty()) names += ", ";
    names += n;
  }
  const circuits::SourcePos at = key_or_table(*desc.find_block(decoder), "variable");
  throw UserError(Diagnostic{
      at.file.empty() ? desc.file : at.file, at.line, at.column, "blocks." + decoder + ".variable",
      "block '" + target + "' (model " + std::string(pop.model()) + ") has no state variable '" +
          std::string(variable) + "' for the membrane readout; it has: " + names});
}

inline void print_notes(const std::vector<Diagnostic>& notes) {
  static std::set<std::string> printed;
  for (const Diagnostic& n : notes) {
    std::string line = n.format("note");
    if (printed.insert(line).second) std::fprintf(stderr, "%s\n", line.c_str());
  }
}

// [rules] entries that no connection names (learning = "NAME" or { rule = "NAME", ... }) and no
// experiment key names (distal_reward's `rule`) have no effect: a note each, so that a rule
// defined but never attached does not leave the circuit silently static.
inline std::vector<Diagnostic> unused_rule_notes(const circuits::CircuitDescription& desc) {
  std::vector<Diagnostic> notes;
  for (const circuits::RuleDesc& r : desc.rules) {
    bool used = desc.experiment.params.has("rule") && desc.experiment.params.text("rule") == r.name;
    for (const auto& c : desc.connections)
      used = used || (c.learning && !c.learning->inline_rule && c.learning->rule == r.name);
    if (!used)
      notes.push_back({r.pos.file.empty() ? desc.file : r.pos.file, r.pos.line, r.pos.column,
                       "rules." + r.name,
                       "rule '" + r.name + "' (" + r.type +
                           ") is not used by any connection, so it has no effect (attach it to "
                           "an edge with learning = \"" +
                           r.name + "\")"});
  }
  return notes;
}

// output.weights_every in a plain run none of whose connections learns: no snapshot is taken (the
// initial and final weights only exist for plastic edges), so say so instead of ignoring it.
inline std::vector<Diagnostic> output_notes(const circuits::CircuitDescription& desc) {
  std::vector<Diagnostic> notes;
  const bool learns = std::any_of(desc.connections.begin(), desc.connections.end(),
                                  [](const auto& c) { return c.learning.has_value(); });
  if (desc.experiment.type == "run" && desc.output.weights_every > 0.0 && !learns) {
    const circuits::SourcePos& at = desc.output.weights_every_pos;
    notes.push_back({at.file.empty() ? desc.file : at.file, at.line, at.column,
                     "output.weights_every",
                     "no connection has a learning rule, so there are no plastic weights to "
                     "snapshot: weights_every has no effect"});
  }
  return notes;
}

}  // namespace sbx::app
