#include "envs/lane_keeping.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sbx {

std::array<double, 5> LaneKeeping::sensors(double x) {
  return {std::max(0.0, 1.0 - std::abs(x + 1.0)), std::max(0.0, 1.0 - std::abs(x)),
          std::max(0.0, 1.0 - std::abs(x - 1.0)), std::min(1.0, 0.1 / 0.2), std::abs(x)};
}

double LaneKeeping::step_reward(LaneReward version, double x, int a, int a_prev) {
  const double ax = std::abs(x);
  const double turn_change = std::abs(static_cast<double>(a - a_prev));
  if (version == LaneReward::original) {
    if (crashed(x)) return -1000.0;
    return 0.5 * (1.0 - ax) + 0.01 - 0.05 * turn_change;
  }
  if (crashed(x)) return -50.0;
  double r = 1.0 + 2.0 * (1.0 - ax) + 0.02 - 0.1 * turn_change - (a != 0 ? 0.05 : 0.0);
  if (ax > 0.7)
    r -= 2.0;
  else if (ax > 0.5)
    r -= 0.5;
  return r;
}

void LaneKeeping::do_reset(Rng& rng) {
  switch (p_.phase) {
    case 1:
      x_ = 0.0;
      break;
    case 2:
      x_ = rng.uniform(-0.1, 0.1);
      break;
    case 3:
      x_ = rng.uniform(-0.5, 0.5);
      break;
    case 4:
      x_ = rng.uniform(-1.0, 1.0);
      break;
    default:
      x_ = p_.start_x;
  }
  a_prev_ = 0;
  obs_ = sensors(x_);
}

StepResult LaneKeeping::do_step(std::uint32_t action, Rng&) {
  const int a = action_value(action);
  x_ += 0.1 * a;
  StepResult r;
  r.reward = step_reward(p_.reward, x_, a, a_prev_);
  r.terminated = crashed(x_);
  r.truncated = !r.terminated && steps() >= p_.max_steps;
  a_prev_ = a;
  obs_ = sensors(x_);
  return r;
}

bool LaneCurriculum::end_episode(double episode_return) {
  recent_.push_back(episode_return);
  if (recent_.size() > kWindow) recent_.pop_front();
  if (phase_ >= 4 || recent_.size() < kWindow) return false;
  const double mean =
      std::accumulate(recent_.begin(), recent_.end(), 0.0) / static_cast<double>(recent_.size());
  if (mean > kThreshold[static_cast<std::size_t>(phase_ - 1)]) {
    ++phase_;
    recent_.clear();
    return true;
  }
  return false;
}

}  // namespace sbx
