// Exact event-driven LIF (models/lif_exact.hpp) against closed forms written out independently
// here (the textbook sum-of-exponentials form, not the model's expm1 form).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "models/lif_exact.hpp"

using namespace sbx;

namespace {

struct Prediction {
  std::uint32_t population, neuron, version;
  Tick tick;
};

// Records predictions instead of queueing them.
struct FakeScheduler final : SpikeScheduler {
  std::vector<Prediction> log;
  void schedule_spike(std::uint32_t p, std::uint32_t n, std::uint32_t v, Tick t) override {
    log.push_back({p, n, v, t});
  }
};

// u(s) = V − E_L for initial u0, excitatory current ie0 (τ_e), inhibitory ii0 (τ_i), bias ib.
double closed_form_u(const LifExactParams& p, double s, double u0, double ie0, double ii0,
                     double ib) {
  auto psc = [&](double tau_s) {  // ∫ e^{-(s-r)/τm} e^{-r/τs} dr
    if (tau_s == p.tau_m) return s * std::exp(-s / p.tau_m);
    return p.tau_m * tau_s / (p.tau_m - tau_s) * (std::exp(-s / p.tau_m) - std::exp(-s / tau_s));
  };
  return u0 * std::exp(-s / p.tau_m) + p.tau_m * ib / p.C_m * (1.0 - std::exp(-s / p.tau_m)) +
         (ie0 * psc(p.tau_syn_e) + ii0 * psc(p.tau_syn_i)) / p.C_m;
}

// First s in (0, s_max] with f(s) >= 0 by a fine scan, then bisection to 1e-14: the reference
// crossing time (independent of the model's bracketing logic).
double scan_root(const std::function<double(double)>& f, double s_max, double step = 1e-3) {
  double lo = 0.0;
  for (double s = step; s <= s_max; s += step) {
    if (f(s) >= 0.0) {
      double hi = s;
      for (int i = 0; i < 200 && hi - lo > 1e-14; ++i) {
        const double mid = 0.5 * (lo + hi);
        (f(mid) >= 0.0 ? hi : lo) = mid;
      }
      return 0.5 * (lo + hi);
    }
    lo = s;
  }
  return std::numeric_limits<double>::infinity();
}

}  // namespace

TEST_CASE("LifExact: constant suprathreshold bias fires with the analytic ISI") {
  LifExactParams p;  // NEST defaults: tau_m 10, C 250, theta = 15 mV above E_L, t_ref 2
  p.I_bias = 500.0;  // u_inf = tau_m I / C = 20 mV
  LifExactPopulation pop(1, p);
  FakeScheduler sched;
  pop.start(0, 7, sched);
  const double u_inf = p.tau_m * p.I_bias / p.C_m, theta = p.V_th - p.E_L;
  const double first = p.tau_m * std::log(u_inf / (u_inf - theta));
  const double isi = p.t_ref + p.tau_m * std::log((u_inf - (p.V_reset - p.E_L)) / (u_inf - theta));
  REQUIRE(sched.log.size() == 1);
  CHECK(sched.log[0].population == 7);
  for (int k = 0; k < 20; ++k) {
    const Prediction pr = sched.log.back();
    const double expected = first + k * isi;
    CHECK(std::fabs(pop.predicted_spike_ms(0) - expected) < 1e-9);
    // The tick is the first grid point at or after the exact time (1 µs grid).
    CHECK(pr.tick == static_cast<Tick>(std::ceil(expected / 0.001)));
    CHECK(pop.fire_predicted(0, pr.version, pr.tick, sched));
    CHECK(std::fabs(pop.last_spike_ms(0) - expected) < 1e-9);
    CHECK(pop.state("V")[0] == p.V_reset);
  }
  MESSAGE("ISI " << isi << " ms, spike 20 at " << pop.last_spike_ms(0) << " ms, error "
                 << pop.last_spike_ms(0) - (first + 19 * isi) << " ms");
}

TEST_CASE("LifExact: V(t) after one input equals the closed form at several times") {
  LifExactParams p;
  p.tau_syn_e = 2.0;
  LifExactPopulation pop(1, p);
  FakeScheduler sched;
  pop.start(0, 0, sched);
  CHECK(sched.log.empty());            // at rest without bias: never fires
  const double t0 = 1.25, w = 1000.0;  // subthreshold: peak 5.35 mV < 15 mV
  pop.receive_exact(t0, 0, w, 0, sched);
  CHECK(std::isinf(pop.predicted_spike_ms(0)));
  for (double t : {1.25, 1.3, 2.0, 3.7, 5.27, 10.0, 31.4, 100.0}) {
    pop.advance_to(0, t);
    const double ref = p.E_L + closed_form_u(p, t - t0, 0.0, w, 0.0, 0.0);
    CHECK(std::fabs(pop.state("V")[0] - ref) < 1e-12);
    CHECK(std::fabs(pop.state("I_e")[0] - w * std::exp(-(t - t0) / p.tau_syn_e)) < 1e-9);
  }
}

TEST_CASE("LifExact: spike time after a suprathreshold input matches the closed form root") {
  LifExactParams p;
  LifExactPopulation pop(1, p);
  FakeScheduler sched;
  pop.start(0, 0, sched);
  const double t0 = 3.0, w = 3000.0;  // peak 16.05 mV > 15 mV
  pop.receive_exact(t0, 0, w, 0, sched);
  const double s_ref = scan_root(
      [&](double s) { return closed_form_u(p, s, 0.0, w, 0.0, 0.0) - (p.V_th - p.E_L); }, 50.0);
  REQUIRE(std::isfinite(s_ref));
  CHECK(std::fabs(pop.predicted_spike_ms(0) - (t0 + s_ref)) < 1e-9);
  REQUIRE(sched.log.size() == 1);
  CHECK(sched.log[0].version == pop.version(0));
  MESSAGE("crossing at " << pop.predicted_spike_ms(0) << " ms, reference " << t0 + s_ref);
}

TEST_CASE("LifExact: the degenerate case tau_syn == tau_m and its neighbourhood are exact") {
  LifExactParams p;
  p.tau_syn_e = p.tau_m;  // kernel s·e^{-s/τ}
  LifExactPopulation pop(1, p);
  FakeScheduler sched;
  pop.start(0, 0, sched);
  const double w = 200.0;
  pop.receive_exact(0.0, 0, w, 0, sched);
  for (double t : {0.5, 4.0, 10.0, 25.0}) {
    pop.advance_to(0, t);
    const double ref = p.E_L + w / p.C_m * t * std::exp(-t / p.tau_m);
    CHECK(std::fabs(pop.state("V")[0] - ref) < 1e-12);
  }
  // Near-degenerate: continuous through the degeneracy (no cancellation blow-up).
  LifExactParams q = p;
  q.tau_syn_e = p.tau_m * (1.0 + 1e-11);
  LifExactPopulation near(1, q);
  near.start(0, 0, sched);
  near.receive_exact(0.0, 0, w, 0, sched);
  near.advance_to(0, 10.0);
  CHECK(std::fabs(near.state("V")[0] - (p.E_L + w / p.C_m * 10.0 * std::exp(-1.0))) < 1e-9);
}

TEST_CASE("LifExact: inputs during the refractory period move the current, not V") {
  LifExactParams p;
  p.I_bias = 500.0;
  p.t_ref = 2.0;
  LifExactPopulation pop(1, p);
  FakeScheduler sched;
  pop.start(0, 0, sched);
  const Prediction first = sched.log.back();
  REQUIRE(pop.fire_predicted(0, first.version, first.tick, sched));
  const double ts = pop.last_spike_ms(0);
  const double t_in = ts + 0.5, w = 800.0;
  pop.receive_exact(t_in, 0, w, 0, sched);
  pop.advance_to(0, ts + 1.5);
  CHECK(pop.state("V")[0] == p.V_reset);
  CHECK(std::fabs(pop.state("I_e")[0] - w * std::exp(-1.0 / p.tau_syn_e)) < 1e-9);
  // After the refractory period: free evolution from V_reset with the decayed current.
  const double t_end = ts + p.t_ref, ie_at_end = w * std::exp(-1.5 / p.tau_syn_e);
  for (double s : {0.1, 1.0, 3.0}) {
    pop.advance_to(0, t_end + s);
    const double ref = p.E_L + closed_form_u(p, s, p.V_reset - p.E_L, ie_at_end, 0.0, p.I_bias);
    CHECK(std::fabs(pop.state("V")[0] - ref) < 1e-12);
  }
}

TEST_CASE("LifExact: an input makes the pending prediction stale") {
  LifExactParams p;
  p.I_bias = 500.0;
  LifExactPopulation pop(1, p);
  FakeScheduler sched;
  pop.start(0, 0, sched);
  const Prediction old = sched.log.back();
  const double t_old = pop.predicted_spike_ms(0);
  pop.receive_exact(5.0, 0, -400.0, 1, sched);  // inhibition delays the spike
  CHECK(sched.log.size() == 2);
  CHECK(pop.predicted_spike_ms(0) > t_old);
  CHECK_FALSE(pop.fire_predicted(0, old.version, old.tick, sched));
  CHECK(pop.fire_predicted(0, sched.log[1].version, sched.log[1].tick, sched));
}

TEST_CASE("LifExact: first crossing of mixed-sign trajectories matches a brute-force scan") {
  // Cases chosen to exercise every branch: fast excitation vs slow inhibition (current extremum
  // s* > 0), brief suprathreshold excursions, crossings after a dip, no crossing at all.
  LifExactParams p;
  p.tau_syn_e = 1.0;
  p.tau_syn_i = 6.0;
  LifExactPopulation pop(1, p);
  const double theta = p.V_th - p.E_L;
  struct Case {
    double u0, ie0, ii0, ib;
  };
  const Case cases[] = {
      {0.0, 6000.0, -1500.0, 0.0},   {10.0, 3000.0, -2500.0, 0.0},  {14.0, 200.0, -900.0, 400.0},
      {-5.0, -800.0, 0.0, 420.0},    {0.0, -2000.0, 2500.0, 380.0}, {14.9, -3000.0, 1000.0, 0.0},
      {5.0, 2000.0, -5000.0, 376.0}, {12.0, 0.0, 0.0, 374.0},       {12.0, 0.0, 0.0, 380.0},
      {0.0, 4200.0, -4000.0, 0.0},   {2.0, 8000.0, -8000.0, 100.0}, {14.99, 500.0, -500.0, 0.0},
      {0.0, 5500.0, -200.0, 0.0},    {0.0, 4990.0, 0.0, 0.0},       {13.0, 1000.0, -4000.0, 380.0},
      {0.0, -1000.0, 2000.0, 0.0},
  };
  int crossings = 0;
  for (const Case& c : cases) {
    const LifExactPopulation::Trajectory tr{&pop, c.u0, c.ie0, c.ii0, c.ib};
    const double s = pop.first_crossing(tr);
    const double ref =
        scan_root([&](double x) { return closed_form_u(p, x, c.u0, c.ie0, c.ii0, c.ib) - theta; },
                  400.0, 2e-4);
    CAPTURE(c.u0);
    CAPTURE(c.ie0);
    CAPTURE(c.ii0);
    CAPTURE(c.ib);
    if (std::isinf(ref)) {
      CHECK(std::isinf(s));
    } else {
      ++crossings;
      CHECK(std::fabs(s - ref) < 1e-9);
    }
  }
  CHECK(crossings >= 9);  // the set really tests crossings, not only rejections
}

TEST_CASE("LifExact: save_state/load_state round trip invalidates predictions") {
  LifExactParams p;
  p.I_bias = 450.0;
  LifExactPopulation pop(2, p);
  FakeScheduler sched;
  pop.start(0, 0, sched);
  pop.receive_exact(2.0, 1, 700.0, 0, sched);
  pop.advance_all_to(3000);  // 3 ms
  std::vector<double> saved;
  pop.save_state(saved);
  const double v1 = pop.state("V")[1];
  const std::uint32_t old_version = pop.version(1);
  pop.receive_exact(4.0, 1, 5000.0, 0, sched);
  pop.load_state(saved);
  CHECK(pop.state("V")[1] == v1);
  CHECK(pop.version(1) != old_version);
  CHECK(std::isinf(pop.predicted_spike_ms(1)));
  pop.start(3000, 0, sched);
  CHECK(std::isfinite(pop.predicted_spike_ms(1)));
  std::string var;
  CHECK(pop.first_nonfinite(var) == -1);
}
