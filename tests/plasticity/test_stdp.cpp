// Pair-based STDP (circuits/plasticity.hpp PairStdp) against hand-computed values for fixed spike
// pairs. The rule is driven directly through its hooks (on_pre = a presynaptic spike arriving at
// the synapse, on_post = the postsynaptic neuron firing), so every spike time is exact.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "circuits/plasticity.hpp"

using namespace sbx;

namespace {

const TimeGrid kGrid(0.1);  // 0.1-ms ticks
Tick ms(double t) {
  return kGrid.from_ms(t);
}

// n_pre presynaptic neurons, each with one synapse onto post neuron 0 (weight w0).
SpikeProjection fan_in(std::uint32_t n_pre, double w0) {
  std::vector<SynapseSpec> s;
  for (std::uint32_t i = 0; i < n_pre; ++i) s.push_back({i, 0, w0, 0});
  return build_spike_projection("pre->post", 0, 1, n_pre, 1, 0, std::move(s));
}

void pre(PairStdp& r, SpikeProjection& p, std::uint32_t i, double t_ms) {
  r.on_pre(p, p.row_ptr[i], p.row_ptr[i + 1], ms(t_ms));
}

// Weight of synapse k through the rule (proj.weight lacks the potentiation still pending).
double w(const PairStdp& r, const SpikeProjection& p, std::size_t k) {
  return r.weight(p, k, 0);
}

}  // namespace

TEST_CASE("stdp: pre-before-post potentiates by A+ exp(-dt/tau+)") {
  StdpParams prm;
  prm.A_plus = 0.01, prm.A_minus = 0.012, prm.tau_plus = 16.8, prm.tau_minus = 33.7;
  prm.w_min = 0, prm.w_max = 1;
  auto p = fan_in(1, 0.5);
  PairStdp r(p, prm, kGrid);
  pre(r, p, 0, 10.0);
  CHECK(w(r, p, 0) == doctest::Approx(0.5));  // no post trace yet: no depression
  r.on_post(p, 0, ms(25.0));
  CHECK(w(r, p, 0) == doctest::Approx(0.5 + 0.01 * std::exp(-15.0 / 16.8)).epsilon(1e-6));
}

TEST_CASE("stdp: post-before-pre depresses by A- exp(-dt/tau-)") {
  StdpParams prm;
  prm.A_plus = 0.01, prm.A_minus = 0.012, prm.tau_plus = 16.8, prm.tau_minus = 33.7;
  auto p = fan_in(1, 0.5);
  PairStdp r(p, prm, kGrid);
  r.on_post(p, 0, ms(10.0));
  CHECK(w(r, p, 0) == doctest::Approx(0.5));  // no pre trace yet
  pre(r, p, 0, 30.0);
  CHECK(w(r, p, 0) == doctest::Approx(0.5 - 0.012 * std::exp(-20.0 / 33.7)).epsilon(1e-6));
}

TEST_CASE("stdp: the STDP window over dt = -100..100 ms matches the two exponentials") {
  StdpParams prm;
  prm.A_plus = 0.005, prm.A_minus = 0.006, prm.tau_plus = 20, prm.tau_minus = 25;
  for (double dt = -100.0; dt <= 100.0; dt += 7.5) {
    if (dt == 0.0) continue;
    auto p = fan_in(1, 0.5);
    PairStdp r(p, prm, kGrid);
    const double t_pre = 200.0, t_post = 200.0 + dt;
    if (dt > 0) {
      pre(r, p, 0, t_pre);
      r.on_post(p, 0, ms(t_post));
    } else {
      r.on_post(p, 0, ms(t_post));
      pre(r, p, 0, t_pre);
    }
    const double expect = dt > 0 ? 0.005 * std::exp(-dt / 20.0) : -0.006 * std::exp(dt / 25.0);
    CHECK(w(r, p, 0) - 0.5 == doctest::Approx(expect).epsilon(1e-5));
  }
}

TEST_CASE("stdp: trace decay constants measured from the traces are within 1 %") {
  StdpParams prm;
  prm.tau_plus = 17.0, prm.tau_minus = 34.0;
  auto p = fan_in(1, 0.5);
  PairStdp r(p, prm, kGrid);
  pre(r, p, 0, 5.0);
  r.on_post(p, 0, ms(5.0));
  const double x1 = r.pre_trace(0, ms(15.0)), x2 = r.pre_trace(0, ms(65.0));
  const double y1 = r.post_trace(0, ms(15.0)), y2 = r.post_trace(0, ms(65.0));
  const double tau_p = 50.0 / std::log(x1 / x2), tau_m = 50.0 / std::log(y1 / y2);
  CHECK(std::fabs(tau_p / 17.0 - 1.0) < 0.01);
  CHECK(std::fabs(tau_m / 34.0 - 1.0) < 0.01);
  CHECK(x1 == doctest::Approx(std::exp(-10.0 / 17.0)));
}

TEST_CASE("stdp: add traces pair all-to-all, set traces pair with the nearest spike only") {
  StdpParams prm;
  prm.A_plus = 0.01, prm.A_minus = 0.0, prm.tau_plus = 20;
  for (TraceMode mode : {TraceMode::add, TraceMode::set}) {
    prm.trace = mode;
    auto p = fan_in(1, 0.2);
    PairStdp r(p, prm, kGrid);
    pre(r, p, 0, 0.0);
    pre(r, p, 0, 10.0);
    r.on_post(p, 0, ms(20.0));
    const double near = std::exp(-10.0 / 20.0), far = std::exp(-20.0 / 20.0);
    const double expect = 0.01 * (mode == TraceMode::add ? near + far : near);
    CHECK(w(r, p, 0) - 0.2 == doctest::Approx(expect).epsilon(1e-5));
  }
}

TEST_CASE(
    "stdp: multiplicative bounds scale potentiation by (w_max - w), depression by (w - w_min)") {
  StdpParams prm;
  prm.A_plus = 0.1, prm.A_minus = 0.1, prm.tau_plus = 20, prm.tau_minus = 20;
  prm.w_min = 0.0, prm.w_max = 2.0, prm.bounds = BoundMode::multiplicative;
  auto p = fan_in(2, 1.5);
  PairStdp r(p, prm, kGrid);
  pre(r, p, 0, 0.0);
  r.on_post(p, 0, ms(10.0));  // synapse 0 potentiated, synapse 1 had no pre spike
  const double x = std::exp(-0.5);
  CHECK(w(r, p, 0) == doctest::Approx(1.5 + 0.1 * x * (2.0 - 1.5)).epsilon(1e-6));
  CHECK(w(r, p, 1) == doctest::Approx(1.5));
  pre(r, p, 1, 30.0);  // depression of synapse 1: post trace 20 ms old
  CHECK(w(r, p, 1) == doctest::Approx(1.5 - 0.1 * std::exp(-1.0) * (1.5 - 0.0)).epsilon(1e-6));
}

TEST_CASE("stdp: weights never leave [w_min, w_max] under repeated pairings (both bound modes)") {
  for (BoundMode b : {BoundMode::additive, BoundMode::multiplicative}) {
    StdpParams prm;
    prm.A_plus = 0.3, prm.A_minus = 0.35, prm.w_min = 0.1, prm.w_max = 0.9, prm.bounds = b;
    auto p = fan_in(2, 0.5);
    PairStdp r(p, prm, kGrid);
    double t = 0.0;
    for (int k = 0; k < 200; ++k) {  // synapse 0: pre then post; synapse 1: post then pre
      pre(r, p, 0, t + 1.0);
      r.on_post(p, 0, ms(t + 2.0));
      pre(r, p, 1, t + 2.5);
      t += 10.0;
      CHECK(w(r, p, 0) <= 0.9f);
      CHECK(w(r, p, 1) >= 0.1f);
    }
    if (b == BoundMode::additive) {
      CHECK(w(r, p, 0) == doctest::Approx(0.9));  // additive: reaches the bounds
      CHECK(w(r, p, 1) == doctest::Approx(0.1));
    } else {  // soft bounds: never reached
      CHECK(w(r, p, 0) < 0.9f);
      CHECK(w(r, p, 1) > 0.1f);
    }
  }
}

TEST_CASE("stdp: rebasing the scaled traces over a long run changes nothing") {
  // Pairings 30 s apart cross several rebase intervals (300·tau = 6 s); each pairing must give
  // exactly the single-pair value.
  StdpParams prm;
  prm.A_plus = 0.01, prm.A_minus = 0.0;
  auto p = fan_in(1, 0.0);
  PairStdp r(p, prm, kGrid);
  for (int k = 0; k < 10; ++k) {
    const double t0 = 30000.0 * k;
    pre(r, p, 0, t0);
    r.on_post(p, 0, ms(t0 + 5.0));
  }
  // Each pairing: 0.01·e^{-5/20}; cross terms (30 s apart) are e^{-1500}, i.e. 0.
  CHECK(w(r, p, 0) == doctest::Approx(10 * 0.01 * std::exp(-0.25)).epsilon(1e-5));
}

TEST_CASE("stdp: invalid parameters are rejected with the rule broken") {
  StdpParams prm;
  prm.tau_plus = 0.0;
  auto p = fan_in(1, 0.5);
  CHECK_THROWS_WITH_AS(PairStdp(p, prm, kGrid), doctest::Contains("tau_plus must be > 0"),
                       std::invalid_argument);
  prm = {};
  prm.w_min = 2, prm.w_max = 1;
  CHECK_THROWS_WITH_AS(PairStdp(p, prm, kGrid), doctest::Contains("w_min <= w_max"),
                       std::invalid_argument);
}
