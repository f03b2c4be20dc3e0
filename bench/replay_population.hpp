// Benchmark helpers for the synapse benches (bench/static_delivery.cpp, bench/brunel_stdp.cpp):
// a clocked population that emits a precomputed spike schedule and only collects its inputs, so
// that a run's time is spike delivery (and learning), not neuron dynamics; thread-CPU timing;
// resident memory.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "engine/population.hpp"
#include "engine/rng.hpp"
#include "engine/time.hpp"

namespace sbx::bench {

inline double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Resident and peak resident set of this process in bytes (/proc/self/status VmRSS, VmHWM).
inline std::pair<double, double> rss_bytes() {
  double rss = 0, hwm = 0;
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      double kb = 0;
      if (std::sscanf(line, "VmRSS: %lf kB", &kb) == 1) rss = kb * 1024.0;
      if (std::sscanf(line, "VmHWM: %lf kB", &kb) == 1) hwm = kb * 1024.0;
    }
    std::fclose(f);
  }
  return {rss, hwm};
}

// Poisson spike schedule: spikes[s] = neurons that spike at the end of step s, for n neurons at
// `rate_hz`, `steps` steps of dt_ms. Drawn with geometric gaps (O(#spikes)).
inline std::vector<std::vector<std::uint32_t>> poisson_schedule(std::uint32_t n, double rate_hz,
                                                                double dt_ms, std::size_t steps,
                                                                Rng& rng) {
  std::vector<std::vector<std::uint32_t>> out(steps);
  const double p = rate_hz * dt_ms * 1e-3;
  if (p <= 0.0) return out;
  const double log_q = std::log1p(-p);
  const std::uint64_t total = static_cast<std::uint64_t>(n) * steps;
  std::uint64_t k = 0;
  for (;;) {
    const double skip = std::floor(std::log(1.0 - rng.uniform()) / log_q);
    if (skip >= static_cast<double>(total - k)) break;
    k += static_cast<std::uint64_t>(skip);
    out[k / n].push_back(static_cast<std::uint32_t>(k % n));
    if (++k >= total) break;
  }
  return out;
}

// Emits spikes[step] at the end of each step; its receptor buffers are cleared every step (the
// work a real neuron model does with its inputs is not part of delivery).
class ReplayPopulation final : public Population {
 public:
  ReplayPopulation(std::uint32_t n, const std::vector<std::vector<std::uint32_t>>* spikes,
                   std::uint32_t n_receptors = 1)
      : n_(n), spikes_(spikes), bufs_(n_receptors, std::vector<double>(n, 0.0)) {}
  std::string_view model() const override { return "replay"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  std::uint32_t n_receptors() const override { return static_cast<std::uint32_t>(bufs_.size()); }
  double* receptor_buffer(std::uint32_t r) override { return bufs_[r].data(); }
  void step(const StepContext&, std::vector<std::uint32_t>& spiked) override {
    for (auto& b : bufs_) {
      checksum_ += b[step_ % n_];  // keeps the deliveries observable
      std::fill(b.begin(), b.end(), 0.0);
    }
    if (spikes_ && step_ < spikes_->size())
      spiked.insert(spiked.end(), (*spikes_)[step_].begin(), (*spikes_)[step_].end());
    ++step_;
  }
  double* state(std::string_view) override { return nullptr; }
  std::vector<std::string> state_names() const override { return {}; }
  void save_state(std::vector<double>&) const override {}
  void load_state(std::span<const double>) override {}
  double checksum() const { return checksum_; }

 private:
  std::uint32_t n_;
  const std::vector<std::vector<std::uint32_t>>* spikes_;
  std::vector<std::vector<double>> bufs_;
  std::size_t step_ = 0;
  double checksum_ = 0.0;
};

}  // namespace sbx::bench
