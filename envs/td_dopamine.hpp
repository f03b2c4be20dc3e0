// The TD "dopamine" rule of the CartPole agent (MohadesehMatinkia/BioInspired-RL-CartPole-
// Dopamine-STDP, brain_rl.py @cade8dc; seed_systems.md §1.2) and the periodic sleep-pruning step,
// on the synapse list of a current coupling from an encoder (pre units, values s_i) to motor pools
// (post units, pool a = post / pool_size).
//
// Per environment step, after the action a was taken in s and (s', r, terminated, truncated) seen:
//   r_eff   = failure_reward if terminated and not truncated (the original: "done and step < 499"),
//             else r
//   Q(s, b) = Σ_{k: pool(post_k) = b} w_k·s_{pre_k}
//   target  = r_eff + γ·max_b Q(s', b)        (bootstrap_terminal = false: target = r_eff at the
//                                              end of an episode; the original bootstraps always)
//   current = value = "positive_input_weight_sum": Σ_{k into pool a, s_{pre_k} > 0} w_k
//                     (the original's term: weights, not weighted inputs, over the positive inputs)
//             value = "linear": Q(s, a)
//   δ       = target − current                (the "dopamine" signal, returned)
//   w_k    += α·δ·s_{pre_k} for every synapse k into pool a (all inputs, negative ones included)
//   w      <- clip(w, w_min, w_max) (every weight of the edge, every step)
// Sleep pruning (any edge, experiment key prune_every): after episode e (0-based), if e > 0 and
// e is a multiple of prune_every, every weight with |w| < prune_below is set to 0.
//
// Parameters:
//   name                default                    meaning
//   alpha               0.02                       learning rate
//   gamma               0.99                       discount
//   value               positive_input_weight_sum  current-value term (see above) | linear
//   failure_reward      -10 (unset = keep r)       reward replacing r on termination
//   bootstrap_terminal  true                       bootstrap s' on the last step too
//   w_min / w_max       -5 / 5                     clip after every update
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/projection.hpp"

namespace sbx {

enum class TdValueTerm : std::uint8_t { positive_input_weight_sum, linear };

struct TdDopamineParams {
  double alpha = 0.02;
  double gamma = 0.99;
  TdValueTerm value = TdValueTerm::positive_input_weight_sum;
  std::optional<double> failure_reward = -10.0;
  bool bootstrap_terminal = true;
  double w_min = -5.0, w_max = 5.0;
};

class TdDopamineRule {
 public:
  TdDopamineRule(TdDopamineParams p, std::uint32_t n_actions, std::uint32_t pool_size)
      : p_(p), n_actions_(n_actions), pool_(pool_size), q_(n_actions) {}

  // Q(s, b) for every action b.
  std::span<const double> values(const ContinuousProjection& c, std::span<const double> s) {
    std::fill(q_.begin(), q_.end(), 0.0);
    for (std::size_t k = 0; k < c.n_synapses(); ++k)
      q_[c.post[k] / pool_] += c.weight[k] * s[c.pre[k]];
    return q_;
  }

  // One update; returns δ.
  double update(ContinuousProjection& c, std::span<const double> s, std::uint32_t action,
                double reward, std::span<const double> s_next, bool terminated, bool truncated) {
    const double r = (terminated && !truncated && p_.failure_reward) ? *p_.failure_reward : reward;
    double target = r;
    if (p_.bootstrap_terminal || !(terminated || truncated)) {
      const auto qn = values(c, s_next);
      target += p_.gamma * *std::max_element(qn.begin(), qn.end());
    }
    double current = 0.0;
    for (std::size_t k = 0; k < c.n_synapses(); ++k) {
      if (c.post[k] / pool_ != action) continue;
      const double x = s[c.pre[k]];
      if (p_.value == TdValueTerm::linear)
        current += c.weight[k] * x;
      else if (x > 0.0)
        current += c.weight[k];
    }
    const double delta = target - current;
    for (std::size_t k = 0; k < c.n_synapses(); ++k)
      if (c.post[k] / pool_ == action) c.weight[k] += p_.alpha * delta * s[c.pre[k]];
    for (double& w : c.weight) w = std::clamp(w, p_.w_min, p_.w_max);
    return delta;
  }

  const TdDopamineParams& params() const { return p_; }
  std::uint32_t n_actions() const { return n_actions_; }

 private:
  TdDopamineParams p_;
  std::uint32_t n_actions_, pool_;
  std::vector<double> q_;
};

// Sets |w| < below to 0; returns how many weights were pruned.
template <class W>
std::size_t sleep_prune(std::vector<W>& weights, double below) {
  std::size_t n = 0;
  for (W& w : weights)
    if (std::abs(static_cast<double>(w)) < below && w != W(0)) {
      w = W(0);
      ++n;
    }
  return n;
}
inline bool sleep_due(std::uint64_t episode, std::uint64_t every) {
  return every > 0 && episode > 0 && episode % every == 0;
}

}  // namespace sbx
