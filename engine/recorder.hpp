// Recording interface. The simulator reports spikes and samples through it; the HDF5 run file
// (engine/io) is one backend, MemoryRecorder (tests) another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/time.hpp"

namespace sbx {

class Recorder {
 public:
  virtual ~Recorder() = default;
  // Neurons `neurons` of population `population` spiked at tick t.
  virtual void on_spikes(std::uint32_t population, std::span<const std::uint32_t> neurons,
                         Tick t) = 0;
  // Probe `probe` sampled `values` (one per recorded neuron) at tick t.
  virtual void on_sample(std::uint32_t probe, Tick t, std::span<const double> values) = 0;
  // Make everything so far durable (called at least every simulated second and after each trial).
  virtual void flush() = 0;
  // While it runs (Simulator::run_until), a simulator with worker threads lends them:
  // parallel(n, item) runs item(0) ... item(n - 1) on them and returns when all are done (an
  // item's exception is rethrown). A recorder may use it inside on_spikes() and flush(), which the
  // simulator calls on its own thread between steps; an empty function withdraws the loan when
  // the run returns. Why: the threads would otherwise spin idle while the run file compresses.
  using Parallel = std::function<void(std::size_t, const std::function<void(std::size_t)>&)>;
  virtual void lend_threads(Parallel parallel) { (void)parallel; }
};

// Keeps everything in memory; for tests and small analyses.
class MemoryRecorder final : public Recorder {
 public:
  struct Spike {
    std::uint32_t population;
    std::uint32_t neuron;
    Tick t;
  };
  struct Sample {
    std::uint32_t probe;
    Tick t;
    std::vector<double> values;
  };
  std::vector<Spike> spikes;
  std::vector<Sample> samples;
  int flushes = 0;

  void on_spikes(std::uint32_t population, std::span<const std::uint32_t> neurons,
                 Tick t) override {
    for (auto n : neurons) spikes.push_back({population, n, t});
  }
  void on_sample(std::uint32_t probe, Tick t, std::span<const double> values) override {
    samples.push_back({probe, t, {values.begin(), values.end()}});
  }
  void flush() override { ++flushes; }
};

}  // namespace sbx
