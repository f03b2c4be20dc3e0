// Circuit files: TOML text -> (overrides) -> validation -> CircuitDescription.
//
// Every problem of a file is collected (parse error, unknown / mistyped / out-of-range / missing
// keys, undefined blocks, impossible connections, bad --set arguments) and thrown together as one
// sbx::UserError whose diagnostics are sorted by position.
#pragma once

#include <toml++/toml.h>
#include <string>
#include <string_view>
#include <vector>

#include "circuits/description.hpp"
#include "circuits/registry.hpp"
#include "circuits/toml_reader.hpp"

namespace sbx::circuits {

// Whether `ms` is a whole number of `grid` ms (the tick, or [run].dt), to 1e-9 relative. A
// non-zero value that rounds to 0 steps is not (it would become a zero-length step, period or
// delay: a dt of 1e-12 ms was accepted as 0 ticks).
bool on_grid(double ms, double grid);

// Times are counted in ticks as int64 (engine/time.hpp): a time must fit, with room for the
// delays and trial times added to it. For `ms` beyond 2^62 ticks the message
// "NAME = MS ms is N ticks of TICK ms; at most 2^62 ticks (... ms at this tick)", else "".
std::string beyond_tick_range(std::string_view name, double ms, double tick);

// Parses TOML text; a syntax error becomes a UserError with one diagnostic at its position.
toml::table parse_circuit_text(std::string_view text, const std::string& file);

// Validates a parsed (and overridden) tree. Problems go to `sink`; the returned description is
// complete only when the sink stayed empty.
CircuitDescription describe_circuit(const toml::table& root, const Registry& reg,
                                    DiagnosticSink& sink);

// Text -> description (overrides applied before validation). Throws UserError.
CircuitDescription load_circuit_string(std::string_view text, const std::string& file,
                                       const std::vector<std::string>& overrides = {},
                                       const Registry& reg = registry());

// File -> description. Throws UserError (also when the file cannot be read).
CircuitDescription load_circuit_file(const std::string& path,
                                     const std::vector<std::string>& overrides = {});
CircuitDescription load_circuit_file(const std::string& path,
                                     const std::vector<std::string>& overrides,
                                     const Registry& reg);

// The TOML tree as JSON (toml::json_formatter).
std::string resolved_config_json(const toml::table& root);
// The file's tree after the overrides, as JSON (no validation; throws UserError on parse or
// override errors).
std::string resolved_config_json(const std::string& path,
                                 const std::vector<std::string>& overrides);

}  // namespace sbx::circuits
