// Error types. The split follows Arbor/NEST: a UserError is the user's to fix (bad TOML, bad CSV,
// an unwritable path) and carries where; an InternalError is a broken invariant, i.e. our bug.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sbx {

// A number as users wrote it in messages: shortest round-trip-ish form ("-50", "0.1", "1e+300"),
// not std::to_string's fixed six decimals ("-50.000000").
inline std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

struct SimError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One diagnostic in compiler style: "file:line:col: error: message".
// `text` with control characters (newline, tab, ...) written as \xNN: for names and keys quoted
// in one-line messages.
std::string escape_control(std::string_view text);

struct Diagnostic {
  std::string file;
  int line = 0;          // 1-based; 0 = unknown
  int column = 0;        // 1-based; 0 = unknown
  std::string key_path;  // dotted key path, e.g. "blocks.VAC.n_wta" (may be empty)
  std::string message;   // the rule broken and the allowed values

  // "file:line:col: error: 'key.path': message" (out of line: GCC 12 gives a false -Wrestrict
  // warning, bug 105651, wherever the string concatenation is inlined). `severity` replaces
  // "error" for a note that does not stop the run.
  std::string format(const char* severity = "error") const;
};

// A user error with one or more diagnostics (all of them are reported together).
struct UserError : SimError {
  std::vector<Diagnostic> diagnostics;
  explicit UserError(std::vector<Diagnostic> d) : SimError(join(d)), diagnostics(std::move(d)) {}
  explicit UserError(Diagnostic d) : UserError(std::vector<Diagnostic>{std::move(d)}) {}
  explicit UserError(const std::string& msg) : UserError(Diagnostic{"", 0, 0, "", msg}) {}

 private:
  static std::string join(const std::vector<Diagnostic>& d);
};

// A numerical blow-up: NaN/inf found in a state variable.
struct NumericalError : SimError {
  using SimError::SimError;
};

struct InternalError : SimError {
  using SimError::SimError;
};

}  // namespace sbx
