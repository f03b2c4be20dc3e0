// Test helper shared by the plasticity tests: a projection from n_pre to n_post neurons with k
// synapses per presynaptic neuron, uniformly random targets, delays of 1 … n_delays ms (10 ticks
// of 0.1 ms each), and weights drawn by weight(rng) (called between the target and the delay
// draws, the order the tests' reference streams were generated with).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/projection.hpp"
#include "engine/rng.hpp"

namespace sbx::test {

template <class WeightFn>
SpikeProjection random_projection(std::uint32_t n_pre, std::uint32_t n_post, std::uint32_t k,
                                  std::uint32_t n_delays, Rng& rng, WeightFn weight) {
  std::vector<SynapseSpec> s;
  for (std::uint32_t i = 0; i < n_pre; ++i)
    for (std::uint32_t m = 0; m < k; ++m)
      s.push_back({i, static_cast<std::uint32_t>(rng.below(n_post)), weight(rng),
                   static_cast<Tick>(10 * (1 + rng.below(n_delays)))});
  return build_spike_projection("a->b", 0, 1, n_pre, n_post, 0, std::move(s));
}

// The same with one fixed initial weight.
inline SpikeProjection random_projection(std::uint32_t n_pre, std::uint32_t n_post, std::uint32_t k,
                                         std::uint32_t n_delays, double w0, Rng& rng) {
  return random_projection(n_pre, n_post, k, n_delays, rng, [w0](Rng&) { return w0; });
}

}  // namespace sbx::test
