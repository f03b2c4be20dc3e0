#include "circuits/toml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

namespace sbx::circuits {

namespace {

std::string fmt_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Short rendering of a node's value for "got ..." messages.
std::string value_repr(const toml::node& n) {
  if (auto v = n.as_string()) return "string \"" + v->get() + "\"";
  if (auto v = n.as_integer()) return "integer " + std::to_string(v->get());
  if (auto v = n.as_floating_point()) return "floating-point " + fmt_number(v->get());
  if (auto v = n.as_boolean()) return std::string("boolean ") + (v->get() ? "true" : "false");
  return toml_type_name(n);
}

std::string unit_suffix(const ParamSpec& s) {
  return s.unit.empty() ? "" : " " + s.unit;
}

// "value -1.5 ms is out of range: must be > 0 ms". A unit that is a description rather than a
// symbol ("target's unit") is said once at the end: "value -1 is out of range: must be >= 0 (in
// the target's unit)".
std::string out_of_range(double v, const ParamSpec& s) {
  const bool symbol = s.unit.find(' ') == std::string::npos;
  const std::string u = symbol ? unit_suffix(s) : "";
  return "value " + fmt_number(v) + u + " is out of range: must be " + s.range.describe() + u +
         (symbol ? "" : " (in the " + s.unit + ")");
}

}  // namespace

// ---- DiagnosticSink ---------------------------------------------------------------------------

SourcePos DiagnosticSink::pos(const toml::source_region& r) const {
  SourcePos p;
  p.file = file_;
  if (r.path && !r.path->empty() && r.path->rfind("--set", 0) == 0) {
    p.file = *r.path;  // a value that came from the command line
    return p;
  }
  p.line = static_cast<int>(r.begin.line);
  p.column = static_cast<int>(r.begin.column);
  return p;
}

void DiagnosticSink::error(const SourcePos& where, std::string key_path, std::string message) {
  Diagnostic d;
  d.file = where.file.empty() ? file_ : where.file;
  d.line = where.line;
  d.column = where.column;
  d.key_path = std::move(key_path);
  d.message = std::move(message);
  // The same problem can be found twice (e.g. a key checked by two passes); report it once.
  // (A set, not a scan of the list: a file with 10^5 unknown keys took minutes.)
  std::string id = d.file;
  for (const std::string* part : {&d.key_path, &d.message}) id.append(1, '\0').append(*part);
  id.append(1, '\0').append(std::to_string(d.line)).append(1, ':').append(std::to_string(d.column));
  if (!seen_.insert(std::move(id)).second) return;
  diags_.push_back(std::move(d));
}

void DiagnosticSink::throw_if_any() {
  if (diags_.empty()) return;
  // Diagnostics of the file first (by position), then those of --set values (no line).
  std::stable_sort(diags_.begin(), diags_.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    const bool fa = a.file == file_, fb = b.file == file_;
    if (fa != fb) return fa;
    if (a.file != b.file) return a.file < b.file;
    if (a.line != b.line) return a.line < b.line;
    return a.column < b.column;
  });
  throw UserError(diags_);
}

// ---- helpers ------------------------------------------------------------------------------------

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  // A typo, not a different word: at most a third of the letters (at least 2) may differ.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  if (best.empty() || best_d > limit || best_d >= std::max(word.size(), best.size())) return {};
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string m = closest_match(word, candidates);
  return m.empty() ? std::string() : "did you mean '" + m + "'?";
}

std::string toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "floating-point";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "none";
}

const std::vector<std::string>& root_level_keys() {
  static const std::vector<std::string> keys = {"schema", "connections"};
  return keys;
}

// ---- TableReader --------------------------------------------------------------------------------

TableReader::TableReader(const toml::table& t, std::string path, DiagnosticSink& sink, bool is_root)
    : t_(t), path_(std::move(path)), sink_(sink), is_root_(is_root) {}

std::string TableReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

SourcePos TableReader::where(std::string_view key) const {
  if (const toml::node* n = t_.get(key)) return sink_.pos(n->source());
  return where();
}

const toml::node* TableReader::take(std::string_view key) {
  known_.insert(std::string(key));
  const toml::node* n = t_.get(key);
  if (n) used_.insert(std::string(key));
  return n;
}

void TableReader::error_at_value(std::string_view key, std::string message) {
  sink_.error(where(key), key_path(key), std::move(message));
}

void TableReader::error_at_table(std::string message) {
  sink_.error(where(), path_, std::move(message));
}

void TableReader::missing(std::string_view key, const std::string& what) {
  std::string where_txt = path_.empty() ? "at the top level" : "in [" + path_ + "]";
  sink_.error(where(), key_path(key),
              "missing required key '" + std::string(key) + "' " + where_txt +
                  (what.empty() ? "" : " (" + what + ")"));
}

const toml::node* TableReader::fetch(const ParamSpec& s) {
  const toml::node* n = take(s.name);
  if (!n && s.need == Need::required) {
    std::string what = std::string(kind_name(s.kind)) + unit_suffix(s);
    if (!s.doc.empty()) what += ": " + s.doc;
    missing(s.name, what);
  }
  return n;
}

void TableReader::wrong_type(const toml::node& n, const ParamSpec& s, const std::string& expected) {
  sink_.error(sink_.pos(n.source()), key_path(s.name),
              "must be " + expected + ", got " + value_repr(n));
}

bool TableReader::check_range(const toml::node& n, const ParamSpec& s, double v) {
  if (!std::isfinite(v)) {
    sink_.error(sink_.pos(n.source()), key_path(s.name),
                "must be a finite number, got " + fmt_number(v));
    return false;
  }
  if (s.range.contains(v)) return true;
  sink_.error(sink_.pos(n.source()), key_path(s.name), out_of_range(v, s));
  return false;
}

std::optional<double> TableReader::number(const ParamSpec& s) {
  const toml::node* n = fetch(s);
  if (!n) {
    if (s.need == Need::defaulted) return s.default_number;
    return std::nullopt;
  }
  double v;
  if (auto f = n->as_floating_point())
    v = f->get();
  else if (auto i = n->as_integer())
    v = static_cast<double>(i->get());
  else {
    wrong_type(*n, s, "a number" + (s.unit.empty() ? std::string() : " (" + s.unit + ")"));
    return std::nullopt;
  }
  if (!check_range(*n, s, v)) return std::nullopt;
  return v;
}

std::optional<std::int64_t> TableReader::integer(const ParamSpec& s) {
  const toml::node* n = fetch(s);
  if (!n) {
    if (s.need == Need::defaulted) return static_cast<std::int64_t>(s.default_number);
    return std::nullopt;
  }
  auto i = n->as_integer();
  if (!i) {
    wrong_type(*n, s, "an integer");
    return std::nullopt;
  }
  if (!check_range(*n, s, static_cast<double>(i->get()))) return std::nullopt;
  return i->get();
}

std::optional<bool> TableReader::boolean(const ParamSpec& s) {
  const toml::node* n = fetch(s);
  if (!n) {
    if (s.need == Need::defaulted) return s.default_number != 0.0;
    return std::nullopt;
  }
  auto b = n->as_boolean();
  if (!b) {
    wrong_type(*n, s, "a boolean (true or false)");
    return std::nullopt;
  }
  return b->get();
}

std::optional<std::string> TableReader::text(const ParamSpec& s) {
  const toml::node* n = fetch(s);
  if (!n) {
    if (s.need == Need::defaulted) return s.default_text;
    return std::nullopt;
  }
  auto str = n->as_string();
  if (!str) {
    wrong_type(*n, s,
               s.choices.empty() || s.kind == ValueKind::block_name
                   ? std::string("a string")
                   : "one of the strings: " + join_names(s.choices));
    return std::nullopt;
  }
  if (s.kind != ValueKind::block_name && !s.choices.empty() &&
      std::find(s.choices.begin(), s.choices.end(), str->get()) == s.choices.end()) {
    std::string msg = "'" + str->get() + "' is not allowed (allowed: " + join_names(s.choices);
    const std::string m = did_you_mean(str->get(), s.choices);
    msg += m.empty() ? ")" : "; " + m + ")";
    sink_.error(sink_.pos(n->source()), key_path(s.name), msg);
    return std::nullopt;
  }
  return str->get();
}

std::optional<std::vector<std::string>> TableReader::strings(const ParamSpec& s) {
  const toml::node* n = fetch(s);
  if (!n) return std::nullopt;
  std::vector<std::string> out;
  if (auto str = n->as_string()) {
    out.push_back(str->get());
    return out;
  }
  auto arr = n->as_array();
  if (!arr) {
    wrong_type(*n, s, "a string or an array of strings");
    return std::nullopt;
  }
  bool ok = true;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& e = *arr->get(i);
    if (auto es = e.as_string())
      out.push_back(es->get());
    else {
      sink_.error(sink_.pos(e.source()), key_path(s.name) + "[" + std::to_string(i) + "]",
                  "must be a string, got " + value_repr(e));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<double>> TableReader::numbers(const ParamSpec& s) {
  const toml::node* n = fetch(s);
  if (!n) return std::nullopt;
  auto arr = n->as_array();
  if (!arr) {
    wrong_type(*n, s, "an array of numbers");
    return std::nullopt;
  }
  std::vector<double> out;
  bool ok = true;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& e = *arr->get(i);
    const bool ok_type = s.kind == ValueKind::integer_list ? e.is_integer() : e.is_number();
    const double v = !ok_type                ? 0.0
                     : e.as_floating_point() ? e.as_floating_point()->get()
                                             : static_cast<double>(e.as_integer()->get());
    const std::string p = key_path(s.name) + "[" + std::to_string(i) + "]";
    if (!ok_type) {
      sink_.error(sink_.pos(e.source()), p,
                  std::string("must be ") +
                      (s.kind == ValueKind::integer_list ? "an integer" : "a number") + ", got " +
                      value_repr(e));
      ok = false;
    } else if (!std::isfinite(v)) {  // (as for a single number: inf passed the range "any")
      sink_.error(sink_.pos(e.source()), p, "must be a finite number, got " + fmt_number(v));
      ok = false;
    } else if (!s.range.contains(v)) {
      sink_.error(sink_.pos(e.source()), p,
                  "value " + fmt_number(v) + " is out of range: must be " + s.range.describe());
      ok = false;
    } else {
      out.push_back(v);
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<Distribution> TableReader::parse_distribution(const toml::node& n,
                                                            const std::string& path,
                                                            const ParamSpec& s,
                                                            DiagnosticSink& sink) {
  const std::string u = unit_suffix(s);
  auto in_range = [&](const toml::node& v, const std::string& p, double x) {
    if (!std::isfinite(x)) {
      sink.error(sink.pos(v.source()), p, "must be a finite number, got " + fmt_number(x));
      return false;
    }
    if (s.range.contains(x)) return true;
    sink.error(sink.pos(v.source()), p, out_of_range(x, s));
    return false;
  };
  if (n.is_number()) {
    const double x = n.as_floating_point() ? n.as_floating_point()->get()
                                           : static_cast<double>(n.as_integer()->get());
    if (!in_range(n, path, x)) return std::nullopt;
    return Distribution::constant(x);
  }
  const toml::table* t = n.as_table();
  if (!t) {
    sink.error(sink.pos(n.source()), path,
               "must be a number" + (s.unit.empty() ? std::string() : " (" + s.unit + ")") +
                   " or a distribution table { dist = \"uniform\" | \"normal\" | \"constant\", ... "
                   "}, got " +
                   value_repr(n));
    return std::nullopt;
  }
  TableReader r(*t, path, sink);
  const ParamSpec dist_spec =
      text_required("dist", {"constant", "uniform", "normal"}, "distribution family");
  auto dist = r.text(dist_spec);
  std::optional<Distribution> out;
  auto num_key = [&](const char* key, Range rg) -> std::optional<double> {
    ParamSpec k = num_required(key, s.unit, rg, "");
    const toml::node* v = r.take(key);
    if (!v) {
      r.missing(key, "number" + u + " of the '" + *dist + "' distribution");
      return std::nullopt;
    }
    if (!v->is_number()) {
      sink.error(sink.pos(v->source()), r.key_path(key),
                 "must be a number" + u + ", got " + value_repr(*v));
      return std::nullopt;
    }
    return v->as_floating_point() ? v->as_floating_point()->get()
                                  : static_cast<double>(v->as_integer()->get());
  };
  if (dist) {
    if (*dist == "constant") {
      auto v = num_key("value", s.range);
      if (v && in_range(*t->get("value"), r.key_path("value"), *v))
        out = Distribution::constant(*v);
    } else if (*dist == "uniform") {
      auto lo = num_key("low", s.range);
      auto hi = num_key("high", s.range);
      bool ok = lo && hi;
      if (lo && !in_range(*t->get("low"), r.key_path("low"), *lo)) ok = false;
      if (hi && !in_range(*t->get("high"), r.key_path("high"), *hi)) ok = false;
      if (ok && !(*lo <= *hi)) {
        sink.error(sink.pos(t->get("high")->source()), r.key_path("high"),
                   "uniform distribution needs low <= high, got low = " + fmt_number(*lo) +
                       ", high = " + fmt_number(*hi));
        ok = false;
      }
      if (ok) out = Distribution::uniform(*lo, *hi);
    } else if (*dist == "normal") {
      auto mean = num_key("mean", s.range);
      auto sd = num_key("sd", non_negative());
      bool ok = mean && sd;
      if (mean && !in_range(*t->get("mean"), r.key_path("mean"), *mean)) ok = false;
      if (sd && !(*sd >= 0.0 && std::isfinite(*sd))) {
        sink.error(sink.pos(t->get("sd")->source()), r.key_path("sd"),
                   "standard deviation must be >= 0, got " + fmt_number(*sd));
        ok = false;
      }
      if (ok) out = Distribution::normal(*mean, *sd);
    }
    // Keys of the other families are still "allowed" for the listing in unknown-key messages.
    for (const char* k : {"value", "low", "high", "mean", "sd"}) r.allow(k);
    r.finish();
  } else {
    for (const char* k : {"value", "low", "high", "mean", "sd"}) r.take(k);
  }
  return out;
}

std::optional<Distribution> TableReader::distribution(const ParamSpec& s) {
  const toml::node* n = fetch(s);
  if (!n) {
    if (s.need == Need::defaulted) return Distribution::constant(s.default_number);
    return std::nullopt;
  }
  return parse_distribution(*n, key_path(s.name), s, sink_);
}

const toml::table* TableReader::subtable(std::string_view key, bool required) {
  const toml::node* n = take(key);
  if (!n) {
    if (required) missing(key, "table");
    return nullptr;
  }
  if (auto t = n->as_table()) return t;
  sink_.error(sink_.pos(n->source()), key_path(key), "must be a table, got " + value_repr(*n));
  return nullptr;
}

void TableReader::read_into(const ParamSpec& s, ParamMap& out) {
  const SourcePos p = where(s.name);
  switch (s.kind) {
    case ValueKind::number:
      if (auto v = number(s)) out.set(s.name, *v, p);
      break;
    case ValueKind::integer:
      if (auto v = integer(s)) out.set(s.name, *v, p);
      break;
    case ValueKind::boolean:
      if (auto v = boolean(s)) out.set(s.name, *v, p);
      break;
    case ValueKind::string:
    case ValueKind::block_name:
      if (auto v = text(s)) out.set(s.name, *v, p);
      break;
    case ValueKind::string_or_list:
      if (auto v = strings(s)) out.set(s.name, *v, p);
      break;
    case ValueKind::number_list:
    case ValueKind::integer_list:
      if (auto v = numbers(s)) out.set(s.name, *v, p);
      break;
    case ValueKind::number_or_dist:
      if (auto v = distribution(s)) out.set(s.name, *v, p);
      break;
    case ValueKind::table:
    case ValueKind::array_of_tables:
    case ValueKind::rule_ref:
      // Structured values are read by their consumer; only claim the key here.
      take(s.name);
      break;
  }
}

void TableReader::read_all(const std::vector<ParamSpec>& specs, ParamMap& out) {
  // Dotted names ("reward.correct") are keys of a nested table: group them by prefix.
  std::map<std::string, std::vector<ParamSpec>> nested;
  for (const auto& s : specs) {
    const auto dot = s.name.find('.');
    if (dot == std::string::npos) {
      read_into(s, out);
    } else {
      ParamSpec inner = s;
      inner.name = s.name.substr(dot + 1);
      nested[s.name.substr(0, dot)].push_back(std::move(inner));
    }
  }
  for (auto& [prefix, inner] : nested) {
    static const toml::table empty;
    const toml::table* sub = subtable(prefix);
    const bool given = sub != nullptr;
    TableReader r(given ? *sub : empty, key_path(prefix), sink_);
    ParamMap tmp;
    r.read_all(inner, tmp);
    if (given) r.finish();
    for (auto& [k, v] : tmp.values) out.set(prefix + "." + k, v, tmp.where[k]);
  }
}

void TableReader::finish(const std::string& extra_hint) {
  std::vector<std::string> allowed(known_.begin(), known_.end());
  for (auto&& [k, v] : t_) {
    const std::string key(k.str());
    if (used_.count(key)) continue;
    std::string msg = "unknown key '" + key + "' (allowed: " +
                      (allowed.empty() ? std::string("none") : join_names(allowed));
    const std::string m = did_you_mean(key, allowed);
    msg += m.empty() ? ")" : "; " + m + ")";
    const auto& roots = root_level_keys();
    if (!is_root_ && !t_.is_inline() && std::find(roots.begin(), roots.end(), key) != roots.end()) {
      // [[connections]] elements have paths like "connections[2]": show the header as written.
      const auto br = path_.find('[');
      const std::string header =
          br == std::string::npos ? "[" + path_ + "]" : "[[" + path_.substr(0, br) + "]]";
      msg += "; root-level keys must precede the first [table] header: written after " + header +
             ", '" + key + "' became '" + key_path(key) +
             "'; move it above the first [table] header";
    }
    if (!extra_hint.empty()) msg += "; " + extra_hint;
    sink_.error(sink_.pos(k.source()), key_path(key), msg);
    (void)v;
  }
}

}  // namespace sbx::circuits
