// The Izhikevich (2003) neuron with the 2007 code's integration scheme (models/izhikevich.hpp),
// and a short end-to-end run of the distal-reward experiment (envs/distal_reward.hpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "envs/distal_reward.hpp"
#include "models/izhikevich.hpp"

using namespace sbx;

namespace {
StepContext ctx(double dt_ms) {
  return {0, 1, 0.0, dt_ms};
}
}  // namespace

TEST_CASE(
    "izhikevich: one 1-ms step equals the hand-computed daspnet update (two v half-steps, one u "
    "step)") {
  IzhikevichParams p;  // RS: a 0.02, b 0.2, c -65, d 8
  p.I_bias = 10.0;
  IzhikevichPopulation pop(1, p, Rng(1));
  std::vector<std::uint32_t> spk;
  pop.step(ctx(1.0), spk);
  // v: -65 -> -61.5 -> -58.105 ; u: -13 + 0.02 (0.2 (-58.105) + 13) = -12.97242
  CHECK(pop.state("v")[0] == doctest::Approx(-58.105).epsilon(1e-12));
  CHECK(pop.state("u")[0] == doctest::Approx(-12.97242).epsilon(1e-12));
  CHECK(spk.empty());
}

TEST_CASE("izhikevich: v >= v_peak resets v to c and adds d to u (after the u update)") {
  IzhikevichParams p;
  p.a = 0.1, p.d = 2.0;
  IzhikevichPopulation pop(1, p, Rng(1));
  pop.state("v")[0] = 25.0;
  pop.state("u")[0] = -10.0;
  std::vector<std::uint32_t> spk;
  pop.step(ctx(1.0), spk);
  double v = 25.0;
  v += 0.5 * ((0.04 * v + 5) * v + 140 + 10);
  v += 0.5 * ((0.04 * v + 5) * v + 140 + 10);
  const double u = -10.0 + 0.1 * (0.2 * v + 10.0) + 2.0;
  REQUIRE(spk.size() == 1);
  CHECK(pop.state("v")[0] == doctest::Approx(-65.0));
  CHECK(pop.state("u")[0] == doctest::Approx(u));
}

TEST_CASE("izhikevich: a spike weight w acts as the current w/dt for one step") {
  for (double dt : {1.0, 0.5}) {
    IzhikevichParams p;
    IzhikevichPopulation a(1, p, Rng(1));
    p.I_bias = 3.0 / dt;
    IzhikevichPopulation b(1, p, Rng(1));
    a.receptor_buffer(0)[0] = 3.0;
    std::vector<std::uint32_t> spk;
    a.step(ctx(dt), spk);
    b.step(ctx(dt), spk);
    CHECK(a.state("v")[0] == doctest::Approx(b.state("v")[0]));
    CHECK(a.receptor_buffer(0)[0] == 0.0);  // consumed
  }
}

TEST_CASE("izhikevich: input noise is uniform on [-noise, +noise] with mean 0") {
  // With a tiny step, (v' − v)/dt − (0.04 v² + 5 v + 140 − u) recovers the drawn current.
  IzhikevichParams p;
  p.noise = 6.5;
  const std::uint32_t n = 20000;
  IzhikevichPopulation pop(n, p, Rng(3));
  std::vector<std::uint32_t> spk;
  const double dt = 1e-4;
  pop.step(ctx(dt), spk);
  const double f0 = (0.04 * -65.0 + 5.0) * -65.0 + 140.0 + 13.0;
  std::vector<double> I(n);
  for (std::uint32_t i = 0; i < n; ++i) I[i] = (pop.state("v")[i] + 65.0) / dt - f0;
  const auto [lo, hi] = std::minmax_element(I.begin(), I.end());
  const double mean = std::accumulate(I.begin(), I.end(), 0.0) / n;
  CHECK(*lo > -6.51);
  CHECK(*lo < -6.4);
  CHECK(*hi < 6.51);
  CHECK(*hi > 6.4);
  CHECK(std::fabs(mean) < 0.1);  // sd of the mean = 3.75/sqrt(20000) = 0.027
}

TEST_CASE("izhikevich: the tonic spike count of an RS cell converges as dt shrinks") {
  // The 2007 scheme is Euler-like (first order); the count over 1 s at I = 10 approaches the
  // fine-step value.
  auto count = [](double dt) {
    IzhikevichParams p;
    p.I_bias = 10.0;
    IzhikevichPopulation pop(1, p, Rng(1));
    std::vector<std::uint32_t> spk;
    const int steps = static_cast<int>(std::lround(1000.0 / dt));
    for (int s = 0; s < steps; ++s) pop.step(ctx(dt), spk);
    return static_cast<double>(spk.size());
  };
  const double ref = count(0.005), c1 = count(1.0), c01 = count(0.1);
  CHECK(ref > 5);
  CHECK(std::fabs(c01 - ref) <= std::fabs(c1 - ref));
  CHECK(std::fabs(c01 - ref) <= 0.1 * ref);
}

TEST_CASE("izhikevich: save_state / load_state continues bit for bit, noise included") {
  IzhikevichParams p;
  p.noise = 6.5;
  IzhikevichPopulation a(50, p, Rng(9)), b(50, p, Rng(123));
  std::vector<std::uint32_t> sa, sb;
  for (int s = 0; s < 100; ++s) a.step(ctx(1.0), sa);
  std::vector<double> st;
  a.save_state(st);
  b.load_state(st);
  for (int s = 0; s < 200; ++s) a.step(ctx(1.0), sa), b.step(ctx(1.0), sb);
  for (std::uint32_t i = 0; i < 50; ++i) CHECK(a.state("v")[i] == b.state("v")[i]);
  IzhikevichParams bad;
  bad.c = 40.0;
  CHECK_THROWS_WITH_AS(IzhikevichPopulation(1, bad, Rng(1)),
                       doctest::Contains("c (reset) must be < v_peak"), std::invalid_argument);
}

TEST_CASE("izhikevich: the three-pass step equals the fused daspnet loop bit for bit") {
  // The loop as it was written before session 10 (one pass: draw, update, spike test), kept here
  // as the reference: the vectorised step must draw the same noise in the same order and give
  // the same v, u and spikes, with synaptic input, noise and resets.
  IzhikevichParams p;
  p.noise = 6.5, p.I_bias = 1.5;
  const std::uint32_t n = 203;  // not a multiple of the vector width
  IzhikevichPopulation pop(n, p, Rng(31));
  Rng ref_rng(31), input_rng(7);
  std::vector<double> V(n, -65.0), U(n, p.b * -65.0);
  std::vector<std::uint32_t> spk, ref_spk;
  const double dt = 1.0, h = 0.5 * dt, inv_dt = 1.0 / dt;
  std::size_t n_spikes = 0;
  for (int s = 0; s < 2000; ++s) {
    std::vector<double> be(n), bi(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      be[i] = input_rng.bernoulli(0.05) ? 3.0 * input_rng.uniform() : 0.0;
      bi[i] = input_rng.bernoulli(0.02) ? -2.0 * input_rng.uniform() : 0.0;
    }
    std::copy(be.begin(), be.end(), pop.receptor_buffer(0));
    std::copy(bi.begin(), bi.end(), pop.receptor_buffer(1));
    spk.clear(), ref_spk.clear();
    pop.step(ctx(dt), spk);
    for (std::uint32_t i = 0; i < n; ++i) {
      const double I =
          (p.I_bias - p.noise + 2.0 * p.noise * ref_rng.uniform()) + (be[i] + bi[i]) * inv_dt;
      double v = V[i], u = U[i];
      v += h * ((0.04 * v + 5.0) * v + 140.0 - u + I);
      v += h * ((0.04 * v + 5.0) * v + 140.0 - u + I);
      u += dt * p.a * (p.b * v - u);
      if (v >= p.v_peak) {
        v = p.c;
        u += p.d;
        ref_spk.push_back(i);
      }
      V[i] = v, U[i] = u;
    }
    REQUIRE(spk == ref_spk);
    n_spikes += spk.size();
    for (std::uint32_t i = 0; i < n; ++i) {
      REQUIRE(pop.state("v")[i] == V[i]);
      REQUIRE(pop.state("u")[i] == U[i]);
      REQUIRE(pop.receptor_buffer(0)[i] == 0.0);
    }
  }
  CHECK(n_spikes > 1000);  // the comparison covered resets
}

TEST_CASE("distal reward: 20 s of the Fig. 1 protocol (firing rate, contingency, recorded w/c/d)") {
  DistalRewardConfig cfg;
  cfg.duration = 20000.0;
  cfg.seed = 1;
  DistalRewardExperiment x(cfg);
  const auto r = x.run();
  CHECK(r.rate_hz > 0.5);  // daspnet: ~1 Hz (the 1-h acceptance checks 0.8-1.6 Hz)
  CHECK(r.rate_hz < 3.0);
  CHECK(r.samples.size() == 201);     // every 100 ms from 0 to 19.9 s, plus the final one at 20 s
  CHECK(r.samples.front().w == 0.0);  // the chosen synapse starts at 0
  CHECK(r.rewards_delivered <= r.coincidences);
  for (const auto& s : r.samples) {
    CHECK(s.w >= 0.0);
    CHECK(s.w <= 4.0);
    CHECK(s.d >= 0.002 - 1e-12);  // dopamine never below its tonic level
  }
  // Excitatory weights drift from 1 (STDP with the tonic term), inhibitory ones are fixed.
  CHECK(r.mean_exc != doctest::Approx(1.0));
  const auto& ie = x.simulator().projection(x.proj_ie());
  CHECK(std::all_of(ie.weight.begin(), ie.weight.end(), [](float w) { return w == -1.0f; }));
}
