// docs/toml_reference.md against the registry (both directions), and the example circuits.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "circuit_test_util.hpp"
#include "circuits/build.hpp"
#include "circuits/loader.hpp"
#include "circuits/registry.hpp"
#include "engine/recorder.hpp"

using namespace sbx;
using namespace sbx::circuits;
using namespace sbx::circuits::test;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "### category: name" headings -> the first-column keys of the table below each.
using DocTables = std::map<std::string, std::set<std::string>>;

DocTables parse_doc(const std::string& text) {
  DocTables out;
  std::istringstream in(text);
  std::string line, current;
  bool in_code = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) in_code = !in_code;
    if (in_code) continue;
    if (line.rfind("### ", 0) == 0) {
      current = line.substr(4);
      out[current];  // a heading with an empty table still counts
      continue;
    }
    if (line.rfind("## ", 0) == 0) current.clear();
    if (current.empty() || line.rfind("| `", 0) != 0) continue;
    const auto a = line.find('`'), b = line.find('`', a + 1);
    std::string key = line.substr(a + 1, b - a - 1);
    if (current == "edge kinds") {  // "| `src` | `dst` | ..."
      const auto c = line.find('`', b + 1), d = line.find('`', c + 1);
      key += "->" + line.substr(c + 1, d - c - 1);
    }
    out[current].insert(key);
  }
  return out;
}

DocTables registry_tables(const Registry& reg) {
  DocTables out;
  auto keys = [](const std::vector<ParamSpec>& ps) {
    std::set<std::string> s;
    for (const auto& p : ps) s.insert(p.name);
    return s;
  };
  for (const auto& s : reg.sections) out["section: " + s.name] = keys(s.params);
  for (const auto& b : reg.block_types) out["block: " + b.name] = keys(b.params);
  for (const auto& m : reg.models) out["model: " + m.name] = keys(model_block_keys(m));
  for (const auto& l : reg.learning_rules) out["learning_rule: " + l.name] = keys(l.params);
  for (const auto& e : reg.experiments) out["experiment: " + e.name] = keys(e.params);
  auto& rules = out["connection rules"];
  for (const auto& c : reg.connection_rules) rules.insert(c.name);
  auto& kinds = out["edge kinds"];
  for (const auto& e : reg.edge_kinds) kinds.insert(e.source_kind + "->" + e.target_kind);
  return out;
}

std::string doc_path() {
  return std::string(SBX_SOURCE_DIR) + "/docs/toml_reference.md";
}

}  // namespace

TEST_CASE("docs/toml_reference.md documents every registry key, and only those") {
  const DocTables doc = parse_doc(read_text(doc_path()));
  const DocTables reg = registry_tables(registry());
  for (const auto& [heading, keys] : reg) {
    INFO("registry entry: " << heading);
    auto it = doc.find(heading);
    REQUIRE_MESSAGE(it != doc.end(), "missing heading '### " << heading << "' in the doc");
    for (const auto& k : keys) CHECK_MESSAGE(it->second.count(k), "undocumented key '" << k << "'");
    for (const auto& k : it->second)
      CHECK_MESSAGE(keys.count(k), "documented key '" << k << "' is not in the registry");
  }
  // Headings of registry form that the registry does not have (stale documentation).
  for (const auto& [heading, keys] : doc) {
    const auto colon = heading.find(": ");
    const bool registry_form =
        colon != std::string::npos || heading == "connection rules" || heading == "edge kinds";
    if (registry_form)
      CHECK_MESSAGE(reg.count(heading), "stale doc heading '### " << heading << "'");
  }
}

TEST_CASE("registry_markdown produces the tables the doc test reads") {
  const DocTables generated = parse_doc(registry_markdown(registry()));
  CHECK(generated == registry_tables(registry()));
}

TEST_CASE("the TOML example at the top of the reference loads") {
  const std::string text = read_text(doc_path());
  const auto a = text.find("```toml\n");
  REQUIRE(a != std::string::npos);
  const auto b = text.find("```", a + 8);
  const auto d = load_circuit_string(text.substr(a + 8, b - a - 8), "toml_reference.md");
  CHECK(d.blocks.size() == 3);
  CHECK(d.connections.size() == 6);
}

TEST_CASE("every circuit in circuits_toml/ loads") {
  const std::filesystem::path dir = std::filesystem::path(SBX_SOURCE_DIR) / "circuits_toml";
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    INFO(entry.path().string());
    try {
      const auto d = load_circuit_file(entry.path().string());
      CHECK(!d.blocks.empty());
      ++n;
    } catch (const UserError& e) {
      FAIL(e.what());
    }
  }
  CHECK(n >= 1);
}

TEST_CASE("circuits_toml/demo_lif.toml builds and runs with plausible rates") {
  const auto d = load_circuit_file(std::string(SBX_SOURCE_DIR) + "/circuits_toml/demo_lif.toml",
                                   {"run.duration=500"});
  auto sim = make_simulator(d);
  const BuiltCircuit b = build(d, *sim);
  MemoryRecorder rec;
  sim->set_recorder(&rec);
  sim->run_until(run_ticks(d));
  std::map<std::string, double> rate;
  for (const auto& s : rec.spikes) rate[sim->population_name(s.population)] += 1.0;
  for (auto& [name, r] : rate)
    r /= sim->population(b.population(name)).size() * 0.5;     // Hz over 500 ms
  CHECK(rate["drive"] == doctest::Approx(10.0).epsilon(0.1));  // 200 trains: ±2.2% sd
  CHECK(rate["E"] > 1.0);
  CHECK(rate["E"] < 100.0);
  CHECK(rate["I"] > 1.0);
  CHECK(rate["I"] < 100.0);
}
