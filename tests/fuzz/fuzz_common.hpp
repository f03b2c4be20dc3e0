// Shared by the libFuzzer targets: what counts as a correct rejection.
//
// Every input the code rejects must be rejected with a UserError carrying at least one diagnostic
// whose message is not empty (a file:line:column or key path when known). Any other exception
// (InternalError, std::out_of_range, std::bad_alloc, ...) is a bug the fuzzer reports, as are
// crashes, hangs and sanitizer findings.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "engine/errors.hpp"

namespace sbx::fuzz {

inline void check_rejection(const UserError& e) {
  if (e.diagnostics.empty()) {
    std::fprintf(stderr, "rejected without a diagnostic: %s\n", e.what());
    std::abort();
  }
  for (const Diagnostic& d : e.diagnostics)
    if (d.message.empty() || d.format().empty()) {
      std::fprintf(stderr, "rejected with an empty message (key '%s')\n", d.key_path.c_str());
      std::abort();
    }
}

[[noreturn]] inline void unexpected(const char* what) {
  std::fprintf(stderr, "not a UserError: %s\n", what);
  std::abort();
}

}  // namespace sbx::fuzz
