// Helpers shared by the circuit tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "circuits/loader.hpp"
#include "engine/errors.hpp"

namespace sbx::circuits::test {

// The diagnostics of loading `text` (empty when it loads).
inline std::vector<Diagnostic> diagnostics_of(const std::string& text,
                                              const std::vector<std::string>& overrides = {}) {
  try {
    load_circuit_string(text, "test.toml", overrides);
  } catch (const UserError& e) {
    return e.diagnostics;
  }
  return {};
}

// The single diagnostic of `text` (fails the test when there is not exactly one).
inline Diagnostic only_diagnostic(const std::string& text,
                                  const std::vector<std::string>& overrides = {}) {
  auto d = diagnostics_of(text, overrides);
  REQUIRE_MESSAGE(
      d.size() == 1, "got " << d.size() << " diagnostics:\n"
                            << [&] {
                                 std::string s;
                                 for (auto& x : d) s += x.format() + "\n";
                                 return s;
                               }());
  return d[0];
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace sbx::circuits::test
