// Projections: the synapses of one circuit edge, as CSR arrays.
//
// A SpikeProjection delivers discrete spikes: rows are presynaptic neurons, each row holds the
// synapses (target index, weight, delay) sorted by delay, so the synapses of a row that share a
// delay form a contiguous *segment* and one queue entry per (spike, segment) is enough.
//
// Steady storage per synapse: target (u32) + weight (f32) + presynaptic index (u32) = 12 bytes;
// per row and per delay segment a few u32 more (one segment per row when the edge has one delay).
// The post -> pre index that post-synaptic learning rules need (4 bytes per synapse) is built by
// those rules (reverse_synapse_index()), so static projections do not carry it; col_ptr (the
// in-degree prefix sum, n_post + 1 entries) is always kept.
//
// A ContinuousProjection couples clocked populations through continuous presynaptic outputs
// (Neuroblox's shared (z, G) synapse, a neural mass rate): before every step
//   conductance kind: g[post] += w·out[pre],  gE[post] += w·out[pre]·E_syn[pre]
//   current kind:     I[post] += w·out[pre]
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/time.hpp"

namespace sbx {

class SpikeLearningRule;  // engine/learning.hpp

// One synapse before CSR construction.
struct SynapseSpec {
  std::uint32_t pre = 0;
  std::uint32_t post = 0;
  double weight = 0.0;
  // Ticks, >= 0. Delay 0 is Brian2's "no delay": a spike a clocked population emits at the end of
  // step n reaches clocked targets before step n + 1 (delay 1 tick lands one step later), and
  // event-driven targets at the spike's own tick.
  Tick delay = 1;
};

struct SpikeProjection {
  std::string name;  // "<pre>-><post>" edge name
  std::uint32_t pre_population = 0;
  std::uint32_t post_population = 0;
  std::uint32_t receptor = 0;
  std::uint32_t n_pre = 0, n_post = 0;

  // Forward CSR (rows = pre).
  std::vector<std::uint32_t> row_ptr;  // n_pre + 1
  std::vector<std::uint32_t> post;     // n_syn
  std::vector<float> weight;           // n_syn
  // Delay segments: segments of row i are seg_ptr[i]..seg_ptr[i+1]; segment s covers synapses
  // seg_begin[s]..seg_begin[s+1]-1 (within the global arrays) and has delay seg_delay[s].
  std::vector<std::uint32_t> seg_ptr;    // n_pre + 1
  std::vector<std::uint32_t> seg_begin;  // n_seg + 1
  std::vector<Tick> seg_delay;           // n_seg
  // In-degree prefix sums: the synapses ending on post neuron j are
  // reverse_synapse_index()[col_ptr[j] .. col_ptr[j+1]).
  std::vector<std::uint32_t> col_ptr;  // n_post + 1
  // Per-synapse presynaptic index (for rules and output), same order as `post`.
  std::vector<std::uint32_t> pre_of_syn;

  SpikeLearningRule* rule = nullptr;  // owned by the network; nullptr = static synapses

  std::size_t n_synapses() const { return post.size(); }
  std::uint32_t n_segments() const { return static_cast<std::uint32_t>(seg_delay.size()); }
  Tick min_delay() const;
  // Bytes held by the arrays above (capacity, not size: what the process really keeps).
  std::size_t memory_bytes() const;
  // Segment of synapse k (binary search over seg_begin).
  std::uint32_t segment_of(std::uint32_t k) const;
};

// Synapse ids grouped by postsynaptic neuron (ascending synapse id within a neuron), indexed by
// col_ptr. O(n_syn); built once by the learning rules that need a post -> pre pass.
std::vector<std::uint32_t> reverse_synapse_index(const SpikeProjection& p);

// Builds the CSR arrays. Synapses of a row keep their relative order within a delay segment.
// Throws std::invalid_argument on out-of-range indices or negative delays.
// Memory: a stable counting sort by row writes the final arrays directly (no sorted copy of the
// 24-byte SynapseSpec list), and `synapses` is released before the row/segment pass, so the peak
// is the input list plus the 12-byte-per-synapse result (plus 8 bytes per synapse of scratch for
// the delays when the edge's delays differ).
SpikeProjection build_spike_projection(std::string name, std::uint32_t pre_pop,
                                       std::uint32_t post_pop, std::uint32_t n_pre,
                                       std::uint32_t n_post, std::uint32_t receptor,
                                       std::vector<SynapseSpec> synapses);

enum class CouplingKind : std::uint8_t { conductance, current };

struct ContinuousProjection {
  std::string name;
  std::uint32_t pre_population = 0;
  std::uint32_t post_population = 0;
  CouplingKind kind = CouplingKind::conductance;
  // Plain synapse list (these couplings are small; learning rules index it directly).
  std::vector<std::uint32_t> pre;
  std::vector<std::uint32_t> post;
  std::vector<double> weight;
  std::size_t n_synapses() const { return pre.size(); }
};

}  // namespace sbx
