// Projections: the synapses of one circuit edge, as CSR arrays.
//
// A SpikeProjection delivers discrete spikes: rows are presynaptic neurons, each row holds the
// synapses (target index, weight, delay) sorted by delay, so the synapses of a row that share a
// delay form a contiguous *segment* and one queue entry per (spike, segment) is enough.
//
// Steady storage per synapse: target (u32) + weight (f32) = 8 bytes; per row and per delay
// segment a few u32 more (one segment per row when the edge has one delay). The presynaptic index
// of each synapse (4 bytes) is stored only for projections whose rules read it as an array
// (PresynapticIndex); the post -> pre index that post-synaptic learning rules need (4 bytes per
// synapse) is built by those rules (reverse_synapse_index()); col_ptr (the in-degree prefix sum,
// n_post + 1 entries) is always kept.
//
// A ContinuousProjection couples clocked populations through continuous presynaptic outputs
// (Neuroblox's shared (z, G) synapse, a neural mass rate): before every step
//   conductance kind: g[post] += w·out[pre],  gE[post] += w·out[pre]·E_syn[pre]
//   current kind:     I[post] += w·out[pre]
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
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

// The presynaptic neuron of every synapse, in the order of SpikeProjection::post. The rows of the
// CSR already say it (synapse k belongs to the row i with row_ptr[i] <= k < row_ptr[i + 1]), so a
// projection only stores it (4 bytes per synapse) when asked: store(), the PreIndex::store build
// option, or a first call of data() (learning rules that sweep all synapses by pre neuron).
// Otherwise operator[] is a binary search over the row pointers and iteration walks the rows, so
// readers that need it once (output, tests) cost no storage.
class PresynapticIndex {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::uint32_t;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::uint32_t*;
    using reference = std::uint32_t;
    iterator() = default;
    std::uint32_t operator*() const { return row_; }
    iterator& operator++();
    iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const iterator& o) const { return k_ == o.k_; }
    bool operator!=(const iterator& o) const { return k_ != o.k_; }

   private:
    friend class PresynapticIndex;
    iterator(const std::uint32_t* rows, std::uint32_t n_rows, std::size_t k);
    const std::uint32_t* rows_ = nullptr;  // row pointers, n_rows_ + 1 entries
    std::uint32_t n_rows_ = 0, row_ = 0;
    std::size_t k_ = 0;
  };

  std::uint32_t operator[](std::size_t k) const;
  std::size_t size() const;
  bool empty() const { return size() == 0; }
  bool stored() const { return !stored_.empty() || size() == 0; }
  iterator begin() const;
  iterator end() const;
  // The stored array; materialised (4 bytes per synapse, kept) on the first call. Not thread-safe
  // on that first call: learning rules call it while the network is set up or from one thread.
  const std::uint32_t* data() const;
  // Materialises the array now (idempotent) / releases it.
  void store() const { (void)data(); }
  void release() { std::vector<std::uint32_t>().swap(stored_); }
  std::size_t memory_bytes() const { return stored_.capacity() * sizeof(std::uint32_t); }

 private:
  friend struct SpikeProjection;
  const std::vector<std::uint32_t>* rows_ = nullptr;  // the owning projection's row_ptr
  mutable std::vector<std::uint32_t> stored_;
};

// The arrays of a SpikeProjection (SpikeProjection adds the presynaptic index view, which has to
// be re-pointed at row_ptr whenever the projection is copied or moved).
struct SpikeProjectionData {
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

  SpikeLearningRule* rule = nullptr;  // owned by the network; nullptr = static synapses
};

struct SpikeProjection : SpikeProjectionData {
  // Presynaptic index of each synapse, same order as `post` (see PresynapticIndex: not stored
  // unless a rule asks for it).
  PresynapticIndex pre_of_syn;

  SpikeProjection() { pre_of_syn.rows_ = &row_ptr; }
  SpikeProjection(const SpikeProjection& o) : SpikeProjectionData(o), pre_of_syn(o.pre_of_syn) {
    pre_of_syn.rows_ = &row_ptr;
  }
  SpikeProjection(SpikeProjection&& o) noexcept
      : SpikeProjectionData(std::move(o)), pre_of_syn(std::move(o.pre_of_syn)) {
    pre_of_syn.rows_ = &row_ptr;
  }
  SpikeProjection& operator=(const SpikeProjection& o) {
    SpikeProjectionData::operator=(o);
    pre_of_syn.stored_ = o.pre_of_syn.stored_;
    return *this;
  }
  SpikeProjection& operator=(SpikeProjection&& o) noexcept {
    SpikeProjectionData::operator=(std::move(o));
    pre_of_syn.stored_ = std::move(o.pre_of_syn.stored_);
    return *this;
  }
  ~SpikeProjection() = default;

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

// Whether build_spike_projection stores the presynaptic index (4 bytes per synapse).
enum class PreIndex : std::uint8_t { store, view };

// Two-pass CSR construction without a synapse list, for connection generators that can replay
// their synapses in the same order: count(pre, post) every synapse, start_fill(), then place()
// every synapse again in the same order, then finish(). Peak memory is the final arrays (8 bytes
// per synapse: target + weight) plus, only when start_fill is told the delays may differ, 8 bytes
// per synapse of delay scratch until finish(). Synapses of a row keep their order within a delay
// segment (a stable counting sort by row). Throws std::invalid_argument on out-of-range indices,
// negative delays, or a second pass that does not match the first.
class SpikeProjectionBuilder {
 public:
  SpikeProjectionBuilder(std::string name, std::uint32_t pre_pop, std::uint32_t post_pop,
                         std::uint32_t n_pre, std::uint32_t n_post, std::uint32_t receptor);
  void count(std::uint32_t pre, std::uint32_t post);
  // `common_delay`: the delay of every synapse if known now (no scratch), else nullopt.
  void start_fill(std::optional<Tick> common_delay);
  void place(std::uint32_t pre, std::uint32_t post, double weight, Tick delay);
  SpikeProjection finish(PreIndex pre_index = PreIndex::view);

 private:
  SpikeProjection p_;
  std::vector<std::uint32_t> fill_;  // next free slot per row during the second pass
  std::vector<Tick> delay_;          // per synapse, only when delays may differ
  std::optional<Tick> common_delay_;
  std::size_t n_counted_ = 0, n_placed_ = 0;
};

// Builds the CSR arrays from a synapse list. Synapses of a row keep their relative order within
// a delay segment. Throws std::invalid_argument on out-of-range indices or negative delays.
// Memory: the list is released before the segment pass, so the peak is the input list (24 bytes
// per synapse) plus the result. PreIndex::store (the default, for code that reads
// pre_of_syn.data()) adds 4 bytes per synapse; circuits built from TOML use the list-free
// SpikeProjectionBuilder.
SpikeProjection build_spike_projection(std::string name, std::uint32_t pre_pop,
                                       std::uint32_t post_pop, std::uint32_t n_pre,
                                       std::uint32_t n_post, std::uint32_t receptor,
                                       std::vector<SynapseSpec> synapses,
                                       PreIndex pre_index = PreIndex::store);

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
