// Helpers of the step-agent tests (test_episodes, test_actor_critic, test_lane_snn): a ready
// circuit's TOML text, every diagnostic of checking a text as `spikeblox check` does, and an
// edit of the text that must find what it replaces.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apps/experiments.hpp"
#include "circuits/loader.hpp"
#include "engine/errors.hpp"

namespace sbx::test {

// The text of circuits_toml/<file>.
inline std::string circuit_text(const std::string& file) {
  std::ifstream f(std::string(SBX_SOURCE_DIR) + "/circuits_toml/" + file);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every diagnostic of checking `text` as the CLI does (load + experiment checks); none if valid.
inline std::vector<Diagnostic> check_diagnostics(const std::string& text,
                                                 const std::vector<std::string>& overrides = {},
                                                 const std::string& name = "agent.toml") {
  try {
    const auto d = circuits::load_circuit_string(text, name, overrides);
    app::check_experiment(d);
  } catch (const UserError& e) {
    return e.diagnostics;
  }
  return {};
}

// Replaces the first `from` in `text` by `to`; `from` must be there (the circuit may have
// changed under the test).
inline void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "not in the circuit text: " << from);
  text.replace(at, from.size(), to);
}

}  // namespace sbx::test
