// End to end through sbx::Simulator: exact LIF neurons driving each other with a delay, and a
// clocked CUBA population driven through its receptor buffers; checkpoints and state restores.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "circuits/sources.hpp"
#include "engine/rng.hpp"
#include "engine/simulator.hpp"
#include "models/lif_coba.hpp"
#include "models/lif_cuba.hpp"
#include "models/lif_exact.hpp"
#include "models/traub_miles_hh.hpp"

using namespace sbx;

TEST_CASE("Simulator + LifExact: postsynaptic spike time equals the closed form") {
  const TimeGrid grid(0.001);  // 1 µs ticks
  Simulator sim(grid, grid.from_ms(0.1));
  LifExactParams p;  // NEST iaf_psc_exp defaults
  auto pop = std::make_unique<LifExactPopulation>(2, p, grid);
  pop->state("I_bias")[0] = 500.0;  // neuron 0 fires periodically on its own
  LifExactPopulation* lif = pop.get();
  const std::uint32_t id = sim.add_population("lif", std::move(pop));
  const double w = 3000.0;  // pA, one input makes neuron 1 fire
  sim.add_projection(
      build_spike_projection("lif->lif", id, id, 2, 2, 0, {{0, 1, w, grid.from_ms(1.0)}}));
  sim.run_until(grid.from_ms(20.0));

  // Neuron 0: analytic first spike; its spike is emitted at the next tick.
  const double u_inf = p.tau_m * 500.0 / p.C_m, theta = p.V_th - p.E_L;
  const double t0 = p.tau_m * std::log(u_inf / (u_inf - theta));
  const double isi = p.t_ref + p.tau_m * std::log(u_inf / (u_inf - theta));
  CHECK(std::fabs(lif->last_spike_ms(0) - t0) < 1e-9);
  // Neuron 1: input at the tick of neuron 0's spike + 1 ms; crossing from rest.
  const Tick t_emit = static_cast<Tick>(std::ceil(t0 / 0.001));
  const double t_in = grid.to_ms(t_emit + grid.from_ms(1.0));
  auto u = [&](double s) {
    return w / p.C_m * p.tau_m * p.tau_syn_e / (p.tau_m - p.tau_syn_e) *
               (std::exp(-s / p.tau_m) - std::exp(-s / p.tau_syn_e)) -
           theta;
  };
  double lo = 0.0, hi = 5.0;  // u(0) < 0 < u(5): the first crossing lies in between
  REQUIRE(u(hi) > 0.0);
  for (int i = 0; i < 200; ++i) (u(0.5 * (lo + hi)) >= 0.0 ? hi : lo) = 0.5 * (lo + hi);
  CHECK(std::fabs(lif->last_spike_ms(1) - (t_in + lo)) < 1e-9);
  MESSAGE("neuron 1 fired at " << lif->last_spike_ms(1) << " ms (closed form " << t_in + lo << ")");
  CHECK(sim.stats().spikes == 2);
  sim.run_until(grid.from_ms(40.0));
  CHECK(std::fabs(lif->last_spike_ms(0) - (t0 + isi)) < 1e-9);
  CHECK(sim.stats().spikes == 4);  // neuron 0's second spike makes neuron 1 fire again
}

TEST_CASE("Simulator + LifCuba: a delivered weight enters g_e at the next step") {
  const TimeGrid grid(0.001);
  Simulator sim(grid, grid.from_ms(0.1));
  LifCubaParams p;
  p.E_L = -60.0;  // quiet cell
  auto src = std::make_unique<LifExactPopulation>(1, LifExactParams{}, grid);
  src->state("I_bias")[0] = 500.0;  // fires at 13.8629 ms -> tick 13863
  const std::uint32_t s = sim.add_population("src", std::move(src));
  auto cuba = std::make_unique<LifCubaPopulation>(1, p);
  LifCubaPopulation* c = cuba.get();
  const std::uint32_t t = sim.add_population("cuba", std::move(cuba));
  sim.add_projection(
      build_spike_projection("src->cuba", s, t, 1, 1, 0, {{0, 0, 1.5, grid.from_ms(0.137)}}));
  // Delivery at tick 13863 + 137 = 14000 (14.0 ms): added before the step 14.0 -> 14.1.
  sim.run_until(grid.from_ms(14.0));
  CHECK(c->state("g_e")[0] == 0.0);
  sim.run_until(grid.from_ms(14.1));
  CHECK(c->state("g_e")[0] == doctest::Approx(1.5 * std::exp(-0.1 / p.tau_e)).epsilon(1e-7));
}

namespace {

// Poisson trains -> exact LIF and CUBA LIF (delays 0, 1 tick, 1.5 ms), CUBA recurrent (0.2 ms).
struct CheckpointNet {
  TimeGrid grid{0.001};
  Simulator sim{grid, grid.from_ms(0.1)};
  MemoryRecorder rec;
  CheckpointNet() {
    auto src = std::make_unique<circuits::PoissonSource>(200, 40.0, 0.0, 1e9, grid, Rng(7));
    const auto s = sim.add_population("P", std::move(src));
    auto ex = std::make_unique<LifExactPopulation>(50, LifExactParams{}, grid);
    const auto e = sim.add_population("E", std::move(ex));
    LifCubaParams cp;
    cp.E_L = -60.0;
    auto cu = std::make_unique<LifCubaPopulation>(50, cp);
    const auto c = sim.add_population("C", std::move(cu));
    Rng rng(3);
    std::vector<SynapseSpec> to_e, to_c, rec_c;
    for (std::uint32_t i = 0; i < 200; ++i)
      for (std::uint32_t j = 0; j < 50; ++j) {
        if (rng.bernoulli(0.1)) to_e.push_back({i, j, 400.0, grid.from_ms(1.5)});
        if (rng.bernoulli(0.1)) to_c.push_back({i, j, 3.0, rng.bernoulli(0.5) ? Tick{0} : Tick{1}});
      }
    for (std::uint32_t i = 0; i < 50; ++i)
      for (std::uint32_t j = 0; j < 50; ++j)
        if (rng.bernoulli(0.1)) rec_c.push_back({i, j, -2.0, grid.from_ms(0.2)});
    sim.add_projection(build_spike_projection("P->E", s, e, 200, 50, 0, to_e));
    sim.add_projection(build_spike_projection("P->C", s, c, 200, 50, 0, to_c));
    sim.add_projection(build_spike_projection("C->C", c, c, 50, 50, 1, rec_c));
    sim.set_recorder(&rec);
  }
};

}  // namespace

TEST_CASE("checkpoint: save, run, load, run again gives identical spikes (Poisson, exact, CUBA)") {
  CheckpointNet net;
  net.sim.run_until(net.grid.from_ms(200.0));
  const auto cp = net.sim.save_checkpoint();
  CHECK(!cp.events.empty());  // deliveries in flight are part of the checkpoint
  const std::size_t n0 = net.rec.spikes.size();
  net.sim.run_until(net.grid.from_ms(500.0));
  const std::vector<MemoryRecorder::Spike> first(net.rec.spikes.begin() + n0, net.rec.spikes.end());
  net.sim.load_checkpoint(cp);
  CHECK(net.sim.now() == net.grid.from_ms(200.0));
  const std::size_t n1 = net.rec.spikes.size();
  net.sim.run_until(net.grid.from_ms(500.0));
  const std::vector<MemoryRecorder::Spike> second(net.rec.spikes.begin() + n1,
                                                  net.rec.spikes.end());
  std::size_t per_pop[3] = {0, 0, 0};
  for (const auto& s : first) ++per_pop[s.population];
  MESSAGE("spikes 200-500 ms: P " << per_pop[0] << ", E " << per_pop[1] << ", C " << per_pop[2]);
  CHECK(per_pop[0] > 1000);
  CHECK(per_pop[1] > 10);
  CHECK(per_pop[2] > 10);
  REQUIRE(first.size() == second.size());
  std::size_t first_diff = first.size();
  for (std::size_t i = 0; i < first.size() && first_diff == first.size(); ++i)
    if (first[i].population != second[i].population || first[i].neuron != second[i].neuron ||
        first[i].t != second[i].t)
      first_diff = i;
  if (first_diff < first.size())
    MESSAGE("first difference at spike "
            << first_diff << ": pop " << first[first_diff].population << " neuron "
            << first[first_diff].neuron << " t " << first[first_diff].t << " vs pop "
            << second[first_diff].population << " neuron " << second[first_diff].neuron << " t "
            << second[first_diff].t);
  CHECK(first_diff == first.size());
}

TEST_CASE("load_population_state re-schedules an event-driven population (trial restart)") {
  // A Poisson source restored after clear_events() fires again exactly as after the save;
  // Population::load_state() alone leaves it silent (its predictions were dropped).
  const TimeGrid grid(0.001);
  Simulator sim(grid, grid.from_ms(0.1));
  const auto p = sim.add_population(
      "P", std::make_unique<circuits::PoissonSource>(20, 50.0, 0.0, 1e9, grid, Rng(11)));
  MemoryRecorder rec;
  sim.set_recorder(&rec);
  sim.run_until(grid.from_ms(100.0));
  std::vector<double> saved;
  sim.population(p).save_state(saved);
  const std::size_t n0 = rec.spikes.size();
  sim.run_until(grid.from_ms(300.0));
  const std::size_t first = rec.spikes.size() - n0;
  REQUIRE(first > 50);

  sim.clear_events();
  sim.reset_clock(grid.from_ms(100.0));
  sim.population(p).load_state(saved);
  const std::size_t n1 = rec.spikes.size();
  sim.run_until(grid.from_ms(300.0));
  CHECK(rec.spikes.size() == n1);  // no hook: nothing scheduled

  sim.clear_events();
  sim.reset_clock(grid.from_ms(100.0));
  sim.load_population_state(p, saved);
  const std::size_t n2 = rec.spikes.size();
  sim.run_until(grid.from_ms(300.0));
  REQUIRE(rec.spikes.size() - n2 == first);
  for (std::size_t i = 0; i < first; ++i) {
    CHECK(rec.spikes[n2 + i].neuron == rec.spikes[n0 + i].neuron);
    CHECK(rec.spikes[n2 + i].t == rec.spikes[n0 + i].t);
  }
}

TEST_CASE("threads: 1, 2 and 3 worker threads give bit-identical spikes and states") {
  // Poisson drive into CUBA (101 cells), COBA (37) and Traub-Miles HH (203, exp. Euler and
  // ETDRK4) populations with recurrent connections; sizes are not multiples of the SIMD width.
  auto run = [](unsigned threads) {
    const TimeGrid grid(0.001);
    Simulator sim(grid, grid.from_ms(0.1));
    sim.set_threads(threads, /*spin=*/false);  // CI may run tests on both cores
    const auto src = sim.add_population(
        "P", std::make_unique<circuits::PoissonSource>(100, 30.0, 0.0, 1e9, grid, Rng(5)));
    LifCubaParams cp;
    cp.E_L = -55.0;
    auto cu_pop = std::make_unique<LifCubaPopulation>(101, cp);
    cu_pop->set_min_neurons_per_split(0);  // split even this small population across threads
    const auto cu = sim.add_population("CU", std::move(cu_pop));
    LifCobaParams bp;
    bp.I_bias = 150.0;
    auto co_pop = std::make_unique<LifCobaPopulation>(37, bp);
    co_pop->set_min_neurons_per_split(0);
    const auto co = sim.add_population("CO", std::move(co_pop));
    HHParams hp;
    hp.integrator = HHIntegrator::exponential_euler;
    const auto hh = sim.add_population("HH", std::make_unique<TraubMilesHHPopulation>(203, hp));
    hp.integrator = HHIntegrator::etdrk4;
    const auto hh4 = sim.add_population("HH4", std::make_unique<TraubMilesHHPopulation>(203, hp));
    Rng rng(9);
    auto connect = [&](std::uint32_t a, std::uint32_t na, std::uint32_t b, std::uint32_t nb,
                       double w, std::uint32_t receptor, Tick delay) {
      std::vector<SynapseSpec> syn;
      for (std::uint32_t i = 0; i < na; ++i)
        for (std::uint32_t j = 0; j < nb; ++j)
          if (rng.bernoulli(0.1)) syn.push_back({i, j, w, delay});
      sim.add_projection(build_spike_projection(std::to_string(a) + "->" + std::to_string(b), a, b,
                                                na, nb, receptor, std::move(syn)));
    };
    connect(src, 100, cu, 101, 4.0, 0, 0);
    connect(src, 100, co, 37, 3.0, 0, 1);
    connect(src, 100, hh, 203, 30.0, 0, 0);
    connect(src, 100, hh4, 203, 30.0, 0, 0);
    connect(cu, 101, hh, 203, 6.0, 0, 0);
    connect(hh, 203, cu, 101, -2.0, 1, 0);
    connect(hh, 203, hh, 203, 67.0, 1, grid.from_ms(0.3));
    connect(hh4, 203, co, 37, 2.0, 0, 0);
    auto rec = std::make_unique<MemoryRecorder>();
    sim.set_recorder(rec.get());
    sim.run_until(grid.from_ms(150.0));
    std::vector<double> state;
    for (std::uint32_t p = 0; p < sim.n_populations(); ++p) {
      std::vector<double> s;
      sim.population(p).save_state(s);
      state.insert(state.end(), s.begin(), s.end());
    }
    return std::pair{std::move(rec->spikes), std::move(state)};
  };
  const auto [s1, x1] = run(1);
  std::size_t per_pop[5] = {};
  for (const auto& s : s1) ++per_pop[s.population];
  MESSAGE("spikes (1 thread): P " << per_pop[0] << ", CU " << per_pop[1] << ", CO " << per_pop[2]
                                  << ", HH " << per_pop[3] << ", HH4 " << per_pop[4]);
  for (int p = 0; p < 5; ++p) CHECK(per_pop[p] > 10);
  for (const unsigned threads : {2u, 3u}) {
    const auto [s, x] = run(threads);
    REQUIRE(s.size() == s1.size());
    bool same = true;
    for (std::size_t i = 0; i < s.size(); ++i)
      same = same && s[i].population == s1[i].population && s[i].neuron == s1[i].neuron &&
             s[i].t == s1[i].t;
    CHECK(same);
    REQUIRE(x.size() == x1.size());
    CHECK(std::memcmp(x.data(), x1.data(), x.size() * sizeof(double)) == 0);
  }
}
