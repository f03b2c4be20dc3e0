// Non-stationary Gaussian multi-armed bandit of Lee et al. 2024 as in the authors' code
// (seblee97/doya_dayu_bandits main.py, 2023), seed_systems.md §3.2.
//
// n_arms arms with Gaussian rewards r ~ N(mu_k, sd_k^2). A context is one draw of every arm:
// mu_k ~ U(mean_low, mean_high), sd_k ~ U(sd_low, sd_high); all arms are redrawn every
// change_every steps (steps change_every, 2·change_every, ... start a new context), for n_contexts
// contexts; the episode (one seed's whole task) is truncated after n_contexts·change_every steps.
// The task is one episode: reset() draws context 0 from the environment's stream.
// Observation: one value, 1.0 (a constant bias input: the agent is not told the context). With
// observe_context = true, a one-hot vector of the context index (n_contexts values) instead.
// Regret of a step = max_k mu_k - mu_chosen (of the context the step was in).
//
// Parameters (defaults = the 2023 code):
//   name           default   meaning
//   n_arms         8
//   change_every   400       steps per context
//   n_contexts     8         contexts per episode (3200 steps)
//   mean_low/high  -3 / 3    arm means ~ U(low, high)
//   sd_low/high    0.001 / 1 arm standard deviations ~ U(low, high)
#pragma once

#include <vector>

#include "envs/step_environment.hpp"

namespace sbx {

struct BanditParams {
  std::uint32_t n_arms = 8;
  std::uint32_t change_every = 400;
  std::uint32_t n_contexts = 8;
  double mean_low = -3.0, mean_high = 3.0;
  double sd_low = 0.001, sd_high = 1.0;
  bool observe_context = false;
  std::uint32_t max_steps = 0;  // episode length; 0 = n_contexts·change_every
};

class NonStationaryBandit final : public StepEnvironment {
 public:
  explicit NonStationaryBandit(BanditParams p = {});

  std::string_view name() const override { return "bandit"; }
  std::uint32_t observation_size() const override { return p_.observe_context ? p_.n_contexts : 1; }
  std::uint32_t n_actions() const override { return p_.n_arms; }
  std::vector<std::string> observation_names() const override;
  std::span<const double> observe() const override { return obs_; }

  std::uint32_t context() const { return context_; }
  const std::vector<double>& means() const { return mu_; }
  const std::vector<double>& sds() const { return sd_; }
  std::uint32_t best_arm() const;
  // Regret and best-arm flag of the last act() (against the context that step was in).
  double last_regret() const { return last_regret_; }
  bool last_was_best() const { return last_best_; }
  const BanditParams& params() const { return p_; }

 protected:
  void do_reset(Rng& rng) override;
  StepResult do_step(std::uint32_t action, Rng& rng) override;

 private:
  void draw_context(Rng& rng);
  void update_obs();
  BanditParams p_;
  std::vector<double> mu_, sd_, obs_;
  std::uint32_t context_ = 0;
  double last_regret_ = 0.0;
  bool last_best_ = false;
};

}  // namespace sbx
