#include "engine/simulator.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "engine/errors.hpp"
#include "engine/interrupt.hpp"
#include "engine/learning.hpp"
#include "engine/parallel_items.hpp"
#include "engine/prefetch.hpp"

namespace sbx {

namespace {
// buf[post[k]] += w[k] for k in [b, e): the synaptic additions of one delivery into a double or a
// float receptor buffer (float weights; into a double buffer they are widened first, exactly).
template <class T>
inline void add_weights(T* buf, const std::uint32_t* post, const float* w, std::uint32_t b,
                        std::uint32_t e) {
  for (std::uint32_t k = b; k < e; ++k) buf[post[k]] += w[k];
}
}  // namespace

// A fixed set of worker threads running one job per step. The caller is worker 0. Waiting spins
// (yielding) for up to 2^14 rounds (a futex wake-up costs tens of microseconds, as much
// as a whole step of a 4000-cell network) and then blocks on the atomic, so idle workers do not
// burn the machine between runs.
class Simulator::WorkerPool {
  // Spinning only pays when every worker has a core: with more threads than cores a spinning
  // thread keeps the one it waits for off the CPU, so then block at once.
  int spins_ = 1 << 14;
  // The first rounds pause (a few µs in all), then yield. Yielding alone costs a system call per
  // round (~1 µs in this VM), and a wait that ends during one is noticed late: twice per step, on
  // the critical path (COBAHH 2 threads: ~15 % of the loop in __schedule/sched_yield; pausing
  // first: 1.70× -> 1.76× over 1 thread on the idle machine, but 0.87× -> 0.75× with one core
  // taken by another process). Yield rather than pause after that: on a loaded machine it lets
  // the thread we wait for run (a pure spin made 2 threads 100× slower under load).
  int pause_spins_ = 128;
  void cpu_relax(int spin) const {
#if defined(__x86_64__) || defined(__i386__)
    if (spin < pause_spins_) {
      __builtin_ia32_pause();
      return;
    }
#endif
    (void)spin;
    std::this_thread::yield();
  }

 public:
  WorkerPool(unsigned n, bool spin) : n_(n) {
    if (!spin || n > std::max(1u, std::thread::hardware_concurrency())) spins_ = pause_spins_ = 0;
    for (unsigned k = 1; k < n; ++k) threads_.emplace_back([this, k] { loop(k); });
  }
  ~WorkerPool() {
    stop_.store(true, std::memory_order_release);
    epoch_.fetch_add(1, std::memory_order_release);
    epoch_.notify_all();
    for (auto& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs job(k) for k = 0..n-1 (k = 0 on the calling thread); returns when all have finished.
  template <class F>
  void run(F& job) {
    job_ = [](void* f, unsigned k) { (*static_cast<F*>(f))(k); };
    job_arg_ = &job;
    pending_.store(n_ - 1, std::memory_order_relaxed);
    epoch_.fetch_add(1, std::memory_order_release);
    epoch_.notify_all();
    job(0u);
    wait_workers();
  }

 private:
  // Not inlined so that profiles show the waiting apart from the work
  // (bench/threads_serial_fraction.py counts it as neither serial nor parallel work).
  [[gnu::noinline]] void wait_workers() {
    for (int spin = 0;; ++spin) {
      const unsigned left = pending_.load(std::memory_order_acquire);
      if (left == 0) break;
      if (spin > spins_) pending_.wait(left, std::memory_order_acquire);
      cpu_relax(spin);
    }
  }

  void loop(unsigned k) {
    std::uint64_t seen = 0;
    for (;;) {
      std::uint64_t e;
      for (int spin = 0;; ++spin) {
        e = epoch_.load(std::memory_order_acquire);
        if (e != seen) break;
        if (spin > spins_) epoch_.wait(seen, std::memory_order_acquire);
        cpu_relax(spin);
      }
      seen = e;
      if (stop_.load(std::memory_order_acquire)) return;
      job_(job_arg_, k);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  unsigned n_;
  std::vector<std::thread> threads_;
  std::atomic<std::uint64_t> epoch_{0};
  std::atomic<unsigned> pending_{0};
  std::atomic<bool> stop_{false};
  void (*job_)(void*, unsigned) = nullptr;
  void* job_arg_ = nullptr;
};

Simulator::Simulator(TimeGrid grid, Tick dt) : grid_(grid), dt_(dt), queue_(make_event_queue()) {
  if (dt_ < 1) throw std::invalid_argument("the clock step dt must be at least one tick");
}

Simulator::~Simulator() = default;

std::uint32_t Simulator::add_population(std::string name, std::unique_ptr<Population> pop) {
  if (find_population(name) >= 0) throw std::invalid_argument("duplicate population name " + name);
  const auto id = static_cast<std::uint32_t>(pops_.size());
  if (pop->dynamics() == Dynamics::clocked) clocked_.push_back(id);
  prediction_key_.push_back(next_prediction_key_);
  if (pop->dynamics() == Dynamics::event_driven) next_prediction_key_ += pop->size();
  pops_.push_back({std::move(name), std::move(pop), {}, {}, {}});
  coupling_plan_.invalidate();  // a new clocked population's inputs must be zeroed too
  return id;
}

long Simulator::find_population(std::string_view name) const {
  for (std::size_t i = 0; i < pops_.size(); ++i)
    if (pops_[i].name == name) return static_cast<long>(i);
  return -1;
}

std::uint32_t Simulator::add_projection(SpikeProjection proj) {
  if (proj.pre_population >= pops_.size() || proj.post_population >= pops_.size())
    throw std::invalid_argument("projection " + proj.name + ": unknown population");
  Population& post = *pops_[proj.post_population].pop;
  ProjRuntime rt;
  rt.target = &post;
  rt.event_target = post.dynamics() == Dynamics::event_driven;
  if (!rt.event_target) {
    if (proj.receptor >= post.n_receptors())
      throw std::invalid_argument(
          "projection " + proj.name + ": population '" + pops_[proj.post_population].name + "' (" +
          std::string(post.model()) + ") has no receptor " + std::to_string(proj.receptor));
    rt.buffer = post.receptor_buffer(proj.receptor);
    if (!rt.buffer) rt.buffer_f32 = post.receptor_buffer_f32(proj.receptor);
    if (!rt.buffer && !rt.buffer_f32)
      throw std::invalid_argument("projection " + proj.name + ": population '" +
                                  pops_[proj.post_population].name + "' (" +
                                  std::string(post.model()) + ") has no buffer for receptor " +
                                  std::to_string(proj.receptor));
    rt.prefetch = post.size() >= kPrefetchMinTargets;
  }
  rt.staged = std::all_of(proj.seg_delay.begin(), proj.seg_delay.end(),
                          [&](Tick d) { return d % dt_ == 0 && d / dt_ < kMaxStagedSteps; });
  if (!proj.seg_delay.empty() && std::all_of(proj.seg_delay.begin(), proj.seg_delay.end(),
                                             [&](Tick d) { return d == proj.seg_delay[0]; }))
    rt.common_delay = proj.seg_delay[0];
  rt.row_segments = proj.n_segments() == proj.n_pre;
  for (std::uint32_t i = 0; i <= proj.n_pre && rt.row_segments; ++i)
    rt.row_segments = proj.seg_ptr[i] == i;
  const auto id = static_cast<std::uint32_t>(projs_.size());
  pops_[proj.pre_population].out_projections.push_back(id);
  projs_.push_back(std::move(proj));
  proj_rt_.push_back(rt);
  return id;
}

std::uint32_t Simulator::add_continuous(ContinuousProjection proj) {
  if (proj.pre_population >= pops_.size() || proj.post_population >= pops_.size())
    throw std::invalid_argument("coupling " + proj.name + ": unknown population");
  Population& pre = *pops_[proj.pre_population].pop;
  Population& post = *pops_[proj.post_population].pop;
  if (!pre.continuous_output())
    throw std::invalid_argument("coupling " + proj.name + ": '" + pops_[proj.pre_population].name +
                                "' has no continuous output");
  if (proj.kind == CouplingKind::conductance &&
      (!pre.output_reversal() || !post.conductance_input() || !post.conductance_reversal_input()))
    throw std::invalid_argument("coupling " + proj.name +
                                ": conductance coupling not supported by '" +
                                pops_[proj.post_population].name + "'");
  if (proj.kind == CouplingKind::current && !post.current_input())
    throw std::invalid_argument("coupling " + proj.name + ": '" + pops_[proj.post_population].name +
                                "' takes no continuous current");
  if (pre.dynamics() != Dynamics::clocked || post.dynamics() != Dynamics::clocked)
    throw std::invalid_argument("coupling " + proj.name +
                                ": continuous couplings need clocked populations");
  for (std::size_t k = 0; k < proj.pre.size(); ++k)
    if (proj.pre[k] >= pre.size() || proj.post[k] >= post.size())
      throw std::invalid_argument("coupling " + proj.name + ": index out of range");
  conts_.push_back(std::move(proj));
  coupling_plan_.invalidate();
  return static_cast<std::uint32_t>(conts_.size() - 1);
}

std::uint32_t Simulator::add_probe(Probe probe) {
  if (probe.population >= pops_.size()) throw std::invalid_argument("probe: unknown population");
  Population& p = *pops_[probe.population].pop;
  probe.data = p.state_view(probe.variable);
  if (!probe.data)
    throw std::invalid_argument("probe: population '" + pops_[probe.population].name +
                                "' has no variable '" + probe.variable + "'");
  for (auto n : probe.neurons)
    if (n >= p.size()) throw std::invalid_argument("probe: neuron index out of range");
  if (probe.every < 1) probe.every = 1;
  probes_.push_back(std::move(probe));
  return static_cast<std::uint32_t>(probes_.size() - 1);
}

void Simulator::set_rule(std::uint32_t projection, std::unique_ptr<SpikeLearningRule> rule) {
  SpikeProjection& p = projs_.at(projection);
  p.rule = rule.get();
  if (rule->needs_post()) pops_[p.post_population].in_plastic.push_back(projection);
  rules_.push_back(std::move(rule));
}

void Simulator::stop_learning(std::uint32_t projection) {
  SpikeProjection& p = projs_.at(projection);
  if (!p.rule) return;
  p.rule->sync_weights(p, now_);
  std::vector<std::uint32_t>& plastic = pops_[p.post_population].in_plastic;
  plastic.erase(std::remove(plastic.begin(), plastic.end(), projection), plastic.end());
  p.rule = nullptr;
}

std::uint32_t Simulator::add_control(ControlFn fn) {
  controls_.push_back(std::move(fn));
  return static_cast<std::uint32_t>(controls_.size() - 1);
}

void Simulator::schedule_control(Tick t, std::uint32_t id, std::uint8_t order, std::uint32_t b,
                                 std::uint32_t c) {
  if (id >= controls_.size()) throw std::invalid_argument("unknown control callback");
  if (order >= priority::spike_prediction)
    throw std::invalid_argument("control order must be < 64");
  Event e;
  e.tick = t;
  e.priority = static_cast<std::uint8_t>(priority::control_first + order);
  e.kind = EventKind::control;
  e.a = id;
  e.b = b;
  e.c = c;
  queue_->push(e);
}

void Simulator::schedule_spike(std::uint32_t population, std::uint32_t neuron,
                               std::uint32_t version, Tick when) {
  Event e;
  // Never before the event being processed (with clocked populations, events of the ticks between
  // two step boundaries are processed at the later boundary, so `now_` would be too late a floor).
  e.tick = std::max(when, event_tick_);
  e.priority = priority::spike_prediction;
  e.kind = EventKind::spike_prediction;
  // Ordered by a global neuron index: simultaneous predicted spikes are processed in neuron
  // order whatever the order they were scheduled in (so a restored checkpoint, which
  // re-schedules them in index order, continues exactly).
  e.target = prediction_key_[population] + neuron;
  e.a = population;
  e.b = neuron;
  e.c = version;
  queue_->push(e);
}

void Simulator::set_progress(std::function<void(Tick)> fn, Tick period) {
  progress_ = std::move(fn);
  progress_period_ = std::max<Tick>(period, 1);
  next_progress_ = now_ + progress_period_;
}

void Simulator::start() {
  if (started_) return;
  started_ = true;
  for (std::uint32_t i = 0; i < pops_.size(); ++i)
    if (pops_[i].pop->dynamics() == Dynamics::event_driven) pops_[i].pop->start(now_, i, *this);
}

void Simulator::set_threads(unsigned n, bool spin) {
  if (n < 1) throw std::invalid_argument("threads must be >= 1");
  threads_ = n;
  spin_ = spin;
  pool_.reset();
  ranges_.clear();  // recomputed at the next step
}

bool Simulator::ensure_ranges() {
  const std::size_t nc = clocked_.size();
  if (ranges_.size() != nc) {
    ranges_.assign(nc, {});
    for (std::size_t j = 0; j < nc; ++j) {
      const Population& p = *pops_[clocked_[j]].pop;
      const std::uint32_t g = p.range_granularity(), n = p.size();
      if (g == 0) continue;
      // Equal shares rounded down to multiples of the granularity; the last range ends at n.
      std::vector<std::uint32_t> b(threads_ + 1, 0);
      for (unsigned k = 1; k < threads_; ++k)
        b[k] = static_cast<std::uint32_t>(static_cast<std::uint64_t>(n) * k / threads_ / g * g);
      b[threads_] = n;
      ranges_[j] = std::move(b);
    }
    thread_spikes_.assign(threads_, std::vector<std::vector<std::uint32_t>>(nc));
    range_events_.assign(8 * std::size_t{threads_}, 0);
    any_ranged_ =
        std::any_of(ranges_.begin(), ranges_.end(), [](const auto& r) { return !r.empty(); });
    ranged_projections_ = 0;  // reclassify every projection against the new ranges
  }
  for (std::size_t pid = ranged_projections_; pid < projs_.size(); ++pid) {
    ProjRuntime& rt = proj_rt_[pid];
    const SpikeProjection& p = projs_[pid];
    rt.ranged_target = -1;
    rt.split.clear();
    if (rt.event_target) continue;
    const auto it = std::find(clocked_.begin(), clocked_.end(), p.post_population);
    const auto j = static_cast<std::size_t>(it - clocked_.begin());
    if (ranges_[j].empty()) continue;
    rt.ranged_target = static_cast<int>(j);
    rt.sorted_segments = true;
    for (std::uint32_t s = 0; s < p.n_segments() && rt.sorted_segments; ++s)
      rt.sorted_segments =
          std::is_sorted(p.post.begin() + p.seg_begin[s], p.post.begin() + p.seg_begin[s + 1]);
    if (!rt.sorted_segments) continue;
    // Split points, found once here: a binary search per delivery and thread cost ~40 % of the
    // parallel delivery (mispredicted branches).
    const unsigned m = threads_ - 1;
    rt.split.resize(static_cast<std::size_t>(p.n_segments()) * m);
    for (std::uint32_t s = 0; s < p.n_segments(); ++s) {
      const auto first = p.post.begin() + p.seg_begin[s],
                 last = p.post.begin() + p.seg_begin[s + 1];
      for (unsigned k = 1; k < threads_; ++k)
        rt.split[static_cast<std::size_t>(s) * m + k - 1] = static_cast<std::uint32_t>(
            std::lower_bound(first, last, ranges_[j][k]) - p.post.begin());
    }
  }
  ranged_projections_ = projs_.size();
  return any_ranged_;
}

void Simulator::step_clocked_parallel(const StepContext& ctx, Tick t_end) {
  const std::size_t nc = clocked_.size();
  if (!pool_) pool_ = std::make_unique<WorkerPool>(threads_, spin_);
  // Populations without ranged stepping go first, on this thread (their spikes are kept aside).
  for (std::size_t j = 0; j < nc; ++j) {
    Population& p = *pops_[clocked_[j]].pop;
    auto& out = thread_spikes_[0][j];
    out.clear();
    if (ranges_[j].empty())
      p.step(ctx, out);
    else
      p.prepare_step(ctx);
  }
  auto job = [&](unsigned k) {
    // The deliveries of the events just processed, into this thread's range.
    range_events_[8 * k] = apply_pending_range(k);
    for (std::size_t j = 0; j < nc; ++j) {
      if (ranges_[j].empty()) continue;
      auto& out = thread_spikes_[k][j];
      if (k != 0) out.clear();
      const std::uint32_t b = ranges_[j][k], e = ranges_[j][k + 1];
      if (b < e) pops_[clocked_[j]].pop->step_range(ctx, b, e, out);
    }
  };
  pool_->run(job);
  for (unsigned k = 0; k < threads_; ++k) stats_.synaptic_events += range_events_[8 * k];
  pending_.clear();
  // Emit in population order, ranges in index order: the same sequence as one thread.
  for (std::size_t j = 0; j < nc; ++j) {
    spiked_.clear();
    for (unsigned k = 0; k < threads_; ++k) {
      if (k > 0 && ranges_[j].empty()) break;
      const auto& v = thread_spikes_[k][j];
      spiked_.insert(spiked_.end(), v.begin(), v.end());
    }
    if (!spiked_.empty()) emit(clocked_[j], spiked_, t_end, true);
  }
}

void Simulator::load_population_state(std::uint32_t id, std::span<const double> state) {
  Population& p = *pops_.at(id).pop;
  p.load_state(state);
  if (started_ && p.dynamics() == Dynamics::event_driven) p.resume(now_, id, *this);
}

Simulator::Checkpoint Simulator::save_checkpoint() const {
  Checkpoint cp;
  cp.now = now_;
  cp.event_tick = event_tick_;
  cp.states.resize(pops_.size());
  for (std::size_t i = 0; i < pops_.size(); ++i) pops_[i].pop->save_state(cp.states[i]);
  for (const Event& e : queue_->snapshot())
    if (e.kind != EventKind::spike_prediction) cp.events.push_back(e);
  // Staged deliveries go in as queue events, after the queued ones they tie with on (tick,
  // priority, target): the order process_events_upto() gives them.
  for (const StagedSlot& slot : staged_)
    for (const StagedDelivery& d : slot.items) {
      Event e;
      e.tick = slot.tick;
      e.priority = priority::spike_delivery;
      e.kind = EventKind::spike_delivery;
      e.target = e.a = d.projection;
      e.b = d.neuron;
      e.c = d.segment;
      cp.events.push_back(e);
    }
  std::stable_sort(cp.events.begin(), cp.events.end(), [](const Event& x, const Event& y) {
    if (x.tick != y.tick) return x.tick < y.tick;
    if (x.priority != y.priority) return x.priority < y.priority;
    return x.target < y.target;
  });
  return cp;
}

void Simulator::load_checkpoint(const Checkpoint& cp) {
  if (cp.states.size() != pops_.size())
    throw std::invalid_argument("load_checkpoint: checkpoint of another network (" +
                                std::to_string(cp.states.size()) + " populations, this one has " +
                                std::to_string(pops_.size()) + ")");
  if (!started_) start();
  queue_->clear();
  clear_staged();
  reset_clock(cp.now);
  event_tick_ = cp.event_tick;  // pending spikes may lie between the last event and now
  next_progress_ = now_ + progress_period_;
  // Pushed in their pop order, so events that tie on (tick, priority, target) keep their order.
  for (const Event& e : cp.events) queue_->push(e);
  for (std::uint32_t i = 0; i < pops_.size(); ++i) load_population_state(i, cp.states[i]);
}

void Simulator::emit_spikes(std::uint32_t pop, std::span<const std::uint32_t> neurons, Tick t) {
  emit(pop, neurons, t, false);
}

// Deliveries of a clocked step's spikes whose delay is a whole number of steps land on a later
// step boundary: they are staged in the slot of that tick (a push_back) instead of the event queue
// (a push, a sort and a pop each, 3-5 % of a COBAHH step), and process_events_upto() merges the
// slot into the queue's (tick, priority, target, seq) order, so the result is the same as queued.
bool Simulator::stage(Tick when, const StagedDelivery& d) {
  StagedSlot* slot = staged_slot(when);
  if (!slot) return false;
  slot->tick = when;
  slot->items.push_back(d);
  ++n_staged_;
  return true;
}

Simulator::StagedSlot* Simulator::staged_slot(Tick when) {
  const auto ahead = static_cast<std::size_t>((when - now_) / dt_) + 2;
  if (staged_.size() < ahead) {  // grow to a power of two; slots move to their new index
    std::vector<StagedSlot> ring(std::bit_ceil(std::max<std::size_t>(ahead, 8)));
    for (StagedSlot& slot : staged_)
      if (!slot.items.empty())
        ring[static_cast<std::size_t>(slot.tick / dt_) & (ring.size() - 1)] = std::move(slot);
    staged_ = std::move(ring);
  }
  StagedSlot& slot = staged_[static_cast<std::size_t>(when / dt_) & (staged_.size() - 1)];
  if (!slot.items.empty() && slot.tick != when) return nullptr;
  slot.tick = when;
  return &slot;
}

void Simulator::clear_staged() {
  for (StagedSlot& slot : staged_) slot.items.clear();
  n_staged_ = 0;
}

void Simulator::add_spike_pulses(std::uint32_t population, Modulator& m, double per_spike,
                                 Tick delay) {
  if (population >= pops_.size())
    throw std::invalid_argument("add_spike_pulses: no population " + std::to_string(population));
  if (!std::isfinite(per_spike))
    throw std::invalid_argument("add_spike_pulses: the pulse per spike must be finite");
  if (delay < 0 || delay % dt_ != 0)
    throw std::invalid_argument("add_spike_pulses: the delay must be >= 0 and a multiple of dt");
  std::uint32_t control = 0;
  if (delay > 0) {
    Modulator* mod = &m;
    // b = the emission's spike count: the same count·per_spike as an immediate pulse.
    control = add_control([mod, per_spike](Tick t, std::uint32_t count, std::uint32_t) {
      mod->pulse(t, per_spike * static_cast<double>(count));
    });
  }
  pops_[population].pulses.push_back({&m, per_spike, delay, control});
}

void Simulator::emit(std::uint32_t pop, std::span<const std::uint32_t> neurons, Tick t,
                     bool from_step) {
  if (neurons.empty()) return;
  stats_.spikes += neurons.size();
  if (recorder_) recorder_->on_spikes(pop, neurons, t);
  const PopEntry& pe = pops_[pop];
  if (!pe.pulses.empty()) {
    // Spikes of event-driven populations inside a step are handled after the clocked
    // populations' spikes at the step's end (run_until: step, then the events up to its end), so
    // their pulses take effect at that end, now_: a modulator, and the rules integrating it, then
    // never see a change earlier than one already applied (clocked spikes have t = now_ + dt).
    const Tick at = std::max(t, now_);
    for (const SpikePulses& p : pe.pulses) {
      if (p.delay == 0)
        p.modulator->pulse(at, p.per_spike * static_cast<double>(neurons.size()));
      else
        schedule_control(at + p.delay, p.control, 0, static_cast<std::uint32_t>(neurons.size()));
    }
  }
  for (std::uint32_t pid : pe.out_projections) {
    const SpikeProjection& p = projs_[pid];
    const ProjRuntime& rt = proj_rt_[pid];
    const bool staged = from_step && rt.staged;
    // One delay and one segment per row (the usual edge): one slot, no CSR reads.
    if (staged && rt.common_delay >= 0 && rt.row_segments) {
      if (StagedSlot* slot = staged_slot(t + rt.common_delay)) {
        for (std::uint32_t n : neurons) slot->items.push_back({pid, n, n});
        n_staged_ += neurons.size();
        continue;
      }
    }
    for (std::uint32_t n : neurons) {
      for (std::uint32_t s = p.seg_ptr[n]; s < p.seg_ptr[n + 1]; ++s) {
        if (staged && stage(t + p.seg_delay[s], {pid, n, s})) continue;
        Event e;
        e.tick = t + p.seg_delay[s];
        e.priority = priority::spike_delivery;
        e.kind = EventKind::spike_delivery;
        e.target = pid;
        e.a = pid;
        e.b = n;
        e.c = s;
        queue_->push(e);
      }
    }
  }
  // Post-synaptic side of plastic projections ending on this population.
  for (std::uint32_t pid : pe.in_plastic) {
    SpikeProjection& p = projs_[pid];
    for (std::uint32_t n : neurons) p.rule->on_post(p, n, t);
  }
}

// Deliveries into a population split across threads are deferred: deliver() only queues
// (projection, segment) in pop order, and at the start of the next parallel step each thread adds
// the pending segments' weights into its own neuron range, just before stepping that range. Every
// buffer element then receives its additions in the same order as on one thread (bit-identical
// results for any thread count), the serial part of a step loses the synaptic additions, and the
// buffers are written by the core that reads them. Plastic segments are applied at once (their
// rule may change weights between two deliveries), after the pending ones, to keep the order.
void Simulator::deliver(const Event& e) {
  SpikeProjection& p = projs_[e.a];
  const ProjRuntime& rt = proj_rt_[e.a];
  if (defer_ && rt.ranged_target >= 0) {
    if (!p.rule) {  // counted in synaptic_events when applied
      pending_.push_back({e.a, e.c});
      return;
    }
    flush_pending();
  }
  const std::uint32_t begin = p.seg_begin[e.c];
  const std::uint32_t end = p.seg_begin[e.c + 1];
  if (p.rule) p.rule->on_pre_segment(p, e.c, e.tick);
  stats_.synaptic_events += end - begin;
  if (rt.event_target) {
    rt.target->receive(e.tick, p.post.data() + begin, p.weight.data() + begin, end - begin,
                       p.receptor, *this);
  } else {
    rt.with_buffer(
        [&](auto* buf) { add_weights(buf, p.post.data(), p.weight.data(), begin, end); });
  }
}

std::uint64_t Simulator::apply_pending_range(unsigned k) {
  std::uint64_t applied = 0;
  for (const PendingDelivery& d : pending_) {
    const SpikeProjection& p = projs_[d.projection];
    const ProjRuntime& rt = proj_rt_[d.projection];
    const auto& r = ranges_[static_cast<std::size_t>(rt.ranged_target)];
    const std::uint32_t lo = r[k], hi = r[k + 1];
    if (lo >= hi) continue;
    const std::uint32_t* post = p.post.data();
    const float* w = p.weight.data();
    std::uint32_t b = p.seg_begin[d.segment], e = p.seg_begin[d.segment + 1];
    if (rt.sorted_segments) {
      const std::uint32_t* split = rt.split.data() + std::size_t{d.segment} * (threads_ - 1);
      if (k > 0) b = split[k - 1];
      if (k + 1 < threads_) e = split[k];
      rt.with_buffer([&](auto* buf) { add_weights(buf, post, w, b, e); });
      applied += e - b;
    } else {
      rt.with_buffer([&](auto* buf) {
        for (std::uint32_t s = b; s < e; ++s)
          if (post[s] - lo < hi - lo) {
            buf[post[s]] += w[s];
            ++applied;
          }
      });
    }
  }
  return applied;
}

void Simulator::flush_pending() {
  for (const PendingDelivery& d : pending_) {
    const SpikeProjection& p = projs_[d.projection];
    const ProjRuntime& rt = proj_rt_[d.projection];
    const std::uint32_t b = p.seg_begin[d.segment], e = p.seg_begin[d.segment + 1];
    rt.with_buffer([&](auto* buf) { add_weights(buf, p.post.data(), p.weight.data(), b, e); });
    stats_.synaptic_events += e - b;
  }
  pending_.clear();
}

// A staged delivery into a large population is a chain of dependent cache misses
// (seg_begin[segment] -> post[k], weight[k] -> buffer[post[k]]). The staged slot lists the coming
// deliveries, so the loads are issued ahead as a pipeline: segment bounds 6 items ahead, rows 4
// ahead, buffer entries 1 ahead. Prefetches change no value (bit-identical runs, tested).
// Measured (BENCHMARKS.md, "Session 5: scaling"): static delivery of 10^8 synapses (rows of 1000)
// ~7 % faster; CUBA at 10^6 cells (rows of 64) unchanged within noise, where the loop is bound by
// streaming the 32-MB neuron state and the row misses; longer distances (up to 48/32/8 items)
// and binning deliveries per block of targets (applied just before the block's step) did not
// help there (binning: +20 %). Session 6: those CUBA runs had one-tick delays, so their
// deliveries were queued, never staged, and never prefetched. Staged (one-step delays), the
// prefetch takes ~20 % off that loop at 10^6 float cells, and 6/4/1 instead of 3/2/1 another
// ~10 %; static delivery of 10^8 synapses unchanged (1.59-1.62 ns/event for 3/2/1, 6/4/1, 6/4/2).
// Session 8: rows are prefetched line by line from the row's first line (prefetch_lines); the
// old loop stepped 64 bytes from the unaligned row start and missed every row's last line,
// ~5-7 % of the loop at 10^6 float cells (rows of 64 and 16 synapses). Row distances 1-32 items
// and target distances 1-3 measured alike (before the fix, on a shared machine).
void Simulator::prefetch_segment(const StagedDelivery& d) const {
  if (proj_rt_[d.projection].prefetch)
    __builtin_prefetch(projs_[d.projection].seg_begin.data() + d.segment);
}

void Simulator::prefetch_rows(const StagedDelivery& d) const {
  if (!proj_rt_[d.projection].prefetch) return;
  const SpikeProjection& p = projs_[d.projection];
  const std::uint32_t b = p.seg_begin[d.segment], e = p.seg_begin[d.segment + 1];
  prefetch_lines(p.post.data() + b, p.post.data() + e);
  prefetch_lines(p.weight.data() + b, p.weight.data() + e);
}

void Simulator::prefetch_targets(const StagedDelivery& d) const {
  const ProjRuntime& rt = proj_rt_[d.projection];
  if (!rt.prefetch || (defer_ && rt.ranged_target >= 0)) return;
  const SpikeProjection& p = projs_[d.projection];
  const std::uint32_t* post = p.post.data();
  const std::uint32_t b = p.seg_begin[d.segment], e = p.seg_begin[d.segment + 1];
  rt.with_buffer([&](auto* buf) {
    for (std::uint32_t k = b; k < e; ++k) __builtin_prefetch(buf + post[k], 1);
  });
}

void Simulator::process_events_upto(Tick t) {
  std::uint32_t fired[1];
  // The staged deliveries of tick t (see stage()), in projection order (ties keep emission order).
  StagedSlot* slot = nullptr;
  std::size_t next = 0;
  if (n_staged_ > 0) {
    StagedSlot& s = staged_[static_cast<std::size_t>(t / dt_) & (staged_.size() - 1)];
    if (!s.items.empty() && s.tick <= t) {
      slot = &s;
      const auto by_projection = [](const StagedDelivery& x, const StagedDelivery& y) {
        return x.projection < y.projection;
      };
      if (!std::is_sorted(s.items.begin(), s.items.end(), by_projection))
        std::stable_sort(s.items.begin(), s.items.end(), by_projection);
    }
  }
  for (;;) {
    const bool queued = !queue_->empty() && queue_->top().tick <= t;
    if (slot && next < slot->items.size()) {
      // A staged delivery (tick, spike_delivery, projection) goes before a queued event only if
      // strictly earlier: on a tie the queued one came from an earlier emission (a checkpoint).
      const StagedDelivery d = slot->items[next];
      bool first = !queued;
      if (!first) {
        const Event& q = queue_->top();
        if (slot->tick != q.tick)
          first = slot->tick < q.tick;
        else if (q.priority != priority::spike_delivery)
          first = priority::spike_delivery < q.priority;
        else
          first = d.projection < q.target;
      }
      if (first && prefetch_) {
        const std::size_t m = slot->items.size();
        if (next + 6 < m) prefetch_segment(slot->items[next + 6]);
        if (next + 4 < m) prefetch_rows(slot->items[next + 4]);
        if (next + 1 < m) prefetch_targets(slot->items[next + 1]);
      }
      if (first) {
        ++next;
        --n_staged_;
        ++stats_.queue_events;
        Event e;
        e.tick = event_tick_ = slot->tick;
        e.priority = priority::spike_delivery;
        e.kind = EventKind::spike_delivery;
        e.target = e.a = d.projection;
        e.b = d.neuron;
        e.c = d.segment;
        deliver(e);
        continue;
      }
    } else if (!queued) {
      break;
    }
    const Event e = queue_->top();
    queue_->pop();
    ++stats_.queue_events;
    event_tick_ = e.tick;
    switch (e.kind) {
      case EventKind::control:
        flush_pending();  // a control may read or reset receptor buffers or change weights
        controls_[e.a](e.tick, e.b, e.c);
        break;
      case EventKind::spike_delivery:
        deliver(e);
        break;
      case EventKind::spike_prediction:
        if (pops_[e.a].pop->fire_predicted(e.b, e.c, e.tick, *this)) {
          fired[0] = e.b;
          emit_spikes(e.a, std::span<const std::uint32_t>(fired, 1), e.tick);
        }
        break;
    }
  }
  if (slot) slot->items.clear();
}

void Simulator::do_step() {
  // Continuous couplings, held constant over the step (operator splitting), summed by the
  // compiled plan (engine/coupling_plan.hpp), rebuilt when couplings or populations changed and
  // its weight copies refreshed after continuous() handed out a coupling.
  // (The population list is made only for a build: a coupling touched at every step, e.g. by a
  // rate rule's control, costs a refresh of its weight copies, no allocation.)
  if (coupling_plan_.needs_check() && !coupling_plan_.check(conts_)) {
    std::vector<Population*> pops(pops_.size());
    for (std::size_t i = 0; i < pops_.size(); ++i) pops[i] = pops_[i].pop.get();
    coupling_plan_.build(conts_, pops, clocked_);
  }
  coupling_plan_.apply();
  StepContext ctx{now_, dt_, grid_.to_ms(now_), grid_.to_ms(dt_)};
  const Tick t_end = now_ + dt_;
  // Threads only when some population is worth splitting (see Population::range_granularity):
  // otherwise the hand-off to the pool would make 2 threads slower than 1.
  if (threads_ > 1 && ensure_ranges()) {
    step_clocked_parallel(ctx, t_end);
    ++stats_.steps;
    return;
  }
  flush_pending();  // (empty unless the threads or the populations changed within a run)
  for (std::uint32_t id : clocked_) {
    spiked_.clear();
    pops_[id].pop->step(ctx, spiked_);
    if (!spiked_.empty()) emit(id, spiked_, t_end, true);
  }
  ++stats_.steps;
}

void Simulator::sample(Tick t) {
  for (std::uint32_t i = 0; i < probes_.size(); ++i) {
    const Probe& pr = probes_[i];
    if (t % pr.every != 0) continue;
    Population& p = *pops_[pr.population].pop;
    if (p.dynamics() == Dynamics::event_driven) p.advance_all_to(t);
    sample_buf_.resize(pr.neurons.size());
    if (const double* x = pr.data.f64())
      for (std::size_t k = 0; k < pr.neurons.size(); ++k) sample_buf_[k] = x[pr.neurons[k]];
    else
      for (std::size_t k = 0; k < pr.neurons.size(); ++k)
        sample_buf_[k] = pr.data.get(pr.neurons[k]);
    if (recorder_) recorder_->on_sample(i, t, sample_buf_);
  }
}

void Simulator::check_finite() const {
  for (std::uint32_t id = 0; id < pops_.size(); ++id) {
    std::string var;
    const long idx = pops_[id].pop->first_nonfinite(var);
    if (idx >= 0)
      throw NumericalError("non-finite value in block '" + pops_[id].name + "', neuron " +
                           std::to_string(idx) + ", variable '" + var +
                           "' at t = " + std::to_string(grid_.to_ms(now_)) + " ms");
  }
}

void Simulator::parallel_items(std::size_t n, const std::function<void(std::size_t)>& item) {
  if (threads_ <= 1 || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) item(i);
    return;
  }
  if (!pool_) pool_ = std::make_unique<WorkerPool>(threads_, spin_);
  ItemQueue queue(n);
  auto job = [&](unsigned) { queue.drain(item); };
  pool_->run(job);
  queue.rethrow();
}

void Simulator::run_until(Tick t_end) {
  if (!started_) start();
  // The worker threads are lent to the recorder for the run (see Recorder::lend_threads); the
  // loan ends with the run, also by an exception, so a recorder never keeps a dangling one.
  struct Loan {
    Recorder* rec;
    ~Loan() {
      if (rec) rec->lend_threads({});
    }
  } loan{threads_ > 1 ? recorder_ : nullptr};
  if (loan.rec)
    loan.rec->lend_threads([this](std::size_t n, const std::function<void(std::size_t)>& item) {
      parallel_items(n, item);
    });
  if (t_end < now_) throw std::invalid_argument("run_until: end time is in the past");
  const bool clocked = !clocked_.empty();
  if (clocked && (t_end - now_) % dt_ != 0)
    throw std::invalid_argument(
        "run_until: the run length (" + std::to_string(grid_.to_ms(t_end - now_)) +
        " ms) is not a multiple of dt (" + std::to_string(grid_.to_ms(dt_)) + " ms)");
  const Tick flush_period = std::max<Tick>(grid_.round_ms(1000.0), 1);
  defer_ = clocked && threads_ > 1 && ensure_ranges();
  while (now_ < t_end) {
    if (stop_on_interrupt_ && interrupt_signal() != 0) return;  // (a step boundary)
    process_events_upto(now_);
    if (!probes_.empty()) {
      // A probe may read a receptor buffer (LIF g_e is one): apply pending deliveries first.
      if (!pending_.empty() && std::any_of(probes_.begin(), probes_.end(),
                                           [&](const Probe& pr) { return now_ % pr.every == 0; }))
        flush_pending();
      sample(now_);
    }
    if (clocked) {
      do_step();
      now_ += dt_;
      if (nan_every_ && stats_.steps % nan_every_ == 0) check_finite();
    } else {
      Tick next = t_end;
      if (!queue_->empty()) next = std::min(next, queue_->top().tick);
      // Sampling points must not be skipped by an event-driven jump.
      for (const Probe& pr : probes_) next = std::min(next, (now_ / pr.every + 1) * pr.every);
      now_ = std::max(next, now_ + 1);
      if (now_ > t_end) now_ = t_end;
    }
    if (progress_ && now_ >= next_progress_) {
      progress_(now_);
      next_progress_ = now_ + progress_period_;
    }
    if (recorder_ && now_ - last_flush_ >= flush_period) {
      recorder_->flush();
      last_flush_ = now_;
    }
  }
}

}  // namespace sbx
