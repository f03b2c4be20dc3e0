// `spikeblox graph FILE.toml [--out FILE.dot]`: the circuit as a Graphviz DOT digraph, written by
// Boost.Graph's write_graphviz on the circuit graph (circuits/circuit_graph.hpp).
//
//   vertices  one per block, labelled "name / type or model / n = units", filled with the colour
//             of the block's connection kind (cortical, striatum, population, ...); a legend
//             cluster lists the kinds present
//   edges     one per expanded connection, labelled with the connection rule (spike edges) or
//             the edge kind (modulatory / timed edges, drawn dashed), plus the learning rule as
//             "name (type)"; plastic edges are drawn thick and red
//
// Render with Graphviz (Debian package graphviz):  dot -Tpng circuit.dot -o circuit.png
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "circuits/description.hpp"
#include "circuits/registry.hpp"

namespace sbx::app {

// Fill colour (#rrggbb) of a connection kind: a fixed palette indexed by the kind's position
// among the registry's kinds, so a kind keeps its colour across circuits.
std::string kind_colour(const std::string& kind, const circuits::Registry& reg);

// Writes the DOT text of a validated description. The description is not modified.
void write_circuit_dot(const circuits::CircuitDescription& desc, std::ostream& os,
                       const circuits::Registry& reg = circuits::registry());

// Writes to `out_path` (stdout when empty). Throws UserError if the file cannot be written.
void write_circuit_dot_file(const circuits::CircuitDescription& desc, const std::string& out_path);

}  // namespace sbx::app
