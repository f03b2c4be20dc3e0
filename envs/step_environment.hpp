// The one interface of step-based tasks (CartPole, lane keeping, non-stationary bandit, ...).
//
// Life cycle, as Gymnasium's Env: reset(seed) starts an episode and (re)seeds the environment's own
// random stream from the project's RNG (Rng::stream(seed, name())); reset() starts the next episode
// continuing that stream. observe() is the current observation (observation_size() values);
// act(a) advances one step with action a in [0, n_actions()) and returns the step's reward and
// whether the episode ended by the task's own rule (terminated) or by its time limit (truncated).
// After an episode has ended, act() throws std::logic_error (Gymnasium only warns; a silent extra
// step would corrupt returns).
//
// Every environment draws only from its own stream, so an agent's random numbers (exploration,
// encoders, noise) never change the task's.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/rng.hpp"

namespace sbx {

struct StepResult {
  double reward = 0.0;
  bool terminated = false;  // the task's failure / success condition
  bool truncated = false;   // the time limit
  bool done() const { return terminated || truncated; }
};

class StepEnvironment {
 public:
  virtual ~StepEnvironment() = default;

  virtual std::string_view name() const = 0;
  virtual std::uint32_t observation_size() const = 0;
  virtual std::uint32_t n_actions() const = 0;
  // Names of the observation components (for messages and logs), observation_size() of them.
  virtual std::vector<std::string> observation_names() const = 0;

  // Seeds the environment's stream from (seed, name()) and starts an episode.
  void reset(std::uint64_t seed) {
    rng_ = Rng::stream(seed, name());
    reset();
  }
  // Starts the next episode, continuing the stream.
  void reset() {
    steps_ = 0;
    last_ = {};
    ended_ = false;
    do_reset(rng_);
  }

  virtual std::span<const double> observe() const = 0;

  StepResult act(std::uint32_t action) {
    if (ended_) throw std::logic_error(std::string(name()) + ": act() after the episode ended");
    if (action >= n_actions())
      throw std::out_of_range(std::string(name()) + ": action " + std::to_string(action) +
                              " out of range [0, " + std::to_string(n_actions()) + ")");
    ++steps_;
    last_ = do_step(action, rng_);
    ended_ = last_.done();
    return last_;
  }

  double reward() const { return last_.reward; }
  bool terminated() const { return last_.terminated; }
  bool truncated() const { return last_.truncated; }
  bool done() const { return ended_; }
  std::uint32_t steps() const { return steps_; }  // steps of the current episode

 protected:
  virtual void do_reset(Rng& rng) = 0;
  // Called with steps() already counting this step.
  virtual StepResult do_step(std::uint32_t action, Rng& rng) = 0;

 private:
  Rng rng_;
  StepResult last_;
  std::uint32_t steps_ = 0;
  bool ended_ = false;
};

}  // namespace sbx
