// The episodes experiment: bad input caught before anything runs, the faithful CartPole agent
// against an independent re-implementation of brain_rl.py, a spiking pipeline, /episodes rows.
#include <doctest/doctest.h>

#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "apps/experiments.hpp"
#include "apps/run_episodes.hpp"
#include "circuits/loader.hpp"
#include "engine/errors.hpp"
#include "engine/learning.hpp"
#include "engine/simulator.hpp"
#include "envs/cartpole.hpp"
#include "tests/step_envs/agent_toml.hpp"

using namespace sbx;
using test::check_diagnostics;

namespace {

std::string cartpole_toml() {
  return test::circuit_text("cartpole_dopamine.toml");
}

}  // namespace

TEST_CASE("episodes: an encoder whose size does not match the observation is a positioned error") {
  std::string text = cartpole_toml();
  test::replace_once(text, "n = 4\ncoding", "n = 5\ncoding");
  const auto d = check_diagnostics(text);
  REQUIRE(d.size() == 1);
  CHECK(d[0].key_path == "blocks.obs.n");
  CHECK(d[0].line > 0);
  CHECK(d[0].message.find("observes 4 values (x, x_dot, theta, theta_dot)") != std::string::npos);
  CHECK(d[0].message.find("needs n = 4") != std::string::npos);
  // Signed coding needs twice the observation size.
  const auto s = check_diagnostics(cartpole_toml(), {"blocks.obs.coding=\"signed\""});
  REQUIRE(s.size() == 1);
  CHECK(s[0].message.find("needs n = 2 x 4 = 8") != std::string::npos);
  // Population ranges must have one entry per component.
  const auto p = check_diagnostics(
      cartpole_toml(), {"blocks.obs.n=8", "blocks.obs.coding=\"population\"",
                        "blocks.obs.low=[-1.0, -1.0]", "blocks.obs.high=[1.0, 1.0, 1.0, 1.0]"});
  REQUIRE(p.size() == 1);
  CHECK(p[0].key_path == "blocks.obs.low");
}

TEST_CASE("episodes: a decoder with the wrong number of actions is a positioned error") {
  std::string text = cartpole_toml();
  test::replace_once(text, "n_actions = 2", "n_actions = 3");
  const auto d = check_diagnostics(text);
  REQUIRE(d.size() >= 1);
  CHECK(d[0].key_path == "blocks.choice.n_actions");
  CHECK(d[0].line > 0);
  CHECK(d[0].message.find("environment 'cartpole' has 2 actions") != std::string::npos);
  // Lane keeping has 3 actions: the 2-action decoder is wrong there (and the encoder too).
  const auto l = check_diagnostics(cartpole_toml(), {"experiment.env=\"lane_keeping\""});
  REQUIRE(l.size() == 2);
  CHECK(l[0].key_path == "blocks.obs.n");
  CHECK(l[1].key_path == "blocks.choice.n_actions");
  // Pools: a motor block of 3 units cannot be split into 2 pools.
  const auto m = check_diagnostics(cartpole_toml(), {"blocks.motor.n=3"});
  REQUIRE(m.size() == 1);
  CHECK(m[0].key_path == "blocks.choice.source");
  // No run file is created by a failing check (the CLI checks before opening the file).
  CHECK(check_diagnostics(cartpole_toml()).empty());
}

TEST_CASE("cartpole_dopamine.toml equals an independent re-implementation of brain_rl.py") {
  const auto desc = circuits::load_circuit_string(cartpole_toml(), "cartpole_dopamine.toml", {});
  const auto setup = app::episodes_setup(desc);
  app::EpisodeRunner runner(desc, setup);
  auto& w = runner.coupling_weights("obs->motor");
  const auto& cp = runner.simulator().continuous(runner.built().edge("obs->motor")->couplings[0]);
  // W[i][a] from the circuit's initial draw (U[0, 0.1)).
  double W[4][2];
  for (std::size_t k = 0; k < w.size(); ++k) {
    W[cp.pre[k]][cp.post[k]] = w[k];
    CHECK(w[k] >= 0.0);
    CHECK(w[k] < 0.1);
  }
  // The reference: §1.2 step by step, same streams (environment and policy).
  CartPole env;
  Rng policy = Rng::stream(desc.meta.seed, "choice/policy");
  const int n_episodes = 250;  // crosses the sleep steps after episodes 100 and 200
  for (int e = 0; e < n_episodes; ++e) {
    if (e == 0)
      env.reset(desc.meta.seed);
    else
      env.reset();
    double ret = 0;
    int steps = 0;
    while (!env.done()) {
      double s[4];
      for (int i = 0; i < 4; ++i) s[i] = env.observe()[i];
      double V[2] = {0, 0};
      for (int a = 0; a < 2; ++a)
        for (int i = 0; i < 4; ++i) V[a] += s[i] * W[i][a];
      std::uint32_t a;
      if (policy.uniform() < 0.05)
        a = static_cast<std::uint32_t>(policy.below(2));
      else
        a = V[1] > V[0] ? 1 : 0;
      const StepResult r = env.act(a);
      double reward = r.reward;
      if (r.done() && steps < 499) reward = -10.0;  // "step count before this step < 499"
      ++steps;
      ret += r.reward;
      double target = 0;
      for (int b = 0; b < 2; ++b) {
        double q = 0;
        for (int i = 0; i < 4; ++i) q += env.observe()[i] * W[i][b];
        target = b == 0 ? q : std::max(target, q);
      }
      target = reward + 0.99 * target;
      double current = 0;
      for (int i = 0; i < 4; ++i)
        if (s[i] > 0) current += W[i][a];
      const double delta = target - current;
      for (int i = 0; i < 4; ++i) W[i][a] += 0.02 * delta * s[i];
      for (auto& row : W)
        for (double& x : row) x = std::clamp(x, -5.0, 5.0);
    }
    if (e > 0 && e % 100 == 0)
      for (auto& row : W)
        for (double& x : row)
          if (std::abs(x) < 0.05) x = 0.0;
    const app::EpisodeResult got = runner.run_episode(static_cast<std::uint64_t>(e));
    REQUIRE_MESSAGE(got.length == static_cast<std::uint32_t>(steps), "episode " << e);
    CHECK(got.ret == ret);
    CHECK(got.terminated == env.terminated());
  }
  for (std::size_t k = 0; k < w.size(); ++k)
    CHECK(w[k] == doctest::Approx(W[cp.pre[k]][cp.post[k]]).epsilon(1e-12));
}

TEST_CASE("episodes: a spiking agent runs and /episodes gets one flushed row per episode") {
  const std::string toml = R"(
connections = [
  { from = "obs", to = "motor", weight = 20.0, delay = 1.0 },
]
[meta]
name = "spiking_bandit"
seed = 3
[run]
dt = 0.1
[blocks.obs]
type = "spike_encoder"
n = 1
rate_max = 200.0
[blocks.motor]
type = "population"
model = "lif_cuba"
n = 4
E_L = -60.0
[blocks.choice]
type = "action_decoder"
source = "motor"
n_actions = 4
policy = "softmax"
temperature = 1.0
[experiment]
type = "episodes"
env = "bandit"
n_episodes = 3
step_window = 10.0
encoder = "obs"
decoder = "choice"
bandit_arms = 4
bandit_change_every = 5
bandit_contexts = 2
[output]
spikes = "all"
)";
  const auto desc = circuits::load_circuit_string(toml, "spiking.toml", {});
  const auto path =
      (std::filesystem::temp_directory_path() / "sbx_test_step_envs_episodes.h5").string();
  app::RunOptions opt;
  opt.out_path = path;
  opt.force = true;
  opt.quiet = true;
  const app::RunSummary sum = app::run_experiment(desc, opt);
  CHECK(sum.figures.at("episodes") == 3);
  CHECK(sum.figures.at("steps") == 30);
  CHECK(sum.spikes > 0);  // the encoder spikes and drives the motor pools
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  const hid_t ds = H5Dopen2(f, "/episodes", H5P_DEFAULT);
  REQUIRE(ds >= 0);
  const hid_t sp = H5Dget_space(ds);
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(sp, dims, nullptr);
  CHECK(dims[0] == 3);
  struct Row {
    std::uint32_t length;
    std::uint8_t truncated;
  };
  const hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(Row));
  H5Tinsert(mt, "length", HOFFSET(Row, length), H5T_NATIVE_UINT32);
  H5Tinsert(mt, "truncated", HOFFSET(Row, truncated), H5T_NATIVE_UINT8);
  Row rows[3];
  REQUIRE(H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
  for (const Row& r : rows) {
    CHECK(r.length == 10);
    CHECK(r.truncated == 1);
  }
  H5Tclose(mt);
  H5Sclose(sp);
  H5Dclose(ds);
  H5Fclose(f);
  std::filesystem::remove(path);
}

TEST_CASE("episodes: the spiking actor-critic's learning edges get weight snapshots in time") {
  const std::string file = std::string(SBX_SOURCE_DIR) + "/circuits_toml/cartpole_spiking.toml";
  const auto desc = circuits::load_circuit_file(
      file, {"experiment.n_episodes=20", "output.weights_every=2000", "output.spikes=\"none\""});
  const auto path =
      (std::filesystem::temp_directory_path() / "sbx_test_step_envs_weights.h5").string();
  app::RunOptions opt;
  opt.out_path = path;
  opt.force = true;
  opt.quiet = true;
  const app::RunSummary sum = app::run_experiment(desc, opt);
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  for (const char* edge : {"obs->motor", "obs->critic"}) {
    CAPTURE(edge);
    const std::string g = std::string("/weights/") + edge;
    const hid_t t = H5Dopen2(f, (g + "/time_ms").c_str(), H5P_DEFAULT);
    const hid_t a = H5Dopen2(f, (g + "/after_trial").c_str(), H5P_DEFAULT);
    REQUIRE(t >= 0);
    REQUIRE(a >= 0);
    hsize_t n = 0;
    const hid_t sp = H5Dget_space(t);
    H5Sget_simple_extent_dims(sp, &n, nullptr);
    std::vector<double> time(n);
    std::vector<int> index(n);
    REQUIRE(H5Dread(t, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, time.data()) >= 0);
    REQUIRE(H5Dread(a, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, index.data()) >= 0);
    // Initial, one at the end of the episode each 2000-ms period falls in, final.
    REQUIRE(n >= 3);
    CHECK(time.front() == 0.0);
    CHECK(time.back() == doctest::Approx(sum.simulated_ms));
    for (std::size_t k = 0; k < n; ++k) CHECK(index[k] == static_cast<int>(k) - 1);
    for (std::size_t k = 1; k + 1 < n; ++k) {
      CHECK(time[k] >= 2000.0 * static_cast<double>(k));
      CHECK(time[k] < 2000.0 * static_cast<double>(k + 1));
    }
    H5Sclose(sp);
    H5Dclose(t);
    H5Dclose(a);
  }
  H5Fclose(f);
  std::filesystem::remove(path);
}

TEST_CASE("episodes: decoder settings that would silently do nothing are positioned errors") {
  // Spike counts of a rate block: every pool counts 0, argmax always picks action 0.
  const auto r = check_diagnostics(cartpole_toml(), {"blocks.choice.readout=\"spike_count\""});
  REQUIRE(r.size() == 1);
  CHECK(r[0].key_path == "blocks.choice.readout");
  CHECK(r[0].message.find("never spikes") != std::string::npos);
  // epsilon without the epsilon_greedy policy: no exploration at all.
  std::string text = cartpole_toml();
  test::replace_once(text, "policy = \"epsilon_greedy\"", "policy = \"argmax\"");
  const auto e = check_diagnostics(text);
  REQUIRE(e.size() == 1);
  CHECK(e[0].key_path == "blocks.choice.epsilon");
  CHECK(e[0].line > 0);
  CHECK(e[0].message.find("epsilon_greedy") != std::string::npos);
  // A temperature without the softmax policy; a membrane variable with spike counts.
  const auto t = check_diagnostics(cartpole_toml(), {"blocks.choice.temperature=0.5"});
  REQUIRE(t.size() == 1);
  CHECK(t[0].key_path == "blocks.choice.temperature");
  const auto v = check_diagnostics(test::circuit_text("cartpole_spiking.toml"),
                                   {"blocks.choice.variable=\"V\""});
  REQUIRE(v.size() == 1);
  CHECK(v[0].key_path == "blocks.choice.variable");
  // The value_decoder's spike count of a rate critic: V(s) would be constant.
  const auto c = check_diagnostics(cartpole_toml() +
                                   "\n[blocks.critic]\ntype = \"population\"\nmodel = "
                                   "\"rate_linear\"\nn = 1\n\n[blocks.value]\ntype = "
                                   "\"value_decoder\"\nsource = \"critic\"\nreadout = "
                                   "\"spike_count\"\n");
  REQUIRE(c.size() == 1);
  CHECK(c[0].key_path == "blocks.value.readout");
  CHECK(c[0].line > 0);
}

TEST_CASE("episodes: population coding with high <= low is an error at high") {
  // sigma = width·(high − low)/(k − 1) = 0: every unit coded exp(-inf) = 0 (or NaN at a centre),
  // so the agent got no input at all and ran without a word.
  const auto d = check_diagnostics(
      test::circuit_text("cartpole_spiking.toml"),
      {"blocks.obs.low=[-2.4, -3.0, 0.2, -3.0]", "blocks.obs.high=[2.4, 3.0, 0.2, 3.0]"});
  REQUIRE(d.size() == 1);
  CHECK(d[0].key_path == "blocks.obs.high");
  CHECK(d[0].message.find("component 2 has low = 0.2, high = 0.2") != std::string::npos);
}

TEST_CASE("episodes: test episodes freeze td_dopamine and ach_na (no stale dopamine, no update)") {
  // td_dopamine: /steps' dopamine used to repeat the last training delta in every test step.
  {
    const auto desc = circuits::load_circuit_string(cartpole_toml(), "agent.toml");
    app::EpisodeRunner runner(desc, app::episodes_setup(desc));
    runner.run_episode(0);
    CHECK(std::isfinite(runner.last_dopamine()));
    const std::vector<double> w = runner.coupling_weights("obs->motor");
    runner.set_test_mode(true, 0.0, 0);
    runner.run_episode(1);
    CHECK(std::isnan(runner.last_dopamine()));
    CHECK(runner.coupling_weights("obs->motor") == w);
  }
  // ach_na: the values (the bias weights) and the signals used to keep learning.
  const auto desc = circuits::load_circuit_file(
      std::string(SBX_SOURCE_DIR) + "/circuits_toml/bandit_ach_na.toml",
      {"experiment.bandit_contexts=1", "experiment.bandit_change_every=50"});
  app::EpisodeRunner runner(desc, app::episodes_setup(desc));
  runner.run_episode(0);
  const std::vector<double> w = runner.coupling_weights("bias->motor");
  const double ach = runner.acetylcholine();
  runner.set_test_mode(true, 0.0, 0);
  runner.run_episode(1);
  CHECK(runner.coupling_weights("bias->motor") == w);
  CHECK(runner.acetylcholine() == doctest::Approx(ach).epsilon(1e-6));  // (tau 1e9 ms)
}

TEST_CASE("episodes: test episodes stop spike-timing plasticity on spike edges (weights kept)") {
  // A stdp rule on the spike edge obs->motor learns at every spike inside the simulation; test
  // episodes used to leave it learning (a note said so). Now its weights stay as training left
  // them; without test mode the same episode changes them (the check below can fail).
  const std::string file = std::string(SBX_SOURCE_DIR) + "/circuits_toml/cartpole_spiking.toml";
  const std::vector<std::string> set = {"connections[0].learning={ type = \"stdp\" }"};
  auto plastic_weights = [](Simulator& sim) {
    std::vector<float> all;
    for (std::uint32_t pid = 0; pid < sim.n_projections(); ++pid) {
      const SpikeProjection& p = sim.projection(pid);
      std::vector<float> w(p.weight.size());
      if (p.rule)
        p.rule->current_weights(p, sim.now(), w.data());
      else
        w.assign(p.weight.begin(), p.weight.end());
      all.insert(all.end(), w.begin(), w.end());
    }
    return all;
  };
  auto n_rules = [](Simulator& sim) {
    int n = 0;
    for (std::uint32_t pid = 0; pid < sim.n_projections(); ++pid)
      n += sim.projection(pid).rule != nullptr;
    return n;
  };
  for (const bool test : {false, true}) {
    CAPTURE(test);
    const auto desc = circuits::load_circuit_file(file, set);
    app::EpisodeRunner runner(desc, app::episodes_setup(desc));
    runner.run_episode(0);
    Simulator& sim = runner.simulator();
    CHECK(n_rules(sim) == 1);
    const std::vector<float> trained = plastic_weights(sim);
    if (test) {
      runner.set_test_mode(true, 0.0, 0);
      CHECK(n_rules(sim) == 0);
    }
    runner.run_episode(1);
    const std::vector<float> after = plastic_weights(sim);
    REQUIRE(after.size() == trained.size());
    std::size_t changed = 0;
    for (std::size_t k = 0; k < after.size(); ++k)
      changed += std::abs(after[k] - trained[k]) > 1e-6f * (1.0f + std::abs(trained[k]));
    if (test)
      CHECK(changed == 0);
    else
      CHECK(changed > 10);
  }
}
