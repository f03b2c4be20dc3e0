// Lowering: a validated CircuitDescription becomes populations, projections and couplings in a
// Simulator. Blocks are built in name order (the description's order), then edges in file order;
// every random draw comes from a stream named after the block ("<block>") or the edge
// ("<from>-><to>", "#k" for the k-th repeat of a pair), so reordering the file changes nothing.
#pragma once

#include <any>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "circuits/description.hpp"
#include "circuits/registry.hpp"
#include "circuits/toml_reader.hpp"
#include "engine/modulator.hpp"
#include "engine/simulator.hpp"

namespace sbx::circuits {

struct BlockBuilt {
  std::string name;
  std::string type;
  std::vector<std::uint32_t> populations;  // simulator population ids; [0] is the main one
  std::any data;                           // block-type specific (e.g. a column's group index)
};

struct EdgeBuilt {
  std::string name;  // the connection's name ("A->B")
  std::string from, to;
  std::string kind;                        // edge kind ("spike", "current", ...)
  std::size_t connection = 0;              // index into CircuitDescription::connections
  std::vector<std::uint32_t> projections;  // SpikeProjection ids
  std::vector<std::uint32_t> couplings;    // ContinuousProjection ids
  std::string learning_rule;               // "" = static
};

struct BuiltCircuit {
  std::map<std::string, BlockBuilt, std::less<>> blocks;
  std::vector<EdgeBuilt> edges;
  std::vector<std::uint32_t> probes;  // probe id per output.traces entry
  // Named neuromodulators created by three-factor rules (circuits/plasticity_registry.hpp), shared
  // by every rule naming the same one; experiments feed them (Modulator::pulse / set).
  std::map<std::string, std::shared_ptr<Modulator>, std::less<>> modulators;

  // The main population of a block (throws std::out_of_range for an unknown block).
  std::uint32_t population(std::string_view block) const;
  const EdgeBuilt* edge(std::string_view name) const;
};

// What lowering functions (registry entries) get.
class BuildContext {
 public:
  BuildContext(const CircuitDescription& desc, const Registry& reg, Simulator& sim,
               BuiltCircuit& built, DiagnosticSink& sink)
      : desc(desc), reg(reg), sim(sim), built(built), sink(sink) {}

  const CircuitDescription& desc;
  const Registry& reg;
  Simulator& sim;
  BuiltCircuit& built;
  DiagnosticSink& sink;  // build errors (with the element's position)

  const TimeGrid& grid() const { return sim.grid(); }
  std::uint64_t seed() const { return desc.meta.seed; }
  Rng block_rng(const std::string& block) const { return Rng::stream(seed(), block); }
  Rng edge_rng(const ConnectionDesc& c) const { return Rng::stream(seed(), c.name); }
  // Adds a population for `block` and records it as one of the block's populations.
  std::uint32_t add_population(const BlockDesc& block, std::string pop_name,
                               std::unique_ptr<Population> pop);
  // Reports an error at a position (collected; build() throws them all at the end).
  void error(const SourcePos& where, const std::string& key_path, const std::string& message) {
    sink.error(where, key_path, message);
  }
};

struct BuildOptions {
  bool add_probes = true;  // create a Probe per output.traces entry
};

// Builds every block and edge. Throws UserError with every build problem found (e.g. a receptor
// the target model lacks), each at the element's source position.
BuiltCircuit build(const CircuitDescription& desc, Simulator& sim, const BuildOptions& opt = {});
BuiltCircuit build(const CircuitDescription& desc, Simulator& sim, const Registry& reg,
                   const BuildOptions& opt = {});

// A simulator with the description's time grid ([run].tick) and clock step ([run].dt).
std::unique_ptr<Simulator> make_simulator(const CircuitDescription& desc);

// Ticks of the run duration.
Tick run_ticks(const CircuitDescription& desc);

// ---- built-in lowering functions (used by the registry table) --------------------------------
void lower_population_block(const BlockDesc& b, BuildContext& ctx);
void lower_poisson_source(const BlockDesc& b, BuildContext& ctx);
void lower_current_source(const BlockDesc& b, BuildContext& ctx);
void lower_spike_edge(const ConnectionDesc& c, BuildContext& ctx);
void lower_current_edge(const ConnectionDesc& c, BuildContext& ctx);
void lower_conductance_edge(const ConnectionDesc& c, BuildContext& ctx);

}  // namespace sbx::circuits
