// Three-factor / reward-modulated STDP (circuits/plasticity.hpp ThreeFactorStdp) and modulators
// (engine/modulator.hpp): hand-computed values for isolated-synapse protocols, the decay
// constants of §5.4 (e), the lazy integral against a brute-force step-by-step integration, bounds,
// and the event order inside the simulator (daspnet's same-ms convention).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "circuits/plasticity.hpp"
#include "engine/modulator.hpp"
#include "engine/rng.hpp"
#include "engine/simulator.hpp"

using namespace sbx;

namespace {

const TimeGrid kGrid(0.1);  // 0.1-ms ticks
Tick ms(double t) {
  return kGrid.from_ms(t);
}

SpikeProjection fan_in(std::uint32_t n_pre, std::uint32_t n_post, double w0) {
  std::vector<SynapseSpec> s;
  for (std::uint32_t i = 0; i < n_pre; ++i) s.push_back({i, i % n_post, w0, 0});
  return build_spike_projection("pre->post", 0, 1, n_pre, n_post, 0, std::move(s));
}
void pre(SpikeLearningRule& r, SpikeProjection& p, std::uint32_t i, Tick t) {
  r.on_pre(p, p.row_ptr[i], p.row_ptr[i + 1], t);
}

}  // namespace

TEST_CASE(
    "three-factor: Izhikevich kernel A+ = 0.1, A- = 1.5 A+, tau = 20 ms from isolated pairs") {
  // §5.4 (e): measure the eligibility jump of one synapse for pre-post and post-pre pairs at
  // several intervals, then fit amplitude and time constant of each side.
  ThreeFactorParams prm;  // defaults = Izhikevich 2007
  auto fit = [&](bool causal) {
    std::vector<double> dts = {2.0, 10.0, 30.0, 60.0}, c;
    for (double dt : dts) {
      auto p = fan_in(1, 1, 1.0);
      Modulator da("dopamine", 0.0, 200.0, kGrid);
      ThreeFactorStdp r(p, prm, da, kGrid);
      const Tick t1 = ms(100.0), t2 = ms(100.0 + dt);
      if (causal) {
        pre(r, p, 0, t1);
        r.on_post(p, 0, t2);
      } else {
        r.on_post(p, 0, t1);
        pre(r, p, 0, t2);
      }
      c.push_back(r.eligibility(0, t2));
    }
    // log|c| = log A − dt/τ: least squares over the four points.
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < dts.size(); ++i) {
      const double x = dts[i], y = std::log(std::fabs(c[i]));
      sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    const double n = static_cast<double>(dts.size());
    const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const double A = std::exp((sy - slope * sx) / n);
    return std::vector<double>{A, -1.0 / slope, c[0] > 0 ? 1.0 : -1.0};
  };
  const auto ltp = fit(true), ltd = fit(false);
  CHECK(ltp[2] > 0);
  CHECK(ltd[2] < 0);
  CHECK(ltp[0] == doctest::Approx(0.1).epsilon(0.01));
  CHECK(ltd[0] == doctest::Approx(0.15).epsilon(0.01));
  CHECK(ltp[1] == doctest::Approx(20.0).epsilon(0.01));
  CHECK(ltd[1] == doctest::Approx(20.0).epsilon(0.01));
}

TEST_CASE(
    "three-factor: eligibility decays with tau_c = 1 s and dopamine with tau_d = 0.2 s (1 %)") {
  ThreeFactorParams prm;
  auto p = fan_in(1, 1, 1.0);
  Modulator da("dopamine", 0.002, 200.0, kGrid);
  ThreeFactorStdp r(p, prm, da, kGrid);
  pre(r, p, 0, ms(10.0));
  r.on_post(p, 0, ms(20.0));
  const double c1 = r.eligibility(0, ms(520.0)), c2 = r.eligibility(0, ms(2520.0));
  CHECK(2000.0 / std::log(c1 / c2) == doctest::Approx(1000.0).epsilon(0.01));
  da.pulse(ms(3000.0), 0.5);
  const double d1 = da.value(ms(3050.0)) - 0.002, d2 = da.value(ms(3450.0)) - 0.002;
  CHECK(400.0 / std::log(d1 / d2) == doctest::Approx(200.0).epsilon(0.01));
  CHECK(da.value(ms(3000.0)) == doctest::Approx(0.502));
}

TEST_CASE(
    "three-factor: no modulator, no weight change, tonic baseline gives eta c0 b tau_c (1 - "
    "e^-t/tau_c)") {
  ThreeFactorParams prm;
  for (double b : {0.0, 0.002}) {
    auto p = fan_in(1, 1, 1.0);
    Modulator da("dopamine", b, 200.0, kGrid);
    ThreeFactorStdp r(p, prm, da, kGrid);
    pre(r, p, 0, ms(0.0));
    r.on_post(p, 0, ms(5.0));
    const double c0 = 0.1 * std::exp(-5.0 / 20.0);
    const double T = 1500.0;
    const double expect = 1.0 + 0.1 * c0 * b * 1000.0 * (1.0 - std::exp(-(T - 5.0) / 1000.0));
    CHECK(r.weight(p, 0, ms(T)) == doctest::Approx(expect).epsilon(1e-6));
  }
}

TEST_CASE(
    "three-factor: a reward 1 s after the pairing changes w by eta c(t_r) A (1 - e^{-rT})/r") {
  ThreeFactorParams prm;
  auto p = fan_in(1, 1, 1.0);
  Modulator da("dopamine", 0.0, 200.0, kGrid);
  ThreeFactorStdp r(p, prm, da, kGrid);
  pre(r, p, 0, ms(20.0));
  r.on_post(p, 0, ms(25.0));
  const double c0 = 0.1 * std::exp(-5.0 / 20.0);
  CHECK(r.weight(p, 0, ms(1025.0)) == doctest::Approx(1.0));
  da.pulse(ms(1025.0), 0.5);
  const double rate = 1.0 / 1000.0 + 1.0 / 200.0;
  const double cr = c0 * std::exp(-1000.0 / 1000.0);
  const double expect = 1.0 + 0.1 * cr * 0.5 * (1.0 - std::exp(-2000.0 * rate)) / rate;
  CHECK(r.weight(p, 0, ms(3025.0)) == doctest::Approx(expect).epsilon(1e-6));
  CHECK(r.modulator_value(ms(1025.0)) == doctest::Approx(0.5));
}

TEST_CASE("three-factor: the lazy integral equals a brute-force step-by-step integration") {
  // 6 synapses onto 2 post neurons, random pre/post spikes and rewards over 25 s (several epoch
  // rebases), weights hitting the upper bound. Reference: every synapse advanced every 0.1 ms
  // (c, m decayed exactly, w by the midpoint rule, clipped every step).
  ThreeFactorParams prm;
  prm.w_max = 1.01;
  prm.w_min = 0.99;
  const std::uint32_t n_syn = 6, n_post = 2;
  auto p = fan_in(n_syn, n_post, 1.0);
  Modulator da("dopamine", 0.002, 200.0, kGrid);
  ThreeFactorStdp r(p, prm, da, kGrid);

  std::vector<double> w(n_syn, 1.0), c(n_syn, 0.0), x(n_syn, 0.0), y(n_post, 0.0);
  double dphas = 0.0;
  const double dt = 0.1;
  const double fc = std::exp(-dt / prm.tau_c), fp = std::exp(-dt / prm.tau_plus),
               fm = std::exp(-dt / prm.tau_minus), fd = std::exp(-dt / 200.0);
  Rng rng(7);
  long clipped = 0;  // steps at which the reference clipped a weight
  const Tick end = ms(25000.0);
  for (Tick t = 0; t < end; ++t) {
    // Events at t: post spikes first, then pre arrivals (the simulator's order), then rewards.
    for (std::uint32_t j = 0; j < n_post; ++j)
      if (rng.bernoulli(0.002)) {
        r.on_post(p, j, t);
        for (std::uint32_t k = j; k < n_syn; k += n_post) c[k] += prm.A_plus * x[k];
        y[j] = 1.0;
      }
    for (std::uint32_t k = 0; k < n_syn; ++k)
      if (rng.bernoulli(0.002)) {
        pre(r, p, k, t);
        c[k] -= prm.A_minus * y[k % n_post];
        x[k] = 1.0;
      }
    if (rng.bernoulli(0.0001)) {
      da.pulse(t, 0.5);
      dphas += 0.5;
    }
    for (std::uint32_t k = 0; k < n_syn; ++k) {
      const double cmid = c[k] * std::exp(-0.5 * dt / prm.tau_c);
      const double mmid = 0.002 + dphas * std::exp(-0.5 * dt / 200.0);
      const double free = w[k] + prm.eta * cmid * mmid * dt;
      w[k] = std::clamp(free, prm.w_min, prm.w_max);
      clipped += free != w[k];
      c[k] *= fc;
      x[k] *= fp;
    }
    for (auto& v : y) v *= fm;
    dphas *= fd;
  }
  for (std::uint32_t k = 0; k < n_syn; ++k) {
    const double lazy = r.weight(p, k, end);
    CHECK(lazy == doctest::Approx(w[k]).epsilon(2e-4));
    CHECK(r.eligibility(k, end) == doctest::Approx(c[k]).epsilon(1e-6).scale(1e-12));
  }
  CHECK(da.n_pulses() > 0);
  CHECK(clipped > 0);  // the bounds were exercised
}

TEST_CASE("three-factor: weights stay within [w_min, w_max] and stop exactly at the bound") {
  ThreeFactorParams prm;
  prm.w_max = 1.05;
  auto p = fan_in(2, 1, 1.0);
  Modulator da("dopamine", 0.0, 200.0, kGrid);
  ThreeFactorStdp r(p, prm, da, kGrid);
  pre(r, p, 0, ms(0.0));
  r.on_post(p, 0, ms(1.0));  // synapse 0: c > 0 (and synapse 1: no pre trace, c = 0)
  pre(r, p, 1, ms(2.0));     // synapse 1: c < 0
  for (int k = 0; k < 20; ++k) da.pulse(ms(10.0 + k), 5.0);
  CHECK(r.weight(p, 0, ms(5000.0)) == doctest::Approx(1.05));
  CHECK(r.weight(p, 1, ms(5000.0)) >= 0.0);
  CHECK(r.weight(p, 1, ms(5000.0)) < 1.0);
}

TEST_CASE(
    "three-factor: any named modulator is the third factor, a negative signal reverses the "
    "change") {
  ThreeFactorParams prm;
  auto p = fan_in(1, 1, 1.0);
  Modulator ach("acetylcholine", 0.0, 500.0, kGrid);
  ThreeFactorStdp r(p, prm, ach, kGrid);
  CHECK(r.modulator().name() == "acetylcholine");
  pre(r, p, 0, ms(0.0));
  r.on_post(p, 0, ms(5.0));
  ach.set(ms(10.0), -0.2);  // e.g. a negative RPE held from t = 10 ms
  const double c10 = 0.1 * std::exp(-5.0 / 20.0) * std::exp(-5.0 / 1000.0);
  const double rate = 1.0 / 1000.0 + 1.0 / 500.0;
  const double expect = 1.0 - 0.1 * c10 * 0.2 * (1.0 - std::exp(-500.0 * rate)) / rate;
  CHECK(r.weight(p, 0, ms(510.0)) == doctest::Approx(expect).epsilon(1e-6));
  CHECK(r.weight(p, 0, ms(510.0)) < 1.0);
}

namespace {
// A clocked population that spikes at scripted steps.
class Puppet final : public Population {
 public:
  explicit Puppet(std::vector<std::uint64_t> steps) : steps_(std::move(steps)) {}
  std::string_view model() const override { return "puppet"; }
  std::uint32_t size() const override { return 1; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  std::uint32_t n_receptors() const override { return 1; }
  double* receptor_buffer(std::uint32_t) override { return &buf_; }
  void step(const StepContext&, std::vector<std::uint32_t>& spiked) override {
    if (std::find(steps_.begin(), steps_.end(), n_) != steps_.end()) spiked.push_back(0);
    ++n_;
  }
  double* state(std::string_view) override { return nullptr; }
  std::vector<std::string> state_names() const override { return {}; }
  void save_state(std::vector<double>&) const override {}
  void load_state(std::span<const double>) override {}

 private:
  std::vector<std::uint64_t> steps_;
  std::uint64_t n_ = 0;
  double buf_ = 0.0;
};

double eligibility_after(std::vector<std::uint64_t> pre_steps,
                         std::vector<std::uint64_t> post_steps, bool ltp_previous_tick = false) {
  const TimeGrid g(1.0);
  Simulator sim(g, 1);
  const auto a = sim.add_population("pre", std::make_unique<Puppet>(std::move(pre_steps)));
  const auto b = sim.add_population("post", std::make_unique<Puppet>(std::move(post_steps)));
  const auto pid =
      sim.add_projection(build_spike_projection("pre->post", a, b, 1, 1, 0, {{0, 0, 1.0, 0}}));
  Modulator da("dopamine", 0.0, 200.0, g);
  ThreeFactorParams prm;
  prm.ltp_previous_tick = ltp_previous_tick;
  auto rule = std::make_unique<ThreeFactorStdp>(sim.projection(pid), prm, da, g);
  ThreeFactorStdp* r = rule.get();
  sim.set_rule(pid, std::move(rule));
  sim.run_until(30);
  return r->eligibility(0, 30) / std::exp(-(30.0 - 12.0) / 1000.0);  // value at t = 12 ms
}
}  // namespace

TEST_CASE("three-factor: simulator event order reproduces daspnet's same-ms convention (delay 0)") {
  // Spikes emitted at the end of step 11 carry tick 12.
  // Same step: the post spike does not see the pre spike (no LTP), the pre spike sees the post
  // spike (LTD = A- = 0.15).
  CHECK(eligibility_after({11}, {11}) == doctest::Approx(-0.15));
  // Pre one step before post: LTP = A+ e^{-1/20}.
  CHECK(eligibility_after({10}, {11}) == doctest::Approx(0.1 * std::exp(-1.0 / 20.0)));
  // Post one step before pre: LTD = A- e^{-1/20}.
  CHECK(eligibility_after({11}, {10}) == doctest::Approx(-0.15 * std::exp(-1.0 / 20.0)));
  // ltp_read = "previous_tick" (daspnet reads the pre trace one step back): pre one step before
  // post counts the full A+, two steps A+ e^{-1/20}; same step still no LTP; LTD unchanged.
  CHECK(eligibility_after({10}, {11}, true) == doctest::Approx(0.1).epsilon(1e-6));  // (ĉ is f32)
  CHECK(eligibility_after({9}, {11}, true) ==
        doctest::Approx(0.1 * std::exp(-1.0 / 20.0)).epsilon(1e-6));
  CHECK(eligibility_after({11}, {11}, true) == doctest::Approx(-0.15));
  CHECK(eligibility_after({11}, {10}, true) == doctest::Approx(-0.15 * std::exp(-1.0 / 20.0)));
}

TEST_CASE(
    "three-factor: with a modulator declared non-negative a post spike potentiates nothing from "
    "a presynaptic trace below 2^-24, otherwise it does") {
  // circuits/plasticity.hpp kLtpMin: with the "set" trace (1 at a spike, tau 20 ms) the trace is
  // below 2^-24 from 20·ln 2^24 = 332.7 ms after the presynaptic spike on.
  ThreeFactorParams prm;
  for (const bool declared : {true, false}) {
    CAPTURE(declared);
    for (const double gap : {300.0, 340.0}) {
      CAPTURE(gap);
      auto p = fan_in(1, 1, 1.0);
      Modulator m("dopamine", 0.002, 200.0, kGrid);
      if (declared) m.declare_nonnegative();
      ThreeFactorStdp r(p, prm, m, kGrid);
      pre(r, p, 0, ms(10.0));
      const double before = r.eligibility(0, ms(10.0 + gap));
      r.on_post(p, 0, ms(10.0 + gap));
      const double jump = r.eligibility(0, ms(10.0 + gap)) - before;
      const double expect = prm.A_plus * std::exp(-gap / prm.tau_plus);  // 3.1e-8 or 4.1e-9
      if (gap < 332.7 || !declared) {
        CHECK(jump / expect == doctest::Approx(1.0).epsilon(1e-3));
        CHECK(r.ltp_skipped() == 0);
      } else {
        CHECK(jump == 0.0);  // skipped: below 2^-24·A_plus
        CHECK(r.ltp_skipped() == 1);
      }
    }
  }
}

TEST_CASE("modulator: a non-negative declaration is checked and enforced") {
  Modulator m("dopamine", 0.002, 200.0, kGrid);
  m.declare_nonnegative();
  m.pulse(ms(1.0), 0.5);
  CHECK_THROWS_WITH_AS(m.pulse(ms(2.0), -0.6), doctest::Contains("declared non-negative"),
                       std::invalid_argument);
  CHECK_THROWS_AS(m.set(ms(3.0), -0.001), std::invalid_argument);
  CHECK_THROWS_AS(m.load_state({0.0, -1.0, 0.0}), std::invalid_argument);  // b + p0 < 0
  m.pulse(ms(4.0), -0.4);  // 0.002 + 0.5·e^{-3/200} − 0.4 >= 0: allowed
  CHECK(m.value(ms(4.0)) > 0.0);
  CHECK_THROWS_AS(m.pulse(ms(5.0), std::nan("")), std::invalid_argument);
  Modulator rpe("rpe", -0.1, 200.0, kGrid);
  CHECK_THROWS_WITH_AS(rpe.declare_nonnegative(), doctest::Contains("below 0"),
                       std::invalid_argument);
  Modulator was("dopamine", 0.0, 200.0, kGrid);  // negative once, back to >= 0 now
  was.pulse(ms(1.0), -1.0);
  was.set(ms(2.0), 0.5);
  CHECK_THROWS_AS(was.declare_nonnegative(), std::invalid_argument);
}

TEST_CASE(
    "three-factor: decay factors are pure functions of the tick: reading the rule's state never "
    "changes a run, and they stay within 1e-13 of exp across rebases") {
  // Two identical rules get the same events; one is read (weight, eligibility, traces,
  // current_weights) at every tick, the other never. Events on a second synapse every 350 ms
  // keep both rules' epochs moving (rebase every min(10 tau_c, 300 tau+) = 6 s).
  ThreeFactorParams prm;
  auto pa = fan_in(2, 1, 1.0), pb = pa;
  Modulator ma("dopamine", 0.002, 200.0, kGrid), mb("dopamine", 0.002, 200.0, kGrid);
  ThreeFactorStdp ra(pa, prm, ma, kGrid), rb(pb, prm, mb, kGrid);
  auto events = [&](ThreeFactorStdp& r, SpikeProjection& p, Modulator& m, Tick t) {
    if (t == ms(1.0)) pre(r, p, 0, t);
    if (t == ms(6.0)) r.on_post(p, 0, t);  // synapse 0: c = A+·e^{-5/20}, then only decay
    if (t % ms(350.0) == 0) pre(r, p, 1, t);
    if (t % ms(1300.0) == ms(700.0)) m.pulse(t, 0.5);
  };
  std::vector<float> snap(pa.n_synapses());
  double worst_x = 0.0, worst_c = 0.0, c6 = 0.0;
  for (Tick t = 0; t <= ms(20000.0); ++t) {
    events(ra, pa, ma, t);
    events(rb, pb, mb, t);
    const double s = kGrid.to_ms(t);
    if (t < ms(6.0)) continue;
    // read everything of rule a
    ra.current_weights(pa, t, snap.data());
    (void)ra.weight(pa, 0, t);
    (void)ra.post_trace(0, t);
    const double c = ra.eligibility(0, t);
    if (t == ms(6.0)) c6 = c;
    // the f32 ĉ is rescaled (rounded) at each rebase: compare within one f32 rounding per rebase
    worst_c = std::max(worst_c, std::abs(c / (c6 * std::exp(-(s - 6.0) / prm.tau_c)) - 1.0));
    if (s <= 2000.0)  // synapse 0's pre trace, until it underflows
      worst_x = std::max(worst_x, std::abs(ra.pre_trace(0, t) / std::exp(-(s - 1.0) / 20.0) - 1.0));
  }
  CHECK(worst_x < 1e-13);
  CHECK(worst_c < 4e-7);  // 3 rebases in 20 s, 6e-8 each
  const Tick end = ms(20000.0);
  for (std::size_t k = 0; k < pa.n_synapses(); ++k) {
    CHECK(ra.weight(pa, k, end) == rb.weight(pb, k, end));  // bit for bit
    CHECK(ra.eligibility(k, end) == rb.eligibility(k, end));
  }
  CHECK(ra.weight(pa, 0, end) != 1.0);  // learning happened
}

TEST_CASE("stop_learning: the weights stay where the rule had them, deliveries go on, static") {
  // Pre spikes every 20 steps, each followed by a post spike one step later (potentiation), and
  // a tonic modulator: the weight grows between spikes too (dw/dt = eta c (d0 + d)).
  std::vector<std::uint64_t> pre_steps, post_steps;
  for (std::uint64_t s = 10; s < 400; s += 20) {
    pre_steps.push_back(s);
    post_steps.push_back(s + 1);
  }
  for (const bool stop : {false, true}) {
    CAPTURE(stop);
    const TimeGrid g(1.0);
    Simulator sim(g, 1);
    const auto a = sim.add_population("pre", std::make_unique<Puppet>(pre_steps));
    const auto b = sim.add_population("post", std::make_unique<Puppet>(post_steps));
    const auto pid =
        sim.add_projection(build_spike_projection("pre->post", a, b, 1, 1, 0, {{0, 0, 1.0, 0}}));
    Modulator da("dopamine", 0.5, 200.0, g);
    ThreeFactorParams prm;
    auto rule = std::make_unique<ThreeFactorStdp>(sim.projection(pid), prm, da, g);
    ThreeFactorStdp* r = rule.get();
    sim.set_rule(pid, std::move(rule));
    sim.run_until(205);  // between spikes: the weight has a pending integral
    const double at_stop = r->weight(sim.projection(pid), 0, 205);
    CHECK(at_stop > 1.05);
    const std::uint64_t events_before = sim.stats().synaptic_events;
    if (stop) {
      sim.stop_learning(pid);
      CHECK(sim.projection(pid).rule == nullptr);
      CHECK(sim.projection(pid).weight[0] == doctest::Approx(at_stop).epsilon(1e-6));
      sim.stop_learning(pid);  // a second call is a no-op
    }
    sim.run_until(400);
    CHECK(sim.stats().synaptic_events == events_before + 10);  // pre spikes 210 .. 390
    const double w_end =
        stop ? sim.projection(pid).weight[0] : r->weight(sim.projection(pid), 0, 400);
    if (stop)
      CHECK(w_end == doctest::Approx(at_stop).epsilon(1e-6));
    else
      CHECK(w_end > at_stop + 0.05);  // learning goes on without the stop
  }
}
