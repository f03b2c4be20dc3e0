// The circuit as a Boost.Graph: blocks are vertices, (expanded) connections are edges, with
// bundled properties. Built from a CircuitDescription; the cross-reference checks run on it:
//   * every from/to names a defined block (error at the from/to value, listing the blocks);
//   * the (source kind, target kind) pair is in the registry's edge-kind table (error naming
//     both kinds and the allowed targets of the source kind);
//   * the connection's keys suit that edge kind (delay / receptor / t_event / learning / rule),
//     the receptor exists on the target model, and the rule's sizes work (one_to_one equal
//     sizes, fixed_indegree <= available sources).
// Vertex order = block order of the description (by name), so ids never depend on file order.
// Random streams: block "NAME" -> Rng::stream(seed, "NAME"); edge -> Rng::stream(seed, edge name
// "from->to", "#k" appended for the k-th repeat of the pair).
#pragma once

#include <boost/graph/adjacency_list.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "circuits/description.hpp"
#include "circuits/registry.hpp"
#include "circuits/toml_reader.hpp"
#include "engine/rng.hpp"

namespace sbx::circuits {

struct BlockProps {
  std::string name;
  std::string type;
  std::string kind;
  std::uint32_t size = 0;
  std::size_t block = 0;  // index into CircuitDescription::blocks
};

struct EdgeProps {
  std::string name;       // "from->to" (#k)
  std::string edge_kind;  // "spike", "current", ... ("" when the pair is not allowed)
  std::string rule;       // connection rule
  Distribution weight;
  std::string learning;        // learning rule name ("" = static)
  std::size_t connection = 0;  // index into CircuitDescription::connections
};

using CircuitBoostGraph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, BlockProps, EdgeProps>;

class CircuitGraph {
 public:
  using Vertex = boost::graph_traits<CircuitBoostGraph>::vertex_descriptor;
  using Edge = boost::graph_traits<CircuitBoostGraph>::edge_descriptor;

  // Builds the graph and runs every cross-reference check; problems go to `sink`, and
  // connections' edge_kind fields are filled in. Connections with undefined endpoints are left
  // out of the graph.
  static CircuitGraph build(CircuitDescription& desc, const Registry& reg, DiagnosticSink& sink);

  const CircuitBoostGraph& graph() const { return g_; }
  std::optional<Vertex> vertex(std::string_view block) const;
  std::size_t n_blocks() const { return boost::num_vertices(g_); }
  std::size_t n_edges() const { return boost::num_edges(g_); }

  Rng block_rng(std::string_view block) const { return Rng::stream(seed_, block); }
  Rng edge_rng(const EdgeProps& e) const { return Rng::stream(seed_, e.name); }

  // Graphviz dot text (blocks labelled with type and size, edges with rule and kind).
  void write_dot(std::ostream& os) const;

 private:
  CircuitBoostGraph g_;
  std::map<std::string, Vertex, std::less<>> index_;
  std::uint64_t seed_ = 0;
};

// Units of a block (the block type's size function, default: the integer parameter `n`).
std::uint32_t block_size(const BlockDesc& b, const Registry& reg);

}  // namespace sbx::circuits
