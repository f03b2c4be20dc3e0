#include "envs/cartpole.hpp"

#include <cmath>

namespace sbx {

CartPole::State CartPole::dynamics(const CartPoleParams& p, const State& s, std::uint32_t action) {
  const double total_mass = p.masspole + p.masscart;
  const double polemass_length = p.masspole * p.length;
  const double force = action == 1 ? p.force_mag : -p.force_mag;
  const double x = s[0], x_dot = s[1], theta = s[2], theta_dot = s[3];
  const double costheta = std::cos(theta), sintheta = std::sin(theta);
  // Same operation order as Gymnasium so the doubles agree to the last bits.
  const double temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
  const double thetaacc =
      (p.gravity * sintheta - costheta * temp) /
      (p.length * (4.0 / 3.0 - p.masspole * (costheta * costheta) / total_mass));
  const double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
  return {x + p.tau * x_dot, x_dot + p.tau * xacc, theta + p.tau * theta_dot,
          theta_dot + p.tau * thetaacc};
}

void CartPole::update_obs() {
  // The float32 round trip goes through a volatile: GCC 12's vectoriser (-O2 -march=x86-64-v3)
  // drops a plain (double)(float)x in this loop and copies the doubles (caught by the tests).
  for (int i = 0; i < 4; ++i) {
    const volatile float f = static_cast<float>(s_[i]);
    obs_[i] = static_cast<double>(f);
  }
}

void CartPole::do_reset(Rng& rng) {
  for (auto& v : s_) v = rng.uniform(-p_.reset_bound, p_.reset_bound);
  update_obs();
}

StepResult CartPole::do_step(std::uint32_t action, Rng&) {
  s_ = dynamics(p_, s_, action);
  update_obs();
  StepResult r;
  r.terminated = s_[0] < -p_.x_threshold || s_[0] > p_.x_threshold || s_[2] < -p_.theta_threshold ||
                 s_[2] > p_.theta_threshold;
  r.truncated = steps() >= p_.max_steps;
  if (p_.sutton_barto_reward)
    r.reward = r.terminated ? -1.0 : 0.0;
  else
    r.reward = 1.0;
  return r;
}

}  // namespace sbx
