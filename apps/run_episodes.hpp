// The "episodes" experiment: an agent circuit against a step-based environment
// (envs/step_environment.hpp). Each environment step is one simulation window:
//   1. the encoder block presents the observation (envs/step_coding.hpp);
//   2. with reset_each_step, the decoder source's state is restored to its initial state;
//   3. the simulator runs step_window ms;
//   4. the decoder reads q per motor pool (spike count in the window or mean state variable at its
//      end) and its policy picks the action; the environment steps;
//   5. every td_dopamine edge updates from (s, a, r, s') (envs/td_dopamine.hpp).
// At an episode start every clocked population except the encoder is restored to its initial
// state (pending spike deliveries are kept; the clock runs on). After episode e the sleep pruning
// acts if due; one /episodes row is written and the file flushed.
// Random streams (master seed = [meta].seed): environment "cartpole" / "lane_keeping" / "bandit",
// policy "<decoder>/policy", spike encoder "<encoder>/spikes", weights per edge (builder).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "apps/episodes_actor_critic.hpp"
#include "apps/run_plain.hpp"
#include "engine/modulator.hpp"
#include "envs/ach_na_bandit.hpp"
#include "envs/eligibility_dopamine.hpp"
#include "envs/lane_keeping.hpp"
#include "envs/step_coding.hpp"
#include "envs/step_environment.hpp"
#include "envs/td_dopamine.hpp"

namespace sbx::app {

struct EpisodesSetup {
  std::string env;
  std::uint64_t n_episodes = 0;
  double step_window_ms = 0.0;
  std::string encoder, decoder, motor;
  DecoderParams decoder_params;
  std::string readout_variable;
  bool reset_each_step = false;
  std::uint64_t prune_every = 0;
  double prune_below = 0.0;
  std::vector<std::string> prune_edges;
  std::uint32_t max_steps = 0;
  LaneReward lane_reward = LaneReward::shaped;
  bool lane_curriculum = false;
  double lane_start = 0.0;
  std::uint32_t bandit_arms = 8, bandit_change_every = 400, bandit_contexts = 8;
  bool bandit_observe_context = false;
  bool try_each_action_first = false;  // the first n_actions steps of a run play 0, 1, ..., n-1
  bool record_steps = false;           // /steps rows (run_episodes)
  struct TdEdge {
    std::string edge;
    TdDopamineParams params;
  };
  std::vector<TdEdge> td_edges;
  struct AchNaEdge {
    std::string edge, rule;
    AchNaParams params;
  };
  std::vector<AchNaEdge> ach_na_edges;  // at most one
  ActorCriticSetup actor_critic;        // td_three_factor edges + value_decoder (spiking TD AC)
  // eligibility_dopamine edge (envs/eligibility_dopamine.hpp): at most one, spike_encoder ->
  // decoder source; the action is then read from its pathway.
  struct EligEdge {
    std::string edge;
    EligibilityDopamineParams params;
  };
  std::vector<EligEdge> elig_edges;
  // Test episodes after training (learning frozen): the policy becomes epsilon_greedy with
  // test_epsilon (argmax if 0), lane keeping starts from curriculum phase test_lane_phase (0 =
  // lane_start); success = return > test_success_above. Written to /episodes after the training
  // rows (episode index n_episodes + k).
  std::uint64_t test_episodes = 0;
  double test_epsilon = 0.1;
  int test_lane_phase = 3;
  double test_success_above = 100.0;
};

// Checks the experiment against the circuit and the environment (encoder size, decoder actions,
// pools, rule placement); throws UserError with every problem, each at its key.
EpisodesSetup episodes_setup(const circuits::CircuitDescription& desc);

std::unique_ptr<StepEnvironment> make_step_environment(const EpisodesSetup& s);

struct EpisodeResult {
  double ret = 0.0;
  std::uint32_t length = 0;
  bool terminated = false, truncated = false;
  double mean_abs_delta = 0.0;     // mean |δ| of the td_dopamine edges over the episode (0 = none)
  double regret = 0.0;             // bandit: summed regret
  std::uint32_t best_choices = 0;  // bandit: steps on the best arm
  std::size_t pruned = 0;          // weights set to 0 by the sleep step after this episode
};

class EpisodeRunner {
 public:
  // recorder: where spikes go besides the decoder's counter (may be null).
  EpisodeRunner(const circuits::CircuitDescription& desc, const EpisodesSetup& s);
  ~EpisodeRunner();
  EpisodeRunner(const EpisodeRunner&) = delete;
  EpisodeRunner& operator=(const EpisodeRunner&) = delete;

  void set_recorder(Recorder* rec);
  EpisodeResult run_episode(std::uint64_t episode);

  Simulator& simulator() { return *sim_; }
  const circuits::BuiltCircuit& built() const { return built_; }
  StepEnvironment& environment() { return *env_; }
  // Weights of an edge's first coupling (td_dopamine edges), for tests and snapshots.
  const std::vector<double>& coupling_weights(const std::string& edge) const;
  // The two modulator signals of an ach_na edge (values after the last step; NaN without one).
  double acetylcholine() const;
  double noradrenaline() const;
  const AchNaEnsemble* ach_na() const { return ach_na_.get(); }
  // The spiking TD actor-critic (null without td_three_factor edges).
  const ActorCriticRuntime* actor_critic() const { return ac_.get(); }
  // δ ("dopamine") of the first td_dopamine edge at the last step (NaN without one).
  double last_dopamine() const { return last_delta_; }
  // Test mode: learning frozen (td_dopamine, ach_na, eligibility_dopamine, td_three_factor,
  // curriculum; last_dopamine() NaN), the policy
  // epsilon_greedy(epsilon) (argmax if 0), lane keeping starting from `lane_phase`. off = back,
  // except that spike-timing rules on spike edges (stdp, rstdp, three_factor) stay stopped
  // (Simulator::stop_learning is final; test episodes are a run's last phase).
  void set_test_mode(bool on, double epsilon, int lane_phase);
  // Spikes of the decoder's source population so far (structural checks).
  std::uint64_t source_spikes() const { return source_spikes_; }
  EligibilityDopamineAgent* eligibility() { return elig_.get(); }
  // Per-step hook for analyses (bandit traces); called after each env step.
  std::function<void(std::uint64_t step, std::uint32_t action, const StepResult&)> on_step;
  // Called every `every_steps` steps inside an episode (steps = the episode's steps so far), e.g.
  // for progress and interruption within long episodes (a bandit run is one episode); it may
  // throw, which leaves the episode unfinished.
  std::function<void(std::uint64_t episode, std::uint32_t steps)> within_episode;
  std::uint32_t within_episode_every = 1000;

 private:
  struct Counter;
  const EpisodesSetup s_;
  std::unique_ptr<Simulator> sim_;
  circuits::BuiltCircuit built_;
  std::unique_ptr<StepEnvironment> env_;
  std::unique_ptr<Counter> counter_;
  EncoderPopulation* encoder_ = nullptr;
  std::uint32_t motor_pop_ = 0, pool_size_ = 0;
  const double* motor_state_ = nullptr;
  std::vector<std::uint32_t> reset_pops_;
  std::vector<std::vector<double>> initial_state_;
  std::vector<double> motor_initial_;
  struct TdRuntime {
    std::uint32_t coupling;
    TdDopamineRule rule;
  };
  std::vector<TdRuntime> td_;
  std::unique_ptr<AchNaEnsemble> ach_na_;
  std::uint32_t ach_na_coupling_ = 0;
  Rng ach_na_rng_;
  std::unique_ptr<Modulator> ach_, na_;
  std::unique_ptr<ActorCriticRuntime> ac_;
  DecoderParams decoder_;
  std::vector<std::uint32_t> prune_couplings_;    // coupling ids
  std::vector<std::uint32_t> prune_projections_;  // spike projections pruned by weight
  Rng policy_rng_;
  std::uint64_t seed_ = 1;
  LaneCurriculum curriculum_;
  Tick window_ = 0;
  std::uint64_t global_step_ = 0;
  std::vector<double> q_, s_now_, s_next_;
  double last_delta_ = std::numeric_limits<double>::quiet_NaN();
  std::unique_ptr<EligibilityDopamineAgent> elig_;
  bool learning_ = true;
  int test_lane_phase_ = -1;
  std::uint64_t source_spikes_ = 0;
};

// One line with the run's result (stderr at the end of run_episodes): episodes, steps, mean
// return (last 100), best episode, the bandit's regret and best-arm rate, the test episodes.
std::string episodes_result_line(const std::string& env, const std::map<std::string, double>& f);

RunSummary run_episodes(const circuits::CircuitDescription& desc, const RunOptions& opt);

}  // namespace sbx::app
