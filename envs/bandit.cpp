#include "envs/bandit.hpp"

#include <algorithm>

namespace sbx {

NonStationaryBandit::NonStationaryBandit(BanditParams p)
    : p_(p), mu_(p.n_arms, 0.0), sd_(p.n_arms, 0.0), obs_(observation_size(), 0.0) {
  if (p_.n_arms < 1 || p_.change_every < 1 || p_.n_contexts < 1)
    throw std::invalid_argument("bandit: n_arms, change_every and n_contexts must be >= 1");
}

std::vector<std::string> NonStationaryBandit::observation_names() const {
  if (!p_.observe_context) return {"bias"};
  std::vector<std::string> out;
  for (std::uint32_t c = 0; c < p_.n_contexts; ++c) out.push_back("context_" + std::to_string(c));
  return out;
}

std::uint32_t NonStationaryBandit::best_arm() const {
  return static_cast<std::uint32_t>(std::max_element(mu_.begin(), mu_.end()) - mu_.begin());
}

void NonStationaryBandit::draw_context(Rng& rng) {
  for (std::uint32_t k = 0; k < p_.n_arms; ++k) {
    mu_[k] = rng.uniform(p_.mean_low, p_.mean_high);
    sd_[k] = rng.uniform(p_.sd_low, p_.sd_high);
  }
  update_obs();
}

void NonStationaryBandit::update_obs() {
  if (!p_.observe_context) {
    obs_[0] = 1.0;
    return;
  }
  std::fill(obs_.begin(), obs_.end(), 0.0);
  obs_[context_] = 1.0;
}

void NonStationaryBandit::do_reset(Rng& rng) {
  context_ = 0;
  draw_context(rng);
}

StepResult NonStationaryBandit::do_step(std::uint32_t action, Rng& rng) {
  StepResult r;
  r.reward = rng.normal(mu_[action], sd_[action]);
  last_regret_ = mu_[best_arm()] - mu_[action];
  last_best_ = action == best_arm();
  r.truncated = steps() >= (p_.max_steps ? p_.max_steps : p_.change_every * p_.n_contexts);
  if (!r.truncated && steps() % p_.change_every == 0) {
    ++context_;
    draw_context(rng);
  }
  return r;
}

}  // namespace sbx
