// Small helpers shared by the experiment runners (apps/run_*.cpp) and the sweep.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "circuits/description.hpp"
#include "engine/errors.hpp"

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
inline void print_notes(const std::vector<Diagnostic>& notes) {
  for (const Diagnostic& n : notes) std::fprintf(stderr, "%s\n", n.format("note").c_str());
}

}  // namespace sbx::app
