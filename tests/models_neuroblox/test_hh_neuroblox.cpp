// Neuroblox HH cells: reference numbers of neuroblox_models.md §1.1–1.3 (and its Brian2 check),
// convergence in dt, and the Population contract (inputs, state access, save/load, NaN report).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/errors.hpp"
#include "models/hh_neuroblox.hpp"

using sbx::NeurobloxCellType;
using sbx::NeurobloxHHParams;
using sbx::NeurobloxHHPopulation;

namespace {

// doctest::Approx adds an absolute scale of 1 by default; these checks are relative.
doctest::Approx rel(double value, double tolerance) {
  return doctest::Approx(value).epsilon(tolerance).scale(0.0);
}

NeurobloxHHParams exc(double I_bg = 0.0) {
  auto p = NeurobloxHHParams::excitatory();
  p.I_bg = I_bg;
  return p;
}
NeurobloxHHParams inh(double I_bg = 0.0) {
  auto p = NeurobloxHHParams::inhibitory();
  p.I_bg = I_bg;
  return p;
}

// Runs `pop` for T ms with step dt; `each(t_end)` after every step. Spike times (upward
// 0-mV crossings, linearly interpolated inside the step) are collected per neuron.
struct Run {
  std::vector<std::vector<double>> spikes;
};
Run simulate(NeurobloxHHPopulation& pop, double dt, double T,
             const std::function<void(double)>& each = {}) {
  Run r;
  r.spikes.resize(pop.size());
  const long steps = std::lround(T / dt);
  double* V = pop.state("V");
  std::vector<double> V_before(pop.size());
  std::vector<std::uint32_t> spiked;
  for (long k = 0; k < steps; ++k) {
    std::copy(V, V + pop.size(), V_before.begin());
    spiked.clear();
    pop.step(sbx::StepContext{k, 1, k * dt, dt}, spiked);
    for (std::uint32_t i : spiked) {
      const double frac = V_before[i] / (V_before[i] - V[i]);
      r.spikes[i].push_back((static_cast<double>(k) + frac) * dt);
    }
    if (each) each((k + 1) * dt);
  }
  return r;
}

long count_in(const std::vector<double>& t, double a, double b) {
  return std::count_if(t.begin(), t.end(), [&](double x) { return x >= a && x < b; });
}

// Total ionic + leak current at steady-state gating (I_ion(V) with x = x_∞(V)), for the
// closed-form resting potential: rest solves I_ion + I_syn = I_bg.
double steady_ionic(double V, NeurobloxCellType type) {
  const auto r = NeurobloxHHPopulation::rates(V, type);
  const double n = r.alpha_n / (r.alpha_n + r.beta_n);
  const double m = r.alpha_m / (r.alpha_m + r.beta_m);
  const double h = r.alpha_h / (r.alpha_h + r.beta_h);
  return 52.0 * m * m * m * h * (V - 55.0) + 20.0 * n * n * n * n * (V + 90.0) + 0.1 * (V + 60.0);
}
double bisect(const std::function<double(double)>& f, double a, double b) {
  double fa = f(a);
  for (int k = 0; k < 200; ++k) {
    const double c = 0.5 * (a + b), fc = f(c);
    if ((fc < 0) == (fa < 0)) {
      a = c;
      fa = fc;
    } else {
      b = c;
    }
  }
  return 0.5 * (a + b);
}

double ulp_distance(double a, double b) {
  if (a == b) return 0.0;
  const double ulp =
      std::nextafter(std::fabs(b), std::numeric_limits<double>::infinity()) - std::fabs(b);
  return std::fabs(a - b) / ulp;
}

}  // namespace

TEST_CASE("exp_simd agrees with std::exp within 2 ulp over [-707.7, 709.5]") {
  std::mt19937_64 gen(12345);
  double worst_used = 0.0, worst_all = 0.0;
  std::uniform_real_distribution<double> used(-40.0, 40.0);  // kernel arguments: |x| < 40
  for (int k = 0; k < 200000; ++k) {
    const double x = used(gen);
    worst_used = std::max(worst_used, ulp_distance(sbx::nbx_detail::exp_simd(x), std::exp(x)));
  }
  std::uniform_real_distribution<double> all(-707.7, 709.5);  // below: 0 (simd::exp)
  for (int k = 0; k < 200000; ++k) {
    const double x = all(gen);
    worst_all = std::max(worst_all, ulp_distance(sbx::nbx_detail::exp_simd(x), std::exp(x)));
  }
  MESSAGE("exp_simd max error: " << worst_used << " ulp on [-40,40], " << worst_all
                                 << " ulp on [-707.7,709.5]");
  CHECK(worst_used <= 2.0);
  CHECK(worst_all <= 2.0);
  CHECK(sbx::nbx_detail::exp_simd(0.0) == 1.0);
  CHECK(sbx::nbx_detail::exp_simd(-800.0) == 0.0);
  CHECK(std::isinf(sbx::nbx_detail::exp_simd(800.0)));
  CHECK(std::isnan(sbx::nbx_detail::exp_simd(std::numeric_limits<double>::quiet_NaN())));
}

TEST_CASE("gating rates follow §1.1/§1.2 and take their limits at the removable singularities") {
  for (auto type : {NeurobloxCellType::excitatory, NeurobloxCellType::inhibitory}) {
    const bool is_inh = type == NeurobloxCellType::inhibitory;
    const double sn = is_inh ? 38 : 34, sm = is_inh ? 33 : 30, sh = is_inh ? 51 : 44;
    for (double V : {-90.0, -71.3, -60.0, -45.5, -20.0, 0.0, 12.5, 40.0}) {
      const auto r = NeurobloxHHPopulation::rates(V, type);
      CHECK(r.alpha_n == rel(0.01 * (V + sn) / (1 - std::exp(-(V + sn) / 10)), 1e-11));
      CHECK(r.beta_n == rel(0.125 * std::exp(-(V + sn + 10) / 80), 1e-12));
      CHECK(r.alpha_m == rel(0.1 * (V + sm) / (1 - std::exp(-(V + sm) / 10)), 1e-11));
      CHECK(r.beta_m == rel(4 * std::exp(-(V + sm + 25) / 18), 1e-12));
      CHECK(r.alpha_h == rel(0.07 * std::exp(-(V + sh) / 20), 1e-12));
      CHECK(r.beta_h == rel(1 / (1 + std::exp(-(V + sh - 30) / 10)), 1e-12));
    }
    // Exactly at, and around, the singular points.
    CHECK(NeurobloxHHPopulation::rates(-sn, type).alpha_n == rel(0.1, 1e-14));
    CHECK(NeurobloxHHPopulation::rates(-sm, type).alpha_m == rel(1.0, 1e-14));
    for (double d : {1e-9, 1e-6, 1e-3, 9.99e-3, 1.001e-2}) {
      for (double s : {-1.0, 1.0}) {
        const double y = s * d / 10.0;  // exact value: y/(1 − e^−y)
        const double exact = y / -std::expm1(-y);
        CHECK(NeurobloxHHPopulation::rates(-sn + s * d, type).alpha_n == rel(0.1 * exact, 1e-10));
        CHECK(NeurobloxHHPopulation::rates(-sm + s * d, type).alpha_m == rel(exact, 1e-10));
      }
    }
  }
}

TEST_CASE("resting potentials: -59.9 mV (exc) and -60.2 mV (inh), equal to the steady-state root") {
  NeurobloxHHPopulation pop({exc(0.0), inh(0.0)});
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  double sum[2] = {0, 0};
  long n = 0;
  const double* V = pop.state("V");
  const Run r = simulate(pop, dt, 2500.0, [&](double t) {
    if (t > 500.0) {
      sum[0] += V[0];
      sum[1] += V[1];
      ++n;
    }
  });
  CHECK(r.spikes[0].empty());
  CHECK(r.spikes[1].empty());
  const double rest_exc = sum[0] / n, rest_inh = sum[1] / n;
  const double root_exc =
      bisect([](double v) { return steady_ionic(v, NeurobloxCellType::excitatory); }, -70, -50);
  const double root_inh =
      bisect([](double v) { return steady_ionic(v, NeurobloxCellType::inhibitory); }, -70, -50);
  MESSAGE("rest exc " << rest_exc << " mV (root " << root_exc << "), inh " << rest_inh
                      << " mV (root " << root_inh << ")");
  CHECK(std::fabs(rest_exc - -59.9) <= 0.1);
  CHECK(std::fabs(rest_inh - -60.2) <= 0.1);
  CHECK(std::fabs(rest_exc - root_exc) < 1e-3);
  CHECK(std::fabs(rest_inh - root_inh) < 1e-3);
  // Resting tonic release: G_rest = τ·τ₁·G_syn·σ(4.394·(V_rest − V_shift)/V_range) — negligible
  // for AMPA (§1.3: < 0.01); 0.043 for the standalone GABA_A default (G_syn 11.5, τ 70, shift 0).
  auto g_rest = [](double V, const NeurobloxHHParams& p) {
    return p.tau * 0.1 * p.G_syn / (1.0 + std::exp(-4.394 * (V - p.V_shift) / p.V_range));
  };
  CHECK(pop.state("G")[0] < 0.01);
  CHECK(pop.state("G")[0] == rel(g_rest(pop.state("V")[0], exc()), 1e-3));
  CHECK(pop.state("G")[1] == rel(g_rest(pop.state("V")[1], inh()), 1e-3));
}

TEST_CASE("f-I curve of the excitatory cell matches the spec within 5 %") {
  const double I[] = {0.0, 0.2, 0.5, 1.0, 2.0, 5.0, 8.4, 14.0};
  const double f_spec[] = {0, 0, 20, 41, 71, 137, 193, 262};
  std::vector<NeurobloxHHParams> ps;
  for (double i : I) ps.push_back(exc(i));
  NeurobloxHHPopulation pop(ps);
  const Run r = simulate(pop, NeurobloxHHPopulation::default_dt_ms, 2500.0);
  for (std::size_t k = 0; k < ps.size(); ++k) {
    const double rate = count_in(r.spikes[k], 500.0, 2500.0) / 2.0;
    MESSAGE("exc I = " << I[k] << ": " << rate << " Hz (spec " << f_spec[k] << ")");
    if (f_spec[k] == 0)
      CHECK(rate == 0.0);
    else
      CHECK(rate == rel(f_spec[k], 0.05));
  }
}

TEST_CASE("f-I curve of the inhibitory cell matches the spec within 5 %") {
  const double I[] = {0.0, 0.5, 1.0, 2.0, 5.0};
  const double f_spec[] = {0, 25, 48, 79, 146};
  std::vector<NeurobloxHHParams> ps;
  for (double i : I) ps.push_back(inh(i));
  NeurobloxHHPopulation pop(ps);
  const Run r = simulate(pop, NeurobloxHHPopulation::default_dt_ms, 2500.0);
  for (std::size_t k = 0; k < ps.size(); ++k) {
    const double rate = count_in(r.spikes[k], 500.0, 2500.0) / 2.0;
    MESSAGE("inh I = " << I[k] << ": " << rate << " Hz (spec " << f_spec[k] << ")");
    if (f_spec[k] == 0)
      CHECK(rate == 0.0);
    else
      CHECK(rate == rel(f_spec[k], 0.05));
  }
}

TEST_CASE("spike counter: about one count per spike and a resting leak of 0.52 per second") {
  // Spec §1.1: 0.97–1.03 per spike plus ≈0.52/s at rest; the Brian2 check (RK4, dt 5 µs,
  // leak included) gives 0.970 at I = 1 and 1.010 at I = 5. The converged value at I = 1 is
  // 0.9695 (dt/10), just under the spec's rounded lower bound, so we compare with Brian2 (1 %)
  // and the default dt with dt/10 (0.2 %).
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  double per_spike[2][2];
  for (int pass = 0; pass < 2; ++pass) {
    const double h = pass == 0 ? dt : dt / 10;
    NeurobloxHHPopulation pop({exc(1.0), exc(5.0), exc(0.0)});
    double C_start[3] = {0, 0, 0};
    const double* C = pop.state("C_cum");
    const Run r = simulate(pop, h, 2500.0, [&](double t) {
      if (std::fabs(t - 500.0) < 1e-9) std::copy(C, C + 3, C_start);
    });
    const double leak = (C[2] - C_start[2]) / 2.0;
    for (int k = 0; k < 2; ++k)
      per_spike[pass][k] = (C[k] - C_start[k]) / count_in(r.spikes[k], 500.0, 2500.0);
    if (pass == 1) continue;
    MESSAGE("resting leak " << leak << " /s; dC per spike (incl. leak) " << per_spike[0][0]
                            << " at I = 1, " << per_spike[0][1] << " at I = 5");
    CHECK(leak == rel(0.52, 0.10));
    CHECK(pop.state("C_win")[1] == pop.state("C_cum")[1]);  // same ODE, no reset inside
  }
  CHECK(per_spike[0][0] == rel(0.970, 0.01));
  CHECK(per_spike[0][1] == rel(1.010, 0.01));
  CHECK(per_spike[0][1] >= 0.97);
  CHECK(per_spike[0][1] <= 1.03);
  CHECK(per_spike[0][0] == rel(per_spike[1][0], 0.002));
  CHECK(per_spike[0][1] == rel(per_spike[1][1], 0.002));
}

TEST_CASE("emitted synapse: conductance jump 0.029*G_syn (AMPA) and 0.032*G_syn (GABA_A)") {
  // dG/dt = −G/τ + z, so the increment of G brought by one spike is ∫z dt over the release
  // (z decays with τ₁ = 0.1 ms). Spike trains at I_bg = 0.5 (20 / 25 Hz); ∫z over
  // [t_spike − 0.5, t_spike + 2] ms, averaged over the spikes of 0.5–1.5 s.
  auto pi = inh(0.5);
  pi.G_syn = 4.0;  // the WTA interneurons of a Cortical block: 0.032·4 = 0.128 (§1.3)
  NeurobloxHHPopulation pop({exc(0.5), pi});
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  const double* z = pop.state("z");
  std::vector<double> trace[2];
  const Run r = simulate(pop, dt, 1500.0, [&](double) {
    trace[0].push_back(z[0]);
    trace[1].push_back(z[1]);
  });
  for (int k = 0; k < 2; ++k) {
    double sum = 0.0;
    int n = 0;
    for (double ts : r.spikes[k]) {
      if (ts < 500.0) continue;
      const long i0 = std::lround((ts - 0.5) / dt), i1 = std::lround((ts + 2.0) / dt);
      for (long i = i0; i < i1; ++i) sum += trace[k][static_cast<std::size_t>(i)] * dt;
      ++n;
    }
    REQUIRE(n > 10);
    const double jump = sum / n;
    const double expected = k == 0 ? 0.029 * 3.0 : 0.032 * 4.0;
    const std::string kind = k == 0 ? "AMPA" : "GABA_A";
    MESSAGE(kind << " jump per spike " << jump << " (spec " << expected << ")");
    CHECK(jump == rel(expected, 0.15));
  }
}

TEST_CASE("convergence: spike times at the default dt are within 0.1 ms of dt/10 over 1 s") {
  std::vector<NeurobloxHHParams> ps = {exc(0.5),  exc(1.0), exc(2.0), exc(5.0),
                                       exc(14.0), inh(0.5), inh(5.0)};
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  NeurobloxHHPopulation coarse(ps), fine(ps);
  const Run a = simulate(coarse, dt, 1000.0);
  const Run b = simulate(fine, dt / 10.0, 1000.0);
  double worst = 0.0;
  for (std::size_t k = 0; k < ps.size(); ++k) {
    REQUIRE(a.spikes[k].size() == b.spikes[k].size());
    CHECK(!a.spikes[k].empty());
    for (std::size_t s = 0; s < a.spikes[k].size(); ++s)
      worst = std::max(worst, std::fabs(a.spikes[k][s] - b.spikes[k][s]));
  }
  MESSAGE("max spike-time difference dt=" << dt << " vs dt/10: " << worst << " ms");
  CHECK(worst < 0.1);
}

TEST_CASE(
    "inputs: I_bg, I_in and current_input are interchangeable, conductances give I = gE - g*V") {
  NeurobloxHHPopulation pop({exc(3.0), exc(0.0), exc(0.0), inh(0.0)});
  pop.state("I_in")[1] = 3.0;
  // current_input/conductance inputs are zeroed by the simulator before every step; here they
  // are set before every step by hand.
  const double g = 0.4, E = -70.0;
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  std::vector<std::uint32_t> spiked;
  long spikes[3] = {0, 0, 0};
  for (long k = 0; k < 20000; ++k) {
    std::fill(pop.current_input(), pop.current_input() + 4, 0.0);
    std::fill(pop.conductance_input(), pop.conductance_input() + 4, 0.0);
    std::fill(pop.conductance_reversal_input(), pop.conductance_reversal_input() + 4, 0.0);
    pop.current_input()[2] = 3.0;
    pop.conductance_input()[3] = g;
    pop.conductance_reversal_input()[3] = g * E;
    spiked.clear();
    pop.step(sbx::StepContext{k, 1, k * dt, dt}, spiked);
    for (auto i : spiked)
      if (i < 3) ++spikes[i];
  }
  const double* V = pop.state("V");
  CHECK(spikes[0] > 0);
  CHECK(V[0] == V[1]);
  CHECK(V[0] == V[2]);
  CHECK(spikes[0] == spikes[1]);
  CHECK(spikes[0] == spikes[2]);
  // Cell 3 (inh, no spikes) rests where I_ion(V) + g·(V − E) = 0.
  const double root =
      bisect([&](double v) { return steady_ionic(v, NeurobloxCellType::inhibitory) + g * (v - E); },
             -80, -50);
  MESSAGE("conductance-clamped rest " << V[3] << " mV, root " << root << " mV");
  CHECK(std::fabs(V[3] - root) < 1e-3);
  CHECK(root < -62.0);  // the inhibitory conductance hyperpolarises
}

TEST_CASE("a mixed population gives bitwise the same trajectories as one cell per population") {
  std::vector<NeurobloxHHParams> ps = {exc(5.0), inh(2.0), exc(0.5), inh(0.0), exc(14.0)};
  ps[2].G_syn = 1.7;
  ps[2].tau = 9.0;
  ps[4].V_shift = -5.0;
  NeurobloxHHPopulation mixed(ps);
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  const Run rm = simulate(mixed, dt, 100.0);
  for (std::size_t k = 0; k < ps.size(); ++k) {
    NeurobloxHHPopulation single({ps[k]});
    const Run rs = simulate(single, dt, 100.0);
    CHECK(rs.spikes[0] == rm.spikes[k]);
    for (const char* name : {"V", "n", "m", "h", "C_cum", "z", "G"})
      CHECK(single.state(name)[0] == mixed.state(name)[k]);
  }
}

TEST_CASE("state access, save/load round trip and parameter validation") {
  NeurobloxHHPopulation pop({exc(5.0), inh(1.0), exc(2.0)});
  CHECK(pop.size() == 3);
  CHECK(pop.dynamics() == sbx::Dynamics::clocked);
  for (const char* name :
       {"V", "n", "m", "h", "C_cum", "C_win", "z", "G", "I_bg", "I_in", "E_syn", "G_syn"})
    CHECK(pop.state(name) != nullptr);
  CHECK(pop.state("nonsense") == nullptr);
  const auto names = pop.state_names();
  CHECK(std::find(names.begin(), names.end(), "C_win") != names.end());
  CHECK(pop.state("V")[0] == -65.0);
  CHECK(pop.state("n")[1] == 0.32);
  CHECK(pop.state("m")[2] == 0.05);
  CHECK(pop.state("h")[0] == 0.59);
  CHECK(pop.continuous_output() == pop.state("G"));
  CHECK(pop.output_reversal()[0] == 0.0);
  CHECK(pop.output_reversal()[1] == -70.0);
  CHECK(pop.synapse_tau(1) == 70.0);
  CHECK(pop.cell_type(1) == NeurobloxCellType::inhibitory);

  const double dt = NeurobloxHHPopulation::default_dt_ms;
  simulate(pop, dt, 50.0);
  std::vector<double> saved;
  pop.save_state(saved);
  CHECK(saved.size() == NeurobloxHHPopulation::n_dynamic_states * 3);
  const Run first = simulate(pop, dt, 50.0);
  std::vector<double> after_first;
  pop.save_state(after_first);
  pop.load_state(saved);
  const Run second = simulate(pop, dt, 50.0);
  std::vector<double> after_second;
  pop.save_state(after_second);
  CHECK(first.spikes == second.spikes);
  CHECK(after_first == after_second);
  CHECK_THROWS_AS(pop.load_state(std::vector<double>(5, 0.0)), sbx::InternalError);

  std::string var;
  CHECK(pop.first_nonfinite(var) == -1);
  pop.state("h")[2] = std::numeric_limits<double>::quiet_NaN();
  pop.state("G")[1] = std::numeric_limits<double>::infinity();
  CHECK(pop.first_nonfinite(var) == 1);
  CHECK(var == "G");

  auto bad = exc();
  bad.V_range = 0.0;
  CHECK_THROWS_AS(NeurobloxHHPopulation({exc(), bad}), sbx::UserError);
  bad = exc();
  bad.tau = -1.0;
  CHECK_THROWS_AS(NeurobloxHHPopulation({bad}), sbx::UserError);
  bad = exc();
  bad.g_K = std::nan("");
  CHECK_THROWS_AS(NeurobloxHHPopulation({bad}), sbx::UserError);
  NeurobloxHHPopulation empty({});
  std::vector<std::uint32_t> spiked;
  empty.step(sbx::StepContext{0, 1, 0.0, dt}, spiked);
  CHECK(spiked.empty());
}

// ---- exponential Adams–Bashforth integrators (eab2, eab3, eab4) ------------------------------

namespace {

// Worst spike-time difference of `integ` at dt against ETDRK4 at 0.001 ms (same spike counts
// required), over T ms for a set of driven cells.
double eab_error(sbx::NeurobloxIntegrator integ, double dt, double T) {
  const std::vector<NeurobloxHHParams> ps = {exc(1.0), exc(2.0), exc(5.0), exc(14.0), inh(5.0)};
  NeurobloxHHPopulation ref(ps), pop(ps, integ);
  const Run a = simulate(pop, dt, T);
  const Run b = simulate(ref, 0.001, T);
  double worst = 0.0;
  for (std::size_t k = 0; k < ps.size(); ++k) {
    REQUIRE(a.spikes[k].size() == b.spikes[k].size());
    for (std::size_t s = 0; s < a.spikes[k].size(); ++s)
      worst = std::max(worst, std::fabs(a.spikes[k][s] - b.spikes[k][s]));
  }
  return worst;
}

}  // namespace

TEST_CASE("eab2, eab3, eab4: observed order of the spike-time error is 2, 3, 4") {
  // Measured (200 ms): eab2 0.266 / 0.0787 / 0.0211 ms at dt 0.025 / 0.0125 / 0.00625 (order
  // 1.9), eab3 0.135 / 0.0178 / 0.0022 (3.0), eab4 0.0347 / 0.00137 / 0.000055 (4.6).
  using sbx::NeurobloxIntegrator;
  const std::pair<NeurobloxIntegrator, int> cases[] = {{NeurobloxIntegrator::eab2, 2},
                                                       {NeurobloxIntegrator::eab3, 3},
                                                       {NeurobloxIntegrator::eab4, 4}};
  for (const auto& [integ, order] : cases) {
    const double e1 = eab_error(integ, 0.0125, 200.0);
    const double e2 = eab_error(integ, 0.00625, 200.0);
    const double observed = std::log2(e1 / e2);
    MESSAGE(sbx::neuroblox_integrator_names[static_cast<int>(integ)]
            << ": spike-time error " << e1 << " ms (dt 0.0125), " << e2
            << " ms (dt 0.00625), observed order " << observed);
    CHECK(observed > order - 0.4);
    CHECK(e2 < 0.05);
  }
}

TEST_CASE("eab3 restarts after a state load or an outside write, lane by lane") {
  using sbx::NeurobloxIntegrator;
  const std::vector<NeurobloxHHParams> ps = {exc(5.0), inh(2.0), exc(0.5), exc(14.0), inh(0.0)};
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  // A mixed population is lane by lane the same as one cell per population.
  NeurobloxHHPopulation mixed(ps, NeurobloxIntegrator::eab3);
  const Run rm = simulate(mixed, dt, 100.0);
  for (std::size_t k = 0; k < ps.size(); ++k) {
    NeurobloxHHPopulation single({ps[k]}, NeurobloxIntegrator::eab3);
    const Run rs = simulate(single, dt, 100.0);
    CHECK(rs.spikes[0] == rm.spikes[k]);
    CHECK(single.state("V")[0] == mixed.state("V")[k]);
  }
  // After load_state the history is rebuilt from the loaded state: a population that ran before
  // and a fresh one continue identically from the same state.
  std::vector<double> u;
  mixed.save_state(u);
  NeurobloxHHPopulation fresh(ps, NeurobloxIntegrator::eab3);
  fresh.load_state(u);
  mixed.load_state(u);
  simulate(mixed, dt, 50.0);
  simulate(fresh, dt, 50.0);
  for (std::size_t k = 0; k < ps.size(); ++k) CHECK(mixed.state("V")[k] == fresh.state("V")[k]);
  // Writing V of one cell from outside restarts that cell only: the others match a population
  // that was not written to.
  NeurobloxHHPopulation a(ps, NeurobloxIntegrator::eab3), b(ps, NeurobloxIntegrator::eab3);
  simulate(a, dt, 20.0);
  simulate(b, dt, 20.0);
  a.state("V")[2] = -70.0;
  simulate(a, dt, 20.0);
  simulate(b, dt, 20.0);
  for (std::size_t k : {0u, 1u, 3u, 4u}) CHECK(a.state("V")[k] == b.state("V")[k]);
  CHECK(a.state("V")[2] != b.state("V")[2]);
  // …and it is continued exactly as a population loaded with that state would be.
  NeurobloxHHPopulation c(ps, NeurobloxIntegrator::eab3), d(ps, NeurobloxIntegrator::eab3);
  simulate(c, dt, 20.0);
  c.state("V")[2] = -70.0;
  c.save_state(u);
  d.load_state(u);
  simulate(c, dt, 20.0);
  simulate(d, dt, 20.0);
  CHECK(c.state("V")[2] == d.state("V")[2]);
}

TEST_CASE("eab3 at the default dt: about 1.7x cheaper per step but spike times drift (measured)") {
  // Not a speed test: documents the accuracy cost that keeps etdrk4 the default. Over 200 ms at
  // dt 0.05 eab3 is off by ~0.7 ms (etdrk4: 0.004 ms); the category circuit fails its 5 %
  // spike-count test with it (40 of 260 cell-trials outside, see BENCHMARKS.md).
  const double e_eab = eab_error(sbx::NeurobloxIntegrator::eab3, 0.05, 200.0);
  const double e_etd = eab_error(sbx::NeurobloxIntegrator::etdrk4, 0.05, 200.0);
  MESSAGE("dt 0.05, 200 ms: eab3 " << e_eab << " ms, etdrk4 " << e_etd << " ms");
  CHECK(e_etd < 0.01);
  CHECK(e_eab > 10.0 * e_etd);
}

// ---- single-precision rate evaluation (etdrk4_f32) --------------------------------------------

TEST_CASE("etdrk4_f32: spike times within 0.005 ms of double etdrk4 and converge like it") {
  // Measured (1 s, 7 cells, vs etdrk4 at 0.001 ms): etdrk4 0.01995 / 0.00266 ms at dt 0.05 /
  // 0.025, etdrk4_f32 0.01991 / 0.00266 ms; float rounding floors the error at ≈ 7e−4 ms.
  const std::vector<NeurobloxHHParams> ps = {exc(0.5),  exc(1.0), exc(2.0), exc(5.0),
                                             exc(14.0), inh(0.5), inh(5.0)};
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  NeurobloxHHPopulation d(ps), f(ps, sbx::NeurobloxIntegrator::etdrk4_f32);
  NeurobloxHHPopulation fine(ps);
  const Run a = simulate(d, dt, 1000.0);
  const Run b = simulate(f, dt, 1000.0);
  const Run c = simulate(fine, dt / 10.0, 1000.0);
  double worst_df = 0.0, worst_fine = 0.0;
  for (std::size_t k = 0; k < ps.size(); ++k) {
    REQUIRE(a.spikes[k].size() == b.spikes[k].size());
    REQUIRE(b.spikes[k].size() == c.spikes[k].size());
    for (std::size_t s = 0; s < a.spikes[k].size(); ++s) {
      worst_df = std::max(worst_df, std::fabs(a.spikes[k][s] - b.spikes[k][s]));
      worst_fine = std::max(worst_fine, std::fabs(b.spikes[k][s] - c.spikes[k][s]));
    }
  }
  MESSAGE("etdrk4_f32 vs etdrk4 at dt " << dt << ": " << worst_df
                                        << " ms; vs etdrk4 at dt/10: " << worst_fine << " ms");
  CHECK(worst_df < 0.005);
  CHECK(worst_fine < 0.1);
  CHECK(worst_df > 0.0);  // really a different kernel
  // Counters and synapse stay double: the per-spike counter increment is unchanged.
  CHECK(f.state("C_cum")[3] == rel(d.state("C_cum")[3], 1e-3));
}

TEST_CASE("etdrk4_f32: a mixed population gives bitwise the same trajectories as single cells") {
  std::vector<NeurobloxHHParams> ps = {exc(5.0), inh(2.0), exc(0.5), inh(0.0), exc(14.0)};
  ps[2].G_syn = 1.7;
  ps[4].V_shift = -5.0;
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  NeurobloxHHPopulation mixed(ps, sbx::NeurobloxIntegrator::etdrk4_f32);
  const Run rm = simulate(mixed, dt, 100.0);
  for (std::size_t k = 0; k < ps.size(); ++k) {
    NeurobloxHHPopulation single({ps[k]}, sbx::NeurobloxIntegrator::etdrk4_f32);
    const Run rs = simulate(single, dt, 100.0);
    CHECK(rs.spikes[0] == rm.spikes[k]);
    for (const char* name : {"V", "n", "m", "h", "C_cum", "z", "G"})
      CHECK(single.state(name)[0] == mixed.state(name)[k]);
  }
}

TEST_CASE("etdrk4_f32: inputs beyond float range fall back to the double kernel") {
  // e.g. the reliability test's G_syn = 1e308: float would overflow at once, double does not.
  const std::vector<NeurobloxHHParams> ps = {exc(1.0), inh(0.5)};
  NeurobloxHHPopulation d(ps), f(ps, sbx::NeurobloxIntegrator::etdrk4_f32);
  std::vector<std::uint32_t> spiked;
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  for (long k = 0; k < 200; ++k)
    for (NeurobloxHHPopulation* p : {&d, &f}) {
      p->conductance_input()[0] = 1e300;
      p->conductance_reversal_input()[0] = -70.0 * 1e300;
      p->step(sbx::StepContext{k, 1, k * dt, dt}, spiked);
    }
  CHECK(std::isfinite(f.state("V")[0]));
  CHECK(f.state("V")[0] == d.state("V")[0]);
  CHECK(f.state("V")[1] == d.state("V")[1]);  // the whole float vector took the double kernel
}
