// Acceptance figures and speed of the step-environment agents (issue 5).
//
//   bench_step_agents bandit [--test-seeds 20]   checks (a)-(c) of seed_systems.md §3.4:
//       grid-searches the fixed softmax baseline (bandit_softmax.toml: alpha x temperature) on
//       seeds 101..120, then compares it with bandit_ach_na.toml on seeds 1..N; every seed listed.
//       --set key=value overrides the agent's TOML (repeatable).
//   bench_step_agents bandit-tune-agent [--test-seeds N] [--set key=value]...   the agent's
//       regret and checks (b), (c) on the tuning seeds 101..100+N only (default N = 20), for
//       selecting its hyper-parameters without the test seeds.
//   bench_step_agents speed TOML [episodes]      episodes/s of one agent (loop only, no file).
// Run from the source tree root (reads circuits_toml/).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apps/run_episodes.hpp"
#include "circuits/loader.hpp"
#include "envs/bandit.hpp"

using namespace sbx;

namespace {

struct BanditTrace {
  double regret = 0.0;
  std::vector<double> best, ach, na;  // per step
};

BanditTrace run_bandit(const std::string& toml, std::vector<std::string> overrides,
                       std::uint64_t seed) {
  overrides.push_back("meta.seed=" + std::to_string(seed));
  const auto desc = circuits::load_circuit_file(toml, overrides);
  const auto setup = app::episodes_setup(desc);
  app::EpisodeRunner runner(desc, setup);
  BanditTrace tr;
  auto& env = dynamic_cast<NonStationaryBandit&>(runner.environment());
  runner.on_step = [&](std::uint64_t, std::uint32_t, const StepResult&) {
    tr.regret += env.last_regret();
    tr.best.push_back(env.last_was_best() ? 1.0 : 0.0);
    tr.ach.push_back(runner.acetylcholine());
    tr.na.push_back(runner.noradrenaline());
  };
  runner.run_episode(0);
  return tr;
}

double mean(const std::vector<double>& v, std::size_t a, std::size_t b) {
  double s = 0;
  for (std::size_t i = a; i < b; ++i) s += v[i];
  return s / static_cast<double>(b - a);
}

// Mean cumulative regret of the ACh/NA agent (with `agent_set` overrides) over the tuning seeds
// 101..100+n, with checks (b) and (c) on them: the only figures its hyper-parameters may be
// selected on (disjoint from the test seeds 1..20).
int bandit_tune_agent(const std::vector<std::string>& agent_set, int n) {
  const std::string ach = "circuits_toml/bandit_ach_na.toml";
  const std::uint32_t change = 400, contexts = 8;
  double r = 0;
  int cp = 0, ra = 0, rn = 0;
  std::vector<double> rec(change, 0.0);
  for (int s = 101; s <= 100 + n; ++s) {
    const BanditTrace a = run_bandit(ach, agent_set, static_cast<std::uint64_t>(s));
    r += a.regret;
    for (std::uint32_t c = 1; c < contexts; ++c) {
      const std::size_t t0 = std::size_t{c} * change;
      ra += mean(a.ach, t0, t0 + 50) >= 2.0 * mean(a.ach, t0 - 50, t0);
      rn += mean(a.na, t0, t0 + 50) >= 2.0 * mean(a.na, t0 - 50, t0);
      ++cp;
      for (std::uint32_t k = 0; k < change; ++k) rec[k] += a.best[t0 + k];
    }
  }
  int first80 = -1;
  for (std::uint32_t k = 0; k + 25 <= change && first80 < 0; ++k) {
    double m = 0;
    for (std::uint32_t j = k; j < k + 25; ++j) m += rec[j] / (cp);
    if (m / 25 >= 0.8) first80 = static_cast<int>(k + 24);
  }
  std::printf("tuning seeds 101..%d:", 100 + n);
  std::printf("\n  P(best) after a change (50-step bins):");
  for (std::uint32_t k = 0; k < change; k += 50) {
    double m = 0;
    for (std::uint32_t j = k; j < k + 50; ++j) m += rec[j] / cp;
    std::printf(" %.2f", m / 50);
  }
  std::printf("\n ");
  for (const auto& o : agent_set) std::printf(" %s", o.c_str());
  std::printf("\n  regret %.1f  ach_rise %.0f%%  na_rise %.0f%%  P(best)>=0.8 at step %d\n", r / n,
              100.0 * ra / cp, 100.0 * rn / cp, first80);
  return 0;
}

int bandit(int n_test, const std::vector<std::string>& agent_set) {
  const std::string ach = "circuits_toml/bandit_ach_na.toml";
  const std::string base = "circuits_toml/bandit_softmax.toml";
  const std::vector<double> alphas = {0.02, 0.05, 0.1, 0.2, 0.3, 0.5};
  const std::vector<double> temps = {0.02, 0.05, 0.1, 0.25, 0.5, 1.0};
  double best_regret = 1e300, best_a = 0, best_t = 0;
  std::printf("baseline grid (mean cumulative regret over tuning seeds 101..120):\n");
  for (double a : alphas) {
    for (double t : temps) {
      double r = 0;
      for (std::uint64_t s = 101; s <= 120; ++s)
        r += run_bandit(base,
                        {"rules.delta.alpha=" + std::to_string(a),
                         "blocks.choice.temperature=" + std::to_string(t)},
                        s)
                 .regret;
      r /= 20;
      std::printf("  alpha %.2f T %.2f: %8.1f\n", a, t, r);
      if (r < best_regret) best_regret = r, best_a = a, best_t = t;
    }
  }
  std::printf("best baseline: alpha %.2f, T %.2f (tuning regret %.1f)\n\n", best_a, best_t,
              best_regret);

  const std::uint32_t change = 400, contexts = 8;
  std::printf("seed  regret_ach_na  regret_baseline  ach_rise  na_rise  best@100-150\n");
  double sum_ach = 0, sum_base = 0;
  int cp_total = 0, cp_ach = 0, cp_na = 0, cp_both = 0;
  std::vector<double> recovery(change, 0.0);
  int n_recovery = 0;
  for (int seed = 1; seed <= n_test; ++seed) {
    const BanditTrace a = run_bandit(ach, agent_set, static_cast<std::uint64_t>(seed));
    const BanditTrace b = run_bandit(base,
                                     {"rules.delta.alpha=" + std::to_string(best_a),
                                      "blocks.choice.temperature=" + std::to_string(best_t)},
                                     static_cast<std::uint64_t>(seed));
    sum_ach += a.regret;
    sum_base += b.regret;
    int rise_ach = 0, rise_na = 0, n_cp = 0;
    double rec = 0;
    for (std::uint32_t c = 1; c < contexts; ++c) {
      const std::size_t t0 = std::size_t{c} * change;  // first step of the new context
      const bool ra = mean(a.ach, t0, t0 + 50) >= 2.0 * mean(a.ach, t0 - 50, t0);
      const bool rn = mean(a.na, t0, t0 + 50) >= 2.0 * mean(a.na, t0 - 50, t0);
      rise_ach += ra, rise_na += rn, cp_both += ra && rn, ++n_cp;
      rec += mean(a.best, t0 + 100, t0 + 150);
    }
    for (std::uint32_t c = 1; c < contexts; ++c) {  // change points only (not the task start)
      for (std::uint32_t k = 0; k < change; ++k) recovery[k] += a.best[std::size_t{c} * change + k];
      ++n_recovery;
    }
    cp_total += n_cp, cp_ach += rise_ach, cp_na += rise_na;
    std::printf("%4d  %13.1f  %15.1f  %5d/%d  %5d/%d  %11.2f\n", seed, a.regret, b.regret, rise_ach,
                n_cp, rise_na, n_cp, rec / n_cp);
  }
  for (double& r : recovery) r /= n_recovery;
  int first80 = -1;
  for (std::uint32_t k = 0; k + 25 <= change; ++k) {
    double m = 0;
    for (std::uint32_t j = k; j < k + 25; ++j) m += recovery[j];
    if (m / 25 >= 0.8) {
      first80 = static_cast<int>(k + 24);
      break;
    }
  }
  std::printf(
      "\nP(best arm) after a change, averaged over seeds and the 7 change points (25-step "
      "bins):\n ");
  for (std::uint32_t k = 0; k < 400; k += 25) {
    double m = 0;
    for (std::uint32_t j = k; j < k + 25; ++j) m += recovery[j];
    std::printf(" %.2f", m / 25);
  }
  const double ma = sum_ach / n_test, mb = sum_base / n_test;
  std::printf("\n\n(a) mean cumulative regret: ACh/NA %.1f vs best fixed softmax %.1f -> %s\n", ma,
              mb, ma <= mb ? "PASS" : "FAIL");
  const double fa = static_cast<double>(cp_ach) / cp_total,
               fn = static_cast<double>(cp_na) / cp_total;
  std::printf(
      "(b) change points with a >= 2x rise: learning rate (ACh) %d/%d = %.0f%%, temperature "
      "(NA) %d/%d = %.0f%%, both %d/%d -> %s\n",
      cp_ach, cp_total, 100 * fa, cp_na, cp_total, 100 * fn, cp_both, cp_total,
      (fa >= 0.8 && fn >= 0.8) ? "PASS" : "FAIL");
  std::printf("(c) P(best) reaches 0.8 (25-step mean) at step %d after a change (<= 150) -> %s\n",
              first80, (first80 >= 0 && first80 <= 150) ? "PASS" : "FAIL");
  return 0;
}

int speed(const std::string& toml, int episodes) {
  const auto desc = circuits::load_circuit_file(toml, {});
  const auto setup = app::episodes_setup(desc);
  app::EpisodeRunner runner(desc, setup);
  std::uint64_t steps = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int e = 0; e < episodes; ++e)
    steps += runner.run_episode(static_cast<std::uint64_t>(e)).length;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s: %d episodes, %llu steps in %.3f s: %.1f episodes/s, %.0f steps/s\n",
              toml.c_str(), episodes, static_cast<unsigned long long>(steps), s, episodes / s,
              static_cast<double>(steps) / s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "bandit" || cmd == "bandit-tune-agent") {
    int n = 20;
    std::vector<std::string> agent_set;  // overrides of bandit_ach_na.toml, e.g. rules.ach_na.x=1
    for (int i = 2; i + 1 < argc; i += 2) {
      const std::string k = argv[i];
      if (k == "--test-seeds")
        n = std::atoi(argv[i + 1]);
      else if (k == "--set")
        agent_set.push_back(argv[i + 1]);
      else {
        std::fprintf(stderr, "unknown option %s\n", k.c_str());
        return 2;
      }
    }
    return cmd == "bandit" ? bandit(n, agent_set) : bandit_tune_agent(agent_set, n);
  }
  if (cmd == "speed" && argc > 2) return speed(argv[2], argc > 3 ? std::atoi(argv[3]) : 100);
  std::fprintf(stderr,
               "usage: bench_step_agents bandit [--test-seeds N] [--set key=value]... |\n"
               "       bench_step_agents bandit-tune-agent [--set key=value]... |\n"
               "       bench_step_agents speed TOML [episodes]\n");
  return 2;
}
