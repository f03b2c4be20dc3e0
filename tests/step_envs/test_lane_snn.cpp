// The Neuro-Encoder lane-keeping SNN (seed_systems.md §2.2-2.3): the lif_euler neuron, the
// eligibility_dopamine rule's eligibility and pathway readout against hand-computed values, and
// short runs of circuits_toml/lane_keeping_snn*.toml checking the structural facts of §2.3.
#include <doctest/doctest.h>

#include <cmath>

#include "apps/experiments.hpp"
#include "apps/run_episodes.hpp"
#include "circuits/loader.hpp"
#include "engine/errors.hpp"
#include "envs/eligibility_dopamine.hpp"
#include "models/lif_euler.hpp"
#include "tests/step_envs/agent_toml.hpp"

using namespace sbx;

namespace {

std::string lane_toml(const char* name = "lane_keeping_snn.toml") {
  return test::circuit_text(name);
}

}  // namespace

TEST_CASE("lif_euler: one Euler step, threshold, reset and the spike weight as a 1-step current") {
  LifEulerParams p;
  p.noise_sd = 0.0;
  LifEulerPopulation pop(2, p, Rng(1));
  StepContext ctx{0, 1, 0.0, 1.0};
  std::vector<std::uint32_t> spiked;
  pop.receptor_buffer(0)[1] = 30.0;  // I = 0.08 + 30 for one step
  pop.step(ctx, spiked);
  CHECK(pop.state("V")[0] == doctest::Approx(0.08 / 20.0).epsilon(1e-15));
  CHECK(pop.state("V")[1] == doctest::Approx(30.08 / 20.0 > 1.0 ? 0.0 : 30.08 / 20.0));
  REQUIRE(spiked.size() == 1);  // 30.08/20 = 1.504 >= 1 -> spike, reset to 0
  CHECK(spiked[0] == 1);
  spiked.clear();
  pop.step(ctx, spiked);  // the weight acted for one step only
  CHECK(pop.state("V")[1] == doctest::Approx(0.004));
  CHECK(pop.state("V")[0] == doctest::Approx(0.004 + (0.08 - 0.004) / 20.0));
  // Ten steps of bias alone from 0 (the original's window): V = 0.08(1 - 0.95^10) = 0.0321.
  LifEulerPopulation q(1, p, Rng(1));
  for (int k = 0; k < 10; ++k) q.step(ctx, spiked);
  CHECK(q.state("V")[0] == doctest::Approx(0.08 * (1.0 - std::pow(0.95, 10))));
}

TEST_CASE("eligibility: episode-level E against a hand computation") {
  // Rows (network neurons spiking per step): t0 {0}, t1 {1}, t2 {0, 1}; lookback 20, tau 20,
  // decay 0.95. Increments: t1: e^(-1/20)·outer(x0, x1) -> E[0][1]; t2: d=1 outer(row1, row2)
  // -> E[1][0], E[1][1]; d=2 outer(row0, row2) -> e^(-2/20) E[0][0], E[0][1].
  const std::vector<std::vector<std::uint32_t>> rows = {{0}, {1}, {0, 1}};
  std::vector<double> e(4, 0.0);  // n_net = 2, n_cols = 2
  accumulate_eligibility(rows, 2, 2, 20, 20.0, 0.95, e);
  const double k1 = std::exp(-1.0 / 20.0), k2 = std::exp(-2.0 / 20.0);
  CHECK(e[0 * 2 + 0] == doctest::Approx(0.95 * k2));
  CHECK(e[0 * 2 + 1] == doctest::Approx(0.95 * 0.95 * k1 + 0.95 * k2));
  CHECK(e[1 * 2 + 0] == doctest::Approx(0.95 * k1));
  CHECK(e[1 * 2 + 1] == doctest::Approx(0.95 * k1));
  // Look-back 1 drops the d = 2 pairs.
  std::vector<double> f(4, 0.0);
  accumulate_eligibility(rows, 2, 2, 1, 20.0, 0.95, f);
  CHECK(f[0] == 0.0);
  CHECK(f[1] == doctest::Approx(0.95 * 0.95 * k1));
}

TEST_CASE("eligibility_dopamine: pathway readout, ties to action 0, the update and the clip") {
  // 2 sensors -> 6 network neurons (3 pools of 2), all-to-all, w[i, j] = 0.01·(i + 1)·(j + 1).
  std::vector<SynapseSpec> syn;
  for (std::uint32_t j = 0; j < 2; ++j)
    for (std::uint32_t i = 0; i < 6; ++i) syn.push_back({j, i, 0.01 * (i + 1) * (j + 1), 0});
  SpikeProjection proj = build_spike_projection("s->n", 0, 1, 2, 6, 0, syn);
  EligibilityDopamineParams p;
  p.variant = EligVariant::action_tagged;
  p.lr = 0.1;
  p.decay = 0.5;
  p.w_max = 0.05;
  EligibilityDopamineAgent ag(p, proj, 0, 1, 2, 6, 2, 1, 10);
  std::vector<double> q(3, -1.0);
  ag.begin_episode();
  ag.begin_step(100);
  ag.pathway(q);
  CHECK(q == std::vector<double>{0.0, 0.0, 0.0});  // no spikes: all-zero, argmax -> 0 (left)
  const std::uint32_t s0[] = {0}, s1[] = {1};
  ag.on_spikes(0, s0, 101);  // sub-step 0: counts
  ag.on_spikes(0, s1, 103);  // sub-step 2: counts
  ag.on_spikes(0, s1, 110);  // sub-step 9: drives nothing (window over)
  ag.pathway(q);
  // drive_i = 0.01(i+1)·1 + 0.02(i+1)·1 = 0.03(i+1); pool means /10 sub-steps.
  CHECK(q[0] == doctest::Approx((0.03 + 0.06) / 2 / 10));
  CHECK(q[2] == doctest::Approx((0.15 + 0.18) / 2 / 10));
  // Reward 1 with baseline 0: DA = 1, e_ij = c_j for i in pool 2 -> w += 0.1·1, clipped at 0.05.
  ag.end_step(2, 1.0);
  CHECK(ag.baseline() == doctest::Approx(0.1));
  for (std::size_t s = 0; s < proj.n_synapses(); ++s) {
    const double w0 = 0.01 * (proj.post[s] + 1) * (proj.pre_of_syn[s] + 1);
    if (proj.post[s] >= 4)
      CHECK(proj.weight[s] == doctest::Approx(0.05));
    else
      CHECK(proj.weight[s] == doctest::Approx(std::min(w0, 0.05)).epsilon(1e-6));
  }
}

TEST_CASE("lane_keeping_snn (faithful): the network never fires, negatives clipped, 5x5 block") {
  const auto d =
      circuits::load_circuit_string(lane_toml(), "lane.toml", {"experiment.n_episodes=30"});
  const auto s = app::episodes_setup(d);
  app::EpisodeRunner r(d, s);
  auto& w = r.simulator().projection(r.built().edge("sensors->net")->projections[0]).weight;
  const std::vector<float> w0 = w;
  std::size_t negative = 0;
  for (float x : w0) negative += x < 0 ? 1 : 0;
  // 5·99 weights, 20 % negated.
  CHECK(negative > 60);
  CHECK(negative < 140);
  r.run_episode(0);
  const auto& proj = r.simulator().projection(r.built().edge("sensors->net")->projections[0]);
  for (std::size_t k = 0; k < w.size(); ++k) {
    CHECK(w[k] >= 0.0f);
    // Only the sensors spike, so only post neurons 0..4 (the sensors' own rows) change.
    if (proj.post[k] >= 5) CHECK(w[k] == std::max(0.0f, w0[k]));
  }
  for (std::uint64_t e = 1; e < 30; ++e) r.run_episode(e);
  CHECK(r.source_spikes() == 0);
  // Test mode freezes the weights.
  const std::vector<float> before = w;
  r.set_test_mode(true, 0.1, 3);
  r.run_episode(30);
  CHECK(w == before);
}

TEST_CASE("lane_keeping_snn (faithful): seed 1 collapses into steer-left, crash at step 11") {
  const auto d =
      circuits::load_circuit_string(lane_toml(), "lane.toml", {"experiment.n_episodes=150"});
  const auto s = app::episodes_setup(d);
  app::EpisodeRunner r(d, s);
  double best = -1e9;
  app::EpisodeResult last;
  for (std::uint64_t e = 0; e < 150; ++e) {
    last = r.run_episode(e);
    best = std::max(best, last.ret);
  }
  // Ten left steps then x = -1.1: 10 shaped rewards + (-50); the port's figure is -38.4.
  CHECK(last.length == 11);
  CHECK(last.terminated);
  CHECK(last.ret == doctest::Approx(-38.4));
  CHECK(best > 100.0);
  CHECK(best <= 302.0);
}

TEST_CASE("eligibility_dopamine: an edge not from the spike encoder is a positioned error") {
  std::string text = lane_toml();
  test::replace_once(text, "{ from = \"net\", to = \"net\", weight",
                     "{ from = \"net\", to = \"net\", learning = \"da\", weight");
  const std::vector<Diagnostic> diags = test::check_diagnostics(text, {}, "lane.toml");
  REQUIRE(!diags.empty());
  bool found = false;
  for (const auto& g : diags)
    found =
        found || (g.key_path == "connections[1].learning" &&
                  g.message.find("must go from the spike_encoder 'sensors'") != std::string::npos &&
                  g.line > 0);
  CHECK(found);
}
