// NGNMM_theta neural mass: the equations of neuroblox_models.md §1.6 (checked term by term
// against an independent evaluation), the tutorial 16 Hz limit cycle and the ascending drive.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "engine/errors.hpp"
#include "models/ngnmm_theta.hpp"

using sbx::NgnmmThetaParams;
using sbx::NgnmmThetaPopulation;

namespace {

// doctest::Approx adds an absolute scale of 1 by default; these checks are relative.
doctest::Approx rel(double value, double tolerance) {
  return doctest::Approx(value).epsilon(tolerance).scale(0.0);
}

struct Cycle {
  double freq_hz, min, max, mean;
};

// Runs the mass for 1 s of transient and a 2 s window at population step dt; frequency from the
// upward crossings of the window mean of R_E (linearly interpolated), range and mean of 44·R_E.
Cycle measure(NgnmmThetaPopulation& pop, double dt) {
  std::vector<std::uint32_t> spiked;
  const long n_trans = std::lround(1000.0 / dt), n_win = std::lround(2000.0 / dt);
  for (long k = 0; k < n_trans; ++k) pop.step(sbx::StepContext{k, 1, k * dt, dt}, spiked);
  std::vector<double> r(static_cast<std::size_t>(n_win));
  for (long k = 0; k < n_win; ++k) {
    pop.step(sbx::StepContext{k, 1, k * dt, dt}, spiked);
    r[static_cast<std::size_t>(k)] = pop.continuous_output()[0];
  }
  double mean = 0;
  for (double x : r) mean += x;
  mean /= static_cast<double>(r.size());
  std::vector<double> ups;
  for (std::size_t k = 1; k < r.size(); ++k)
    if (r[k - 1] < mean && r[k] >= mean)
      ups.push_back((static_cast<double>(k) - 1.0 + (mean - r[k - 1]) / (r[k] - r[k - 1])) * dt);
  REQUIRE(ups.size() >= 3);
  const double period = (ups.back() - ups.front()) / static_cast<double>(ups.size() - 1);
  const auto [lo, hi] = std::minmax_element(r.begin(), r.end());
  return {1000.0 / period, 44.0 * *lo, 44.0 * *hi, 44.0 * mean};
}

}  // namespace

TEST_CASE("NGNMM right-hand side equals the spec equations (default parameters)") {
  // One tiny RK4 step of length h from the initial state: (x(h) − x(0))/h = f(x0) + O(h).
  const NgnmmThetaParams p;
  NgnmmThetaPopulation pop(p);
  const double A_E = -0.6, B_E = 0.18, A_I = 0.02, B_I = 0.21;
  const double gEE = 0, gEI = 0.23, gIE = 0.26, gII = 0;
  const double RE = (1 - A_E * A_E - B_E * B_E) /
                    (p.C_E * std::numbers::pi * (1 + 2 * A_E + A_E * A_E + B_E * B_E));
  const double RI = (1 - A_I * A_I - B_I * B_I) /
                    (p.C_I * std::numbers::pi * (1 + 2 * A_I + A_I * A_I + B_I * B_I));
  CHECK(pop.continuous_output()[0] == rel(RE, 1e-14));
  CHECK(pop.state("R_I")[0] == rel(RI, 1e-14));
  auto dA = [](double A, double B, double C, double D, double eta, double S, double T) {
    return (B * (A - 1) - D / 2 * ((A + 1) * (A + 1) - B * B) - eta * B * (A + 1) -
            S * B * (A + 1) - T / 2 * (A * A - B * B - 1)) /
           C;
  };
  auto dB = [](double A, double B, double C, double D, double eta, double S, double T) {
    return ((B * B - (A - 1) * (A - 1)) / 2 - D * B * (A + 1) +
            eta / 2 * ((A + 1) * (A + 1) - B * B) + S / 2 * ((A + 1) * (A + 1) - B * B) -
            A * B * T) /
           C;
  };
  const double SE = p.v_EE * gEE + p.v_EI * gEI, TE = gEE + gEI;
  const double SI = p.v_IE * gIE + p.v_II * gII, TI = gIE + gII;
  const double expect[8] = {dA(A_E, B_E, p.C_E, p.Delta_E, p.eta_E, SE, TE),
                            dB(A_E, B_E, p.C_E, p.Delta_E, p.eta_E, SE, TE),
                            dA(A_I, B_I, p.C_I, p.Delta_I, p.eta_I, SI, TI),
                            dB(A_I, B_I, p.C_I, p.Delta_I, p.eta_I, SI, TI),
                            p.a_EE * (p.k_EE * RE - gEE),
                            p.a_EI * (p.k_EI * RI - gEI),
                            p.a_IE * (p.k_IE * RE - gIE),
                            p.a_II * (p.k_II * RI - gII)};
  std::vector<double> x0, x1;
  pop.save_state(x0);
  const double h = 1e-6;
  std::vector<std::uint32_t> spiked;
  pop.step(sbx::StepContext{0, 1, 0.0, h}, spiked);
  pop.save_state(x1);
  CHECK(spiked.empty());
  for (int k = 0; k < 8; ++k) {
    const double slope = (x1[k] - x0[k]) / h;
    CHECK(std::fabs(slope - expect[k]) <= 1e-5 * std::fabs(expect[k]) + 1e-9);
  }
}

TEST_CASE(
    "NGNMM tutorial setting: 16 Hz limit cycle, ascending drive 0.37-1.37 (mean 0.72) at w = 44") {
  NgnmmThetaPopulation pop(NgnmmThetaParams::tutorial_16hz());
  const Cycle c = measure(pop, 0.05);
  MESSAGE("NGNMM " << c.freq_hz << " Hz, 44*R_E min " << c.min << " max " << c.max << " mean "
                   << c.mean);
  CHECK(std::fabs(c.freq_hz - 16.0) <= 0.3);
  CHECK(c.freq_hz == rel(16.027, 0.001));  // the Brian2 figure (RK4, dt 0.01 ms)
  CHECK(c.min == rel(0.37, 0.05));
  CHECK(c.max == rel(1.37, 0.05));
  CHECK(c.mean == rel(0.72, 0.05));
}

TEST_CASE("NGNMM substeps: a 1 ms population step reproduces the 0.01 ms cycle") {
  NgnmmThetaPopulation coarse(NgnmmThetaParams::tutorial_16hz());
  NgnmmThetaPopulation fine(NgnmmThetaParams::tutorial_16hz());
  const Cycle a = measure(coarse, 1.0);  // 20 internal substeps of 0.05 ms
  const Cycle b = measure(fine, 0.01);
  MESSAGE("period difference " << std::fabs(1000.0 / a.freq_hz - 1000.0 / b.freq_hz) << " ms");
  CHECK(std::fabs(1000.0 / a.freq_hz - 1000.0 / b.freq_hz) < 1e-3);
  CHECK(a.max == rel(b.max, 1e-2));  // 1 ms sampling of the peak
}

TEST_CASE("NGNMM state access, save/load and validation") {
  NgnmmThetaPopulation pop(NgnmmThetaParams::tutorial_16hz());
  CHECK(pop.size() == 1);
  for (const char* name :
       {"A_E", "B_E", "A_I", "B_I", "g_EE", "g_EI", "g_IE", "g_II", "R_E", "R_I"})
    CHECK(pop.state(name) != nullptr);
  CHECK(pop.state("x") == nullptr);
  CHECK(pop.state("R_E") == pop.continuous_output());
  CHECK(pop.state("A_E")[0] == -0.6);
  CHECK(pop.state("g_IE")[0] == 0.26);
  std::vector<std::uint32_t> spiked;
  for (long k = 0; k < 1000; ++k) pop.step(sbx::StepContext{k, 1, k * 0.05, 0.05}, spiked);
  std::vector<double> s0, s1, s2;
  pop.save_state(s0);
  for (long k = 0; k < 1000; ++k) pop.step(sbx::StepContext{k, 1, k * 0.05, 0.05}, spiked);
  pop.save_state(s1);
  const double r1 = pop.continuous_output()[0];
  pop.load_state(s0);
  for (long k = 0; k < 1000; ++k) pop.step(sbx::StepContext{k, 1, k * 0.05, 0.05}, spiked);
  pop.save_state(s2);
  CHECK(s1 == s2);
  CHECK(pop.continuous_output()[0] == r1);
  CHECK(spiked.empty());
  std::string var;
  CHECK(pop.first_nonfinite(var) == -1);
  pop.state("B_I")[0] = std::nan("");
  CHECK(pop.first_nonfinite(var) == 0);
  CHECK(var == "B_I");
  CHECK_THROWS_AS(pop.load_state(std::vector<double>(3, 0.0)), sbx::InternalError);
  auto bad = NgnmmThetaParams{};
  bad.C_E = 0.0;
  CHECK_THROWS_AS(NgnmmThetaPopulation{bad}, sbx::UserError);
}
