// Encoders, decoders and the td_dopamine rule of the episodes experiment.
#include <doctest/doctest.h>

#include <cmath>

#include "envs/ach_na_bandit.hpp"
#include "envs/step_coding.hpp"
#include "envs/td_dopamine.hpp"

using namespace sbx;

TEST_CASE("encoders: direct, signed and population coding values") {
  const std::vector<double> o = {0.5, -2.0};
  ObsCodingParams p;
  p.gain = 2.0;
  p.scale = {1.0, 4.0};
  std::vector<double> u(2);
  encode_observation(p, o, u);
  CHECK(u[0] == 1.0);
  CHECK(u[1] == -1.0);

  p.coding = ObsCoding::signed_pair;
  u.assign(4, -1.0);
  encode_observation(p, o, u);
  CHECK(u == std::vector<double>{1.0, 0.0, 0.0, 1.0});

  ObsCodingParams q;
  q.coding = ObsCoding::population;
  q.low = {-1.0, 0.0};
  q.high = {1.0, 2.0};
  q.width = 0.5;  // sigma = 0.5 * spacing(1.0)
  std::vector<double> v(6);
  encode_observation(q, std::vector<double>{0.0, 2.0}, v);
  // Component 0: centres -1, 0, 1; o = 0 sits on the middle centre, 2 sigma from the others.
  CHECK(v[1] == doctest::Approx(1.0));
  CHECK(v[0] == doctest::Approx(std::exp(-2.0)));
  CHECK(v[2] == doctest::Approx(std::exp(-2.0)));
  // Component 1: centres 0, 1, 2; o = 2 on the last.
  CHECK(v[5] == doctest::Approx(1.0));
  CHECK(v[4] == doctest::Approx(std::exp(-2.0)));
  CHECK(v[3] == doctest::Approx(std::exp(-8.0)));
  CHECK(coded_size(ObsCoding::population, 2, 3) == 6);
}

TEST_CASE("spike encoder: Bernoulli rate per step matches clip(u, 0, 1)·rate_max") {
  ObsCodingParams p;
  SpikeEncoder enc(3, p, 200.0, Rng(5));
  enc.set_observation(std::vector<double>{0.5, 1.7, -0.3});
  StepContext ctx;
  ctx.dt_ms = 1.0;
  std::vector<std::uint32_t> spiked;
  std::vector<int> count(3, 0);
  const int steps = 100000;
  for (int k = 0; k < steps; ++k) {
    spiked.clear();
    enc.step(ctx, spiked);
    for (auto i : spiked) ++count[i];
  }
  // p = 0.1 and 0.2 per step; sd of the count ~ sqrt(n p (1-p)) <= 127.
  CHECK(std::abs(count[0] - 10000) < 5 * 95);
  CHECK(std::abs(count[1] - 20000) < 5 * 127);
  CHECK(count[2] == 0);
}

TEST_CASE("decoders: argmax ties go to the lowest action, epsilon-greedy and softmax frequencies") {
  Rng rng(1);
  DecoderParams d;
  CHECK(choose_action(d, std::vector<double>{1.0, 1.0, 0.5}, rng) == 0);
  CHECK(choose_action(d, std::vector<double>{0.0, 0.0}, rng) == 0);
  CHECK(choose_action(d, std::vector<double>{-1.0, 2.0, 2.0}, rng) == 1);

  d.policy = DecoderPolicy::epsilon_greedy;
  d.epsilon = 0.2;
  int other = 0;
  const int n = 100000;
  for (int k = 0; k < n; ++k) other += choose_action(d, std::vector<double>{0.0, 1.0}, rng) == 0;
  // P(action 0) = epsilon / 2 = 0.1.
  CHECK(std::abs(other - n / 10) < 5 * 95);

  d.policy = DecoderPolicy::softmax;
  d.temperature = 0.5;
  std::vector<int> c(3, 0);
  const std::vector<double> q = {0.0, 0.5, 1.0};
  for (int k = 0; k < n; ++k) ++c[choose_action(d, q, rng)];
  double z = 0;
  for (double v : q) z += std::exp(v / 0.5);
  for (int a = 0; a < 3; ++a) {
    const double p = std::exp(q[a] / 0.5) / z;
    CHECK(std::abs(c[a] - n * p) < 5 * std::sqrt(n * p * (1 - p)));
  }
}

TEST_CASE("td_dopamine: one update by hand (the original's value term, clipping)") {
  // W[i,a] stored as synapses pre i -> post a (pool size 1).
  ContinuousProjection c;
  const double W[4][2] = {{0.1, 0.2}, {0.3, -0.4}, {0.05, 0.0}, {4.99, 0.6}};
  for (std::uint32_t i = 0; i < 4; ++i)
    for (std::uint32_t a = 0; a < 2; ++a) {
      c.pre.push_back(i);
      c.post.push_back(a);
      c.weight.push_back(W[i][a]);
    }
  TdDopamineRule rule(TdDopamineParams{}, 2, 1);
  const std::vector<double> s = {0.5, -1.0, 0.2, 2.0}, s2 = {1.0, 0.0, -1.0, 0.5};
  // Q(s', b) = sum_i s'_i W[i,b]: b=0: 0.1 - 0.05 + 2.495 = 2.545; b=1: 0.2 - 0 + 0.3 = 0.5.
  const double target = 1.0 + 0.99 * 2.545;
  // current for a = 0: weights over s_i > 0 (i = 0, 2, 3): 0.1 + 0.05 + 4.99.
  const double delta = target - (0.1 + 0.05 + 4.99);
  const double got = rule.update(c, s, 0, 1.0, s2, false, false);
  CHECK(got == doctest::Approx(delta).epsilon(1e-14));
  for (std::uint32_t i = 0; i < 4; ++i) {
    const double expect0 = std::clamp(W[i][0] + 0.02 * delta * s[i], -5.0, 5.0);
    CHECK(c.weight[2 * i] == doctest::Approx(expect0).epsilon(1e-14));
    CHECK(c.weight[2 * i + 1] == W[i][1]);  // the other action's column is untouched
  }
  // Termination before the limit replaces r by -10; the terminal state is still bootstrapped.
  const auto before = c.weight;
  const double d2 = rule.update(c, s, 1, 1.0, s2, true, false);
  double q0 = 0, q1 = 0;
  for (std::uint32_t i = 0; i < 4; ++i) {
    q0 += s2[i] * before[2 * i];
    q1 += s2[i] * before[2 * i + 1];
  }
  double cur = 0;
  for (std::uint32_t i = 0; i < 4; ++i)
    if (s[i] > 0) cur += before[2 * i + 1];
  CHECK(d2 == doctest::Approx(-10.0 + 0.99 * std::max(q0, q1) - cur).epsilon(1e-14));
  // Truncated at the limit keeps r.
  TdDopamineParams lin;
  lin.value = TdValueTerm::linear;
  lin.bootstrap_terminal = false;
  TdDopamineRule r2(lin, 2, 1);
  const auto w2 = c.weight;
  double qa = 0;
  for (std::uint32_t i = 0; i < 4; ++i) qa += s[i] * w2[2 * i];
  CHECK(r2.update(c, s, 0, 1.0, s2, true, true) == doctest::Approx(1.0 - qa).epsilon(1e-14));
}

TEST_CASE("sleep pruning: |w| below the threshold becomes 0 after episodes 100, 200, ...") {
  std::vector<double> w = {0.04, -0.049, 0.05, -0.2, 0.0};
  CHECK(sleep_prune(w, 0.05) == 2);
  CHECK(w == std::vector<double>{0.0, 0.0, 0.05, -0.2, 0.0});
  std::vector<float> f = {0.01f, 1.0f};
  CHECK(sleep_prune(f, 0.05) == 1);
  CHECK_FALSE(sleep_due(0, 100));
  CHECK_FALSE(sleep_due(99, 100));
  CHECK(sleep_due(100, 100));
  CHECK(sleep_due(500, 100));
  CHECK_FALSE(sleep_due(100, 0));
}

TEST_CASE("ach_na ensemble: mean, aleatoric A, epistemic U, ACh = U/(U+A), NA from U") {
  AchNaParams p;
  p.ensemble = 4;
  p.mask_p = 1.0;  // every member updates: the update is deterministic given the permutation
  Rng rng(3);
  AchNaEnsemble ens(p, 2, rng);
  const double a0 = ens.alpha(0);
  CHECK(a0 == doctest::Approx(ens.epistemic(0) / (ens.epistemic(0) + ens.aleatoric(0))));
  // Repeated identical rewards pull every member towards r at its own rate: the mean moves
  // towards r, and for r = 2 the noise estimate S - mu^2 stays >= 0 and clipped to [0, 100].
  const double before = std::abs(ens.mu(0) - 2.0);
  for (int k = 0; k < 5; ++k) ens.update(0, 2.0, rng);
  CHECK(std::abs(ens.mu(0) - 2.0) < before);
  CHECK(ens.aleatoric(0) >= 0.0);
  CHECK(ens.aleatoric(0) <= 100.0);
  CHECK(ens.alpha(0) == doctest::Approx(ens.epistemic(0) / (ens.epistemic(0) + ens.aleatoric(0))));
  CHECK(ens.acetylcholine() >= 0.0);
  CHECK(ens.acetylcholine() <= 1.0);
  CHECK(ens.noradrenaline() >= p.t_floor);
  // Arm 1 untouched: its estimates are the initial draws.
  CHECK(ens.epistemic(1) > 0.0);
}
