// A spiking TD actor-critic for the episodes experiment (apps/episodes_actor_critic.hpp): a TD
// error computed from a critic population ("value_decoder" block) is broadcast as a dopamine
// signal and gates per-environment-step three-factor rules ("td_three_factor") on spike edges
// from the spike encoder (Frémaux et al. 2013 TD-STDP family; seed_systems.md §6.2, §6.3 item 4).
//
// Per environment step t (window of step_window ms, state s_t presented by the encoder):
//   n_j      = spikes of encoder unit j during the window (the presynaptic factor)
//   V(s_t)   = offset + scale·q_c, q_c = the critic population's mean state variable at the window
//              end (readout "membrane") or its total spike count in the window ("spike_count")
//   δ_{t-1}  = r_{t-1} + γ·V(s_t) − V(s_{t-1})      applied when window t has been read (the
//              dopamine arrives one step after the transition it evaluates)
//   δ_t      = r_eff − V(s_t)                        on termination (no bootstrap); r_eff =
//              failure_reward if set, else r. On truncation (time limit) the last transition is
//              not learnt from (its bootstrap V(s_T) is never observed).
//   r        = reward_scale·(environment reward)
// Three-factor rule on synapse k (pre unit j = pre_k, post neuron i = post_k), per step:
//   e_k  ← γλ·e_k + n_j·f_i                         (eligibility, cleared at each episode start)
//   w_k  ← clip(w_k + η·δ·e_k, w_min, w_max)       (when δ arrives)
//   post factor f_i:  "value":  1                   (critic: ∂V/∂w for a linear readout)
//                     "policy": 1[pool(i) = a_t] − π(pool(i))   (actor: the score of the
//                               decoder's policy; π = the action probabilities the decoder used)
//
// Parameters (value_decoder block / td_three_factor rule):
//   name             default    meaning
//   scale, offset    1, 0       V = offset + scale·q_c
//   gamma            0.99       discount γ
//   failure_reward   unset      r_eff on termination
//   reward_scale     1          factor on the environment reward
//   eta              1e-3       learning rate η (per presynaptic spike)
//   lambda           0.9        eligibility decay λ per step (times γ)
//   w_min, w_max     -10, 10    weight bounds
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/projection.hpp"
#include "envs/step_coding.hpp"

namespace sbx {

struct TdSignalParams {
  DecoderReadout readout = DecoderReadout::membrane;
  std::string variable;  // "" = V / x / v
  double scale = 1.0, offset = 0.0;
  double gamma = 0.99;
  std::optional<double> failure_reward;
  double reward_scale = 1.0;
  bool reset_each_step = true;
  std::string modulator = "dopamine";
  double modulator_tau = 20.0;  // ms
};

enum class PostFactor : std::uint8_t { value, policy };

struct StepThreeFactorParams {
  double eta = 1e-3;
  double lambda = 0.9;
  PostFactor post = PostFactor::value;
  double w_min = -10.0, w_max = 10.0;
};

// The probabilities with which the decoder's policy picks each action from q (the "policy"
// post factor needs them).
inline void action_probabilities(const DecoderParams& p, std::span<const double> q,
                                 std::span<double> pi) {
  const auto n = q.size();
  const std::uint32_t best = argmax_first(q);
  switch (p.policy) {
    case DecoderPolicy::argmax:
      for (std::size_t a = 0; a < n; ++a) pi[a] = a == best ? 1.0 : 0.0;
      break;
    case DecoderPolicy::epsilon_greedy:
      for (std::size_t a = 0; a < n; ++a)
        pi[a] = p.epsilon / static_cast<double>(n) + (a == best ? 1.0 - p.epsilon : 0.0);
      break;
    case DecoderPolicy::softmax: {
      double z = 0.0;
      for (std::size_t a = 0; a < n; ++a) z += pi[a] = std::exp((q[a] - q[best]) / p.temperature);
      for (std::size_t a = 0; a < n; ++a) pi[a] /= z;
      break;
    }
  }
}

// Per-step three-factor rule on one spike projection (weights stored as float, as the engine's).
class StepThreeFactorRule {
 public:
  StepThreeFactorRule(StepThreeFactorParams p, std::size_t n_synapses)
      : p_(p), e_(n_synapses, 0.0) {}

  void clear() { std::fill(e_.begin(), e_.end(), 0.0); }

  // e_k ← decay·e_k + n_{pre_k}·f_{post_k}.
  void accumulate(const SpikeProjection& proj, double decay, std::span<const std::uint32_t> n_pre,
                  std::span<const double> f_post) {
    const std::uint32_t* pre = proj.pre_of_syn.data();
    const std::uint32_t* post = proj.post.data();
    for (std::size_t k = 0; k < e_.size(); ++k)
      e_[k] = decay * e_[k] + static_cast<double>(n_pre[pre[k]]) * f_post[post[k]];
  }

  // w_k ← clip(w_k + η·δ·e_k).
  void apply(SpikeProjection& proj, double delta) {
    const double g = p_.eta * delta;
    float* w = proj.weight.data();
    for (std::size_t k = 0; k < e_.size(); ++k)
      w[k] =
          static_cast<float>(std::clamp(static_cast<double>(w[k]) + g * e_[k], p_.w_min, p_.w_max));
  }

  const StepThreeFactorParams& params() const { return p_; }
  double eligibility(std::size_t k) const { return e_[k]; }

 private:
  StepThreeFactorParams p_;
  std::vector<double> e_;
};

}  // namespace sbx
