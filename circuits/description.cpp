#include "circuits/description.hpp"

#include <algorithm>
#include <charconv>

#include "engine/errors.hpp"

namespace sbx::circuits {

namespace {

std::string fmt_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <class T>
const T& get_as(const ParamMap& m, std::string_view key, const char* what) {
  auto it = m.values.find(key);
  if (it == m.values.end())
    throw InternalError("parameter '" + std::string(key) + "' was not set by the loader");
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  throw InternalError("parameter '" + std::string(key) + "' is not " + what);
}

}  // namespace

std::string Distribution::describe() const {
  switch (kind) {
    case Kind::uniform:
      return "uniform(" + fmt_number(a) + ", " + fmt_number(b) + ")";
    case Kind::normal:
      return "normal(" + fmt_number(a) + ", " + fmt_number(b) + ")";
    case Kind::constant:
      break;
  }
  return fmt_number(a);
}

double ParamMap::number(std::string_view key) const {
  auto it = values.find(key);
  if (it != values.end()) {
    if (const auto* i = std::get_if<std::int64_t>(&it->second)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<Distribution>(&it->second); d && d->is_constant()) return d->a;
  }
  return get_as<double>(*this, key, "a number");
}

double ParamMap::number_or(std::string_view key, double fallback) const {
  return has(key) ? number(key) : fallback;
}

std::int64_t ParamMap::integer(std::string_view key) const {
  return get_as<std::int64_t>(*this, key, "an integer");
}
bool ParamMap::boolean(std::string_view key) const {
  return get_as<bool>(*this, key, "a boolean");
}
const std::string& ParamMap::text(std::string_view key) const {
  return get_as<std::string>(*this, key, "a string");
}
const std::vector<std::string>& ParamMap::strings(std::string_view key) const {
  return get_as<std::vector<std::string>>(*this, key, "a list of strings");
}
const std::vector<double>& ParamMap::numbers(std::string_view key) const {
  return get_as<std::vector<double>>(*this, key, "a list of numbers");
}
const Distribution& ParamMap::distribution(std::string_view key) const {
  return get_as<Distribution>(*this, key, "a distribution");
}
SourcePos ParamMap::position(std::string_view key) const {
  auto it = where.find(key);
  return it == where.end() ? SourcePos{} : it->second;
}

const BlockDesc* CircuitDescription::find_block(std::string_view name) const {
  for (const auto& b : blocks)
    if (b.name == name) return &b;
  return nullptr;
}

bool CircuitDescription::is_refused(std::string_view block_name) const {
  return std::find(refused_blocks.begin(), refused_blocks.end(), block_name) !=
         refused_blocks.end();
}

const RuleDesc* CircuitDescription::find_rule(std::string_view name) const {
  for (const auto& r : rules)
    if (r.name == name) return &r;
  return nullptr;
}

std::string CircuitDescription::output_path() const {
  std::string out;
  const std::string& f = output.file;
  for (std::size_t i = 0; i < f.size();) {
    if (f.compare(i, 6, "{name}") == 0) {
      out += meta.name;
      i += 6;
    } else if (f.compare(i, 6, "{seed}") == 0) {
      out += std::to_string(meta.seed);
      i += 6;
    } else {
      out += f[i++];
    }
  }
  return out;
}

}  // namespace sbx::circuits
