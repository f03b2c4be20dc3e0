// Plasticity rules for rate networks (seed_systems.md §4.1, §4.2).
//
// 1. Neuromodulated Hebbian trace (Ria-Chaudhry/Hebbian-RNN-Model-, §4.1): a fast matrix H that
//    decays and is rebuilt from the outer product of the previous and the new hidden state, gated
//    by a scalar modulatory signal m_t:
//
//      H_{t+1}[i][j] = (1 − η)·H_t[i][j] + η·m_t·h_t[i]·h_{t+1}[j]        (h_t ⊗ h_{t+1})
//
//    and it enters the recurrence as h_{t+1} = tanh(W_in·x_t + b + W_rec·h_t + H_t·h_t)
//    ((H·h)[i] = Σ_j H[i][j]·h[j]). H starts at 0 for every sequence.
//    | name | default | meaning                                          |
//    |------|---------|--------------------------------------------------|
//    | eta  | 0.1     | trace rate η (decay 1 − η per step, gain η)      |
//    The modulatory signal is a per-step scalar (the repo uses U[0,1] noise in training and 1 at
//    test), or a named engine Modulator (engine/modulator.hpp, the dopamine/ACh/... signals the
//    spiking three-factor rules read) evaluated at the step's tick.
//    In TOML: `type = "hebbian_trace"` on a rate -> rate edge (HebbianTraceSynapses below, per
//    synapse; circuits/rate_blocks.cpp runs it once per step before the couplings are summed):
//    | key                | default | meaning                                              |
//    |--------------------|---------|------------------------------------------------------|
//    | eta                | 0.1     | η                                                    |
//    | m                  | 1       | constant gate (when `modulator` is empty)            |
//    | modulator          | ""      | named modulator whose value at the tick is m_t       |
//    | modulator_baseline | 0       | its tonic level                                      |
//    | modulator_tau      | 200 ms  | decay time of its phasic part                        |
//    | reset_every        | 0 ms    | H ← 0 at every multiple of this time (0 = never)     |
//
// 2. Miconi (2017) exploratory-perturbation + eligibility-trace rule (§4.2), for a dense
//    recurrent matrix J (J[i][j] = weight from unit j to unit i). Per trial:
//      perturbation:  each unit independently, with probability p_perturb per step and only on
//                     steps s > perturb_after, gets an extra input p_i ~ U[−A, A];
//      DELTAX:        δx_i(s) = x_i(s) − x̄_i,  x̄_i ← α_x·x̄_i + (1 − α_x)·x_i(s)   (every step; x̄
//                     persists across trials), e_ij += (r_j(s−1)·δx_i(s))³ on steps
//                     s > eligibility_after (the cube is the supralinear function);
//      node pert.:    e_ij += r_j(s−1)·p_i(s) on steps s > eligibility_after where unit i was
//                     perturbed;
//      trial end:     error E = mean |r_out − target| over the response window; with ē_k the
//                     running error of this trial type k,
//                       ΔJ_ij = clip(−η·ē_k·e_ij·(E − ē_k), ±max_dw)   (only for trials >
//                       learn_after)
//                     then ē_k ← α_b·ē_k + (1 − α_b)·E  (every trial, after the weight change;
//                     ē starts at 0).
//    The modulatory ("third") factor is M = −η·ē_k·(E − ē_k): a reward-prediction error
//    (reward R = −E against the expected reward −ē_k) scaled by the recent error; kept local to
//    this rule.
//    | name              | DELTAX  | node pert. | meaning                                    |
//    |-------------------|---------|------------|--------------------------------------------|
//    | eta               | 0.1     | 0.001      | learning rate η                            |
//    | max_dw            | 3e-4    | 3e-4       | elementwise clip of ΔJ                     |
//    | trace_alpha       | 0.05    | -          | α_x of the running average x̄               |
//    | perturb_prob      | 0.003   | 0.003      | perturbation probability per unit per step |
//    | perturb_amplitude | 16      | 16         | A (≈ ±0.5 after dt/tau = 1/30)             |
//    | perturb_after     | 3       | 3          | no perturbation on steps 0..3              |
//    | eligibility_after | 2       | 2          | no eligibility on steps 0..2               |
//    | baseline_alpha    | 0.75    | 0.75       | α_b of the per-type running error          |
//    | learn_after       | 100     | 100        | weights change only for trials > this      |
//    Values are those of Miconi's dnms/net.cpp (github.com/ThomasMiconi/
//    BiologicallyPlausibleLearningRNN); the step thresholds are its `numiter > 3` / `> 2` tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/errors.hpp"
#include "engine/modulator.hpp"
#include "engine/rng.hpp"

namespace sbx {

// ---- 1. neuromodulated Hebbian trace -----------------------------------------------------------

class NeuromodHebbianTrace {
 public:
  NeuromodHebbianTrace(std::uint32_t n, double eta) : n_(n), eta_(eta), H_(std::size_t{n} * n) {
    if (!(eta >= 0.0 && eta <= 1.0))
      throw UserError("hebbian trace: eta must be in [0, 1], got " + std::to_string(eta));
  }
  void reset() { std::fill(H_.begin(), H_.end(), 0.0); }
  // H ← (1 − η)·H + η·m·(h_prev ⊗ h_new)
  void update(const double* h_prev, const double* h_new, double m) {
    const double decay = 1.0 - eta_, gain = eta_ * m;
    for (std::uint32_t i = 0; i < n_; ++i) {
      double* row = H_.data() + std::size_t{i} * n_;
      const double a = gain * h_prev[i];
      for (std::uint32_t j = 0; j < n_; ++j) row[j] = decay * row[j] + a * h_new[j];
    }
  }
  // Gated by a named modulator: m_t = its value at tick t.
  void update(const double* h_prev, const double* h_new, const Modulator& m, Tick t) {
    update(h_prev, h_new, m.value(t));
  }
  // out[i] += Σ_j H[i][j]·h[j]
  void apply(const double* h, double* out) const {
    for (std::uint32_t i = 0; i < n_; ++i) {
      const double* row = H_.data() + std::size_t{i} * n_;
      double s = 0.0;
      for (std::uint32_t j = 0; j < n_; ++j) s += row[j] * h[j];
      out[i] += s;
    }
  }
  double at(std::uint32_t i, std::uint32_t j) const { return H_[std::size_t{i} * n_ + j]; }
  std::uint32_t size() const { return n_; }
  double eta() const { return eta_; }

 private:
  std::uint32_t n_;
  double eta_;
  std::vector<double> H_;  // row-major n x n
};

// One step of the plastic tanh RNN of §4.1:
//   h_new = tanh(W_in·x + b + W_rec·h + H·h), W_in n x n_in, W_rec n x n (row-major).
// The trace is not updated here (the caller does trace.update(h, h_new, m) afterwards).
inline void plastic_rnn_step(std::uint32_t n, std::uint32_t n_in, const double* W_in,
                             const double* b, const double* W_rec,
                             const NeuromodHebbianTrace& trace, const double* x, const double* h,
                             double* h_new) {
  std::vector<double> a(n, 0.0);
  for (std::uint32_t i = 0; i < n; ++i) {
    double s = b[i];
    for (std::uint32_t k = 0; k < n_in; ++k) s += W_in[std::size_t{i} * n_in + k] * x[k];
    for (std::uint32_t j = 0; j < n; ++j) s += W_rec[std::size_t{i} * n + j] * h[j];
    a[i] = s;
  }
  trace.apply(h, a.data());
  for (std::uint32_t i = 0; i < n; ++i) h_new[i] = std::tanh(a[i]);
}

// The same trace on the synapse list of a circuit edge (learning rule type "hebbian_trace" on a
// rate -> rate current edge, circuits/rate_blocks.cpp). Synapse k (pre j_k -> post i_k) carries
// its own trace H_k, and the coupling's weight is w_k + H_k (w_k the edge's drawn weight), so the
// post unit receives Σ_k (w_k + H_k)·r_pre — the W_rec·h + H·h of §4.1. Once per step, before
// the couplings are summed:
//
//   H_k ← (1 − η)·H_k + η·m·r_post[i_k](t − 1)·r_pre[j_k](t)
//
// i.e. NeuromodHebbianTrace's H[i][j] ← (1 − η)·H[i][j] + η·m·h_t[i]·h_{t+1}[j] (the repo's
// h_t ⊗ h_{t+1}: the post unit's previous rate times the pre unit's new one). For a dense
// recurrent edge (all pairs, autapses) the circuit therefore runs exactly §4.1's recurrence.
class HebbianTraceSynapses {
 public:
  HebbianTraceSynapses(std::vector<double> base_weight, double eta)
      : eta_(eta), w0_(std::move(base_weight)), H_(w0_.size(), 0.0) {
    if (!(eta >= 0.0 && eta <= 1.0))
      throw UserError("hebbian_trace: eta must be in [0, 1], got " + std::to_string(eta));
  }
  void reset() { std::fill(H_.begin(), H_.end(), 0.0); }
  // One update with gate m; pre/post index the rate vectors; writes w0 + H into `weight`.
  void update(const std::uint32_t* pre, const std::uint32_t* post, const double* r_post_prev,
              const double* r_pre_new, double m, double* weight) {
    const double decay = 1.0 - eta_, gain = eta_ * m;
    const std::size_t n = H_.size();
    for (std::size_t k = 0; k < n; ++k) {
      H_[k] = decay * H_[k] + gain * r_post_prev[post[k]] * r_pre_new[pre[k]];
      weight[k] = w0_[k] + H_[k];
    }
  }
  void write_weights(double* weight) const {
    for (std::size_t k = 0; k < H_.size(); ++k) weight[k] = w0_[k] + H_[k];
  }
  double trace(std::size_t k) const { return H_[k]; }
  double base_weight(std::size_t k) const { return w0_[k]; }
  std::size_t size() const { return H_.size(); }
  double eta() const { return eta_; }

 private:
  double eta_;
  std::vector<double> w0_;  // the edge's own (static) weights
  std::vector<double> H_;   // per-synapse trace
};

// ---- 2. Miconi's rule ------------------------------------------------------------------------

enum class MiconiMethod : std::uint8_t { deltax, node_perturbation };

struct MiconiParams {
  MiconiMethod method = MiconiMethod::deltax;
  double eta = 0.1;
  double max_dw = 3e-4;
  double trace_alpha = 0.05;
  double perturb_prob = 0.003;
  double perturb_amplitude = 16.0;
  std::int64_t perturb_after = 3;
  std::int64_t eligibility_after = 2;
  double baseline_alpha = 0.75;
  std::int64_t learn_after = 100;

  static MiconiParams node_perturbation() {
    MiconiParams p;
    p.method = MiconiMethod::node_perturbation;
    p.eta = 0.001;
    return p;
  }
};

class MiconiRule {
 public:
  MiconiRule(std::uint32_t n, const MiconiParams& p, std::uint32_t n_trial_types)
      : n_(n),
        p_(p),
        e_(std::size_t{n} * n, 0.0),
        xbar_(n, 0.0),
        a_(n, 0.0),
        baseline_(n_trial_types, 0.0) {
    if (n_trial_types == 0) throw InternalError("MiconiRule: no trial types");
  }

  // Zeroes the eligibility (x̄ is kept: Miconi's running average spans trials).
  void begin_trial() {
    std::fill(e_.begin(), e_.end(), 0.0);
    rows_ = 0;
  }

  // Adds the stored DELTAX rows to e (called by end_trial and eligibility()).
  void flush_eligibility() {
    constexpr std::uint32_t block = 16;  // rows of B per pass: 16 x n doubles stay in L1
    for (std::uint32_t t0 = 0; t0 < rows_; t0 += block) {
      const std::uint32_t t1 = std::min(rows_, t0 + block);
      for (std::uint32_t i = 0; i < n_; ++i) {
        double* row = e_.data() + std::size_t{i} * n_;
        std::uint32_t t = t0;
        // Four rows per pass keep e_ij in a register; terms are still added in step order.
        for (; t + 4 <= t1; t += 4) {
          const double a0 = A_[std::size_t{t} * n_ + i], a1 = A_[std::size_t{t + 1} * n_ + i],
                       a2 = A_[std::size_t{t + 2} * n_ + i], a3 = A_[std::size_t{t + 3} * n_ + i];
          const double* b0 = B_.data() + std::size_t{t} * n_;
          const double* b1 = b0 + n_;
          const double* b2 = b1 + n_;
          const double* b3 = b2 + n_;
          for (std::uint32_t j = 0; j < n_; ++j) {
            double v = row[j];
            v += a0 * b0[j];
            v += a1 * b1[j];
            v += a2 * b2[j];
            v += a3 * b3[j];
            row[j] = v;
          }
        }
        for (; t < t1; ++t) {
          const double ai = A_[std::size_t{t} * n_ + i];
          const double* b = B_.data() + std::size_t{t} * n_;
          for (std::uint32_t j = 0; j < n_; ++j) row[j] += ai * b[j];
        }
      }
    }
    rows_ = 0;
  }

  // Draws this step's perturbations into p[0..n) (0 = none); returns the number of perturbed
  // units. One uniform per unit per step, plus one per perturbed unit (Miconi's draw order).
  std::uint32_t draw_perturbation(std::int64_t step, Rng& rng, double* p) const {
    std::fill(p, p + n_, 0.0);
    if (step <= p_.perturb_after) return 0;
    std::uint32_t count = 0;
    for (std::uint32_t i = 0; i < n_; ++i)
      if (rng.uniform() < p_.perturb_prob) {
        p[i] = p_.perturb_amplitude * rng.uniform(-1.0, 1.0);
        ++count;
      }
    return count;
  }

  // After the network stepped to x_new (r_prev = rates before the step, p = the perturbations
  // applied in the step): accumulates the eligibility (if `collect`) and updates x̄. Skipping
  // the collection on trials whose eligibility is never used (trial <= learn_after) changes no
  // result.
  void accumulate(std::int64_t step, const double* r_prev, const double* x_new, const double* p,
                  bool collect = true) {
    const bool eligible = collect && step > p_.eligibility_after;
    if (p_.method == MiconiMethod::deltax) {
      // (r_j·δx_i)³ = δx_i³·r_j³: the cube factorises, so the update is a rank-one outer product.
      for (std::uint32_t i = 0; i < n_; ++i) {
        const double dx = x_new[i] - xbar_[i];
        a_[i] = dx * dx * dx;
        xbar_[i] = p_.trace_alpha * xbar_[i] + (1.0 - p_.trace_alpha) * x_new[i];
      }
      if (!eligible) return;
      // Deferred: the rows δx³ and r³ are stored and summed into e at trial end in cache-sized
      // blocks (flush_eligibility). Every e_ij still receives its terms in step order, so the
      // result is that of adding the outer product at every step (up to FMA contraction), at a
      // fraction of the memory traffic (e is 320 kB for n = 200).
      const std::size_t at = std::size_t{rows_} * n_;
      if (A_.size() < at + n_) {
        A_.resize(at + n_);
        B_.resize(at + n_);
      }
      std::copy(a_.begin(), a_.end(), A_.begin() + static_cast<std::ptrdiff_t>(at));
      for (std::uint32_t j = 0; j < n_; ++j) B_[at + j] = r_prev[j] * r_prev[j] * r_prev[j];
      ++rows_;
    } else {
      if (!eligible) return;
      for (std::uint32_t i = 0; i < n_; ++i) {
        if (p[i] == 0.0) continue;
        double* row = e_.data() + std::size_t{i} * n_;
        for (std::uint32_t j = 0; j < n_; ++j) row[j] += r_prev[j] * p[i];
      }
    }
  }

  // Trial end: applies ΔJ (if trial > learn_after and J != nullptr) to J (n x n row-major),
  // then updates the baseline of `type`. Returns the modulatory factor M = −η·ē·(E − ē) used
  // (0 if no change).
  double end_trial(std::int64_t trial, std::uint32_t type, double error, double* J) {
    if (type >= baseline_.size()) throw InternalError("MiconiRule: trial type out of range");
    flush_eligibility();
    double& eb = baseline_[type];
    double modulator = 0.0;
    if (J && trial > p_.learn_after) {
      modulator = -p_.eta * eb * (error - eb);
      const double lim = p_.max_dw;
      const std::size_t nn = e_.size();
      for (std::size_t k = 0; k < nn; ++k) J[k] += std::clamp(modulator * e_[k], -lim, lim);
    }
    eb = p_.baseline_alpha * eb + (1.0 - p_.baseline_alpha) * error;
    return modulator;
  }

  double eligibility(std::uint32_t i, std::uint32_t j) {
    flush_eligibility();
    return e_[std::size_t{i} * n_ + j];
  }
  double running_error(std::uint32_t type) const { return baseline_.at(type); }
  const std::vector<double>& xbar() const { return xbar_; }
  const MiconiParams& params() const { return p_; }

 private:
  std::uint32_t n_;
  MiconiParams p_;
  std::vector<double> e_;      // eligibility e_ij, row-major (post i, pre j), like J
  std::vector<double> xbar_;   // running average of x
  std::vector<double> a_;      // scratch: δx³
  std::vector<double> A_, B_;  // DELTAX rows not yet added to e (rows_ x n each)
  std::uint32_t rows_ = 0;
  std::vector<double> baseline_;  // ē per trial type
};

}  // namespace sbx
