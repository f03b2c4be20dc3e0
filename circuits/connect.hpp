// Connection rules: pure functions from sizes, parameters and an Rng to synapse lists.
//
// The structure functions return (pre, post) pairs as SynapseSpec with weight 0 and delay 1;
// assign_weights / assign_delays fill them in a second pass, drawing from the same stream in
// synapse order, so the structure of an edge does not depend on its weight distribution.
// `exclude_self` (from == to and autapses = false) removes the pairs i -> i.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "circuits/description.hpp"
#include "engine/projection.hpp"
#include "engine/rng.hpp"
#include "engine/time.hpp"

namespace sbx::circuits {

// Every pair, pre-major.
std::vector<SynapseSpec> connect_all_to_all(std::uint32_t n_pre, std::uint32_t n_post,
                                            bool exclude_self);
// pre i -> post i (the caller checks that the sizes match).
std::vector<SynapseSpec> connect_one_to_one(std::uint32_t n);
// Each pair independently with probability p (geometric skipping: O(#synapses), not O(N²)).
std::vector<SynapseSpec> connect_bernoulli(std::uint32_t n_pre, std::uint32_t n_post, double p,
                                           bool exclude_self, Rng& rng);
// Each post neuron gets exactly k distinct pre neurons (k <= n_pre, or n_pre - 1 when excluding
// self; throws std::invalid_argument otherwise).
std::vector<SynapseSpec> connect_fixed_indegree(std::uint32_t n_pre, std::uint32_t n_post,
                                                std::uint32_t k, bool exclude_self, Rng& rng);

// Neuroblox's hypergeometric rule (neuroblox_models.md §2.3):
//   N_c = d·N_dst·N_src, out_max = ceil(N_c/N_src), in_deg = ceil(N_c/N_dst);
//   for each destination in order, the eligible sources are those with fewer than out_max
//   connections so far; min(in_deg, |eligible|) of them are drawn uniformly without replacement.
// The ceilings absorb 1e-9 of relative rounding (0.1·10·20 is 20, not 20.000000000000004).
struct HypergeometricDegrees {
  double n_connections;
  std::uint32_t out_max;
  std::uint32_t in_degree;
};
HypergeometricDegrees hypergeometric_degrees(std::uint32_t n_pre, std::uint32_t n_post, double d);
std::vector<SynapseSpec> connect_hypergeometric(std::uint32_t n_pre, std::uint32_t n_post, double d,
                                                bool exclude_self, Rng& rng);

// Draws one weight per synapse (nothing is drawn for a constant).
void assign_weights(std::vector<SynapseSpec>& syn, const Distribution& weight, Rng& rng);
// Delays in ms -> ticks. A constant must lie on the tick grid and be >= one tick (else
// std::invalid_argument); drawn values are rounded to the nearest tick and raised to one tick.
void assign_delays(std::vector<SynapseSpec>& syn, const Distribution& delay_ms,
                   const TimeGrid& grid, Rng& rng);

// The structure of connection `c` between blocks of the given sizes (dispatch on c.rule).
// Throws std::invalid_argument for an unknown rule or impossible parameters.
std::vector<SynapseSpec> connect_structure(const ConnectionDesc& c, std::uint32_t n_pre,
                                           std::uint32_t n_post, Rng& rng);
// Structure, then weights, then delays (absent delay = one tick), all from `rng`.
std::vector<SynapseSpec> make_synapses(const ConnectionDesc& c, std::uint32_t n_pre,
                                       std::uint32_t n_post, const TimeGrid& grid, Rng& rng);
// The same synapses as build_spike_projection(make_synapses(...)) — same CSR arrays, same final
// stream position — without the 24-byte-per-synapse list: the structure is drawn twice from the
// same stream position (row counts, then placement into the CSR arrays), and weights and delays
// are drawn in synapse order from where make_synapses draws them. Peak memory is the projection
// (8 bytes per synapse, + 8 of delay scratch when delays are drawn) plus O(n_pre + n_post).
SpikeProjection make_spike_projection(const ConnectionDesc& c, std::uint32_t pre_pop,
                                      std::uint32_t post_pop, std::uint32_t n_pre,
                                      std::uint32_t n_post, const TimeGrid& grid, Rng& rng,
                                      PreIndex pre_index = PreIndex::view);

}  // namespace sbx::circuits
