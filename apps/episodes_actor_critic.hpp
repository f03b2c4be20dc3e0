// The spiking TD actor-critic part of the episodes experiment (envs/td_actor_critic.hpp): the
// value_decoder block (critic readout + TD error broadcast as a modulator) and the
// td_three_factor rules on spike edges from the spike encoder.
//
// Order within an environment step (hooks called by EpisodeRunner::run_episode):
//   before_window(): critic state restored (reset_each_step), window spike counts zeroed;
//   the window runs, the decoder picks a with probabilities pi, the environment steps;
//   after_step(q, a, result): V(s_t) read from the critic; the pending delta of the previous
//   transition (r_{t-1} + gamma·V(s_t) − V(s_{t-1})) published and applied; eligibilities
//   accumulate n_pre·f_post; on termination delta = r_eff − V(s_t) is applied at once.
// Spike counts come from a Recorder placed in front of the runner's own (it forwards everything).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/runner_util.hpp"
#include "circuits/build.hpp"
#include "circuits/description.hpp"
#include "engine/modulator.hpp"
#include "engine/recorder.hpp"
#include "engine/simulator.hpp"
#include "envs/step_environment.hpp"
#include "envs/td_actor_critic.hpp"

namespace sbx::app {

struct ActorCriticSetup {
  std::string value_block;  // the value_decoder block ("" = no actor-critic)
  std::string critic;       // its source population block
  TdSignalParams td;
  struct Edge {
    std::string edge;
    StepThreeFactorParams params;
  };
  std::vector<Edge> edges;
  // A value_decoder is in the circuit (with or without td_three_factor edges).
  bool active() const { return !value_block.empty(); }
};

// Reads the td_three_factor edges and their value_decoder; problems go to `pr`.
ActorCriticSetup actor_critic_setup(const circuits::CircuitDescription& d,
                                    const std::string& encoder, const std::string& motor,
                                    Problems& pr);

class ActorCriticRuntime {
 public:
  ActorCriticRuntime(const ActorCriticSetup& s, const circuits::CircuitDescription& desc,
                     Simulator& sim, circuits::BuiltCircuit& built, std::uint32_t encoder_pop,
                     std::uint32_t motor_pop, const DecoderParams& decoder);
  ~ActorCriticRuntime();

  // The recorder to install in the simulator; it forwards to `next`.
  Recorder* recorder();
  void set_next(Recorder* next);

  void begin_episode();
  void before_window();
  void after_step(std::span<const double> q, std::uint32_t action, const StepResult& r);

  // Off: V(s) and delta are still computed and published, weights do not change (test mode).
  void set_learning(bool on) { learning_ = on; }
  double value() const { return v_now_; }       // V(s_t) of the last window
  double last_delta() const { return delta_; }  // last TD error applied
  // The TD errors the last after_step applied: that of the previous step's transition
  // r + γ·V(s_t) − V(s_{t−1}) (NaN at an episode's first step), and at a terminal step the
  // terminal one, failure_reward − V(s_t) (else NaN).
  double previous_transition_delta() const { return prev_delta_; }
  double terminal_delta() const { return terminal_delta_; }
  double sum_abs_delta() const { return sum_abs_delta_; }
  std::uint64_t n_delta() const { return n_delta_; }

 private:
  struct Counts;
  void apply(double delta);

  ActorCriticSetup s_;
  Simulator& sim_;
  DecoderParams decoder_;
  std::unique_ptr<Counts> counts_;
  std::uint32_t critic_pop_ = 0, motor_pop_ = 0, pool_size_ = 1;
  const double* critic_state_ = nullptr;
  std::vector<double> critic_initial_;
  struct EdgeRt {
    std::uint32_t projection;
    StepThreeFactorRule rule;
    bool policy;
  };
  std::vector<EdgeRt> edges_;
  std::shared_ptr<Modulator> mod_;
  std::vector<double> pi_, f_policy_, f_value_;
  bool pending_ = false, learning_ = true;
  double r_prev_ = 0.0, v_prev_ = 0.0, v_now_ = 0.0, delta_ = 0.0, sum_abs_delta_ = 0.0;
  double prev_delta_ = 0.0, terminal_delta_ = 0.0;
  std::uint64_t n_delta_ = 0;
};

}  // namespace sbx::app
