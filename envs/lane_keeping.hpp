// The lane-keeping car of jmxctrl/spike_neuron ("Neuro-Encoder", light_task.py), seed_systems.md
// §2.1.
//
// State: lateral position x (-1 = left edge, 0 = centre, +1 = right edge). Action index
// 0 / 1 / 2 = a = -1 (left) / 0 (straight) / +1 (right); x <- x + 0.1·a (no inertia, no noise).
// Crash: |x| > 1.0 (strict), checked after the move -> terminated. Episode limit: 100 steps ->
// truncated. Forward speed 0.1 is a constant that does not enter the dynamics.
// Sensors ("enhanced" mode, 5 values in [0, 1]):
//   left = max(0, 1 - |x + 1|), centre = max(0, 1 - |x|), right = max(0, 1 - |x - 1|),
//   speed = min(1, 0.1 / 0.2) = 0.5, centring = |x|.
// Reward of one step (a_prev = the previous step's action, 0 at the start of an episode):
//   shaped (neuromodulation.py @39650cb1, the 290.8 run): crash -> -50, else
//     1 + 2(1 - |x|) + 0.02 - 0.1|a - a_prev| - 0.05[a != 0] - 2.0[|x| > 0.7] - 0.5[0.5 < |x| <=
//     0.7] (max 3.02 per step, 302 per 100-step episode);
//   original (@6f2d2342): crash -> -1000, else 0.5(1 - |x|) + 0.01 - 0.05|a - a_prev|.
// Start position by curriculum phase (train.py @510301751): 1: 0; 2: U(-0.1, 0.1);
// 3: U(-0.5, 0.5); 4: U(-1, 1). Phase 0 = a fixed start `start_x` (default 0, the 290.8 setup).
// LaneCurriculum advances 1->2, 2->3, 3->4 when the mean of the last 20 returns exceeds 50, 30, 40
// (assumption, not visible in the source read: the 20 returns are those of the current phase, so
// a phase lasts at least 20 episodes).
//
// Parameters:
//   name         default   meaning
//   reward       shaped    shaped | original
//   max_steps    100       episode limit
//   phase        0         0 = fixed start_x; 1..4 = curriculum start distributions
//   start_x      0         start of phase 0
#pragma once

#include <array>
#include <deque>

#include "envs/step_environment.hpp"

namespace sbx {

enum class LaneReward : std::uint8_t { shaped, original };

struct LaneKeepingParams {
  LaneReward reward = LaneReward::shaped;
  std::uint32_t max_steps = 100;
  int phase = 0;
  double start_x = 0.0;
};

class LaneKeeping final : public StepEnvironment {
 public:
  explicit LaneKeeping(LaneKeepingParams p = {}) : p_(p) {}

  std::string_view name() const override { return "lane_keeping"; }
  std::uint32_t observation_size() const override { return 5; }
  std::uint32_t n_actions() const override { return 3; }
  std::vector<std::string> observation_names() const override {
    return {"left", "centre", "right", "speed", "centring"};
  }
  std::span<const double> observe() const override { return obs_; }

  double position() const { return x_; }
  int previous_action() const { return a_prev_; }  // -1, 0, +1
  void set_position(double x) {
    x_ = x;
    obs_ = sensors(x);
  }
  void set_phase(int phase) { p_.phase = phase; }
  int phase() const { return p_.phase; }
  const LaneKeepingParams& params() const { return p_; }

  static std::array<double, 5> sensors(double x);
  static bool crashed(double x) { return x > 1.0 || x < -1.0; }
  // Reward of arriving at x (after the move) with action a after a_prev (both in {-1, 0, 1}).
  static double step_reward(LaneReward version, double x, int a, int a_prev);
  static int action_value(std::uint32_t index) { return static_cast<int>(index) - 1; }

 protected:
  void do_reset(Rng& rng) override;
  StepResult do_step(std::uint32_t action, Rng& rng) override;

 private:
  LaneKeepingParams p_;
  double x_ = 0.0;
  int a_prev_ = 0;
  std::array<double, 5> obs_{};
};

// The 4-phase curriculum: feed each episode's return; phase() is the phase for the next episode.
class LaneCurriculum {
 public:
  int phase() const { return phase_; }
  // Returns true if the phase advanced.
  bool end_episode(double episode_return);
  static constexpr std::array<double, 3> kThreshold = {50.0, 30.0, 40.0};  // 1->2, 2->3, 3->4
  static constexpr std::size_t kWindow = 20;

 private:
  int phase_ = 1;
  std::deque<double> recent_;
};

}  // namespace sbx
