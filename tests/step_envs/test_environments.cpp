// Conformance of the step-based environments (seed_systems.md §1.4/§1.6, §2.1/§2.6, §3.2/§3.4).
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "envs/bandit.hpp"
#include "envs/cartpole.hpp"
#include "envs/lane_keeping.hpp"

namespace {
#include "cartpole_golden.inc"
}

using namespace sbx;

TEST_CASE("cartpole: golden trajectories of Gymnasium's step to 1e-9 over 500 steps") {
  for (const auto& g : kCartPoleGolden) {
    CAPTURE(g.name);
    CartPole::State s{g.initial[0], g.initial[1], g.initial[2], g.initial[3]};
    int first = 0;
    const CartPoleParams p;
    for (int k = 1; k <= 500; ++k) {
      s = CartPole::dynamics(p, s, g.actions[k - 1] == '1' ? 1u : 0u);
      const bool term =
          s[0] < -2.4 || s[0] > 2.4 || s[2] < -p.theta_threshold || s[2] > p.theta_threshold;
      if (term && first == 0) first = k;
      if (k % 50 == 0)
        for (int i = 0; i < 4; ++i)
          CHECK(std::abs(s[i] - g.states[k / 50 - 1][i]) <=
                1e-9 * std::max(1.0, std::abs(g.states[k / 50 - 1][i])));
    }
    CHECK(first == g.first_terminated);
  }
}

TEST_CASE("cartpole: act() terminates on the golden step with reward +1, float32 observations") {
  for (const auto& g : kCartPoleGolden) {
    CAPTURE(g.name);
    CartPole env;
    env.reset(7);
    env.set_state({g.initial[0], g.initial[1], g.initial[2], g.initial[3]});
    double ret = 0.0;
    StepResult r;
    int k = 0;
    do {
      r = env.act(g.actions[k] == '1' ? 1u : 0u);
      ++k;
      ret += r.reward;
      for (int i = 0; i < 4; ++i)
        CHECK(env.observe()[i] == static_cast<double>(static_cast<float>(env.state()[i])));
    } while (!r.done());
    CHECK(r.reward == 1.0);
    if (g.first_terminated > 0) {
      CHECK(k == g.first_terminated);
      CHECK(r.terminated);
      CHECK_FALSE(r.truncated);
    } else {
      CHECK(k == 500);  // the controlled sequences balance: truncated at the v1 limit
      CHECK(r.truncated);
      CHECK_FALSE(r.terminated);
    }
    CHECK(ret == doctest::Approx(k));
    CHECK_THROWS_AS(env.act(0), std::logic_error);
  }
}

TEST_CASE("cartpole: termination thresholds are strict and the limit is 12 degrees") {
  const CartPoleParams p;
  CHECK(p.theta_threshold == doctest::Approx(0.2094395).epsilon(1e-7));
  CartPole env;
  env.reset(1);
  // x exactly at 2.4 after the step: not terminated (strict); just beyond: terminated.
  CartPole::State s{2.4 - 0.02 * 1.0, 1.0, 0.0, 0.0};
  env.set_state(s);
  const auto next = CartPole::dynamics(p, s, 1);
  const StepResult r = env.act(1);
  CHECK(r.terminated == (next[0] > 2.4));
  env.reset();
  env.set_state({2.41, 0.0, 0.0, 0.0});
  CHECK(env.act(1).terminated);
  env.reset();
  env.set_state({0.0, 0.0, -0.21, 0.0});
  CHECK(env.act(0).terminated);
}

TEST_CASE("cartpole: reset draws U(-0.05, 0.05) from the seeded stream, reproducibly") {
  CartPole a, b;
  a.reset(42);
  b.reset(42);
  CHECK(a.state() == b.state());
  b.reset(43);
  CHECK(a.state() != b.state());
  double lo = 1, hi = -1;
  for (int e = 0; e < 200; ++e) {
    a.reset();
    for (double v : a.state()) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  CHECK(lo >= -0.05);
  CHECK(hi < 0.05);
  CHECK(lo < -0.045);
  CHECK(hi > 0.045);
}

TEST_CASE("cartpole: sutton_barto_reward gives 0 per step and -1 on termination") {
  CartPoleParams p;
  p.sutton_barto_reward = true;
  CartPole env(p);
  env.reset(3);
  StepResult r;
  double ret = 0;
  do {
    r = env.act(0);
    ret += r.reward;
  } while (!r.done());
  CHECK(r.terminated);
  CHECK(ret == -1.0);
}

TEST_CASE("lane keeping: sensors, position update and the strict crash predicate") {
  const auto s = LaneKeeping::sensors(0.6);
  const double expect[5] = {0.0, 0.4, 0.6, 0.5, 0.6};
  for (int i = 0; i < 5; ++i) CHECK(s[i] == doctest::Approx(expect[i]).epsilon(1e-12));
  const auto c = LaneKeeping::sensors(0.0);
  CHECK(c[0] == 0.0);
  CHECK(c[1] == 1.0);
  CHECK(c[2] == 0.0);
  const auto l = LaneKeeping::sensors(-0.5);
  CHECK(l[0] == doctest::Approx(0.5));
  CHECK(l[4] == doctest::Approx(0.5));
  CHECK_FALSE(LaneKeeping::crashed(1.0));
  CHECK_FALSE(LaneKeeping::crashed(-1.0));
  CHECK(LaneKeeping::crashed(1.0000001));
  CHECK(LaneKeeping::crashed(-1.0000001));

  LaneKeeping env;
  env.reset(1);
  CHECK(env.position() == 0.0);
  env.act(2);  // right
  CHECK(env.position() == doctest::Approx(0.1));
  env.act(1);  // straight
  CHECK(env.position() == doctest::Approx(0.1));
  env.act(0);
  env.act(0);
  CHECK(env.position() == doctest::Approx(-0.1));
  // Steering left from the centre: x = -1.0 after 10 steps is not a crash, the 11th crashes.
  env.reset();
  StepResult r;
  for (int k = 0; k < 10; ++k) r = env.act(0);
  CHECK_FALSE(r.terminated);
  r = env.act(0);
  CHECK(r.terminated);
  CHECK(env.steps() == 11);
  CHECK(r.reward == -50.0);
}

TEST_CASE("lane keeping: shaped reward values at (x, a, a_prev) points") {
  const auto R = [](double x, int a, int ap) {
    return LaneKeeping::step_reward(LaneReward::shaped, x, a, ap);
  };
  CHECK(R(0.0, 0, 0) == doctest::Approx(3.02));
  CHECK(R(0.6, 0, 0) == doctest::Approx(1 + 2 * 0.4 + 0.02 - 0.5));
  CHECK(R(-0.8, 1, -1) == doctest::Approx(1 + 2 * 0.2 + 0.02 - 0.2 - 0.05 - 2.0));
  CHECK(R(0.5, 1, 1) == doctest::Approx(1 + 2 * 0.5 + 0.02 - 0.05));  // 0.5 is not > 0.5
  CHECK(R(0.7, -1, 0) == doctest::Approx(1 + 2 * 0.3 + 0.02 - 0.1 - 0.05 - 0.5));
  CHECK(R(1.1, 0, 0) == -50.0);
  // 100 centred straight steps = the 302 ceiling.
  LaneKeeping env;
  env.reset(5);
  double ret = 0;
  StepResult r;
  do {
    r = env.act(1);
    ret += r.reward;
  } while (!r.done());
  CHECK(r.truncated);
  CHECK(env.steps() == 100);
  CHECK(ret == doctest::Approx(302.0));
}

TEST_CASE("lane keeping: original reward values") {
  const auto R = [](double x, int a, int ap) {
    return LaneKeeping::step_reward(LaneReward::original, x, a, ap);
  };
  CHECK(R(0.0, 0, 0) == doctest::Approx(0.51));
  CHECK(R(0.4, 1, -1) == doctest::Approx(0.5 * 0.6 + 0.01 - 0.1));
  CHECK(R(-1.2, 0, 0) == -1000.0);
}

TEST_CASE("lane keeping: curriculum start distributions and phase advance") {
  LaneKeepingParams p;
  LaneKeeping env(p);
  env.reset(11);
  double lo[5] = {9, 9, 9, 9, 9}, hi[5] = {-9, -9, -9, -9, -9};
  for (int ph = 1; ph <= 4; ++ph) {
    env.set_phase(ph);
    for (int e = 0; e < 300; ++e) {
      env.reset();
      lo[ph] = std::min(lo[ph], env.position());
      hi[ph] = std::max(hi[ph], env.position());
    }
  }
  CHECK(lo[1] == 0.0);
  CHECK(hi[1] == 0.0);
  CHECK(lo[2] >= -0.1);
  CHECK(hi[2] <= 0.1);
  CHECK(hi[2] > 0.09);
  CHECK(lo[3] < -0.45);
  CHECK(hi[3] <= 0.5);
  CHECK(lo[4] < -0.9);
  CHECK(hi[4] > 0.9);

  LaneCurriculum cur;
  CHECK(cur.phase() == 1);
  for (int e = 0; e < 19; ++e) CHECK_FALSE(cur.end_episode(100.0));
  CHECK(cur.end_episode(100.0));  // 20 returns with mean 100 > 50
  CHECK(cur.phase() == 2);
  for (int e = 0; e < 20; ++e) cur.end_episode(30.0);  // mean 30 is not > 30
  CHECK(cur.phase() == 2);
  for (int e = 0; e < 20; ++e) cur.end_episode(31.0);
  CHECK(cur.phase() == 3);
  for (int e = 0; e < 20; ++e) cur.end_episode(41.0);
  CHECK(cur.phase() == 4);
  for (int e = 0; e < 40; ++e) cur.end_episode(300.0);
  CHECK(cur.phase() == 4);
}

TEST_CASE("bandit: 8 Gaussian arms, redrawn every 400 steps, 8 contexts, seeded") {
  NonStationaryBandit env;
  CHECK(env.n_actions() == 8);
  CHECK(env.observation_size() == 1);
  env.reset(321);
  std::vector<std::vector<double>> mus;
  mus.push_back(env.means());
  StepResult r;
  std::uint32_t changes = 0;
  std::uint32_t prev_ctx = 0;
  while (!env.done()) {
    const auto before = env.means();
    r = env.act(env.steps() % 8);
    if (env.context() != prev_ctx) {
      CHECK(env.steps() % 400 == 0);
      CHECK(env.means() != before);
      ++changes;
      prev_ctx = env.context();
      mus.push_back(env.means());
    } else if (!env.done()) {
      CHECK(env.means() == before);
    }
  }
  CHECK(r.truncated);
  CHECK_FALSE(r.terminated);
  CHECK(env.steps() == 3200);
  CHECK(changes == 7);
  for (const auto& m : mus)
    for (double v : m) {
      CHECK(v >= -3.0);
      CHECK(v < 3.0);
    }
  for (double s : env.sds()) {
    CHECK(s >= 0.001);
    CHECK(s < 1.0);
  }
  NonStationaryBandit again;
  again.reset(321);
  CHECK(again.means() == mus[0]);
}

TEST_CASE("bandit: reward statistics and regret of the chosen arm") {
  BanditParams p;
  p.change_every = 20000;
  p.n_contexts = 1;
  NonStationaryBandit env(p);
  env.reset(9);
  const std::uint32_t arm = 3;
  double sum = 0, sq = 0;
  const int n = 20000;
  for (int k = 0; k < n; ++k) {
    const double r = env.act(arm).reward;
    sum += r;
    sq += r * r;
    CHECK(env.last_regret() == doctest::Approx(env.means()[env.best_arm()] - env.means()[arm]));
  }
  const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  CHECK(std::abs(mean - env.means()[arm]) < 5 * env.sds()[arm] / std::sqrt(n) + 1e-12);
  CHECK(sd == doctest::Approx(env.sds()[arm]).epsilon(0.05));
}

TEST_CASE("bandit: observe_context gives a one-hot context") {
  BanditParams p;
  p.observe_context = true;
  p.change_every = 3;
  p.n_contexts = 4;
  NonStationaryBandit env(p);
  env.reset(2);
  CHECK(env.observation_size() == 4);
  for (int k = 0; k < 7; ++k) env.act(0);
  CHECK(env.context() == 2);
  const auto o = env.observe();
  CHECK(o[2] == 1.0);
  CHECK(o[0] + o[1] + o[3] == 0.0);
}
