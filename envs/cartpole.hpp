// CartPole-v1, exactly Gymnasium's classic_control/cartpole.py (@06e40df) with the v1 registration
// (max_episode_steps = 500, reward_threshold = 475); seed_systems.md §1.4.
//
// State s = (x, x_dot, theta, theta_dot), double precision. Action 1 pushes right (F = +10 N),
// 0 pushes left (F = -10 N). One step (tau = 0.02 s, explicit Euler with the OLD velocities in the
// position updates, Gymnasium's default "euler" integrator):
//   temp      = (F + m_p l theta_dot^2 sin theta) / M
//   theta_acc = (g sin theta - cos theta temp) / (l (4/3 - m_p cos^2 theta / M))
//   x_acc     = temp - m_p l theta_acc cos theta / M
//   x += tau x_dot;  x_dot += tau x_acc;  theta += tau theta_dot;  theta_dot += tau theta_acc
// terminated = x < -2.4 or x > 2.4 or theta < -theta_max or theta > theta_max (strict);
// truncated  = the 500th step (TimeLimit: both flags can be set on that step);
// reward     = +1 on every step including the terminating one (sutton_barto_reward: 0 per step,
//              -1 on termination; off by default, as in Gymnasium).
// Reset: each state variable ~ U(-0.05, 0.05) from the environment's stream.
// Observation: the float32 cast of the state (as Gymnasium returns it), widened back to double.
//
// Parameters (Gymnasium's constants):
//   name          value               meaning
//   gravity       9.8 m/s^2
//   masscart      1.0 kg
//   masspole      0.1 kg
//   length        0.5 m               HALF the pole length
//   force_mag     10.0 N
//   tau           0.02 s              step
//   theta_max     12·2π/360 rad       0.2094395
//   x_threshold   2.4 m
//   max_steps     500                 v1 time limit
#pragma once

#include <array>

#include "envs/step_environment.hpp"

namespace sbx {

struct CartPoleParams {
  double gravity = 9.8;
  double masscart = 1.0;
  double masspole = 0.1;
  double length = 0.5;  // half the pole length
  double force_mag = 10.0;
  double tau = 0.02;
  double theta_threshold = 12.0 * 2.0 * 3.141592653589793 / 360.0;
  double x_threshold = 2.4;
  std::uint32_t max_steps = 500;
  bool sutton_barto_reward = false;
  double reset_bound = 0.05;
};

class CartPole final : public StepEnvironment {
 public:
  using State = std::array<double, 4>;
  explicit CartPole(CartPoleParams p = {}) : p_(p) {}

  std::string_view name() const override { return "cartpole"; }
  std::uint32_t observation_size() const override { return 4; }
  std::uint32_t n_actions() const override { return 2; }
  std::vector<std::string> observation_names() const override {
    return {"x", "x_dot", "theta", "theta_dot"};
  }
  std::span<const double> observe() const override { return obs_; }

  const State& state() const { return s_; }
  // For tests and golden trajectories: start the episode from a given state.
  void set_state(const State& s) {
    s_ = s;
    update_obs();
  }
  const CartPoleParams& params() const { return p_; }

  // One Euler step of the dynamics (pure; used by act() and by tests).
  static State dynamics(const CartPoleParams& p, const State& s, std::uint32_t action);

 protected:
  void do_reset(Rng& rng) override;
  StepResult do_step(std::uint32_t action, Rng& rng) override;

 private:
  void update_obs();
  CartPoleParams p_;
  State s_{};
  std::array<double, 4> obs_{};
};

}  // namespace sbx
