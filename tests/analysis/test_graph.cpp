// `spikeblox graph`: the circuit as Graphviz DOT (apps/graph.hpp).
#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <sstream>

#include "apps/graph.hpp"
#include "circuits/loader.hpp"

using namespace sbx;
using namespace sbx::circuits;

namespace {

std::string dot_of(const CircuitDescription& d) {
  std::ostringstream os;
  app::write_circuit_dot(d, os);
  return os.str();
}

CircuitDescription category() {
  return load_circuit_file(std::string(SBX_SOURCE_DIR) + "/circuits_toml/category_learning.toml");
}

// The attribute list written for vertex `name` (the text between its "[" and "]").
std::string vertex_attrs(const std::string& dot, const std::string& name) {
  std::smatch m;
  const std::regex re("\n\"?" + name + "\"?\\[([^\\]]*)\\]");
  REQUIRE_MESSAGE(std::regex_search(dot, m, re), "no vertex " << name);
  return m[1];
}

std::string fill_of(const std::string& attrs) {
  std::smatch m;
  REQUIRE(std::regex_search(attrs, m, std::regex("fillcolor=\"(#[0-9a-f]{6})\"")));
  return m[1];
}

}  // namespace

TEST_CASE("graph: every block is a vertex filled with the colour of its kind") {
  const CircuitDescription d = category();
  const std::string dot = dot_of(d);
  std::map<std::string, std::string> colour_of_kind;
  for (const BlockDesc& b : d.blocks) {
    const std::string attrs = vertex_attrs(dot, b.name);
    const std::string fill = fill_of(attrs);
    CHECK(fill == app::kind_colour(b.kind, registry()));
    auto [it, fresh] = colour_of_kind.emplace(b.kind, fill);
    CHECK_MESSAGE(it->second == fill, "two colours for kind " << b.kind);
    CHECK(attrs.find("label=\"" + b.name + "\\n") != std::string::npos);
  }
  // Different kinds, different colours (the circuit has 7 kinds, the palette 12).
  std::set<std::string> colours;
  for (const auto& [kind, c] : colour_of_kind) colours.insert(c);
  CHECK(colours.size() == colour_of_kind.size());
  CHECK(colour_of_kind.size() == 7);
  // The legend lists each kind present once.
  for (const auto& [kind, c] : colour_of_kind)
    CHECK(dot.find("\"legend: " + kind + "\" [label=") != std::string::npos);
}

TEST_CASE("graph: every expanded connection is an edge labelled with its rule") {
  const CircuitDescription d = category();
  const std::string dot = dot_of(d);
  // Block edges are "A->B [": the legend's invisible edges are written as "a -> b".
  const std::regex edge_re("\n\"?([A-Za-z0-9_]+)\"?->\"?([A-Za-z0-9_]+)\"? \\[label=\"?([^,\\]]*)");
  std::multiset<std::pair<std::string, std::string>> edges;
  std::map<std::pair<std::string, std::string>, std::string> label;
  for (auto it = std::sregex_iterator(dot.begin(), dot.end(), edge_re);
       it != std::sregex_iterator(); ++it) {
    edges.insert({(*it)[1], (*it)[2]});
    label[{(*it)[1], (*it)[2]}] = (*it)[3];
  }
  CHECK(edges.size() == d.connections.size());
  for (const ConnectionDesc& c : d.connections) CHECK(edges.count({c.from, c.to}) == 1);
  // Spike edges: connection rule, then the learning rule as "name (type)".
  CHECK(label[{"VAC", "AC"}] == "hypergeometric\\nhebb_ctx (hebbian)\"");
  CHECK(label[{"AC", "STR1"}] == "hypergeometric\\nhebb_da (hebbian_dopamine)\"");
  // Edges without a connection rule: the edge kind, with the event time when there is one.
  CHECK(label[{"TAN1", "STR1"}] == "tan_event @ 90 ms\"");
  CHECK(dot.find("stim->VAC [label=pixel_map, style=dashed]") != std::string::npos);
  // Plastic edges stand out.
  CHECK(dot.find("AC->STR2 [label=\"hypergeometric\\nhebb_da (hebbian_dopamine)\", "
                 "color=\"#b2182b\"") != std::string::npos);
}

TEST_CASE("graph: names that need quoting are escaped and population models shown") {
  const std::string text = R"(
schema = "spikeblox/1"
connections = [ { from = "drive", to = "E 1", rule = "one_to_one", weight = 1.0 } ]
[meta]
name = "quote \"test\""
[blocks.drive]
type = "poisson_source"
n = 3
rate = 5.0
[blocks."E 1"]
type = "population"
model = "lif_exact"
n = 3
)";
  const CircuitDescription d = load_circuit_string(text, "q.toml");
  const std::string dot = dot_of(d);
  CHECK(dot.find("\"E 1\"[label=\"E 1\\npopulation: lif_exact\\nn = 3\"") != std::string::npos);
  CHECK(dot.find("drive->\"E 1\" [label=one_to_one]") != std::string::npos);
  CHECK(dot.find("label=\"quote \\\"test\\\" (2 blocks, 1 connections)\"") != std::string::npos);
}

TEST_CASE("graph: a block that reads another by a key gets a dotted arrow from it") {
  const std::string text = R"(
schema = "spikeblox/1"
connections = [ { from = "In", to = "Out", rule = "all_to_all", weight = 1.0, learning = { type = "rstdp" } } ]
[blocks.In]
type = "poisson_source"
n = 3
rate = 5.0
[blocks.Out]
type = "population"
model = "izhikevich"
n = 2
[blocks.VTA]
type = "poisson_source"
n = 2
rate = 5.0
[blocks.dopamine]
type = "modulator"
source = "VTA"
per_spike = 0.1
)";
  const std::string dot = dot_of(load_circuit_string(text, "m.toml"));
  CHECK(dot.find("VTA->dopamine [label=source, style=dotted, arrowhead=empty];") !=
        std::string::npos);
  CHECK(dot.rfind('}') > dot.find("VTA->dopamine"));  // inside the graph
  CHECK(dot.find("dopamine[label=\"dopamine\\nmodulator\", ") != std::string::npos);  // no n
  // The category circuit has no such references: its edges are its connections only.
  const std::string cat = dot_of(category());
  CHECK(cat.find("style=dotted") == std::string::npos);
}

TEST_CASE("graph: the registry's kinds get distinct colours up to the palette size") {
  std::set<std::string> kinds;
  for (const auto& b : registry().block_types) kinds.insert(b.kind.empty() ? b.name : b.kind);
  for (const auto& m : registry().models) kinds.insert(m.kind);
  std::set<std::string> colours;
  for (const auto& k : kinds) colours.insert(app::kind_colour(k, registry()));
  CHECK(colours.size() == std::min<std::size_t>(kinds.size(), 12));
  CHECK(app::kind_colour("no such kind", registry()) == "#ffffff");
}
