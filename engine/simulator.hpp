// The simulator loop: clocked and event-driven populations side by side, spikes delivered with
// delays through the event queue, control events for experiments.
//
// One iteration of the loop (the "why" of the phase order):
//   1. pop every event with tick <= now, in (tick, priority, target, seq) order:
//      control callbacks, predicted spikes of event-driven neurons, spike deliveries
//      (clocked targets: weights added to receptor buffers, consumed by the next step;
//       event-driven targets: applied exactly at the event's tick);
//   2. if there are clocked populations: zero the continuous inputs, sum every continuous
//      coupling from the presynaptic outputs at `now` (operator splitting: couplings are held
//      constant over one step), step every clocked population from now to now + dt, and emit the
//      spikes it reports at now + dt;
//      otherwise jump straight to the next event;
//   3. every `sample_every` steps record probes; flush the recorder every simulated second.
// Events at exactly the end tick of run_until() are left for the next call.
//
// Delays: a delivery with delay 0 from a clocked population (emitted at the end of the step,
// tick now + dt) is applied before the next step — Brian2's "no delay" (a spike of step n acts on
// the target's update in step n + 1); delay d > 0 ticks lands at now + dt + d, i.e. for clocked
// targets ceil(d/dt) steps later. From an event-driven population, delay 0 reaches the target at
// the spike's own tick (in the same pass of the event loop, after the spike itself).
//
// Two shortcuts that give the same results as the plain scheme above (bit for bit, tested):
//  * staging: deliveries of a clocked population's spikes whose delay is a whole number of steps
//    skip the event queue; they wait in a ring of per-step slots and are merged into the queue's
//    order when their tick is processed (Simulator::stage, process_events_upto);
//  * deferral (threads > 1): deliveries into a population split across threads are not applied
//    when popped but by each worker into its own neuron range at the start of the next parallel
//    step (Simulator::deliver); controls, probes and plastic deliveries apply the pending ones
//    first, so they see the buffers as with one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/coupling_plan.hpp"
#include "engine/event_queue.hpp"
#include "engine/modulator.hpp"
#include "engine/population.hpp"
#include "engine/projection.hpp"
#include "engine/recorder.hpp"
#include "engine/time.hpp"

namespace sbx {

class SpikeLearningRule;

struct SimulatorStats {
  std::uint64_t steps = 0;
  std::uint64_t spikes = 0;
  std::uint64_t synaptic_events = 0;  // synapses touched by deliveries
  std::uint64_t queue_events = 0;
};

// Sampled state: values of `variable` for the given neurons of one population.
struct Probe {
  std::uint32_t population = 0;
  std::string variable;
  std::vector<std::uint32_t> neurons;
  Tick every = 1;       // sampling period in ticks (a multiple of dt for clocked populations)
  StateView data = {};  // resolved at add_probe (double or float array)
};

class Simulator final : public SpikeScheduler {
 public:
  using ControlFn = std::function<void(Tick t, std::uint32_t b, std::uint32_t c)>;

  Simulator(TimeGrid grid, Tick dt);
  ~Simulator() override;

  const TimeGrid& grid() const { return grid_; }
  Tick dt() const { return dt_; }
  Tick now() const { return now_; }

  // ---- building ------------------------------------------------------------------------
  std::uint32_t add_population(std::string name, std::unique_ptr<Population> pop);
  std::uint32_t add_projection(SpikeProjection proj);       // returns projection id
  std::uint32_t add_continuous(ContinuousProjection proj);  // returns coupling id
  std::uint32_t add_probe(Probe probe);                     // throws on unknown variable
  void set_recorder(Recorder* rec) { recorder_ = rec; }
  // Attach a learning rule (owned by the simulator) to a projection.
  void set_rule(std::uint32_t projection, std::unique_ptr<SpikeLearningRule> rule);
  // Ends learning on a projection for the rest of the run: its weights become the rule's weights
  // at now() (sync_weights) and from then on it delivers them as a static projection; the rule is
  // no longer called (it stays allocated: a modulator may still notify it). For evaluation
  // phases that must not learn, e.g. an episodes run's test episodes. No-op without a rule.
  void stop_learning(std::uint32_t projection);
  // Every spike of `population` pulses `m` by `per_spike` (a circuit signal driving a
  // neuromodulator: dopamine cells, a reward population): at the tick it is emitted, or, for a
  // spike of an event-driven population inside a clocked step, at the end of that step (see
  // emit). `m` must outlive the simulator's runs; one emission's spikes are one pulse of
  // count·per_spike. With a delay (ticks, >= 0, a multiple of dt() so that pulses stay on step
  // boundaries) the pulse comes that much later, as a control event.
  void add_spike_pulses(std::uint32_t population, Modulator& m, double per_spike, Tick delay = 0);

  Population& population(std::uint32_t id) { return *pops_[id].pop; }
  const std::string& population_name(std::uint32_t id) const { return pops_[id].name; }
  std::uint32_t n_populations() const { return static_cast<std::uint32_t>(pops_.size()); }
  long find_population(std::string_view name) const;  // -1 if absent
  SpikeProjection& projection(std::uint32_t id) { return projs_[id]; }
  std::uint32_t n_projections() const { return static_cast<std::uint32_t>(projs_.size()); }
  // Mutable access to a coupling: the step loop sums copies of its weights (coupling_plan.hpp),
  // re-read before the next step after this call. Write through the returned reference in the
  // same control or between runs; do not keep it (or its arrays' pointers) to write steps later.
  ContinuousProjection& continuous(std::uint32_t id) {
    coupling_plan_.touch(id);
    return conts_[id];
  }
  const ContinuousProjection& continuous(std::uint32_t id) const { return conts_[id]; }
  std::uint32_t n_continuous() const { return static_cast<std::uint32_t>(conts_.size()); }

  // ---- control events -------------------------------------------------------------------
  std::uint32_t add_control(ControlFn fn);
  // Schedules control callback `id` at tick t; `order` (0..63) orders controls of one tick.
  void schedule_control(Tick t, std::uint32_t id, std::uint8_t order = 0, std::uint32_t b = 0,
                        std::uint32_t c = 0);

  // ---- running ----------------------------------------------------------------------------
  // Called once before the first run (schedules first spikes of event-driven populations).
  void start();
  void run_until(Tick t_end);
  // Runs item(0) ... item(n - 1) on the worker threads (threads() of them, this one included)
  // and returns when all are done; the first exception of an item is rethrown. Between steps
  // only (not from inside a step); lent to the recorder during run_until (Recorder::lend_threads).
  void parallel_items(std::size_t n, const std::function<void(std::size_t)>& item);
  // With stop_on_interrupt, run_until returns at the first step boundary after a SIGINT/SIGTERM
  // (engine/interrupt.hpp), with now() < t_end; the caller then throws Interrupted. Why: a caller
  // that polls between run_until calls waits for the whole chunk, and a chunk of a network in a
  // runaway state (every cell firing every step) can take minutes. Off by default: trial-based
  // runners stop only at the end of a trial.
  void set_stop_on_interrupt(bool on) { stop_on_interrupt_ = on; }
  // Progress callback, called roughly every `period` ticks of simulated time.
  void set_progress(std::function<void(Tick)> fn, Tick period);
  // Worker threads for the clocked step (default 1). Populations that support ranged stepping
  // (Population::range_granularity() > 0) are split into `n` contiguous ranges stepped
  // concurrently; everything else (events, deliveries, couplings, recording) stays on the calling
  // thread, except static deliveries into split populations: each thread applies them to its own
  // range before stepping it. Results are bit-identical for every n: each neuron's update does not
  // depend on the split, every buffer element receives its inputs in the same order, and spikes are
  // emitted in the same order (tested).
  // spin = false: workers block at once between steps (no busy-waiting; slower per step, for
  // loaded or oversubscribed machines and tests).
  void set_threads(unsigned n, bool spin = true);
  unsigned threads() const { return threads_; }
  // Check every clocked population for NaN/inf every `every_steps` steps (0 = never).
  void set_nan_check(std::uint64_t every_steps) { nan_every_ = every_steps; }
  // Software prefetch of staged deliveries into large clocked populations (default on; see
  // process_events_upto()). Never changes results; off only to measure what it saves.
  void set_prefetch(bool on) { prefetch_ = on; }
  // Clocked targets with at least this many neurons get the prefetches (their buffer, 8 bytes per
  // neuron (4 for a float buffer), and state no longer stay in L2).
  static constexpr std::uint32_t kPrefetchMinTargets = 1u << 15;
  void check_finite() const;  // throws NumericalError naming block, neuron, variable, time

  // Restart support: drop every pending event and set the clock (used between trials).
  // After clear_events(), restore event-driven populations with load_population_state() (not
  // Population::load_state() alone) so they schedule their pending spikes again.
  void clear_events() {
    queue_->clear();
    clear_staged();
  }
  // Population::load_state(), then, for an event-driven population once the simulator has
  // started, Population::resume() so its pending spikes are scheduled again from the loaded state.
  void load_population_state(std::uint32_t id, std::span<const double> state);

  // A whole-simulator checkpoint: clock, every population's state and the pending events
  // (deliveries in flight, control events). Predicted spikes are not stored: load_checkpoint()
  // lets each event-driven population re-schedule them (resume()). A run continued from a
  // checkpoint gives the same spikes as the run that made it (tested).
  struct Checkpoint {
    Tick now = 0;
    Tick event_tick = 0;                      // tick of the last processed event
    std::vector<std::vector<double>> states;  // per population
    std::vector<Event> events;                // pop order, spike predictions excluded
  };
  Checkpoint save_checkpoint() const;
  void load_checkpoint(const Checkpoint& cp);
  void reset_clock(Tick t) {
    now_ = t;
    event_tick_ = t;
    last_flush_ = t;
  }

  const SimulatorStats& stats() const { return stats_; }
  // The queue of pending events, without the staged deliveries (see the top of this file).
  EventQueue& queue() { return *queue_; }

  // SpikeScheduler
  void schedule_spike(std::uint32_t population, std::uint32_t neuron, std::uint32_t version,
                      Tick when) override;

  // Emits spikes of population `pop` at tick t: records them and queues their deliveries.
  void emit_spikes(std::uint32_t pop, std::span<const std::uint32_t> neurons, Tick t);

 private:
  struct SpikePulses {
    Modulator* modulator;
    double per_spike;
    Tick delay;
    std::uint32_t control;  // the control that applies a delayed pulse (delay > 0)
  };
  struct PopEntry {
    std::string name;
    std::unique_ptr<Population> pop;
    std::vector<std::uint32_t> out_projections;  // projections with this pre population
    std::vector<std::uint32_t> in_plastic;       // plastic projections with this post population
    std::vector<SpikePulses> pulses;             // add_spike_pulses
  };
  struct ProjRuntime {
    // Receptor buffer of a clocked target: double, or float when the target keeps it in float
    // (Population::receptor_buffer_f32); exactly one is set.
    double* buffer = nullptr;
    float* buffer_f32 = nullptr;
    // f(buffer) with whichever of the two is set (f is generic over double* / float*).
    template <class F>
    void with_buffer(F&& f) const {
      if (buffer)
        f(buffer);
      else
        f(buffer_f32);
    }
    Population* target = nullptr;
    bool event_target = false;
    // Set by ensure_ranges(): index of the target in clocked_ when that population is split
    // across threads (-1 otherwise), and whether every delay segment lists its targets in
    // ascending order (then each thread's share of a segment is a contiguous run, see split).
    int ranged_target = -1;
    bool sorted_segments = false;
    // With sorted segments: for segment s and thread k = 1..threads-1, the first synapse of the
    // segment whose target is in thread k's range or beyond: split[s * (threads - 1) + k - 1].
    std::vector<std::uint32_t> split;
    // Every delay segment's delay is a whole number of steps (< kMaxStagedSteps): deliveries of a
    // clocked presynaptic population are staged instead of queued.
    bool staged = false;
    Tick common_delay = -1;     // the delay of every segment, or -1 if they differ
    bool row_segments = false;  // one segment per row: segment i is row i
    // The target's receptor buffer is too large for the private caches: process_events_upto()
    // prefetches the rows and buffer entries of the staged deliveries a few items ahead.
    bool prefetch = false;
  };
  // A delivery into a split clocked population, applied at the start of the next parallel step
  // by every thread into its own neuron range (see deliver()).
  struct PendingDelivery {
    std::uint32_t projection, segment;
  };
  // A delivery of a spike a clocked population emitted at the end of a step, whose delay is a
  // whole number of steps: kept out of the event queue in a ring of per-step slots (see
  // stage()) and merged into the event order when its tick is processed.
  struct StagedDelivery {
    std::uint32_t projection, neuron, segment;
  };
  struct StagedSlot {
    Tick tick = 0;
    std::vector<StagedDelivery> items;
  };

  class WorkerPool;
  // Computes the per-thread ranges once; true if any clocked population is split.
  bool ensure_ranges();
  void step_clocked_parallel(const StepContext& ctx, Tick t_end);

  void process_events_upto(Tick t);
  // Software prefetch for a staged delivery a few items ahead (see process_events_upto()): the
  // segment bounds, the segment's target and weight rows, its targets' receptor buffer entries.
  void prefetch_segment(const StagedDelivery& d) const;
  void prefetch_rows(const StagedDelivery& d) const;
  void prefetch_targets(const StagedDelivery& d) const;
  void deliver(const Event& e);
  // Applies the pending deliveries to neuron range `k` (of threads_) of their targets; returns
  // the number of synapses applied.
  std::uint64_t apply_pending_range(unsigned k);
  // Applies every pending delivery on this thread (before anything that may read or write the
  // receptor buffers out of the step: control events, plastic deliveries, probes).
  void flush_pending();
  // emit_spikes() with `from_step`: spikes of a clocked step at its end tick t.
  void emit(std::uint32_t pop, std::span<const std::uint32_t> neurons, Tick t, bool from_step);
  // Puts d in the slot of tick `when`; false if that slot holds another tick (then queue it).
  bool stage(Tick when, const StagedDelivery& d);
  // The ring slot of tick `when` (grows the ring), or nullptr if it holds another tick.
  StagedSlot* staged_slot(Tick when);
  void clear_staged();
  static constexpr Tick kMaxStagedSteps = 4096;
  void do_step();
  void sample(Tick t);

  TimeGrid grid_;
  Tick dt_;
  Tick now_ = 0;
  Tick event_tick_ = 0;  // tick of the event being (or last) processed: floor of predictions
  bool started_ = false;
  std::unique_ptr<EventQueue> queue_;
  std::vector<PopEntry> pops_;
  std::vector<std::uint32_t> clocked_;
  std::vector<std::uint32_t> prediction_key_;  // per population: first global neuron index
  std::uint32_t next_prediction_key_ = 0;
  std::vector<SpikeProjection> projs_;
  std::vector<ProjRuntime> proj_rt_;
  std::vector<ContinuousProjection> conts_;
  CouplingPlan coupling_plan_;  // conts_ compiled for do_step
  std::vector<std::unique_ptr<SpikeLearningRule>> rules_;
  std::vector<ControlFn> controls_;
  std::vector<Probe> probes_;
  std::vector<double> sample_buf_;
  std::vector<std::uint32_t> spiked_;
  Recorder* recorder_ = nullptr;
  std::function<void(Tick)> progress_;
  Tick progress_period_ = 0, next_progress_ = 0;
  Tick last_flush_ = 0;
  std::uint64_t nan_every_ = 0;
  bool stop_on_interrupt_ = false;
  bool prefetch_ = true;
  SimulatorStats stats_;
  unsigned threads_ = 1;
  bool any_ranged_ = false;  // some clocked population is split across threads (ensure_ranges)
  bool spin_ = true;
  std::unique_ptr<WorkerPool> pool_;
  // Per clocked population: range bounds per thread (threads_ + 1 entries; empty = serial).
  std::vector<std::vector<std::uint32_t>> ranges_;
  std::vector<std::vector<std::vector<std::uint32_t>>> thread_spikes_;  // [thread][clocked index]
  std::size_t ranged_projections_ = 0;  // projections classified by the last ensure_ranges()
  bool defer_ = false;  // deliveries into split populations are deferred (threads_ > 1)
  std::vector<PendingDelivery> pending_;
  std::vector<std::uint64_t> range_events_;  // synapses applied per thread (stride 8: own line)
  std::vector<StagedSlot> staged_;           // ring, slot (tick / dt_) % size; size a power of two
  std::size_t n_staged_ = 0;
};

}  // namespace sbx
