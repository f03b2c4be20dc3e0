// Plasticity rules of rate networks (models/rate_rules.hpp) against hand-computed values.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "models/rate_rules.hpp"

using namespace sbx;

TEST_CASE("hebbian trace: one gated update and one decay step, by hand") {
  NeuromodHebbianTrace tr(2, 0.1);
  const double h_prev[2] = {0.5, -0.2}, h_new[2] = {0.3, 0.4};
  tr.update(h_prev, h_new, 0.7);  // H = 0.1·0.7·h_prev ⊗ h_new
  CHECK(tr.at(0, 0) == doctest::Approx(0.0105).epsilon(1e-13));
  CHECK(tr.at(0, 1) == doctest::Approx(0.014).epsilon(1e-13));
  CHECK(tr.at(1, 0) == doctest::Approx(-0.0042).epsilon(1e-13));
  CHECK(tr.at(1, 1) == doctest::Approx(-0.0056).epsilon(1e-13));
  tr.update(h_prev, h_new, 0.0);  // m = 0: pure decay by 1 − η
  CHECK(tr.at(0, 1) == doctest::Approx(0.9 * 0.014).epsilon(1e-13));
  CHECK(tr.at(1, 1) == doctest::Approx(0.9 * -0.0056).epsilon(1e-13));
  double out[2] = {1.0, 0.0};
  const double h[2] = {2.0, -1.0};
  tr.apply(h, out);  // out += H·h
  CHECK(out[0] == doctest::Approx(1.0 + 0.9 * (0.0105 * 2.0 - 0.014)).epsilon(1e-13));
  CHECK(out[1] == doctest::Approx(0.9 * (-0.0042 * 2.0 + 0.0056)).epsilon(1e-13));
  tr.reset();
  CHECK(tr.at(0, 0) == 0.0);
  CHECK_THROWS_AS(NeuromodHebbianTrace(2, 1.5), UserError);
}

TEST_CASE("hebbian trace gated by a named engine modulator equals the scalar gate") {
  const TimeGrid grid(0.1);
  Modulator da("dopamine", 0.2, 50.0, grid);
  da.pulse(grid.round_ms(10.0), 1.0);
  const Tick t = grid.round_ms(60.0);  // m = 0.2 + e^{-1}
  NeuromodHebbianTrace a(2, 0.1), b(2, 0.1);
  const double h_prev[2] = {0.5, -0.2}, h_new[2] = {0.3, 0.4};
  a.update(h_prev, h_new, da, t);
  b.update(h_prev, h_new, 0.2 + std::exp(-1.0));
  for (std::uint32_t i = 0; i < 2; ++i)
    for (std::uint32_t j = 0; j < 2; ++j)
      CHECK(a.at(i, j) == doctest::Approx(b.at(i, j)).epsilon(1e-12));
  CHECK(a.at(0, 0) == doctest::Approx(0.1 * (0.2 + std::exp(-1.0)) * 0.15).epsilon(1e-12));
}

TEST_CASE("hebbian trace: the plastic tanh RNN of §4.1 reproduces the recurrence at 1e-12") {
  // Fixed weights and inputs; reference written out literally from the equations:
  //   h_{t+1} = tanh(W_in x_t + b + W_rec h_t + H_t h_t),
  //   H_{t+1} = (1 − η) H_t + η m_t (h_t ⊗ h_{t+1}),  η = 0.1, H_0 = 0, h_0 = 0.
  constexpr std::uint32_t n = 3, n_in = 1;
  const double W_in[n * n_in] = {0.8, -0.5, 0.3};
  const double b[n] = {0.1, -0.2, 0.05};
  const double W_rec[n * n] = {0.2, -0.4, 0.6, 0.5, 0.1, -0.3, -0.7, 0.2, 0.4};
  const double xs[6] = {1, 0, 1, 1, 0, 1};
  const double ms[6] = {0.3, 0.9, 0.1, 0.5, 0.7, 1.0};
  NeuromodHebbianTrace tr(n, 0.1);
  double h[n] = {0, 0, 0};
  double Href[n][n] = {};
  double href[n] = {0, 0, 0};
  for (int t = 0; t < 6; ++t) {
    double h_new[n];
    plastic_rnn_step(n, n_in, W_in, b, W_rec, tr, &xs[t], h, h_new);
    tr.update(h, h_new, ms[t]);
    double hr_new[n];
    for (std::uint32_t i = 0; i < n; ++i) {
      double a = W_in[i] * xs[t] + b[i];
      for (std::uint32_t j = 0; j < n; ++j) a += (W_rec[i * n + j] + Href[i][j]) * href[j];
      hr_new[i] = std::tanh(a);
    }
    for (std::uint32_t i = 0; i < n; ++i)
      for (std::uint32_t j = 0; j < n; ++j)
        Href[i][j] = 0.9 * Href[i][j] + 0.1 * ms[t] * href[i] * hr_new[j];
    for (std::uint32_t i = 0; i < n; ++i) {
      CHECK(std::abs(h_new[i] - hr_new[i]) < 1e-12);
      h[i] = h_new[i];
      href[i] = hr_new[i];
    }
    for (std::uint32_t i = 0; i < n; ++i)
      for (std::uint32_t j = 0; j < n; ++j) CHECK(std::abs(tr.at(i, j) - Href[i][j]) < 1e-12);
  }
  CHECK(std::abs(tr.at(0, 1)) > 1e-4);  // the trace really is non-trivial
}

TEST_CASE("miconi deltax: cubed eligibility, running average and step thresholds by hand") {
  MiconiParams p;  // deltax, trace_alpha 0.05, eligibility from step 3
  MiconiRule rule(2, p, 4);
  rule.begin_trial();
  const double r_prev[2] = {0.5, -0.5};
  const double x_new[2] = {0.2, -0.4};
  const double none[2] = {0.0, 0.0};
  // Step 2: x̄ updates (x̄ = 0.95 x) but no eligibility yet.
  rule.accumulate(2, r_prev, x_new, none);
  CHECK(rule.eligibility(0, 0) == 0.0);
  CHECK(rule.xbar()[0] == doctest::Approx(0.19).epsilon(1e-14));
  CHECK(rule.xbar()[1] == doctest::Approx(-0.38).epsilon(1e-14));
  // Step 3: δx = x − x̄ (before the update) = (0.01, −0.02); e_ij = (r_j δx_i)³.
  rule.accumulate(3, r_prev, x_new, none);
  CHECK(rule.eligibility(0, 0) == doctest::Approx(std::pow(0.5 * 0.01, 3)).epsilon(1e-12));
  CHECK(rule.eligibility(0, 1) == doctest::Approx(std::pow(-0.5 * 0.01, 3)).epsilon(1e-12));
  CHECK(rule.eligibility(1, 0) == doctest::Approx(std::pow(0.5 * -0.02, 3)).epsilon(1e-12));
  CHECK(rule.eligibility(1, 1) == doctest::Approx(std::pow(-0.5 * -0.02, 3)).epsilon(1e-12));
  CHECK(rule.xbar()[0] == doctest::Approx(0.05 * 0.19 + 0.95 * 0.2).epsilon(1e-14));
  // Sign-preserving and supralinear: doubling the fluctuation multiplies e by 8.
  MiconiRule r2(1, p, 1), r3(1, p, 1);
  const double rp[1] = {1.0}, xa[1] = {0.1}, xb[1] = {0.2}, z[1] = {0.0};
  r2.accumulate(5, rp, xa, z);
  r3.accumulate(5, rp, xb, z);
  CHECK(r3.eligibility(0, 0) == doctest::Approx(8.0 * r2.eligibility(0, 0)).epsilon(1e-12));
}

TEST_CASE("miconi: end-of-trial update, baseline, clip and learn_after by hand") {
  MiconiParams p;
  p.eta = 0.1;
  p.max_dw = 3e-4;
  MiconiRule rule(2, p, 4);
  double J[4] = {0.0, 0.0, 0.0, 0.0};
  // Trial 100 (<= learn_after): no weight change even with eligibility; ē_1 = 0.25·0.8 = 0.2.
  rule.begin_trial();
  const double r_prev[2] = {1.0, -1.0}, none[2] = {0.0, 0.0};
  const double x1[2] = {0.2, -0.4};  // x̄ = 0 -> δx = x
  rule.accumulate(3, r_prev, x1, none);
  CHECK(rule.end_trial(100, 1, 0.8, J) == 0.0);
  CHECK(J[0] == 0.0);
  CHECK(rule.running_error(1) == doctest::Approx(0.2).epsilon(1e-15));
  // Trial 101, type 1, error 0.5: M = −η ē (E − ē) = −0.1·0.2·0.3 = −0.006.
  rule.begin_trial();
  const double x2[2] = {0.2 + 0.19, -0.4 - 0.38};  // x̄ = 0.95·x1 = (0.19, −0.38): δx = x1
  rule.accumulate(3, r_prev, x2, none);
  const double e00 = std::pow(0.2, 3), e01 = std::pow(-0.2, 3), e10 = std::pow(-0.4, 3);
  CHECK(rule.eligibility(0, 0) == doctest::Approx(e00).epsilon(1e-12));
  const double M = rule.end_trial(101, 1, 0.5, J);
  CHECK(M == doctest::Approx(-0.006).epsilon(1e-14));
  CHECK(J[0] == doctest::Approx(-0.006 * e00).epsilon(1e-12));  // −4.8e-5: not clipped
  CHECK(J[1] == doctest::Approx(-0.006 * e01).epsilon(1e-12));
  CHECK(J[2] == doctest::Approx(3e-4).epsilon(1e-15));  // −0.006·(−0.064) = 3.84e-4 -> clip
  CHECK(J[3] == doctest::Approx(-3e-4).epsilon(1e-15));
  (void)e10;
  CHECK(rule.running_error(1) == doctest::Approx(0.75 * 0.2 + 0.25 * 0.5).epsilon(1e-15));
  CHECK(rule.running_error(0) == 0.0);  // other trial types untouched
}

TEST_CASE("miconi node perturbation: eligibility only where perturbed, r_pre x p") {
  MiconiRule rule(3, MiconiParams::node_perturbation(), 1);
  CHECK(rule.params().eta == 0.001);
  rule.begin_trial();
  const double r_prev[3] = {0.5, -0.25, 1.0};
  const double x[3] = {9.0, 9.0, 9.0};
  const double p[3] = {0.0, 4.0, 0.0};
  rule.accumulate(2, r_prev, x, p);  // step <= eligibility_after: nothing
  rule.accumulate(4, r_prev, x, p);
  CHECK(rule.eligibility(0, 0) == 0.0);
  CHECK(rule.eligibility(1, 0) == doctest::Approx(2.0));
  CHECK(rule.eligibility(1, 1) == doctest::Approx(-1.0));
  CHECK(rule.eligibility(1, 2) == doctest::Approx(4.0));
  CHECK(rule.eligibility(2, 2) == 0.0);
}

TEST_CASE("miconi perturbations: rate, amplitude range and the quiet first steps") {
  MiconiParams p;
  p.perturb_prob = 0.1;
  p.perturb_amplitude = 16.0;
  MiconiRule rule(100, p, 1);
  Rng rng(42);
  std::vector<double> buf(100);
  for (std::int64_t s = 0; s <= 3; ++s) CHECK(rule.draw_perturbation(s, rng, buf.data()) == 0);
  std::uint64_t count = 0;
  double sum = 0.0, max_abs = 0.0;
  const int steps = 10000;
  for (int s = 0; s < steps; ++s) {
    count += rule.draw_perturbation(4 + s, rng, buf.data());
    for (double v : buf) {
      sum += v;
      max_abs = std::max(max_abs, std::abs(v));
    }
  }
  // 1e6 Bernoulli(0.1) draws: mean 1e5, sd 300.
  CHECK(static_cast<double>(count) == doctest::Approx(1e5).epsilon(0.015));
  CHECK(max_abs <= 16.0);
  CHECK(max_abs > 15.9);
  CHECK(std::abs(sum / static_cast<double>(count)) < 0.1);  // U[−16, 16]: mean 0, sd of mean 0.03
}

TEST_CASE("miconi deltax: the blocked trial-end sum equals the per-step outer product") {
  constexpr std::uint32_t n = 7;  // not a multiple of the block sizes
  MiconiParams p;
  MiconiRule rule(n, p, 1);
  rule.begin_trial();
  Rng rng(3);
  std::vector<double> naive(n * n, 0.0), xbar(n, 0.0);
  for (int s = 0; s < 203; ++s) {
    double r[n], x[n], z[n] = {};
    for (auto& v : r) v = rng.uniform(-1, 1);
    for (auto& v : x) v = rng.uniform(-2, 2);
    rule.accumulate(s, r, x, z);
    double a[n];
    for (std::uint32_t i = 0; i < n; ++i) {
      const double dx = x[i] - xbar[i];
      a[i] = dx * dx * dx;
      xbar[i] = 0.05 * xbar[i] + 0.95 * x[i];
    }
    if (s <= 2) continue;
    for (std::uint32_t i = 0; i < n; ++i)
      for (std::uint32_t j = 0; j < n; ++j) naive[i * n + j] += a[i] * (r[j] * r[j] * r[j]);
  }
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t j = 0; j < n; ++j)  // same terms, same order; FMA contraction may differ
      CHECK(rule.eligibility(i, j) == doctest::Approx(naive[i * n + j]).epsilon(1e-13));
}
