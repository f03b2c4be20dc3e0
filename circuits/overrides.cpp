#include "circuits/overrides.hpp"

#include <cctype>
#include <cstdint>
#include <memory>
#include <optional>

namespace sbx::circuits {

namespace {

struct Segment {
  std::string key;
  std::vector<std::size_t> indices;  // [i][j]...
};

std::string trim(std::string s) {
  auto issp = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && issp(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && issp(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

// "a.b[2].c" -> {a}, {b,[2]}, {c}; nullopt on a malformed path.
std::optional<std::vector<Segment>> split_path(const std::string& path) {
  std::vector<Segment> out;
  std::size_t i = 0;
  while (i <= path.size()) {
    Segment s;
    while (i < path.size() && path[i] != '.' && path[i] != '[') s.key += path[i++];
    if (s.key.empty()) return std::nullopt;
    while (i < path.size() && path[i] == '[') {
      const std::size_t close = path.find(']', i);
      if (close == std::string::npos || close == i + 1) return std::nullopt;
      const std::string num = path.substr(i + 1, close - i - 1);
      for (char c : num)
        if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      // (std::stoul threw std::out_of_range past 2^64: "error: stoul", exit 1); no array is
      // that long, so a huge index is simply out of range
      s.indices.push_back(num.size() > 18 ? SIZE_MAX : std::stoul(num));
      i = close + 1;
    }
    out.push_back(std::move(s));
    if (i == path.size()) break;
    if (path[i] != '.') return std::nullopt;
    ++i;
    if (i == path.size()) return std::nullopt;  // trailing dot
  }
  return out;
}

std::string type_of(const toml::node& n) {
  return toml_type_name(n);
}

// The value as a TOML document "v = <value>", or as a string when that does not parse.
toml::table parse_value(const std::string& value, const std::string& source) {
  try {
    return toml::parse("v = " + value, source);
  } catch (const toml::parse_error&) {
    std::string esc;
    for (char c : value) {
      if (c == '\\' || c == '"') esc += '\\';
      esc += c;
    }
    return toml::parse("v = \"" + esc + "\"", source);
  }
}

}  // namespace

bool apply_override(toml::table& root, const std::string& arg, DiagnosticSink& sink) {
  const std::string source = "--set " + arg;
  SourcePos where;
  where.file = source;
  const auto eq = arg.find('=');
  if (eq == std::string::npos) {
    sink.error(where, "", "expected --set dotted.key=value, got no '='");
    return false;
  }
  const std::string key = trim(arg.substr(0, eq));
  const std::string value = trim(arg.substr(eq + 1));
  auto segs = split_path(key);
  if (!segs) {
    sink.error(where, key,
               "malformed key path '" + key +
                   "' (expected names separated by '.', array "
                   "elements as name[index])");
    return false;
  }
  toml::table parsed;
  try {
    parsed = parse_value(value, source);
  } catch (const toml::parse_error& e) {
    sink.error(where, key, "cannot parse the value: " + std::string(e.description()));
    return false;
  }
  toml::node* new_value = parsed.get("v");
  // Keys created here point at the command line too (for "unknown key" messages).
  toml::source_region origin;
  origin.path = std::make_shared<const std::string>(source);
  auto make_key = [&](const std::string& k) { return toml::key(k, origin); };

  // Walk to the parent of the last segment, creating tables on the way.
  toml::node* cur = &root;
  std::string walked;
  for (std::size_t s = 0; s < segs->size(); ++s) {
    const Segment& seg = (*segs)[s];
    const bool last = s + 1 == segs->size();
    toml::table* tbl = cur->as_table();
    if (!tbl) {
      sink.error(
          where, key,
          "cannot set '" + key + "': '" + walked + "' is " + type_of(*cur) + ", not a table");
      return false;
    }
    walked += (walked.empty() ? "" : ".") + seg.key;
    if (last && seg.indices.empty()) {
      tbl->insert_or_assign(make_key(seg.key), std::move(*new_value));
      return true;
    }
    toml::node* next = tbl->get(seg.key);
    if (!next) {
      if (!seg.indices.empty()) {
        sink.error(where, key, "cannot set '" + key + "': '" + walked + "' does not exist");
        return false;
      }
      // A table parsed from the command line, so that errors about it (a block created by
      // --set blocks.NEW.n=3 has no type) name the --set argument, as its keys do.
      toml::table fresh = std::move(*parse_value("{}", source).get("v")->as_table());
      fresh.is_inline(false);
      next = &tbl->insert_or_assign(make_key(seg.key), std::move(fresh)).first->second;
    }
    for (std::size_t k = 0; k < seg.indices.size(); ++k) {
      toml::array* arr = next->as_array();
      if (!arr) {
        sink.error(
            where, key,
            "cannot set '" + key + "': '" + walked + "' is " + type_of(*next) + ", not an array");
        return false;
      }
      const std::size_t idx = seg.indices[k];
      if (idx >= arr->size()) {
        sink.error(where, key,
                   "cannot set '" + key + "': index " +
                       (idx == SIZE_MAX ? std::string("above 10^18") : std::to_string(idx)) +
                       " is out of range ('" + walked + "' has " + std::to_string(arr->size()) +
                       " elements)");
        return false;
      }
      walked.append("[").append(std::to_string(idx)).append("]");
      if (last && k + 1 == seg.indices.size()) {
        arr->replace(arr->begin() + static_cast<std::ptrdiff_t>(idx), std::move(*new_value));
        return true;
      }
      next = arr->get(idx);
    }
    cur = next;
  }
  return true;
}

void apply_overrides(toml::table& root, const std::vector<std::string>& args,
                     DiagnosticSink& sink) {
  for (const auto& a : args) apply_override(root, a, sink);
}

}  // namespace sbx::circuits
