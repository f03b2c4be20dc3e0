// Static spike delivery at scale (issue 6, row "static delivery, 10^8 synapses"): events per
// second on one core and bytes per synapse.
//
// Network: n_pre presynaptic neurons, each with `out_degree` static synapses onto uniformly drawn
// targets among n_post (10^5 x 1000 = 10^8 synapses by default), one delay (default 1 ms) or
// delays drawn from 1..D ms (--delays D: D segments per row). The presynaptic neurons replay a
// Poisson schedule (drawn before timing), the targets only clear their input buffer every step
// (bench/replay_population.hpp), so the loop is delivery: one queue entry per (spike, delay
// segment), then `buf[post[k]] += w[k]` over the segment. The same schedule is run once without
// the projection ("empty": replay, buffer clearing, loop) and that time is subtracted.
// Memory: SpikeProjection::memory_bytes() per synapse (steady storage), the growth of the
// resident set over the build (steady, input list released) and the peak during the build.
// --build two-pass (default) replays the target draws twice into a SpikeProjectionBuilder (row
// counts, then placement: no synapse list, as circuits built from TOML do); --build list fills a
// 24-byte SynapseSpec list first and calls build_spike_projection. --pre-index store keeps the
// per-synapse presynaptic index (4 bytes) that static projections no longer store.
//
//   static_delivery [--n-pre N] [--n-post N] [--out-degree K] [--rate HZ] [--duration MS]
//                   [--delays D] [--repeats R] [--seed S] [--build two-pass|list]
//                   [--pre-index view|store] [--prefetch on|off]
// Default run: ~0.8 GB steady and peak (two-pass build); --build list peaks at ~3.2 GB.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/replay_population.hpp"
#include "engine/projection.hpp"
#include "engine/simulator.hpp"

using namespace sbx;
using namespace sbx::bench;

int main(int argc, char** argv) {
  std::uint32_t n_pre = 100000, n_post = 100000, out_degree = 1000, delays = 1;
  double rate = 10.0, duration = 500.0, dt_ms = 0.1;
  int repeats = 3;
  std::uint64_t seed = 1;
  bool two_pass = true;
  PreIndex pre_index = PreIndex::view;
  bool prefetch = true;  // Simulator::set_prefetch (off: to measure what it changes)
  for (int k = 1; k + 1 < argc; k += 2) {
    const std::string a = argv[k];
    const char* v = argv[k + 1];
    if (a == "--n-pre")
      n_pre = static_cast<std::uint32_t>(std::atol(v));
    else if (a == "--n-post")
      n_post = static_cast<std::uint32_t>(std::atol(v));
    else if (a == "--out-degree")
      out_degree = static_cast<std::uint32_t>(std::atol(v));
    else if (a == "--rate")
      rate = std::atof(v);
    else if (a == "--duration")
      duration = std::atof(v);
    else if (a == "--delays")
      delays = static_cast<std::uint32_t>(std::atol(v));
    else if (a == "--repeats")
      repeats = std::atoi(v);
    else if (a == "--seed")
      seed = std::strtoull(v, nullptr, 10);
    else if (a == "--build" && (std::string(v) == "two-pass" || std::string(v) == "list"))
      two_pass = std::string(v) == "two-pass";
    else if (a == "--pre-index" && (std::string(v) == "view" || std::string(v) == "store"))
      pre_index = std::string(v) == "store" ? PreIndex::store : PreIndex::view;
    else if (a == "--prefetch" && (std::string(v) == "on" || std::string(v) == "off"))
      prefetch = std::string(v) == "on";
    else {
      std::fprintf(stderr,
                   "usage: %s [--n-pre N] [--n-post N] [--out-degree K] [--rate HZ] "
                   "[--duration MS] [--delays D] [--repeats R] [--seed S] "
                   "[--build two-pass|list] [--pre-index view|store] [--prefetch on|off]\n",
                   argv[0]);
      return 2;
    }
  }
  const TimeGrid grid;  // 1 us ticks
  const Tick dt = grid.from_ms(dt_ms);
  const auto steps = static_cast<std::size_t>(duration / dt_ms);
  Rng rng = Rng::stream(seed, "static_delivery");

  const auto [rss0, hwm0] = rss_bytes();
  const double b0 = thread_cpu_s();
  // The synapses in draw order: (pre, post, delay) for every draw of `r`.
  auto draw = [&](Rng& r, auto&& emit) {
    for (std::uint32_t i = 0; i < n_pre; ++i)
      for (std::uint32_t m = 0; m < out_degree; ++m) {
        const auto post = static_cast<std::uint32_t>(r.below(n_post));
        emit(i, post,
             grid.from_ms(1.0) * (delays > 1 ? 1 + static_cast<Tick>(r.below(delays)) : 1));
      }
  };
  double b1 = 0.0;
  SpikeProjection proj;
  if (two_pass) {
    SpikeProjectionBuilder b("pre->post", 0, 1, n_pre, n_post, 0);
    Rng replay = rng;
    draw(rng, [&](std::uint32_t i, std::uint32_t j, Tick) { b.count(i, j); });
    b.start_fill(delays > 1 ? std::nullopt : std::optional<Tick>(grid.from_ms(1.0)));
    b1 = thread_cpu_s();
    draw(replay, [&](std::uint32_t i, std::uint32_t j, Tick d) { b.place(i, j, 0.001, d); });
    proj = b.finish(pre_index);
  } else {
    std::vector<SynapseSpec> syn;
    syn.reserve(static_cast<std::size_t>(n_pre) * out_degree);
    draw(rng, [&](std::uint32_t i, std::uint32_t j, Tick d) { syn.push_back({i, j, 0.001, d}); });
    b1 = thread_cpu_s();
    proj = build_spike_projection("pre->post", 0, 1, n_pre, n_post, 0, std::move(syn), pre_index);
  }
  const double b2 = thread_cpu_s();
  const auto [rss1, hwm1] = rss_bytes();
  const double n_syn = static_cast<double>(proj.n_synapses());
  std::printf(
      "network: %u -> %u, out-degree %u, %.3g synapses, %u delay segments; %s build: first "
      "pass %.2f s, second pass + CSR %.2f s\n",
      n_pre, n_post, out_degree, n_syn, proj.n_segments(), two_pass ? "two-pass" : "list", b1 - b0,
      b2 - b1);
  std::printf(
      "memory: storage %.2f bytes/synapse (memory_bytes), resident growth %.2f bytes/synapse, "
      "peak during build %.2f bytes/synapse (peak RSS %.0f MB)\n",
      static_cast<double>(proj.memory_bytes()) / n_syn, (rss1 - rss0) / n_syn,
      (hwm1 - rss0) / n_syn, hwm1 / 1048576.0);

  const auto schedule = poisson_schedule(n_pre, rate, dt_ms, steps, rng);
  std::size_t n_spikes = 0;
  for (const auto& s : schedule) n_spikes += s.size();

  // One run; `with` = with the projection (moved in and back out).
  auto run = [&](bool with, std::uint64_t& events, double& checksum) {
    Simulator sim(grid, dt);
    sim.set_prefetch(prefetch);
    const auto a = sim.add_population("pre", std::make_unique<ReplayPopulation>(n_pre, &schedule));
    const auto b = sim.add_population("post", std::make_unique<ReplayPopulation>(n_post, nullptr));
    std::uint32_t id = 0;
    if (with) {
      proj.pre_population = a;
      proj.post_population = b;
      id = sim.add_projection(std::move(proj));
    }
    const double c0 = thread_cpu_s();
    sim.run_until(static_cast<Tick>(steps) * dt);
    const double c = thread_cpu_s() - c0;
    events = sim.stats().synaptic_events;
    checksum = static_cast<ReplayPopulation&>(sim.population(b)).checksum();
    if (with) proj = std::move(sim.projection(id));
    return c;
  };
  double best_empty = 1e300, best_static = 1e300, checksum = 0;
  std::uint64_t events = 0, ev0 = 0;
  for (int r = 0; r < repeats; ++r) {
    best_static = std::min(best_static, run(true, events, checksum));
    best_empty = std::min(best_empty, run(false, ev0, checksum));
  }
  const double ns = 1e9 * (best_static - best_empty) / static_cast<double>(events);
  std::printf(
      "run: %.0f ms at %.1f Hz, %zu spikes, %llu synaptic events (%.0f per spike); min thread "
      "CPU of %d: empty %.3f s, static %.3f s\n",
      duration, rate, n_spikes, static_cast<unsigned long long>(events),
      static_cast<double>(events) / static_cast<double>(std::max<std::size_t>(n_spikes, 1)),
      repeats, best_empty, best_static);
  std::printf(
      "delivery: %.2f ns/event = %.0f M events/s (empty run subtracted); %.2f ns/event = %.0f M "
      "events/s whole loop\n",
      ns, 1e3 / ns, 1e9 * best_static / static_cast<double>(events),
      static_cast<double>(events) / best_static * 1e-6);
  return 0;
}
