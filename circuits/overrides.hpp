// Command-line overrides: `--set dotted.key=value`, applied to the parsed TOML tree BEFORE
// validation, so an override is checked exactly like the file's own value.
//
//   key:   dotted path; an element of an array is addressed as name[index]
//          (e.g. connections[2].density); missing tables on the way are created.
//   value: parsed as a TOML value (number, bool, string, array, inline table); anything that does
//          not parse (a bare word such as all) becomes a string.
// Creating new keys is allowed (validation then reports misspellings with their suggestions);
// descending into a value that is not a table (or an index out of range) is an error naming the
// key. Nodes created by an override carry "--set <the argument>" as their source, so errors about
// them point at the command line.
#pragma once

#include <toml++/toml.h>
#include <string>
#include <vector>

#include "circuits/toml_reader.hpp"

namespace sbx::circuits {

// Applies one override; problems go to `sink`. Returns false if it could not be applied.
bool apply_override(toml::table& root, const std::string& arg, DiagnosticSink& sink);
// Applies all, in order (later ones win).
void apply_overrides(toml::table& root, const std::vector<std::string>& args, DiagnosticSink& sink);

}  // namespace sbx::circuits
