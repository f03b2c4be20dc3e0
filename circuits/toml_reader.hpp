// A collecting reader over toml++ tables.
//
// Why collecting: a user who misspelled three keys should learn about all three in one run, each
// with a compiler-style position an editor can jump to. Every problem becomes an sbx::Diagnostic in
// a DiagnosticSink; nothing throws until the sink is raised at the end of loading.
//
// Positions (toml++ 3.3): a type or range error points at the VALUE, a missing key at the TABLE
// that lacks it, an unknown key at the KEY. TableReader records which keys were read; finish()
// reports every other key as unknown, lists the allowed keys, suggests the closest one (edit
// distance), and explains the root-key trap (a root key written after a [table] header silently
// belongs to that table).
#pragma once

#include <toml++/toml.h>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <unordered_set>

#include "circuits/description.hpp"
#include "circuits/registry.hpp"
#include "engine/errors.hpp"

namespace sbx::circuits {

class DiagnosticSink {
 public:
  explicit DiagnosticSink(std::string file = {}) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  // The position of a node. Nodes created by --set carry the override text as their source path
  // and are reported with that text as the "file" and no line.
  SourcePos pos(const toml::source_region& r) const;

  void error(const SourcePos& where, std::string key_path, std::string message);
  void error(const toml::source_region& where, std::string key_path, std::string message) {
    error(pos(where), std::move(key_path), std::move(message));
  }

  bool empty() const { return diags_.empty(); }
  std::size_t size() const { return diags_.size(); }
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }

  // Sorts by (file, line, column) and throws UserError with every diagnostic, if there are any.
  void throw_if_any();

 private:
  std::string file_;
  std::vector<Diagnostic> diags_;
  std::unordered_set<std::string> seen_;  // (file, key path, message, line:column) of diags_
};

// Levenshtein distance (for "did you mean").
std::size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within a distance that makes a typo plausible, or "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// TOML type name of a node, for messages: "string", "integer", "floating-point", "table", ...
std::string toml_type_name(const toml::node& n);

class TableReader {
 public:
  // `path` is the dotted key path of this table ("" for the root); `is_root` enables the
  // root-key-trap hint in the tables below.
  TableReader(const toml::table& t, std::string path, DiagnosticSink& sink, bool is_root = false);

  const toml::table& table() const { return t_; }
  const std::string& path() const { return path_; }
  DiagnosticSink& sink() { return sink_; }
  std::string key_path(std::string_view key) const;
  SourcePos where() const { return sink_.pos(t_.source()); }
  SourcePos where(std::string_view key) const;  // the value's position (or the table's)

  bool has(std::string_view key) const { return t_.contains(key); }
  // Marks `key` allowed and consumed; returns its node or nullptr.
  const toml::node* take(std::string_view key);
  // Marks `key` allowed (shown in "allowed:" lists) without reading it.
  void allow(std::string_view key) { known_.insert(std::string(key)); }

  // ---- spec-driven reads: absent → default (or missing-key error when required); wrong type or
  // out of range → error at the value. std::nullopt when absent-and-optional or invalid.
  std::optional<double> number(const ParamSpec& s);
  std::optional<std::int64_t> integer(const ParamSpec& s);
  std::optional<bool> boolean(const ParamSpec& s);
  std::optional<std::string> text(const ParamSpec& s);
  std::optional<std::vector<std::string>> strings(const ParamSpec& s);  // string or list
  std::optional<std::vector<double>> numbers(const ParamSpec& s);
  std::optional<Distribution> distribution(const ParamSpec& s);
  // A nested table (null when absent or not a table; wrong type reported).
  const toml::table* subtable(std::string_view key, bool required = false);

  // Reads the value of any spec kind into `out` (defaults filled in).
  void read_into(const ParamSpec& s, ParamMap& out);
  void read_all(const std::vector<ParamSpec>& specs, ParamMap& out);

  // Reports every key of the table that was not taken. `extra_hint` is appended to messages.
  void finish(const std::string& extra_hint = {});

  // Errors at a key's value / the table.
  void error_at_value(std::string_view key, std::string message);
  void error_at_table(std::string message);
  void missing(std::string_view key, const std::string& what);

  // Parses a distribution from a node (a number or { dist = ..., ... }) with `range` applying to
  // the values; `path` is the node's dotted path.
  static std::optional<Distribution> parse_distribution(const toml::node& n,
                                                        const std::string& path, const ParamSpec& s,
                                                        DiagnosticSink& sink);

 private:
  const toml::table& t_;
  std::string path_;
  DiagnosticSink& sink_;
  bool is_root_;
  std::set<std::string, std::less<>> known_;
  std::set<std::string, std::less<>> used_;

  const toml::node* fetch(const ParamSpec& s);  // take + missing-key handling
  bool check_range(const toml::node& n, const ParamSpec& s, double v);
  void wrong_type(const toml::node& n, const ParamSpec& s, const std::string& expected);
};

// Keys that are only valid at the root of a circuit file (the root-key trap detector).
const std::vector<std::string>& root_level_keys();

}  // namespace sbx::circuits
