// Population: a group of neurons (or units) of one model, stored as structure of arrays.
//
// Two kinds of dynamics live side by side (DESIGN.md):
//  * clocked populations advance every neuron by a fixed dt in step(); inputs arrive through
//    per-receptor buffers (spike deliveries add into them) and through continuous couplings
//    (conductance/current summed from presynaptic continuous outputs before every step);
//  * event-driven populations are advanced analytically only when an input arrives (receive())
//    and schedule their own next spike through the SpikeScheduler.
// The simulator never sees model names or parameter maps: only these virtual calls, each of which
// works on whole arrays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/time.hpp"

namespace sbx {

enum class Dynamics : std::uint8_t { clocked, event_driven };

// Element type of a state array or receptor buffer. Almost every model stores double; a model may
// store float (lif_cuba with precision = "float": half the memory traffic, see lif_cuba.hpp).
enum class StateType : std::uint8_t { f64, f32 };

// Typed view of one state array (Population::state_view): the pointer and its element type, for
// code that reads or writes state of any population (probes, initial states). Resolved once at
// build time; element access converts to and from double.
struct StateView {
  void* data = nullptr;
  StateType type = StateType::f64;

  explicit operator bool() const { return data != nullptr; }
  double* f64() const { return type == StateType::f64 ? static_cast<double*>(data) : nullptr; }
  float* f32() const { return type == StateType::f32 ? static_cast<float*>(data) : nullptr; }
  double get(std::size_t i) const {
    return type == StateType::f32 ? static_cast<double>(static_cast<const float*>(data)[i])
                                  : static_cast<const double*>(data)[i];
  }
  // Stores x (rounded to float in a float array).
  void set(std::size_t i, double x) const {
    if (type == StateType::f32)
      static_cast<float*>(data)[i] = static_cast<float>(x);
    else
      static_cast<double*>(data)[i] = x;
  }
};

// Implemented by the simulator: lets an event-driven population schedule a predicted spike.
// `version` must change whenever the neuron's state is changed by an input, so stale predictions
// are recognised and dropped when popped.
class SpikeScheduler {
 public:
  virtual ~SpikeScheduler() = default;
  virtual void schedule_spike(std::uint32_t population, std::uint32_t neuron, std::uint32_t version,
                              Tick when) = 0;
};

// Per-step timing given to clocked populations.
struct StepContext {
  Tick t = 0;          // start of the step
  Tick dt = 0;         // step length in ticks
  double t_ms = 0.0;   // start of the step in ms
  double dt_ms = 0.0;  // step length in ms
};

class Population {
 public:
  virtual ~Population() = default;

  virtual std::string_view model() const = 0;
  virtual std::uint32_t size() const = 0;
  virtual Dynamics dynamics() const = 0;
  // False for models that never spike (rate units, neural masses): the run file then writes no
  // /spikes group for them, which the analysis would show as silent neurons (0 Hz).
  virtual bool emits_spikes() const { return true; }

  // ---- clocked interface -----------------------------------------------------------------
  // Advance every neuron from ctx.t to ctx.t + ctx.dt using (and then clearing) the receptor
  // buffers and the continuous inputs; append the local index of every neuron that spiked.
  virtual void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) {
    (void)ctx;
    (void)spiked;
  }
  // Ranged stepping (multi-threaded runs): a population whose neurons are independent within a
  // step can be advanced in disjoint index ranges by several threads. range_granularity() > 0
  // says it can: range bounds are multiples of it (or size()). The simulator then calls
  // prepare_step(ctx) once (serially), and step_range(ctx, begin, end, spiked) for ranges that
  // tile [0, size()), in any order and concurrently, each appending to its own `spiked`.
  // step_range over [0, size()) must equal step() bit for bit.
  virtual std::uint32_t range_granularity() const { return 0; }
  virtual void prepare_step(const StepContext& ctx) { (void)ctx; }
  virtual void step_range(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                          std::vector<std::uint32_t>& spiked) {
    (void)ctx, (void)begin, (void)end, (void)spiked;
  }
  // Receptor buffers of a clocked population (e.g. 0 = excitatory, 1 = inhibitory): spike
  // deliveries add weights into them; their meaning (current jump, conductance jump) is the
  // model's.
  virtual std::uint32_t n_receptors() const { return 0; }
  virtual double* receptor_buffer(std::uint32_t receptor) {
    (void)receptor;
    return nullptr;
  }
  // A receptor buffer of float elements, for a population that keeps it in float (then
  // receptor_buffer() returns nullptr for that receptor). The simulator asks once per projection
  // at build time and adds the float weights into whichever buffer the target provides.
  virtual float* receptor_buffer_f32(std::uint32_t receptor) {
    (void)receptor;
    return nullptr;
  }

  // ---- event-driven interface -------------------------------------------------------------
  // Inputs for neurons post[0..n) with weights w[0..n) arrive at tick t on `receptor`.
  virtual void receive(Tick t, const std::uint32_t* post, const float* w, std::size_t n,
                       std::uint32_t receptor, SpikeScheduler& sched) {
    (void)t, (void)post, (void)w, (void)n, (void)receptor, (void)sched;
  }
  // A predicted spike pops. Returns true if it is still valid (the neuron then resets and may
  // schedule its next prediction); false if the prediction is stale.
  virtual bool fire_predicted(std::uint32_t neuron, std::uint32_t version, Tick t,
                              SpikeScheduler& sched) {
    (void)neuron, (void)version, (void)t, (void)sched;
    return false;
  }
  // Bring every neuron's state to tick t (before reading or recording state).
  virtual void advance_all_to(Tick t) { (void)t; }
  // Called once after construction so event-driven neurons can schedule their first spikes.
  virtual void start(Tick t, std::uint32_t self_id, SpikeScheduler& sched) {
    (void)t, (void)self_id, (void)sched;
  }
  // Called by the simulator after load_state() (which must invalidate pending predictions):
  // schedule the next spike of every neuron again from the loaded state, without changing the
  // state or drawing random numbers, so that a restored run continues exactly. t = the clock.
  virtual void resume(Tick t, std::uint32_t self_id, SpikeScheduler& sched) {
    (void)t, (void)self_id, (void)sched;
  }

  // ---- continuous coupling ----------------------------------------------------------------
  // A continuous presynaptic output per neuron (e.g. synaptic drive G of a Neuroblox HH cell, or
  // the E-rate of a neural mass) and the reversal potential of the synapse it drives (mV).
  virtual const double* continuous_output() const { return nullptr; }
  virtual const double* output_reversal() const { return nullptr; }
  // Continuous input accumulators, zeroed by the simulator before each step and summed by the
  // couplings: total conductance g, reversal-weighted conductance gE (so I = gE - g·V), current I.
  virtual double* conductance_input() { return nullptr; }
  virtual double* conductance_reversal_input() { return nullptr; }
  virtual double* current_input() { return nullptr; }

  // ---- state access (recording, learning, trial restarts) ---------------------------------
  // Contiguous array of a state variable or parameter by name, or nullptr. Resolved once at
  // build time; hot loops keep the pointer.
  // state() returns nullptr for a variable stored in float: generic code (probes, initial
  // states) uses state_view(), which sees both.
  virtual double* state(std::string_view name) = 0;
  virtual StateView state_view(std::string_view name) { return {state(name), StateType::f64}; }
  virtual std::vector<std::string> state_names() const = 0;
  // Full dynamic state for trial restarts and checkpoints.
  virtual void save_state(std::vector<double>& out) const = 0;
  virtual void load_state(std::span<const double> in) = 0;
  // Index of the first neuron with a non-finite state and that variable's name, or -1.
  virtual long first_nonfinite(std::string& variable) const {
    (void)variable;
    return -1;
  }
};

}  // namespace sbx
