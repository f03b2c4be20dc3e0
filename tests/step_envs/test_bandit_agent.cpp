// The ACh/NA bandit agent (envs/ach_na_bandit.hpp) against the authors' code line by line
// (seed_systems.md §3.2) and its episodes wiring: per-update permutation of the member rates, the
// running-minimum temperature with the 1e-4 baseline, each arm once first, the "fixed" variant's
// value update, the documented collapse of the authors' "scaled" member rates, and our additions
// (floored member rates, the within-member aleatoric measure, the likelihood-shift detector and the
// change reset) against hand-computed values.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "apps/run_episodes.hpp"
#include "circuits/loader.hpp"
#include "engine/errors.hpp"
#include "envs/ach_na_bandit.hpp"
#include "envs/bandit.hpp"

using namespace sbx;

TEST_CASE("ach_na: member rates are re-permuted at every update, so no member stays frozen") {
  // E = 2: u = {0, 1} in a fresh order at each update. Drawn once, one member would keep rate 0
  // and its initial draw forever: U = (q_frozen - 2)^2 / 4 would stay ~1.
  AchNaParams p;
  p.ensemble = 2;
  p.mask_p = 1.0;
  p.multiplier = 1.0;
  p.fixed_member_rates = true;
  p.ensemble_rate = 0.5;
  Rng rng(3);
  AchNaEnsemble ens(p, 1, rng);
  CHECK(ens.epistemic(0) > 1e-3);  // initial spread q0 = 0.5
  for (int k = 0; k < 60; ++k) ens.update(0, 2.0, rng);
  CHECK(ens.epistemic(0) < 1e-8);
  CHECK(ens.ensemble_mean(0) == doctest::Approx(2.0).epsilon(1e-4));
  // Constant reward: second moment -> 4, mean -> 2, so A = S - mu^2 -> 0.
  CHECK(ens.aleatoric(0) < 1e-6);
}

TEST_CASE("ach_na: NA = na_gain x (T_raw - running minimum), minimum lowered to T_raw - 1e-4") {
  for (double gain : {1.0, 3.0}) {
    AchNaParams p;
    p.na_gain = gain;
    p.t_floor = 1e-12;
    Rng rng(7);
    AchNaEnsemble ens(p, 3, rng);
    ens.update(1, 0.7, rng);
    const double t1 = ens.temperature_raw();
    // The first temperature sets the minimum to t1 - 1e-4 (the authors' BASELINE).
    CHECK(ens.noradrenaline() == doctest::Approx(gain * 1e-4).epsilon(1e-9));
    ens.update(2, -1.3, rng);
    const double t2 = ens.temperature_raw();
    const double m = t1 - 1e-4;
    const double want = t2 < m ? gain * 1e-4 : gain * (t2 - m);
    CHECK(ens.noradrenaline() == doctest::Approx(want).epsilon(1e-9));
    // T_raw = sum_k softmax(v)_k U_k, recomputed here.
    double z = 0, t = 0, mx = -1e300;
    for (std::uint32_t k = 0; k < 3; ++k) mx = std::max(mx, ens.mu(k));
    for (std::uint32_t k = 0; k < 3; ++k) {
      z += std::exp(ens.mu(k) - mx);
      t += std::exp(ens.mu(k) - mx) * ens.epistemic(k);
    }
    CHECK(t2 == doctest::Approx(t / z));
  }
}

TEST_CASE("ach_na: each arm once first (lowest unpulled arm), then n_arms") {
  AchNaParams p;
  Rng rng(1);
  AchNaEnsemble ens(p, 4, rng);
  CHECK(ens.first_unseen() == 0);
  ens.update(2, 1.0, rng);
  CHECK(ens.first_unseen() == 0);
  ens.update(0, 1.0, rng);
  CHECK(ens.first_unseen() == 1);
  ens.update(1, 1.0, rng);
  ens.update(1, 1.0, rng);
  CHECK(ens.first_unseen() == 3);
  ens.update(3, 1.0, rng);
  CHECK(ens.first_unseen() == 4);
}

TEST_CASE("ach_na fixed variant: v += alpha (r - v) with ACh alpha = U/(U+A) before the update") {
  AchNaParams p;
  p.fixed_member_rates = true;
  p.ensemble_rate = 0.6;
  Rng rng(11);
  AchNaEnsemble ens(p, 2, rng);
  CHECK(ens.mu(0) == ens.ensemble_mean(0));  // v starts at the ensemble mean
  double v = ens.mu(0);
  for (double r : {1.5, -0.4, 2.2, 2.0}) {
    const double a = ens.alpha(0);
    CHECK(a == doctest::Approx(ens.epistemic(0) / (ens.epistemic(0) + ens.aleatoric(0))));
    ens.update(0, r, rng);
    v += a * (r - v);
    CHECK(ens.acetylcholine() == a);
    CHECK(ens.mu(0) == doctest::Approx(v).epsilon(1e-12));
  }
  CHECK(ens.mu(1) == ens.ensemble_mean(1));  // untouched arm
}

TEST_CASE("ach_na: the authors' scaled member rates collapse, the fixed variant keeps adapting") {
  // 400 pulls of N(1, 0.5^2), then the arm changes to N(-2, 0.5^2) for 60 pulls. With scaled
  // rates (alpha_e = alpha_k·multiplier·u_e) the ensemble spread shrinks with alpha_k, alpha_k ->
  // 0 is a fixed point and the estimate stays near 1; with fixed rates it follows the change.
  // (Thresholds: what separates the two behaviours, with margin, for these seeds.)
  auto run = [](bool fixed, double& alpha_before, double& mu_after) {
    AchNaParams p;
    p.fixed_member_rates = fixed;
    p.ensemble_rate = 0.6;
    Rng rng(5), env(6);
    AchNaEnsemble ens(p, 1, rng);
    for (int k = 0; k < 400; ++k) ens.update(0, env.normal(1.0, 0.5), rng);
    alpha_before = ens.alpha(0);
    for (int k = 0; k < 60; ++k) ens.update(0, env.normal(-2.0, 0.5), rng);
    mu_after = ens.mu(0);
  };
  double a_scaled = 0, mu_scaled = 0, a_fixed = 0, mu_fixed = 0;
  run(false, a_scaled, mu_scaled);
  run(true, a_fixed, mu_fixed);
  CHECK(a_scaled < 0.02);
  CHECK(mu_scaled > 0.0);  // still near the old mean 1 after 60 pulls at -2
  CHECK(a_fixed > 0.05);
  CHECK(mu_fixed < -1.25);  // over 3/4 of the way from 1 to -2 (measured: -1.51)
}

TEST_CASE("bandit_ach_na.toml: every arm once first, the bias weights are the policy's values") {
  const auto desc = circuits::load_circuit_file(
      std::string(SBX_SOURCE_DIR) + "/circuits_toml/bandit_ach_na.toml",
      {"experiment.bandit_change_every=30", "experiment.bandit_contexts=2"});
  const auto setup = app::episodes_setup(desc);
  CHECK(setup.try_each_action_first);
  app::EpisodeRunner runner(desc, setup);
  std::vector<std::uint32_t> actions;
  std::vector<double> na;
  runner.on_step = [&](std::uint64_t, std::uint32_t a, const StepResult&) {
    actions.push_back(a);
    na.push_back(runner.noradrenaline());
  };
  const auto res = runner.run_episode(0);
  CHECK(res.length == 60);
  REQUIRE(actions.size() == 60);
  for (std::uint32_t k = 0; k < 8; ++k) CHECK(actions[k] == k);
  const auto& w = runner.coupling_weights("bias->motor");
  REQUIRE(w.size() == 8);
  for (std::uint32_t k = 0; k < 8; ++k) CHECK(w[k] == runner.ach_na()->mu(k));
  CHECK(na.back() == runner.ach_na()->noradrenaline());
}

TEST_CASE("ach_na: a member rate above 2 is an error at the rule's key before anything runs") {
  const std::string file = std::string(SBX_SOURCE_DIR) + "/circuits_toml/bandit_ach_na.toml";
  // fixed: ensemble_rate 1.8 x multiplier 1.25 = 2.25; scaled: multiplier 2.5.
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"rules.ach_na.ensemble_rate=1.8"},
           {"rules.ach_na.member_rates=scaled", "rules.ach_na.multiplier=2.5"}}) {
    const auto desc = circuits::load_circuit_file(file, bad);
    bool thrown = false;
    try {
      app::episodes_setup(desc);
    } catch (const UserError& e) {
      thrown = true;
      REQUIRE(e.diagnostics.size() == 1);
      CHECK(e.diagnostics[0].key_path == "rules.ach_na.multiplier");
      CHECK(e.diagnostics[0].message.find("must be <= 2") != std::string::npos);
      // In the file (line of `multiplier = 1.25`) unless the override set it.
      if (bad.size() == 1) CHECK(e.diagnostics[0].line > 0);
    }
    CHECK(thrown);
  }
  // The shipped values are accepted (floored: max(0.05, 1) x 1.25 = 1.25).
  CHECK_NOTHROW(app::episodes_setup(circuits::load_circuit_file(file, {})));
}

TEST_CASE(
    "likelihood shift: past/present + present/past - 2 over windows of m, arithmetic or "
    "geometric") {
  // m = 2, memory 0: past = {0.4, 0.2}, present = {0.1, 0.1} (the newest two).
  LikelihoodShift arith(2, 2, false, false), geo(2, 2, false, true);
  for (double l : {0.4, 0.2, 0.1}) {
    CHECK(arith.push(0, l) == 0.0);  // fewer than 2m = 4 entries
    CHECK(geo.push(0, l) == 0.0);
  }
  // arithmetic: past 0.3, present 0.1 -> 3 + 1/3 - 2.
  CHECK(arith.push(0, 0.1) == doctest::Approx(4.0 / 3.0).epsilon(1e-12));
  // geometric: past sqrt(0.08) = 0.282843, present 0.1 -> 2.828427 + 0.353553 - 2.
  CHECK(geo.push(0, 0.1) == doctest::Approx(1.1819805).epsilon(1e-7));
  // The next push drops 0.4: past {0.2, 0.1}, present {0.1, 0.15}; arithmetic 0.15 / 0.125.
  CHECK(arith.push(0, 0.15) == doctest::Approx(1.2 + 1.0 / 1.2 - 2.0).epsilon(1e-12));
  // Memories are independent; equal windows give 0.
  for (int i = 0; i < 4; ++i) arith.push(1, 0.3);
  CHECK(arith.shift(1) == doctest::Approx(0.0).epsilon(1e-12));
  // clear(): the memory is forgotten and its next m = 2 likelihoods are not recorded.
  arith.clear(0);
  CHECK(arith.push(0, 9.0) == 0.0);
  CHECK(arith.push(0, 9.0) == 0.0);
  for (double l : {0.5, 0.5, 0.5}) CHECK(arith.push(0, l) == 0.0);
  CHECK(arith.push(0, 0.25) == doctest::Approx(0.5 / 0.375 + 0.375 / 0.5 - 2.0).epsilon(1e-12));
  // skip_first: every memory starts as after clear().
  LikelihoodShift skip(1, 1, true, false);
  CHECK(skip.push(0, 1.0) == 0.0);
  CHECK(skip.push(0, 1.0) == 0.0);
  CHECK(skip.push(0, 2.0) == doctest::Approx(0.5 + 2.0 - 2.0));  // the first 1.0 was skipped
}

TEST_CASE("ach_na likelihood: mean over members of N(r, Q_e, clip(S_e - Q_e^2, 1e-3, 100))") {
  // Constant reward 2 with every member updating: Q_e -> 2, S_e -> 4, so every member's noise
  // S_e - Q_e^2 -> 0 is clipped to 1e-3 and l(r) = exp(-(r-2)^2 / 2e-3) / sqrt(2 pi 1e-3).
  AchNaParams p;
  p.ensemble = 5;
  p.mask_p = 1.0;
  p.fixed_member_rates = true;
  p.ensemble_rate = 0.8;
  Rng rng(2);
  AchNaEnsemble ens(p, 1, rng);
  for (int i = 0; i < 400; ++i) ens.update(0, 2.0, rng);
  const double peak = 1.0 / std::sqrt(2.0 * 3.14159265358979323846 * 1e-3);  // 12.6157
  CHECK(ens.likelihood(0, 2.0) == doctest::Approx(peak).epsilon(1e-6));
  CHECK(ens.likelihood(0, 2.1) == doctest::Approx(peak * std::exp(-5.0)).epsilon(1e-5));
}

TEST_CASE("ach_na aleatoric: total = within + U (law of total variance), within alone otherwise") {
  // Same seed, fixed member rates: the members' updates do not depend on the aleatoric measure,
  // so both ensembles hold the same Q, S.
  auto make = [](bool within) {
    AchNaParams p;
    p.fixed_member_rates = true;
    p.ensemble_rate = 0.4;
    p.aleatoric_within = within;
    return p;
  };
  Rng r1(9), r2(9), env(10);
  AchNaEnsemble total(make(false), 1, r1), within(make(true), 1, r2);
  for (int i = 0; i < 30; ++i) {
    const double r = env.normal(0.5, 0.7);
    total.update(0, r, r1);
    within.update(0, r, r2);
  }
  REQUIRE(total.epistemic(0) == within.epistemic(0));
  CHECK(total.epistemic(0) > 0.0);
  CHECK(total.aleatoric(0) ==
        doctest::Approx(within.aleatoric(0) + within.epistemic(0)).epsilon(1e-12));
  CHECK(within.alpha(0) ==
        doctest::Approx(within.epistemic(0) / (within.epistemic(0) + within.aleatoric(0))));
  CHECK(within.alpha(0) > total.alpha(0));
}

TEST_CASE(
    "ach_na member rates with one member: scaled alpha_k, fixed and floored >= ensemble_rate") {
  // E = 1 (u = 1), q0 = 0: Q = 0, S = |N(0, 1)| > 0, so U = 0, A = S > 0 and alpha_k = 0. One
  // update with r = 2 (mask 1, multiplier 1): scaled -> rate alpha_k = 0, Q stays 0; fixed ->
  // rate 0.3, Q = 0.6; floored -> rate max(0, 0.3) = 0.3, Q = 0.6.
  for (int mode = 0; mode < 3; ++mode) {
    AchNaParams p;
    p.ensemble = 1;
    p.q0 = 0.0;
    p.s0 = 1.0;
    p.mask_p = 1.0;
    p.multiplier = 1.0;
    p.fixed_member_rates = mode > 0;
    p.floored_member_rates = mode == 2;
    p.ensemble_rate = 0.3;
    Rng rng(4);
    AchNaEnsemble ens(p, 1, rng);
    REQUIRE(ens.alpha(0) == 0.0);
    ens.update(0, 2.0, rng);
    CHECK(ens.ensemble_mean(0) == doctest::Approx(mode == 0 ? 0.0 : 0.6).epsilon(1e-12));
  }
  // floored with alpha_k = 1 (U + A = 0: Q = S = 0 via q0 = s0 = 0): the rate is max(1, 0.3) = 1.
  AchNaParams p;
  p.ensemble = 1;
  p.q0 = 0.0;
  p.s0 = 0.0;
  p.mask_p = 1.0;
  p.multiplier = 1.0;
  p.fixed_member_rates = p.floored_member_rates = true;
  p.ensemble_rate = 0.3;
  Rng rng(4);
  AchNaEnsemble ens(p, 1, rng);
  REQUIRE(ens.alpha(0) == 1.0);
  ens.update(0, 2.0, rng);
  CHECK(ens.ensemble_mean(0) == doctest::Approx(2.0).epsilon(1e-12));
}

TEST_CASE(
    "ach_na change reset: the global detector fires on a jump, every arm re-spread at the max") {
  // 2 arms, 400 members, fixed rates: 60 pulls of arm 0 at r = 1, then one pull at r = 6. The
  // global memory (m = 2) skips the first 2 pulls; from then on equal likelihoods give shift ~0.
  // The likelihood of 6 under members that agree on 1 (noise clipped at 1e-3) is ~exp(-12500),
  // so the geometric shift explodes and the change is declared at that pull.
  AchNaParams p;
  p.ensemble = 400;
  p.mask_p = 1.0;
  p.fixed_member_rates = true;
  p.ensemble_rate = 0.5;
  p.aleatoric_within = true;
  p.change_reset = AchNaParams::Reset::all;
  p.shift_memory = 2;
  p.shift_threshold = 1.0;
  p.shift_geometric = true;
  p.reset_sd = 1.5;
  p.reset_to_max = true;
  Rng rng(21);
  AchNaEnsemble ens(p, 2, rng);
  for (int i = 0; i < 60; ++i) ens.update(0, 1.0, rng);
  CHECK(ens.resets() == 0);
  CHECK(ens.last_shift() < 1e-6);
  const double v0 = ens.mu(0), v1 = ens.mu(1);
  const double prior = std::max(v0, v1);
  CHECK(v0 == doctest::Approx(1.0).epsilon(1e-3));
  ens.update(0, 6.0, rng);
  CHECK(ens.resets() == 1);
  CHECK(ens.last_shift() > 1e6);
  // Arm 1 was re-spread without being pulled: its value is the prior, its spread ~ reset_sd^2
  // (400 draws: sd of the sample variance ~7%), its noise estimate kept (~0), so alpha ~ 1.
  CHECK(ens.mu(1) == prior);
  CHECK(ens.epistemic(1) == doctest::Approx(2.25).epsilon(0.25));
  CHECK(ens.alpha(1) > 0.99);
  // Arm 0's value restarted at the prior and moved to 6 with the post-reset rate.
  const double a = ens.acetylcholine();
  CHECK(a > 0.99);
  CHECK(ens.mu(0) == doctest::Approx(prior + a * (6.0 - prior)).epsilon(1e-12));
  // The fired memory skips the next 2 likelihoods and needs 4 more: no second reset on relearning.
  for (int i = 0; i < 5; ++i) ens.update(0, 6.0, rng);
  CHECK(ens.resets() == 1);
}

TEST_CASE("ach_na change reset none: no detector, the authors' behaviour") {
  AchNaParams p;
  Rng rng(5);
  AchNaEnsemble ens(p, 1, rng);
  for (int i = 0; i < 50; ++i) ens.update(0, i < 40 ? 1.0 : 8.0, rng);
  CHECK(ens.resets() == 0);
  CHECK(ens.last_shift() == 0.0);
}

TEST_CASE("ach_na: a bad change_reset is an error at its key, listing the allowed values") {
  const std::string file = std::string(SBX_SOURCE_DIR) + "/circuits_toml/bandit_ach_na.toml";
  bool thrown = false;
  try {
    app::episodes_setup(circuits::load_circuit_file(file, {"rules.ach_na.change_reset=sometimes"}));
  } catch (const UserError& e) {
    thrown = true;
    REQUIRE(!e.diagnostics.empty());
    CHECK(e.diagnostics[0].key_path == "rules.ach_na.change_reset");
    CHECK(e.diagnostics[0].message.find("all") != std::string::npos);
  }
  CHECK(thrown);
}
