// End to end through sbx::Simulator: exact LIF neurons driving each other with a delay, and a
// clocked CUBA population driven through its receptor buffers.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "engine/simulator.hpp"
#include "models/lif_cuba.hpp"
#include "models/lif_exact.hpp"

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
