// Plastic vs static synapse cost on a Brunel-like network (issue 6, row "Brunel-like network with
// STDP, 10^7 synapses": plastic cost <= 3x own static cost; issue 4: plastic <= 3x static per
// event).
//
// Network (Brunel 2000, as Auryn's sim_brunel2k_pl at 10^4 cells): 8000 E + 2000 I, every cell
// gets C_E = 800 inputs from E and C_I = 200 from I (fixed in-degree, no autapses), J = 0.1,
// g = 5, delay 1.5 ms: 10^7 synapses, 6.4 * 10^6 of them E->E. The cells replay Poisson spikes
// at --rate (drawn before timing) and only clear their input buffers
// (bench/replay_population.hpp), so the time measured is delivery and learning. Three variants
// on the same spikes, alternating, min thread-CPU of --repeats:
//   empty   — no projections (replay + loop; subtracted);
//   static  — all four projections static;
//   plastic — E->E with pair-based STDP (circuits/plasticity.hpp PairStdp, additive,
//             all-to-all traces, tau = 20 ms; on_pre at every delivery, on_post at every E spike).
// Reported: ns per synaptic event of static and plastic runs, their ratio (whole network), the
// cost of one E->E event with learning vs without, bytes per static and per plastic synapse.
//
//   brunel_stdp [--rate HZ] [--duration MS] [--repeats R] [--seed S] [--scale F] [--mode M]
// (--scale 0.1 shrinks both populations and in-degrees by F for a quick check. --mode 0|1|2 runs
// only that variant (empty, static, plastic) once: for instruction counts,
//   valgrind --tool=callgrind '--toggle-collect=sbx::Simulator::run_until*' brunel_stdp
//       --duration 200 --mode 2     (build with -DSBX_AVX512=OFF: valgrind has no AVX-512).)
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/replay_population.hpp"
#include "circuits/connect.hpp"
#include "circuits/plasticity.hpp"
#include "engine/simulator.hpp"

using namespace sbx;
using namespace sbx::bench;

int main(int argc, char** argv) {
  double rate = 10.0, duration = 1000.0, scale = 1.0;
  int repeats = 3, only_mode = -1;
  std::uint64_t seed = 1;
  for (int k = 1; k + 1 < argc; k += 2) {
    const std::string a = argv[k];
    const char* v = argv[k + 1];
    if (a == "--rate")
      rate = std::atof(v);
    else if (a == "--duration")
      duration = std::atof(v);
    else if (a == "--repeats")
      repeats = std::atoi(v);
    else if (a == "--seed")
      seed = std::strtoull(v, nullptr, 10);
    else if (a == "--scale")
      scale = std::atof(v);
    else if (a == "--mode")
      only_mode = std::atoi(v);
    else {
      std::fprintf(stderr,
                   "usage: %s [--rate HZ] [--duration MS] [--repeats R] [--seed S] [--scale F] "
                   "[--mode M]\n",
                   argv[0]);
      return 2;
    }
  }
  const auto NE = static_cast<std::uint32_t>(8000 * scale),
             NI = static_cast<std::uint32_t>(2000 * scale);
  const auto CE = static_cast<std::uint32_t>(800 * scale),
             CI = static_cast<std::uint32_t>(200 * scale);
  const double dt_ms = 0.1, J = 0.1, g = 5.0;
  const TimeGrid grid;
  const Tick dt = grid.from_ms(dt_ms), delay = grid.from_ms(1.5);
  const auto steps = static_cast<std::size_t>(duration / dt_ms);
  Rng rng = Rng::stream(seed, "brunel_stdp");

  const auto [rss0, hwm0] = rss_bytes();
  // projs: 0 E->E, 1 E->I, 2 I->E, 3 I->I (population ids: E = 0, I = 1).
  std::vector<SpikeProjection> projs;
  auto edge = [&](const char* name, std::uint32_t from, std::uint32_t to, std::uint32_t n_pre,
                  std::uint32_t n_post, std::uint32_t k, double w) {
    auto syn = circuits::connect_fixed_indegree(n_pre, n_post, k, from == to, rng);
    for (auto& s : syn) s.weight = w, s.delay = delay;
    projs.push_back(
        build_spike_projection(name, from, to, n_pre, n_post, w > 0 ? 0 : 1, std::move(syn)));
  };
  const double b0 = thread_cpu_s();
  edge("E->E", 0, 0, NE, NE, CE, J);
  edge("E->I", 0, 1, NE, NI, CE, J);
  edge("I->E", 1, 0, NI, NE, CI, -g * J);
  edge("I->I", 1, 1, NI, NI, CI, -g * J);
  const double b1 = thread_cpu_s();
  const auto [rss1, hwm1] = rss_bytes();
  std::size_t n_syn = 0, bytes = 0;
  for (const auto& p : projs) n_syn += p.n_synapses(), bytes += p.memory_bytes();
  std::printf("network: %u E + %u I, C_E = %u, C_I = %u, %zu synapses (%zu E->E), build %.2f s\n",
              NE, NI, CE, CI, n_syn, projs[0].n_synapses(), b1 - b0);
  std::printf(
      "memory, static: %.2f bytes/synapse (memory_bytes), resident growth %.2f, build peak %.2f "
      "bytes/synapse\n",
      static_cast<double>(bytes) / static_cast<double>(n_syn),
      (rss1 - rss0) / static_cast<double>(n_syn), (hwm1 - rss0) / static_cast<double>(n_syn));

  const auto sched_e = poisson_schedule(NE, rate, dt_ms, steps, rng);
  const auto sched_i = poisson_schedule(NI, rate, dt_ms, steps, rng);
  StdpParams sp;  // additive, A+ = 0.01, A- = 0.0105, tau 20 ms, w in [0, 1]

  struct Result {
    double cpu = 0;
    std::uint64_t events = 0, spikes = 0;
    double rule_bytes = 0;
  };
  // mode 0 empty, 1 static, 2 plastic
  auto run = [&](int mode) {
    Simulator sim(grid, dt);
    sim.add_population("E", std::make_unique<ReplayPopulation>(NE, &sched_e, 2));
    sim.add_population("I", std::make_unique<ReplayPopulation>(NI, &sched_i, 2));
    Result r;
    if (mode > 0)
      for (std::size_t k = 0; k < projs.size(); ++k) {
        const auto id = sim.add_projection(SpikeProjection(projs[k]));
        if (mode == 2 && k == 0) {
          auto rule = std::make_unique<PairStdp>(sim.projection(id), sp, grid);
          r.rule_bytes = static_cast<double>(rule->memory_bytes());
          sim.set_rule(id, std::move(rule));
        }
      }
    const double c0 = thread_cpu_s();
    sim.run_until(static_cast<Tick>(steps) * dt);
    r.cpu = thread_cpu_s() - c0;
    r.events = sim.stats().synaptic_events;
    r.spikes = sim.stats().spikes;
    return r;
  };
  if (only_mode >= 0) {
    const Result r = run(only_mode);
    std::printf("mode %d: %.3f s thread CPU, %llu synaptic events, %llu spikes\n", only_mode, r.cpu,
                static_cast<unsigned long long>(r.events),
                static_cast<unsigned long long>(r.spikes));
    return 0;
  }
  Result best[3];
  for (auto& b : best) b.cpu = 1e300;
  for (int k = 0; k < repeats; ++k)
    for (int mode : {1, 2, 0}) {
      const Result r = run(mode);
      if (r.cpu < best[mode].cpu) best[mode] = r;
    }
  const double ev = static_cast<double>(best[1].events);
  const double ns_static = 1e9 * (best[1].cpu - best[0].cpu) / ev;
  const double ns_plastic = 1e9 * (best[2].cpu - best[0].cpu) / ev;
  // E->E events: every E spike is delivered to its row of E->E (mean out-degree n_EE / NE).
  std::size_t spikes_e = 0;
  for (const auto& s : sched_e) spikes_e += s.size();
  const double events_ee =
      static_cast<double>(spikes_e) * static_cast<double>(projs[0].n_synapses()) / NE;
  const double ns_ee_plastic = ns_static + 1e9 * (best[2].cpu - best[1].cpu) / events_ee;
  std::printf(
      "run: %.0f ms at %.1f Hz, %llu spikes, %llu synaptic events (%.3g E->E); min thread CPU of "
      "%d: empty %.3f s, static %.3f s, plastic %.3f s\n",
      duration, rate, static_cast<unsigned long long>(best[1].spikes),
      static_cast<unsigned long long>(best[1].events), events_ee, repeats, best[0].cpu, best[1].cpu,
      best[2].cpu);
  std::printf(
      "per synaptic event (empty subtracted), whole network: static %.2f ns, with STDP on E->E "
      "%.2f ns, ratio %.2f; one E->E event with STDP (its on_pre and its share of on_post) %.2f ns "
      "= %.2fx a static event\n",
      ns_static, ns_plastic, ns_plastic / ns_static, ns_ee_plastic, ns_ee_plastic / ns_static);
  std::printf("memory, plastic E->E: %.2f bytes/synapse (12 static + %.2f of the rule)\n",
              (static_cast<double>(projs[0].memory_bytes()) + best[2].rule_bytes) /
                  static_cast<double>(projs[0].n_synapses()),
              best[2].rule_bytes / static_cast<double>(projs[0].n_synapses()));
  return 0;
}
