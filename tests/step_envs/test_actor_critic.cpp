// The spiking TD actor-critic (envs/td_actor_critic.hpp, apps/episodes_actor_critic.hpp,
// circuits_toml/cartpole_spiking.toml): the per-step three-factor rule and the policy
// probabilities by hand, the TD bookkeeping of the runner, learning on CartPole, bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "apps/experiments.hpp"
#include "apps/run_episodes.hpp"
#include "circuits/loader.hpp"
#include "engine/errors.hpp"
#include "engine/learning.hpp"
#include "envs/td_actor_critic.hpp"
#include "tests/step_envs/agent_toml.hpp"

using namespace sbx;
using test::check_diagnostics;

namespace {

std::string spiking_toml() {
  return test::circuit_text("cartpole_spiking.toml");
}

}  // namespace

TEST_CASE("td_three_factor: eligibility traces and the weight update against hand values") {
  std::vector<SynapseSpec> syn;
  for (std::uint32_t i = 0; i < 2; ++i)
    for (std::uint32_t j = 0; j < 2; ++j) syn.push_back({i, j, 0.0, 1});
  SpikeProjection p = build_spike_projection("a->b", 0, 1, 2, 2, 0, syn);
  StepThreeFactorParams prm;
  prm.eta = 0.1;
  prm.w_min = -1.0;
  prm.w_max = 0.6;
  StepThreeFactorRule rule(prm, p.n_synapses());
  const std::vector<std::uint32_t> n1 = {2, 1}, n2 = {0, 3};
  const std::vector<double> f1 = {1.0, -0.25}, f2 = {1.0, 1.0};
  rule.accumulate(p, 0.5, n1, f1);  // e = n·f: (0,0) 2, (0,1) -0.5, (1,0) 1, (1,1) -0.25
  rule.accumulate(p, 0.5, n2, f2);  // e = 0.5 e + n·f
  rule.apply(p, 2.0);               // w = 0.1·2·e, clipped to [-1, 0.6]
  auto w_of = [&](std::uint32_t i, std::uint32_t j) {
    for (std::size_t k = 0; k < p.n_synapses(); ++k)
      if (p.pre_of_syn[k] == i && p.post[k] == j)
        return std::pair{rule.eligibility(k), p.weight[k]};
    return std::pair{0.0, 0.0f};
  };
  CHECK(w_of(0, 0).first == doctest::Approx(1.0));
  CHECK(w_of(0, 1).first == doctest::Approx(-0.25));
  CHECK(w_of(1, 0).first == doctest::Approx(3.5));
  CHECK(w_of(1, 1).first == doctest::Approx(2.875));
  CHECK(w_of(0, 0).second == doctest::Approx(0.2));
  CHECK(w_of(0, 1).second == doctest::Approx(-0.05));
  CHECK(w_of(1, 0).second == doctest::Approx(0.6));  // 0.7 clipped at w_max
  CHECK(w_of(1, 1).second == doctest::Approx(0.575));
  rule.clear();
  CHECK(rule.eligibility(0) == 0.0);
}

TEST_CASE("td_three_factor: the policy probabilities the actor's post factor uses") {
  DecoderParams d;
  std::vector<double> pi(2);
  d.policy = DecoderPolicy::softmax;
  d.temperature = 2.0;
  action_probabilities(d, std::vector<double>{3.0, 1.0}, pi);
  CHECK(pi[0] == doctest::Approx(1.0 / (1.0 + std::exp(-1.0))));
  CHECK(pi[1] == doctest::Approx(1.0 / (1.0 + std::exp(1.0))));
  d.policy = DecoderPolicy::epsilon_greedy;
  d.epsilon = 0.1;
  action_probabilities(d, std::vector<double>{0.0, 5.0}, pi);
  CHECK(pi[0] == doctest::Approx(0.05));
  CHECK(pi[1] == doctest::Approx(0.95));
  d.policy = DecoderPolicy::argmax;
  action_probabilities(d, std::vector<double>{4.0, 4.0}, pi);  // ties -> the lowest action
  CHECK(pi[0] == 1.0);
  CHECK(pi[1] == 0.0);
}

TEST_CASE("cartpole_spiking.toml: one TD error per non-truncated transition, and it learns") {
  const auto desc =
      circuits::load_circuit_string(spiking_toml(), "cartpole_spiking.toml", {"meta.seed=1"});
  const auto setup = app::episodes_setup(desc);
  REQUIRE(setup.actor_critic.edges.size() == 2);
  app::EpisodeRunner runner(desc, setup);
  REQUIRE(runner.actor_critic() != nullptr);
  std::vector<double> ret;
  std::uint64_t expected_deltas = 0;
  for (std::uint64_t e = 0; e < 300; ++e) {
    const app::EpisodeResult r = runner.run_episode(e);
    ret.push_back(r.ret);
    // Every transition gets its delta, except the last one of a truncated episode (V(s_T) is
    // never observed).
    expected_deltas += r.length - (r.truncated ? 1 : 0);
  }
  CHECK(runner.actor_critic()->n_delta() == expected_deltas);
  const double first = std::accumulate(ret.begin(), ret.begin() + 50, 0.0) / 50.0;
  const double last = std::accumulate(ret.end() - 50, ret.end(), 0.0) / 50.0;
  MESSAGE("mean return, episodes 0-49: " << first << ", 250-299: " << last);
  // Untrained (random policy) CartPole lasts ~20 steps; seed 1 reaches ~300 by episode 300.
  CHECK(first < 100.0);
  CHECK(last > 150.0);
  CHECK(last > 3.0 * first);
  // The value of a state the agent survives from is between the failure reward and 0.
  CHECK(runner.actor_critic()->value() > -1.5);
  CHECK(runner.actor_critic()->value() < 0.5);
}

TEST_CASE("cartpole_spiking.toml: a misplaced td_three_factor rule is a positioned error") {
  CHECK(check_diagnostics(spiking_toml()).empty());
  // The policy post factor needs the decoder's motor pools as the target.
  std::string text = spiking_toml();
  test::replace_once(text, "post_factor = \"value\"", "post_factor = \"policy\"");
  const auto d = check_diagnostics(text);
  REQUIRE(d.size() == 1);
  CHECK(d[0].key_path.find(".learning.post_factor") != std::string::npos);
  CHECK(d[0].line > 0);
  CHECK(d[0].message.find("action decoder's source 'motor'") != std::string::npos);
  // The critic reference must name a value_decoder block.
  const auto c = check_diagnostics(spiking_toml(), {"rules.critic.critic=\"choice\""});
  REQUIRE(!c.empty());
  CHECK(c[0].key_path.find("critic") != std::string::npos);
}

TEST_CASE(
    "value_decoder: drives three_factor rules reading its modulator without td_three_factor") {
  // cartpole_spiking.toml with the actor's td_three_factor rule replaced by a plain three_factor
  // STDP rule reading "dopamine" and a static critic edge: the value_decoder is still the critic
  // and publishes its TD error as "dopamine" (it used to do nothing without td_three_factor
  // edges, and the check refused the rule as reading a modulator nothing drives).
  std::string text = spiking_toml();
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"learning = \"actor\"", "learning = \"da\""},
           {"weight = 0.0, learning = \"critic\"", "weight = 0.01"},
           {"[rules.actor]",
            "[rules.da]\ntype = \"three_factor\"\nmodulator = \"dopamine\"\n"
            "w_min = -20.0\nw_max = 20.0\n\n[rules.actor]"}})
    test::replace_once(text, from, to);
  // (the now unused td_three_factor rules only get a note)
  CHECK(check_diagnostics(text).empty());
  const auto desc = circuits::load_circuit_string(text, "agent.toml", {"experiment.n_episodes=5"});
  const auto setup = app::episodes_setup(desc);
  CHECK(setup.actor_critic.edges.empty());
  CHECK(setup.actor_critic.value_block == "value");
  app::EpisodeRunner runner(desc, setup);
  REQUIRE(runner.actor_critic() != nullptr);
  std::uint64_t transitions = 0;
  for (std::uint64_t e = 0; e < 5; ++e) {
    const app::EpisodeResult r = runner.run_episode(e);
    transitions += r.length - (r.truncated ? 1 : 0);
  }
  CHECK(runner.actor_critic()->n_delta() == transitions);
  const auto& mods = runner.built().modulators;
  REQUIRE(mods.count("dopamine") == 1);
  const Tick now = runner.simulator().now();
  CHECK(mods.at("dopamine")->value(now) != 0.0);  // the last TD error, decaying
  const circuits::EdgeBuilt* edge = runner.built().edge("obs->motor");
  REQUIRE(edge != nullptr);
  SpikeProjection& p = runner.simulator().projection(edge->projections.at(0));
  REQUIRE(p.rule != nullptr);
  p.rule->sync_weights(p, now);
  double moved = 0.0;
  for (float w : p.weight) moved += std::abs(w);
  CHECK(moved > 0.0);  // the weights started at 0

  // A second value_decoder would never be read: an error at its table.
  const auto d = check_diagnostics(
      spiking_toml() + "\n[blocks.value2]\ntype = \"value_decoder\"\nsource = \"critic\"\n");
  REQUIRE(d.size() == 1);
  CHECK(d[0].key_path == "blocks.value2");
  CHECK(d[0].line > 0);
  CHECK(d[0].message.find("only one value_decoder") != std::string::npos);
}
