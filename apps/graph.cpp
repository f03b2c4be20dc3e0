#include "apps/graph.hpp"

#include <algorithm>
#include <array>
#include <boost/graph/graphviz.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "circuits/circuit_graph.hpp"
#include "engine/errors.hpp"

namespace sbx::app {
namespace {

using circuits::CircuitBoostGraph;

// ColorBrewer Set3 (12 pastel colours that keep black labels readable).
constexpr std::array<const char*, 12> kPalette = {"#8dd3c7", "#ffffb3", "#bebada", "#fb8072",
                                                  "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
                                                  "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f"};

// Every connection kind of the registry, in registry order (block types, then models).
std::vector<std::string> registry_kinds(const circuits::Registry& reg) {
  std::vector<std::string> kinds;
  auto add = [&](const std::string& k) {
    if (!k.empty() && std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  };
  for (const auto& b : reg.block_types) add(b.kind.empty() ? b.name : b.kind);
  for (const auto& m : reg.models) add(m.kind);
  return kinds;
}

std::string dot_quote(const std::string& s) {
  return boost::escape_dot_string(s);
}

struct VertexWriter {
  const CircuitBoostGraph* g;
  const circuits::CircuitDescription* desc;
  const circuits::Registry* reg;
  void operator()(std::ostream& os, circuits::CircuitGraph::Vertex v) const {
    const circuits::BlockProps& b = (*g)[v];
    const circuits::BlockDesc& bd = desc->blocks[b.block];
    const std::string what = bd.model.empty() ? b.type : b.type + ": " + bd.model;
    // Blocks without neurons (decoders, modulators) show no size.
    const circuits::BlockTypeSpec* bt = reg->block_type(bd.type);
    const std::string size = bt && !bt->builds_neurons ? "" : "\\nn = " + std::to_string(b.size);
    // "\n" inside a DOT string is Graphviz's centred line break.
    os << "[label=" << dot_quote(b.name + "\\n" + what + size)
       << ", fillcolor=" << dot_quote(kind_colour(b.kind, *reg))
       << ", tooltip=" << dot_quote("kind " + b.kind) << "]";
  }
};

struct EdgeWriter {
  const CircuitBoostGraph* g;
  const circuits::CircuitDescription* desc;
  const circuits::Registry* reg;
  void operator()(std::ostream& os, circuits::CircuitGraph::Edge e) const {
    const circuits::EdgeProps& p = (*g)[e];
    const circuits::ConnectionDesc& c = desc->connections[p.connection];
    const circuits::EdgeKindSpec* ek =
        reg->edge_kind((*g)[boost::source(e, *g)].kind, (*g)[boost::target(e, *g)].kind);
    const bool uses_rule = ek == nullptr || ek->uses_rule;
    std::string label = uses_rule ? p.rule : p.edge_kind;
    if (c.t_event) {
      std::ostringstream t;
      t << " @ " << *c.t_event << " ms";
      label += t.str();
    }
    if (c.learning) label += "\\n" + c.learning->rule + " (" + c.learning->type + ")";
    os << "[label=" << dot_quote(label);
    if (c.learning) os << ", color=\"#b2182b\", fontcolor=\"#b2182b\", penwidth=2.2";
    if (!uses_rule) os << ", style=dashed";
    os << "]";
  }
};

struct GraphWriter {
  std::vector<std::pair<std::string, std::string>> legend;  // kind, colour
  std::string title;
  void operator()(std::ostream& os) const {
    os << "graph [rankdir=LR, fontname=\"Helvetica\", label=" << dot_quote(title)
       << ", labelloc=t];\n"
       << "node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];\n"
       << "edge [fontname=\"Helvetica\", fontsize=9];\n";
    os << "subgraph cluster_legend {\nlabel=\"block kinds\"; style=dashed; fontsize=10;\n";
    std::string prev;
    for (const auto& [kind, colour] : legend) {
      const std::string id = dot_quote("legend: " + kind);
      os << id << " [label=" << dot_quote(kind) << ", fillcolor=" << dot_quote(colour)
         << ", fontsize=9];\n";
      if (!prev.empty()) os << prev << " -> " << id << " [style=invis];\n";
      prev = id;
    }
    os << "}\n";
  }
};

}  // namespace

std::string kind_colour(const std::string& kind, const circuits::Registry& reg) {
  const auto kinds = registry_kinds(reg);
  const auto it = std::find(kinds.begin(), kinds.end(), kind);
  // A kind the registry does not list (not possible for a validated circuit) gets white.
  if (it == kinds.end()) return "#ffffff";
  return kPalette[static_cast<std::size_t>(it - kinds.begin()) % kPalette.size()];
}

void write_circuit_dot(const circuits::CircuitDescription& desc, std::ostream& os,
                       const circuits::Registry& reg) {
  // CircuitGraph::build fills connections' edge_kind; work on a copy to keep `desc` const.
  circuits::CircuitDescription copy = desc;
  circuits::DiagnosticSink sink;
  const circuits::CircuitGraph cg = circuits::CircuitGraph::build(copy, reg, sink);
  const CircuitBoostGraph& g = cg.graph();

  GraphWriter gw;
  std::set<std::string> seen;
  for (auto [vi, ve] = boost::vertices(g); vi != ve; ++vi) {
    const std::string& kind = g[*vi].kind;
    if (seen.insert(kind).second) gw.legend.emplace_back(kind, kind_colour(kind, reg));
  }
  std::sort(gw.legend.begin(), gw.legend.end());
  gw.title = (desc.meta.name.empty() ? std::string("circuit") : desc.meta.name) + " (" +
             std::to_string(cg.n_blocks()) + " blocks, " + std::to_string(cg.n_edges()) +
             " connections)";

  std::ostringstream dot;
  boost::write_graphviz(dot, g, VertexWriter{&g, &copy, &reg}, EdgeWriter{&g, &copy, &reg}, gw,
                        boost::get(&circuits::BlockProps::name, g));
  // Blocks that read another block by a key rather than through a connection (a modulator's or
  // a decoder's `source`, ...): a dotted arrow from the block read, labelled with the key.
  std::string text = dot.str();
  const std::size_t close = text.rfind('}');
  std::string refs;
  for (const circuits::BlockDesc& b : copy.blocks) {
    const circuits::BlockTypeSpec* bt = reg.block_type(b.type);
    if (!bt) continue;
    for (const circuits::ParamSpec& p : bt->params)
      if (p.kind == circuits::ValueKind::block_name && b.params.has(p.name))
        refs += dot_quote(b.params.text(p.name)) + "->" + dot_quote(b.name) +
                " [label=" + dot_quote(p.name) + ", style=dotted, arrowhead=empty];\n";
  }
  os << text.substr(0, close) << refs << text.substr(close);
}

void write_circuit_dot_file(const circuits::CircuitDescription& desc, const std::string& out_path) {
  if (out_path.empty()) {
    write_circuit_dot(desc, std::cout);
    std::cout.flush();
    return;
  }
  std::ofstream f(out_path);
  if (!f) {
    const int err = errno;
    throw UserError(
        Diagnostic{out_path, 0, 0, "--out",
                   std::string("cannot open the DOT file for writing: ") + std::strerror(err)});
  }
  write_circuit_dot(desc, f);
  f.close();
  if (!f) throw UserError(out_path + ": write failed");
}

}  // namespace sbx::app
