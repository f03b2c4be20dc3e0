// The delivery prefetch (Simulator::set_prefetch, engine/simulator.cpp) only issues loads ahead:
// a network large enough to use it gives bit for bit the same run with it on and off.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "engine/prefetch.hpp"
#include "engine/projection.hpp"
#include "engine/simulator.hpp"
#include "models/lif_cuba.hpp"

namespace {

struct Result {
  std::uint64_t spikes = 0, events = 0;
  std::vector<double> v, ge, gi;
};

// CUBA cells (self-driven: E_L above threshold), n > Simulator::kPrefetchMinTargets so the
// staged deliveries are prefetched; E -> E excitatory and I -> E inhibitory, 20 random targets
// per cell, no delay (staged path), 30 ms.
Result run(bool prefetch) {
  constexpr std::uint32_t n = 40000, n_i = 10000, k = 20;
  sbx::Simulator sim(sbx::TimeGrid{}, 100);  // 1-us ticks, dt = 0.1 ms
  sim.set_prefetch(prefetch);
  auto e = std::make_unique<sbx::LifCubaPopulation>(n);
  auto in = std::make_unique<sbx::LifCubaPopulation>(n_i);
  std::uint64_t x = 12345;
  auto next = [&x] {  // LCG: the same draws in both runs
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(x >> 33);
  };
  for (std::uint32_t j = 0; j < n; ++j) e->state("V")[j] = -60.0 + 10.0 * (next() % 1000) / 1000.0;
  for (std::uint32_t j = 0; j < n_i; ++j)
    in->state("V")[j] = -60.0 + 10.0 * (next() % 1000) / 1000.0;
  const auto pe = sim.add_population("E", std::move(e));
  const auto pi = sim.add_population("I", std::move(in));
  auto project = [&](std::uint32_t pre, std::uint32_t n_pre, std::uint32_t receptor, double w) {
    sbx::SpikeProjectionBuilder b("p", pre, pe, n_pre, n, receptor);
    std::vector<std::uint32_t> targets(static_cast<std::size_t>(n_pre) * k);
    for (auto& t : targets) t = next() % n;
    for (std::uint32_t i = 0; i < n_pre; ++i)
      for (std::uint32_t s = 0; s < k; ++s) b.count(i, targets[i * k + s]);
    b.start_fill(sbx::Tick{0});
    for (std::uint32_t i = 0; i < n_pre; ++i)
      for (std::uint32_t s = 0; s < k; ++s) b.place(i, targets[i * k + s], w, 0);
    sim.add_projection(b.finish());
  };
  project(pe, n, 0, 1.62);
  project(pi, n_i, 1, -9.0);
  sim.run_until(30000);
  Result r;
  r.spikes = sim.stats().spikes;
  r.events = sim.stats().synaptic_events;
  auto& pop = sim.population(pe);
  r.v.assign(pop.state("V"), pop.state("V") + n);
  r.ge.assign(pop.state("g_e"), pop.state("g_e") + n);
  r.gi.assign(pop.state("g_i"), pop.state("g_i") + n);
  return r;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

TEST_CASE("Simulator: delivery prefetch on and off give bit-identical runs") {
  static_assert(40000 >= sbx::Simulator::kPrefetchMinTargets);
  const Result on = run(true), off = run(false);
  // The prefetched path was exercised: about half the cells spike in 30 ms, and every spike but
  // those of the last step (still staged at the end) delivered its 20 events.
  CHECK(off.spikes > 20000);
  CHECK(off.events <= 20 * off.spikes);
  CHECK(off.events >= 20 * off.spikes * 99 / 100);
  CHECK(on.spikes == off.spikes);
  CHECK(on.events == off.events);
  CHECK(same_bits(on.v, off.v));
  CHECK(same_bits(on.ge, off.ge));
  CHECK(same_bits(on.gi, off.gi));
}

// prefetch_lines covers every line of an unaligned range (the delivery prefetch stepped by 64
// bytes from the row start and so missed the last line of every unaligned row).
TEST_CASE("for_each_line visits every cache line of a range, aligned or not") {
  alignas(64) static float a[256];
  const auto lines = [](const float* first, const float* last) {
    std::vector<std::uintptr_t> seen;
    sbx::for_each_line(first, last,
                       [&](const void* p) { seen.push_back(reinterpret_cast<std::uintptr_t>(p)); });
    return seen;
  };
  const auto base = reinterpret_cast<std::uintptr_t>(a);
  CHECK(lines(a, a).empty());
  CHECK(lines(a, a + 16) == std::vector<std::uintptr_t>{base});                 // one aligned line
  CHECK(lines(a + 1, a + 17) == std::vector<std::uintptr_t>{base, base + 64});  // 64 B at offset 4
  CHECK(lines(a + 15, a + 16) == std::vector<std::uintptr_t>{base});  // last float of a line
  CHECK(lines(a + 16, a + 17) == std::vector<std::uintptr_t>{base + 64});
  // A row of 64 floats at offset 60 bytes: 256 bytes over 5 lines.
  const auto row = lines(a + 15, a + 79);
  REQUIRE(row.size() == 5);
  CHECK(row.front() == base);
  CHECK(row.back() == base + 256);
}
