// Single-precision CUBA LIF (`LifCubaParams::precision = f32`, TOML `precision = "float"`): the
// float kernel against hand-computed propagator values, float receptor buffers filled by the
// simulator's delivery (serial and deferred to worker threads), typed state access for probes,
// save/load round trip, non-finite detection, and the spike-time cost against double for cells
// that see identical inputs. The network-level divergence (CUBA 4000, chaotic) is in
// test_lif_cuba_f32_network.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "circuits/sources.hpp"
#include "engine/recorder.hpp"
#include "engine/rng.hpp"
#include "engine/simulator.hpp"
#include "models/lif_cuba.hpp"
#include "models/lif_exact.hpp"

using namespace sbx;

namespace {

LifCubaParams f32_params(LifCubaParams p = {}) {
  p.precision = point::Precision::f32;
  return p;
}

StepContext step_ctx(long k, double dt = 0.1) {
  return StepContext{k * 100, 100, k * dt, dt};
}

}  // namespace

TEST_CASE("LifCuba float: state is float, reached through state_view and receptor_buffer_f32") {
  LifCubaPopulation pop(5, f32_params());
  CHECK(pop.single_precision());
  CHECK(pop.state("V") == nullptr);  // no double array to hand out
  CHECK(pop.receptor_buffer(0) == nullptr);
  const StateView v = pop.state_view("V");
  REQUIRE(v);
  CHECK(v.type == StateType::f32);
  CHECK(v.get(4) == -60.0);
  CHECK(pop.receptor_buffer_f32(0) == pop.state_view("g_e").f32());
  CHECK(pop.receptor_buffer_f32(1) == pop.state_view("g_i").f32());
  CHECK(pop.receptor_buffer_f32(2) == nullptr);
  CHECK(!pop.state_view("nope"));
  // The double population is unchanged: double arrays, no float buffers.
  LifCubaPopulation d(5);
  CHECK(d.state_view("V").f64() == d.state("V"));
  CHECK(d.receptor_buffer_f32(0) == nullptr);
}

TEST_CASE("LifCuba float: one step equals the hand-computed exact propagator") {
  // τ_m = 20, τ_e = 5, τ_i = 10 ms, dt = 0.1 ms, E_L = −49 mV; x = V − E_L.
  //   x' = x e^{−dt/τ_m} + (g_e κ_e + g_i κ_i)/τ_m,
  //   κ_e = e^{−dt/τ_m} (1 − e^{−(1/5 − 1/20) dt})/(1/5 − 1/20)
  //   κ_i = e^{−dt/τ_m} (1 − e^{−(1/10 − 1/20) dt})/(1/10 − 1/20)
  const double em = std::exp(-0.005);
  const double ke = em * (1.0 - std::exp(-0.015)) / 0.15;
  const double ki = em * (1.0 - std::exp(-0.005)) / 0.05;
  const double V0 = -55.0, ge0 = 2.0, gi0 = -1.5;
  const double V1 = -49.0 + (V0 + 49.0) * em + (ge0 * ke + gi0 * ki) / 20.0;
  const double ge1 = ge0 * std::exp(-0.02), gi1 = gi0 * std::exp(-0.01);
  MESSAGE("hand-computed V after one step: " << V1 << " mV");

  for (const auto prec : {point::Precision::f64, point::Precision::f32}) {
    LifCubaParams p;
    p.precision = prec;
    LifCubaPopulation pop(3, p);
    for (std::uint32_t i = 0; i < 3; ++i) {
      pop.state_view("V").set(i, V0);
      pop.state_view("g_e").set(i, ge0);
      pop.state_view("g_i").set(i, gi0);
    }
    std::vector<std::uint32_t> spiked;
    pop.step(step_ctx(0), spiked);
    CHECK(spiked.empty());
    const double tol = prec == point::Precision::f32 ? 2e-5 : 1e-12;  // float: ~4 ulp at 55 mV
    for (std::uint32_t i = 0; i < 3; ++i) {
      CHECK(std::fabs(pop.state_view("V").get(i) - V1) < tol);
      CHECK(std::fabs(pop.state_view("g_e").get(i) - ge1) < tol * 0.1);
      CHECK(std::fabs(pop.state_view("g_i").get(i) - gi1) < tol * 0.1);
    }
    if (prec == point::Precision::f32) {
      MESSAGE("float V error after one step: " << pop.state_view("V").get(0) - V1 << " mV");
      // g_e decays by the propagator rounded to float once, multiplied in float.
      CHECK(pop.state_view("g_e").f32()[0] ==
            static_cast<float>(ge0) * static_cast<float>(std::exp(-0.1 / 5.0)));
    }
  }
}

TEST_CASE(
    "LifCuba float: a self-driven cell spikes, resets and is refractory on the same steps "
    "as double over 1 s") {
  // E_L = −49 > V_th = −50: from V_reset = −60 the cell crosses threshold after
  // τ_m ln(11) = 47.96 ms, then is held 5 ms: spikes every 48.0 + 5.0 ms, so ~19 per second.
  // Near threshold V moves 0.005 mV per step, float rounding ~1e−5 mV: no step can change.
  auto spike_steps = [](point::Precision prec) {
    LifCubaParams p;
    p.precision = prec;
    LifCubaPopulation pop(1, p);
    std::vector<long> steps;
    std::vector<std::uint32_t> spiked;
    for (long k = 0; k < 10000; ++k) {
      spiked.clear();
      pop.step(step_ctx(k), spiked);
      if (!spiked.empty()) steps.push_back(k);
      // Held at V_reset for the 49 steps after a spike (Brian2's refractory count).
      if (!steps.empty() && k > steps.back() && k <= steps.back() + 49)
        REQUIRE(pop.state_view("V").get(0) == -60.0);
    }
    return steps;
  };
  const auto d = spike_steps(point::Precision::f64);
  const auto f = spike_steps(point::Precision::f32);
  MESSAGE("spikes: double " << d.size() << ", float " << f.size() << "; first at step " << d[0]);
  CHECK(d.size() == 18);
  CHECK(d[0] == 479);  // ceil(47.96 ms / 0.1 ms) − 1: spikes at the end of step 479
  CHECK(f == d);
}

TEST_CASE(
    "LifCuba float: 100 cells with identical Poisson input spike on the same steps as "
    "double (per-cell spike-time divergence)") {
  // One simulator, a Poisson source driving a double and a float CUBA population through the
  // same synapses: every cell receives identical inputs in both, so any difference is the float
  // arithmetic. Not chaotic (no recurrence): a difference does not spread.
  const TimeGrid grid(0.001);
  Simulator sim(grid, grid.from_ms(0.1));
  const auto src = sim.add_population(
      "P", std::make_unique<circuits::PoissonSource>(200, 20.0, 0.0, 1e9, grid, Rng(11)));
  LifCubaParams p;
  p.E_L = -60.0;  // quiet without input
  const auto d = sim.add_population("D", std::make_unique<LifCubaPopulation>(100, p));
  const auto f = sim.add_population("F", std::make_unique<LifCubaPopulation>(100, f32_params(p)));
  Rng rng(4);
  std::vector<SynapseSpec> exc, inh;
  for (std::uint32_t i = 0; i < 200; ++i)
    for (std::uint32_t j = 0; j < 100; ++j)
      if (rng.bernoulli(0.2)) (i < 160 ? exc : inh).push_back({i, j, i < 160 ? 4.0 : -2.0, 0});
  for (const auto target : {d, f}) {
    sim.add_projection(build_spike_projection("e", src, target, 200, 100, 0, exc));
    sim.add_projection(build_spike_projection("i", src, target, 200, 100, 1, inh));
  }
  MemoryRecorder rec;
  sim.set_recorder(&rec);
  sim.run_until(grid.from_ms(1000.0));
  std::vector<std::vector<Tick>> td(100), tf(100);
  for (const auto& s : rec.spikes)
    if (s.population == d)
      td[s.neuron].push_back(s.t);
    else if (s.population == f)
      tf[s.neuron].push_back(s.t);
  // Per double spike: the distance to the nearest float spike of the same cell.
  std::size_t nd = 0, nf = 0, cells_differing = 0, moved = 0;
  Tick worst = 0;
  for (std::uint32_t j = 0; j < 100; ++j) {
    nd += td[j].size(), nf += tf[j].size();
    cells_differing += td[j] != tf[j];
    for (const Tick t : td[j]) {
      Tick best = 1000000000;
      for (const Tick u : tf[j]) best = std::min(best, t > u ? t - u : u - t);
      moved += best != 0;
      worst = std::max(worst, best);
    }
  }
  MESSAGE("identical input, 1 s: double " << nd << " spikes, float " << nf << "; cells whose "
                                          << "spike steps differ: " << cells_differing
                                          << "/100; spikes moved: " << moved << ", by at most "
                                          << worst * 0.001 << " ms");
  CHECK(nd > 500);  // ~12 Hz per cell: a meaningful number of threshold crossings
  // Measured (AVX-512 build): 2 cells differ, 2 of 1244 spikes moved by one step (0.1 ms).
  CHECK(cells_differing <= 5);
  CHECK(moved <= 10);
  CHECK(worst <= grid.from_ms(0.2));
  CHECK(std::abs(static_cast<long>(nd) - static_cast<long>(nf)) <= 2);
}

TEST_CASE("Simulator delivery into float receptor buffers adds the float weights in order") {
  // One source spike, three synapses onto cell 0 (receptor 0) and one onto cell 1 (receptor 1);
  // the buffers are float: g_e(0) = (0.1f + 0.2f) + 0.3f in float, then one decay step.
  const TimeGrid grid(0.001);
  for (const auto prec : {point::Precision::f64, point::Precision::f32}) {
    Simulator sim(grid, grid.from_ms(0.1));
    auto src = std::make_unique<LifExactPopulation>(1, LifExactParams{}, grid);
    src->state("I_bias")[0] = 500.0;  // fires at 13.8629 ms -> tick 13863
    const auto s = sim.add_population("src", std::move(src));
    LifCubaParams p;
    p.E_L = -60.0;
    p.precision = prec;
    auto cuba = std::make_unique<LifCubaPopulation>(2, p);
    LifCubaPopulation* c = cuba.get();
    const auto t = sim.add_population("cuba", std::move(cuba));
    const Tick delay = grid.from_ms(0.137);  // arrives at tick 14000
    sim.add_projection(build_spike_projection(
        "e", s, t, 1, 2, 0, {{0, 0, 0.1, delay}, {0, 0, 0.2, delay}, {0, 0, 0.3, delay}}));
    sim.add_projection(build_spike_projection("i", s, t, 1, 2, 1, {{0, 1, -9.0, delay}}));
    sim.run_until(grid.from_ms(14.0));
    CHECK(c->state_view("g_e").get(0) == 0.0);
    sim.run_until(grid.from_ms(14.1));
    CHECK(sim.stats().synaptic_events == 4);
    if (prec == point::Precision::f32) {
      const float sum = (0.1f + 0.2f) + 0.3f;
      CHECK(c->state_view("g_e").f32()[0] == sum * static_cast<float>(std::exp(-0.1 / p.tau_e)));
      CHECK(c->state_view("g_i").f32()[1] == -9.0f * static_cast<float>(std::exp(-0.1 / p.tau_i)));
      CHECK(c->state_view("g_e").f32()[1] == 0.0f);
    } else {  // double buffers: the float weights widened, summed in double
      const double sum = (double{0.1f} + double{0.2f}) + double{0.3f};
      CHECK(c->state("g_e")[0] == sum * std::exp(-0.1 / p.tau_e));
      CHECK(c->state("g_i")[1] == -9.0 * std::exp(-0.1 / p.tau_i));
    }
  }
}

TEST_CASE("LifCuba float: 1, 2 and 3 threads give bit-identical spikes, probes and states") {
  // Deferred deliveries into float buffers (Simulator::apply_pending_range) and ranged stepping
  // in multiples of the float vector width; 203 cells (not a multiple of it), recurrent.
  auto run = [](unsigned threads) {
    const TimeGrid grid(0.001);
    Simulator sim(grid, grid.from_ms(0.1));
    sim.set_threads(threads, /*spin=*/false);
    const auto src = sim.add_population(
        "P", std::make_unique<circuits::PoissonSource>(100, 30.0, 0.0, 1e9, grid, Rng(5)));
    LifCubaParams cp = f32_params();
    cp.E_L = -55.0;
    auto pop = std::make_unique<LifCubaPopulation>(203, cp);
    pop->set_min_neurons_per_split(0);
    const auto cu = sim.add_population("CU", std::move(pop));
    Rng rng(9);
    auto connect = [&](std::uint32_t a, std::uint32_t na, double w, std::uint32_t r, bool sorted) {
      std::vector<SynapseSpec> syn;
      for (std::uint32_t i = 0; i < na; ++i)
        for (std::uint32_t j = 0; j < 203; ++j)
          if (rng.bernoulli(0.1)) syn.push_back({i, sorted ? j : 202 - j, w, 0});
      sim.add_projection(build_spike_projection("p", a, cu, na, 203, r, std::move(syn)));
    };
    connect(src, 100, 4.0, 0, true);
    connect(cu, 203, -2.0, 1, true);
    connect(cu, 203, 0.5, 0, false);  // targets in descending order: the filtered path
    Probe probe;
    probe.population = cu;
    probe.variable = "g_e";
    probe.neurons = {0, 17, 202};
    sim.add_probe(probe);
    MemoryRecorder rec;
    sim.set_recorder(&rec);
    sim.run_until(grid.from_ms(100.0));
    std::vector<double> state;
    sim.population(cu).save_state(state);
    std::vector<double> samples;
    for (const auto& s : rec.samples)
      samples.insert(samples.end(), s.values.begin(), s.values.end());
    return std::tuple{rec.spikes.size(), state, samples, sim.stats().synaptic_events};
  };
  const auto [n1, x1, s1, e1] = run(1);
  MESSAGE("1 thread: " << n1 << " spikes, " << e1 << " synaptic events");
  CHECK(n1 > 300);
  for (const unsigned threads : {2u, 3u}) {
    const auto [n, x, s, e] = run(threads);
    CHECK(n == n1);
    CHECK(e == e1);
    REQUIRE(x.size() == x1.size());
    CHECK(std::memcmp(x.data(), x1.data(), x.size() * sizeof(double)) == 0);
    REQUIRE(s.size() == s1.size());
    CHECK(std::memcmp(s.data(), s1.data(), s.size() * sizeof(double)) == 0);
  }
}

TEST_CASE("Probe on a float population records the float values") {
  const TimeGrid grid(0.001);
  Simulator sim(grid, grid.from_ms(0.1));
  LifCubaPopulation* c = nullptr;
  auto pop = std::make_unique<LifCubaPopulation>(20, f32_params());
  c = pop.get();
  const auto id = sim.add_population("C", std::move(pop));
  for (std::uint32_t i = 0; i < 20; ++i) c->state_view("V").set(i, -60.0 + 0.5 * i);
  Probe probe;
  probe.population = id;
  probe.variable = "V";
  probe.neurons = {3, 19};
  sim.add_probe(probe);
  MemoryRecorder rec;
  sim.set_recorder(&rec);
  sim.run_until(grid.from_ms(1.0));
  REQUIRE(rec.samples.size() == 10);
  CHECK(rec.samples[0].values[0] == -58.5);  // the initial value, sampled before step 1
  const auto& last = rec.samples.back().values;
  // The sample at 0.9 ms is the state before the 10th step; recompute the state after 9 steps.
  LifCubaPopulation ref(20, f32_params());
  for (std::uint32_t i = 0; i < 20; ++i) ref.state_view("V").set(i, -60.0 + 0.5 * i);
  std::vector<std::uint32_t> spiked;
  for (long k = 0; k < 9; ++k) ref.step(step_ctx(k), spiked);
  CHECK(last[0] == static_cast<double>(ref.state_view("V").f32()[3]));
  CHECK(last[1] == static_cast<double>(ref.state_view("V").f32()[19]));
}

TEST_CASE("LifCuba float: save_state / load_state round trip continues bit for bit") {
  // 37 cells (not a multiple of the vector width), random V, some of them refractory at the save.
  LifCubaParams p = f32_params();
  LifCubaPopulation a(37, p);
  Rng rng(2);
  for (std::uint32_t i = 0; i < 37; ++i) {
    a.state_view("V").set(i, rng.uniform(-60.0, -50.0));
    a.state_view("g_e").set(i, rng.uniform(0.0, 3.0));
  }
  std::vector<std::uint32_t> sa, sb;
  for (long k = 0; k < 300; ++k) a.step(step_ctx(k), sa);
  std::vector<double> saved;
  a.save_state(saved);
  REQUIRE(saved.size() == 6u * 37u);
  std::size_t refractory = 0;
  for (std::uint32_t i = 0; i < 37; ++i) {
    CHECK(saved[i] == static_cast<double>(a.state_view("V").f32()[i]));  // exact widening
    refractory += saved[3 * 37 + i] > 0.0;
  }
  MESSAGE(refractory << " of 37 cells refractory at the save, " << sa.size() << " spikes before");
  CHECK(refractory > 0);
  LifCubaPopulation b(37, p);
  b.load_state(saved);
  std::vector<double> again;
  b.save_state(again);
  CHECK(again == saved);  // float -> double -> float is exact
  sa.clear();
  for (long k = 0; k < 500; ++k) {
    a.step(step_ctx(300 + k), sa);
    b.step(step_ctx(k), sb);  // b's own step counter starts at 0: only the steps left matter
  }
  CHECK(sa == sb);
  CHECK(!sa.empty());
  std::vector<double> xa, xb;
  a.save_state(xa);
  b.save_state(xb);
  CHECK(xa == xb);
  // A double population's state loads into a float one (values rounded to float) and back.
  LifCubaPopulation d(37);
  d.load_state(saved);
  std::vector<double> from_d;
  d.save_state(from_d);
  CHECK(from_d == saved);
}

TEST_CASE("LifCuba float: first_nonfinite names the cell and the variable") {
  LifCubaPopulation pop(40, f32_params());
  std::string var;
  CHECK(pop.first_nonfinite(var) == -1);
  pop.state_view("g_i").set(33, std::numeric_limits<double>::infinity());
  pop.state_view("V").set(35, std::numeric_limits<double>::quiet_NaN());
  CHECK(pop.first_nonfinite(var) == 33);
  CHECK(var == "g_i");
  // 1e39 overflows float: stored as inf, detected as such.
  pop.state_view("g_i").set(33, 0.0);
  pop.state_view("g_e").set(2, 1e39);
  CHECK(pop.first_nonfinite(var) == 2);
  CHECK(var == "g_e");
}
