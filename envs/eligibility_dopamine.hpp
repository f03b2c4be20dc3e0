// The Neuro-Encoder's eligibility x dopamine rule (jmxctrl/spike_neuron, seed_systems.md §2.3)
// and an action-tagged variant, on the spike edge from a spike_encoder (the sensors) to the
// decoder's source population (the network), applied by the episodes experiment.
//
// Index space. The original has ONE recurrent network of N neurons whose first m neurons are the
// inputs: their spikes are overwritten by the m encoded sensor trains. Here the sensors are the
// encoder block (m units) and the network is the source block (N >= m units); "network neuron
// k" means sensor k for k < m (the overwrite) and source neuron k otherwise. Only the encoder ->
// network weights w[i, j] (post i, pre j) are plastic; the original's W[i, j] = N·w[i, j].
//
// Readout ("pathway", §2.2): per network neuron the synaptic current through this edge,
// (1/n_sub)·Σ_j w[i, j]·c_j, where c_j = spikes of sensor j in sub-steps 0..n_sub−2 (a spike of
// sub-step k drives sub-step k+1; the last sub-step's spikes drive nothing); q_a = mean over pool
// a. The decoder's argmax then sends ties, the all-zero case included, to action 0 (left).
//
// Variants (`variant`):
//   original_episode (the 290.8 run): H[t] = the network's spike vector of the LAST sub-step of
//     environment step t. After the episode
//       E = Σ_t 0.95^(T−t) Σ_{d=1..L, d<=t} e^(−d/τ)·outer(H[t−d], H[t])      ([pre, post] in the
//     original's indexing), and for every step t in order: DA_t = r_t − b, b ← b + β·DA_t,
//       w[i, j] ← clip(w[i, j] + lr·DA_t·E[i, j], w_min, w_max).
//     E[i, j] (earlier activity of i, later of j) is added to w[post i, pre j]: the original adds
//     its [pre, post] matrix to its [post, pre] weights. Only sensors spike, so only the m x m
//     block (inside the first pool) changes; the first clip zeroes every negative weight of the
//     edge.
//   original_step (the curriculum version): E_t is computed per environment step from that
//     step's sub-step spike matrix (same formula over sub-steps, the 0.95 decay per sub-step;
//     assumption: the exact per-step form was not in the code read), applied with DA_t after the
//     episode.
//   action_tagged (ours, for a working controller): after each step, e_ij = c_j·[i in pool(a_t)]
//     (c_j as in the readout: the evidence the action was chosen on), E ← λ·E + e, DA_t = r_t − b,
//     b ← b + β·DA_t, w ← clip(w + lr·DA_t·E) at once (online); E is cleared at episode start.
//     λ = `decay`.
//
// Parameters (EligibilityDopamineParams):
//   name         default            meaning
//   variant      original_episode   see above
//   lr           1e-4               learning rate on w (original 0.01 on W = N·w, N = 100)
//   baseline_lr  0.1                β of the reward baseline (an EMA updated every step)
//   lookback     20                 L: environment steps (sub-steps for original_step)
//   tau          20                 τ of the look-back kernel, in the same steps
//   decay        0.95               per-step decay of E (original) / λ (action_tagged)
//   w_min, w_max 0, 0.1             clip (original 0 and 10 on W)
//   flip_sign_p  0.2                at build, each initial weight is negated with this
//                                   probability (the original's init: U[0,1), 20 % negated)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/projection.hpp"
#include "engine/recorder.hpp"
#include "engine/time.hpp"

namespace sbx {

enum class EligVariant : std::uint8_t { original_episode, original_step, action_tagged };

struct EligibilityDopamineParams {
  EligVariant variant = EligVariant::original_episode;
  double lr = 1e-4;
  double baseline_lr = 0.1;
  std::uint32_t lookback = 20;
  double tau = 20.0;
  double decay = 0.95;
  double w_min = 0.0, w_max = 0.1;
  double flip_sign_p = 0.2;
};

// Σ_t decay^(T−t) Σ_{d=1..L, d<=t} e^(−d/τ) x_i[t−d]·y_j[t] for binary spike rows: rows[t] lists
// the network neurons that spiked in row t. Adds into e[i·n_cols + j] for i < n_rows_index and
// j < n_cols (only pairs with j < n_cols are kept: the plastic columns).
inline void accumulate_eligibility(const std::vector<std::vector<std::uint32_t>>& rows,
                                   std::uint32_t n_net, std::uint32_t n_cols,
                                   std::uint32_t lookback, double tau, double decay,
                                   std::vector<double>& e) {
  std::vector<double> inc(static_cast<std::size_t>(n_net) * n_cols, 0.0);
  for (std::size_t t = 0; t < rows.size(); ++t) {
    std::fill(inc.begin(), inc.end(), 0.0);
    for (std::size_t d = 1; d <= lookback && d <= t; ++d) {
      const double k = std::exp(-static_cast<double>(d) / tau);
      for (std::uint32_t i : rows[t - d])
        for (std::uint32_t j : rows[t])
          if (i < n_net && j < n_cols) inc[static_cast<std::size_t>(i) * n_cols + j] += k;
    }
    // E += inc, then E *= decay (the order of the original).
    for (std::size_t q = 0; q < e.size(); ++q) e[q] = (e[q] + inc[q]) * decay;
  }
}

// Runtime of one eligibility_dopamine edge inside the episodes experiment. It is a Recorder tap:
// it sees every spike and keeps, per environment step, the sensor and network spikes by
// sub-step.
class EligibilityDopamineAgent final : public Recorder {
 public:
  EligibilityDopamineAgent(EligibilityDopamineParams p, SpikeProjection& proj,
                           std::uint32_t pre_pop, std::uint32_t post_pop, std::uint32_t n_pre,
                           std::uint32_t n_post, std::uint32_t pool_size, Tick dt,
                           std::uint32_t n_sub)
      : p_(p),
        proj_(proj),
        pre_pop_(pre_pop),
        post_pop_(post_pop),
        n_pre_(n_pre),
        n_post_(n_post),
        pool_(pool_size),
        dt_(dt),
        n_sub_(n_sub),
        counts_(n_pre, 0),
        e_(static_cast<std::size_t>(n_post) * n_pre, 0.0),
        sub_rows_(n_sub) {
    if (n_pre > n_post)
      throw std::invalid_argument("eligibility_dopamine: encoder larger than the network");
    proj_.pre_of_syn.store();  // the update reads it per synapse (a lookup if not stored)
  }

  const EligibilityDopamineParams& params() const { return p_; }
  double baseline() const { return b_; }
  void set_learning(bool on) { learning_ = on; }
  std::uint64_t network_spikes() const { return network_spikes_; }
  const std::vector<double>& eligibility() const { return e_; }

  void begin_episode() {
    ep_rows_.clear();
    ep_rewards_.clear();
    ep_step_e_.clear();
    if (p_.variant == EligVariant::action_tagged) std::fill(e_.begin(), e_.end(), 0.0);
  }

  void begin_step(Tick window_start) {
    t0_ = window_start;
    std::fill(counts_.begin(), counts_.end(), 0u);
    for (auto& r : sub_rows_) r.clear();
  }

  // Spikes of the window (tick t = end of the sub-step that produced them).
  void on_spikes(std::uint32_t pop, std::span<const std::uint32_t> neurons, Tick t) override {
    if (pop != pre_pop_ && pop != post_pop_) return;
    if (t <= t0_) return;
    const Tick k = (t - t0_) / dt_ - 1;  // sub-step index
    if (k >= n_sub_) return;
    for (std::uint32_t n : neurons) {
      if (pop == pre_pop_) {
        if (k + 1 < n_sub_) ++counts_[n];
        sub_rows_[k].push_back(n);
      } else {
        ++network_spikes_;
        // Network neurons k < n_pre are overwritten by the sensors (their own spikes are dropped).
        if (n >= n_pre_) sub_rows_[k].push_back(n);
      }
    }
  }

  void on_sample(std::uint32_t, Tick, std::span<const double>) override {}
  void flush() override {}

  // q_a = mean over pool a of (1/n_sub)·Σ_j w[i, j]·c_j.
  void pathway(std::vector<double>& q) const {
    std::vector<double> drive(n_post_, 0.0);
    for (std::uint32_t j = 0; j < n_pre_; ++j) {
      if (!counts_[j]) continue;
      for (std::uint32_t s = proj_.row_ptr[j]; s < proj_.row_ptr[j + 1]; ++s)
        drive[proj_.post[s]] += static_cast<double>(proj_.weight[s]) * counts_[j];
    }
    for (std::size_t a = 0; a < q.size(); ++a) {
      double v = 0.0;
      for (std::uint32_t i = static_cast<std::uint32_t>(a) * pool_; i < (a + 1) * pool_; ++i)
        v += drive[i];
      q[a] = v / (static_cast<double>(pool_) * n_sub_);
    }
  }

  void end_step(std::uint32_t action, double reward) {
    if (!learning_) return;
    switch (p_.variant) {
      case EligVariant::original_episode:
        ep_rows_.push_back(sub_rows_[n_sub_ - 1]);
        ep_rewards_.push_back(reward);
        break;
      case EligVariant::original_step: {
        std::vector<double> e(e_.size(), 0.0);
        accumulate_eligibility(sub_rows_, n_post_, n_pre_, p_.lookback, p_.tau, p_.decay, e);
        ep_step_e_.push_back(std::move(e));
        ep_rewards_.push_back(reward);
        break;
      }
      case EligVariant::action_tagged: {
        for (double& x : e_) x *= p_.decay;
        for (std::uint32_t i = action * pool_; i < (action + 1) * pool_; ++i)
          for (std::uint32_t j = 0; j < n_pre_; ++j)
            e_[static_cast<std::size_t>(i) * n_pre_ + j] += counts_[j];
        apply(reward, e_);
        break;
      }
    }
  }

  void end_episode() {
    if (!learning_) return;
    if (p_.variant == EligVariant::original_episode) {
      std::fill(e_.begin(), e_.end(), 0.0);
      accumulate_eligibility(ep_rows_, n_post_, n_pre_, p_.lookback, p_.tau, p_.decay, e_);
      for (double r : ep_rewards_) apply(r, e_);
    } else if (p_.variant == EligVariant::original_step) {
      for (std::size_t t = 0; t < ep_rewards_.size(); ++t) apply(ep_rewards_[t], ep_step_e_[t]);
    }
  }

 private:
  void apply(double reward, const std::vector<double>& e) {
    const double da = reward - b_;
    b_ += p_.baseline_lr * da;
    const double g = p_.lr * da;
    for (std::size_t s = 0; s < proj_.n_synapses(); ++s) {
      const std::size_t idx =
          static_cast<std::size_t>(proj_.post[s]) * n_pre_ + proj_.pre_of_syn[s];
      const double w = static_cast<double>(proj_.weight[s]) + g * e[idx];
      proj_.weight[s] = static_cast<float>(std::clamp(w, p_.w_min, p_.w_max));
    }
  }

  EligibilityDopamineParams p_;
  SpikeProjection& proj_;
  std::uint32_t pre_pop_, post_pop_, n_pre_, n_post_, pool_;
  Tick dt_;
  std::uint32_t n_sub_;
  Tick t0_ = 0;
  bool learning_ = true;
  double b_ = 0.0;
  std::uint64_t network_spikes_ = 0;
  std::vector<std::uint32_t> counts_;
  std::vector<double> e_;
  std::vector<std::vector<std::uint32_t>> sub_rows_;
  std::vector<std::vector<std::uint32_t>> ep_rows_;
  std::vector<double> ep_rewards_;
  std::vector<std::vector<double>> ep_step_e_;
};

}  // namespace sbx
