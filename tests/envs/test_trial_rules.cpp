// Between-trial learning rules (models/trial_rules.hpp) against neuroblox_models.md §3.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "models/trial_rules.hpp"

using namespace sbx;

TEST_CASE(
    "f(eps) of the dopamine rule matches the spec table (alpha 2.5, theta_m 1) to 4 decimals") {
  const HebbianDopamineRule rule{0.06, 0.01, 2.5, 1.0};
  const std::array<std::pair<double, double>, 11> table = {{{-1.0, 0.0},
                                                            {-0.9, -0.0222},
                                                            {-0.75, -0.0426},
                                                            {-0.5, -0.0433},
                                                            {-0.25, -0.0216},
                                                            {0.0, 0.0},
                                                            {0.25, 0.0126},
                                                            {0.5, 0.0168},
                                                            {0.75, 0.0161},
                                                            {0.9, 0.0145},
                                                            {1.0, 0.0133}}};
  for (auto [eps, f] : table) {
    INFO("eps = " << eps << ", f = " << rule.modulation(eps));
    CHECK(std::fabs(rule.modulation(eps) - f) <= 0.5e-4);
  }
  CHECK(rule.modulation(-1.0) == 0.0);
  CHECK(rule.modulation(0.0) == 0.0);
}

TEST_CASE("reward-prediction error eps = r - (kappa_DA - DA)") {
  CHECK(HebbianDopamineRule::rpe(1.0, 1.0, 1.0) == 1.0);  // correct, unexpected
  CHECK(HebbianDopamineRule::rpe(0.0, 1.0, 1.0) == 0.0);  // error, nothing expected
  CHECK(HebbianDopamineRule::rpe(0.0, 1.0, 0.25) == -0.75);
  CHECK(HebbianDopamineRule::rpe(1.0, 1.0, 0.25) == 0.25);
}

TEST_CASE("dopamine rule: dw = K*pre*post*f - decay*w, closed form for one synapse") {
  const HebbianDopamineRule rule{0.06, 0.01, 2.5, 1.0};
  const double w = 0.1, pre = 40.0, post = 1.0, eps = 1.0;
  const double expected = 0.06 * 40.0 * 1.0 * rule.modulation(1.0) - 0.01 * 0.1;
  CHECK(rule.delta(w, pre, post, eps) == doctest::Approx(expected).epsilon(1e-14));
  CHECK(expected == doctest::Approx(0.0309097).epsilon(1e-5));
  // Loser (post = matrisome H = 0): decay only.
  CHECK(rule.delta(w, pre, 0.0, eps) == doctest::Approx(-0.001).epsilon(1e-14));
}

TEST_CASE("dopamine rule: the max(., -w) floor stops weights at exactly zero") {
  const HebbianDopamineRule rule{0.06, 0.01, 2.5, 1.0};
  // Strong depression: K*pre*post*f(-0.5) = 0.06*100*(-0.0433) = -0.26 ≪ -w.
  std::vector<double> w = {0.05, 0.1, 0.2};
  const std::vector<double> pre = {100.0, 100.0, 100.0}, post = {1.0, 1.0, 1.0};
  CHECK(rule.delta(0.05, 100.0, 1.0, -0.5) == -0.05);
  rule.apply(w, pre, post, -0.5);
  for (double x : w) CHECK(x == 0.0);
  // At w = 0 with depression the weight stays at 0 (never negative).
  rule.apply(w, pre, post, -0.5);
  for (double x : w) CHECK(x == 0.0);
  // A mild depression above the floor is applied as is.
  std::vector<double> w2 = {1.0};
  rule.apply(w2, std::vector<double>{1.0}, std::vector<double>{1.0}, -0.5);
  CHECK(w2[0] == doctest::Approx(1.0 + 0.06 * rule.modulation(-0.5) - 0.01).epsilon(1e-14));
}

TEST_CASE("Hebbian rule: no update on r = 0, bitwise") {
  const HebbianRule rule{5e-4, 7.0};
  std::vector<double> w = {0.3, 3.0, 6.9};
  const auto before = w;
  rule.apply(w, std::vector<double>{50, 60, 70}, std::vector<double>{30, 20, 10}, 0.0);
  CHECK(w == before);
  CHECK(rule.delta(1.0, 10.0, 10.0, 0.0) == 0.0);
}

TEST_CASE(
    "Hebbian rule: converges geometrically to W_lim, (W_lim - w_n) = (1 - a)^n (W_lim - w_0)") {
  const HebbianRule rule{5e-4, 7.0};
  const double pre = 40.0, post = 25.0, a = 5e-4 * pre * post;  // a = 0.5
  std::vector<double> w = {3.0, 0.0, 10.0};  // from below, from 0, from above the limit
  const std::vector<double> w0 = w;
  const std::vector<double> xp = {pre, pre, pre}, xq = {post, post, post};
  for (int n = 1; n <= 30; ++n) {
    rule.apply(w, xp, xq, 1.0);
    for (std::size_t k = 0; k < w.size(); ++k)
      CHECK(7.0 - w[k] == doctest::Approx(std::pow(1.0 - a, n) * (7.0 - w0[k])).epsilon(1e-9));
  }
  for (double x : w) CHECK(std::fabs(x - 7.0) < 1e-8);
  // Monotone approach from below with small K (tutorial K, small counts): never overshoots.
  std::vector<double> v = {0.1};
  double prev = v[0];
  for (int n = 0; n < 200; ++n) {  // (1 - 0.05)^200 = 3.5e-5: still short of W_lim
    rule.apply(v, std::vector<double>{10.0}, std::vector<double>{10.0}, 1.0);
    CHECK(v[0] > prev);
    CHECK(v[0] < 7.0);
    prev = v[0];
  }
}

TEST_CASE("indexed apply (per-cell values + per-synapse indices) equals per-synapse apply") {
  const std::vector<std::uint32_t> pre_idx = {0, 2, 1, 2}, post_idx = {1, 0, 0, 1};
  const std::vector<double> pre_val = {10.0, 20.0, 30.0}, post_val = {0.0, 1.0};
  std::vector<double> xp, xq;
  for (std::size_t k = 0; k < pre_idx.size(); ++k) {
    xp.push_back(pre_val[pre_idx[k]]);
    xq.push_back(post_val[post_idx[k]]);
  }
  const HebbianDopamineRule da{0.06, 0.01, 2.5, 1.0};
  std::vector<double> a = {0.1, 0.05, 0.12, 0.07}, b = a;
  da.apply(a, xp, xq, 0.6);
  da.apply(b, pre_idx, pre_val, post_idx, post_val, 0.6);
  CHECK(a == b);
  const HebbianRule h{5e-4, 7.0};
  std::vector<double> c = {1.0, 2.0, 3.0, 4.0}, d = c;
  h.apply(c, xp, xq, 1.0);
  h.apply(d, pre_idx, pre_val, post_idx, post_val, 1.0);
  CHECK(c == d);
  CHECK_THROWS(h.apply(c, std::vector<double>{1.0}, xq, 1.0));
}
