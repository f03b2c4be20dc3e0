// Hooks for learning rules that act during the simulation on a SpikeProjection's synapses.
// (Between-trial rules of the Neuroblox kind act on ContinuousProjection weights and live with the
// experiment; see models/trial_rules.hpp.)
//
// A rule owns its per-synapse state arrays (indexed like SpikeProjection::post) and updates them
// lazily, only when a spike touches the synapse: on_pre for the synapses of a delivered segment,
// on_post for the synapses ending on a neuron that just spiked (through a reverse index the rule
// builds with reverse_synapse_index(), so static projections do not pay for it).
#pragma once

#include <algorithm>
#include <cstdint>

#include "engine/projection.hpp"
#include "engine/time.hpp"

namespace sbx {

class SpikeLearningRule {
 public:
  virtual ~SpikeLearningRule() = default;
  // Called before the weights of synapses [begin, end) are delivered at tick t (a presynaptic
  // spike arriving); the rule may change proj.weight[k] for k in that range.
  // [begin, end) must cover whole delay segments (rules may keep per-segment state).
  virtual void on_pre(SpikeProjection& proj, std::uint32_t begin, std::uint32_t end, Tick t) = 0;
  // The same for delay segment `seg` (what the simulator calls: no search for the segment).
  virtual void on_pre_segment(SpikeProjection& proj, std::uint32_t seg, Tick t) {
    on_pre(proj, proj.seg_begin[seg], proj.seg_begin[seg + 1], t);
  }
  // Called when postsynaptic neuron `post` of proj spikes at tick t.
  virtual void on_post(SpikeProjection& proj, std::uint32_t post, Tick t) = 0;
  virtual bool needs_post() const { return true; }
  // Makes proj.weight the weights at tick t, for code that reads or writes them as a whole in the
  // middle of a run (pruning, output). Rules whose stored weights are always the current ones
  // need not override it; a rule that stores weights relative to a pending integral must.
  virtual void sync_weights(SpikeProjection& proj, Tick t) {
    (void)proj;
    (void)t;
  }
  // Writes the weights at tick t (>= the last event) into out[0, n_synapses) WITHOUT changing
  // the rule or the projection: for recording, which must not alter the run (sync_weights
  // re-rounds stored values, so later weights could differ in the last bits).
  virtual void current_weights(const SpikeProjection& proj, Tick t, float* out) const {
    (void)t;
    std::copy(proj.weight.begin(), proj.weight.end(), out);
  }
};

}  // namespace sbx
