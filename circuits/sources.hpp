// Stimulus populations of the circuit loader.
//
// PoissonSource (event-driven): n independent Poisson trains of rate `rate` (Hz) between `start`
// and `stop` (ms). Each train schedules its own next spike: inter-spike intervals are exponential
// with mean 1000/rate ms and accumulated in exact double time; a spike is emitted at the first
// tick at or after its exact time (ceil), so two spikes of one train never share a tick unless
// the rate exceeds one per tick. Draws are counter-based: interval k of train i comes from
// Rng(mix(key, i, k)), key = the first word of the source's own stream. Why: a train's spikes then
// do not depend on the order in which trains that fire at the same tick are processed, so
// restoring a checkpoint (which re-schedules pending spikes in index order) continues the run
// exactly (Simulator::load_checkpoint, tested in tests/engine).
//
// CurrentSource (clocked): n outputs whose continuous_output() is `amplitude` while
// start <= t < stop and 0 otherwise; targets receive I_post += weight * amplitude through a
// ContinuousProjection of kind current. The output seen by the coupling before the step that
// starts at t is the value at t (operator splitting, as every continuous coupling).
//
// Parameters:
//   name       unit                  default  meaning
//   n          -                     1        number of trains / outputs
//   rate       Hz                    required Poisson rate of each train
//   amplitude  target's current unit required current while on
//   start      ms                    0        first time a spike may occur / switch-on time
//   stop       ms                    +inf     no spikes / current at or after this time
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/population.hpp"
#include "engine/rng.hpp"
#include "engine/time.hpp"

namespace sbx::circuits {

class PoissonSource final : public Population {
 public:
  PoissonSource(std::uint32_t n, double rate_hz, double start_ms, double stop_ms, TimeGrid grid,
                Rng rng)
      : n_(n),
        rate_per_ms_(rate_hz / 1000.0),
        start_ms_(start_ms),
        stop_ms_(stop_ms),
        grid_(grid),
        key_(rng.next_u64()),
        next_ms_(n, kInf),
        draws_(n, 0.0),
        version_(n, 0),
        rate_(n, rate_hz) {}

  std::string_view model() const override { return "poisson_source"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::event_driven; }
  std::uint32_t n_receptors() const override { return 0; }

  void start(Tick t, std::uint32_t self_id, SpikeScheduler& sched) override {
    self_ = self_id;
    const double t0 = std::max(grid_.to_ms(t), start_ms_);
    for (std::uint32_t i = 0; i < n_; ++i) {
      ++version_[i];
      next_ms_[i] = rate_per_ms_ > 0.0 ? t0 + interval(i) : kInf;
      schedule(i, sched);
    }
  }

  // After load_state(): schedule every train's pending spike again (no draws, state unchanged).
  void resume(Tick t, std::uint32_t self_id, SpikeScheduler& sched) override {
    (void)t;
    self_ = self_id;
    for (std::uint32_t i = 0; i < n_; ++i) {
      ++version_[i];
      schedule(i, sched);
    }
  }

  bool fire_predicted(std::uint32_t neuron, std::uint32_t version, Tick t,
                      SpikeScheduler& sched) override {
    (void)t;
    if (version != version_[neuron]) return false;
    next_ms_[neuron] += interval(neuron);
    schedule(neuron, sched);
    return true;
  }

  double* state(std::string_view name) override {
    if (name == "rate") return rate_.data();
    if (name == "next_spike") return next_ms_.data();
    return nullptr;
  }
  std::vector<std::string> state_names() const override { return {"rate", "next_spike"}; }

  // Layout: the next exact spike time of every train (ms), then the number of intervals each
  // train has drawn. load_state() invalidates pending predictions (version bump); the simulator
  // calls resume() to re-schedule them (Simulator::load_population_state / load_checkpoint).
  void save_state(std::vector<double>& out) const override {
    out.assign(next_ms_.begin(), next_ms_.end());
    out.insert(out.end(), draws_.begin(), draws_.end());
  }
  void load_state(std::span<const double> in) override {
    if (in.size() != 2u * n_)
      throw std::invalid_argument("PoissonSource::load_state: expected " + std::to_string(2u * n_) +
                                  " values, got " + std::to_string(in.size()));
    for (std::uint32_t i = 0; i < n_; ++i) {
      next_ms_[i] = in[i];
      draws_[i] = in[n_ + i];
      ++version_[i];
    }
  }

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  // Interval number draws_[i] of train i (ms), then counts it.
  double interval(std::uint32_t i) {
    const auto k = static_cast<std::uint64_t>(draws_[i]);
    draws_[i] += 1.0;
    std::uint64_t x = key_ ^ (static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ULL);
    const std::uint64_t seed = splitmix64(x) ^ k;  // one seed per (train, draw)
    return Rng(seed).exponential(rate_per_ms_);
  }

  void schedule(std::uint32_t i, SpikeScheduler& sched) {
    if (!(next_ms_[i] < stop_ms_)) {
      next_ms_[i] = kInf;
      return;
    }
    // First tick at or after the exact time (1e-9 tick slack against representation error).
    const double ticks = next_ms_[i] / grid_.tick_ms();
    const Tick when = static_cast<Tick>(std::ceil(ticks - 1e-9));
    sched.schedule_spike(self_, i, version_[i], when);
  }

  std::uint32_t n_;
  double rate_per_ms_, start_ms_, stop_ms_;
  TimeGrid grid_;
  std::uint64_t key_;
  std::uint32_t self_ = 0;
  std::vector<double> next_ms_;
  std::vector<double> draws_;  // intervals drawn per train (exact in a double up to 2^53)
  std::vector<std::uint32_t> version_;
  std::vector<double> rate_;  // Hz, for state("rate")
};

class CurrentSource final : public Population {
 public:
  static constexpr Tick kNever = std::numeric_limits<Tick>::max();

  // start/stop in ticks (stop = kNever: stays on).
  CurrentSource(std::uint32_t n, double amplitude, Tick start, Tick stop)
      : n_(n), amplitude_(amplitude), start_(start), stop_(stop), out_(n, 0.0) {
    set_output(0);
  }

  std::string_view model() const override { return "current_source"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }

  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    (void)spiked;
    set_output(ctx.t + ctx.dt);  // the value the couplings read before the next step
  }
  const double* continuous_output() const override { return out_.data(); }

  double* state(std::string_view name) override { return name == "I" ? out_.data() : nullptr; }
  std::vector<std::string> state_names() const override { return {"I"}; }
  void save_state(std::vector<double>& out) const override {
    out.insert(out.end(), out_.begin(), out_.end());
  }
  void load_state(std::span<const double> in) override {
    for (std::uint32_t i = 0; i < n_; ++i) out_[i] = in[i];
  }

  // Sets the output to its value at tick t.
  void set_output(Tick t) {
    const double v = (t >= start_ && t < stop_) ? amplitude_ : 0.0;
    for (auto& x : out_) x = v;
  }

 private:
  std::uint32_t n_;
  double amplitude_;
  Tick start_, stop_;
  std::vector<double> out_;
};

}  // namespace sbx::circuits
