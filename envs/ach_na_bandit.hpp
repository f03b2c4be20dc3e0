// The acetylcholine / noradrenaline agent of Lee et al. 2024 as in the authors' code
// (seblee97/doya_dayu_bandits, 2023, dd_mabs/doya_dayu.py; seed_systems.md §3.2): an ensemble of E
// value learners per arm whose disagreement and noise estimates drive two neuromodulator signals.
//
// State per arm k and member e: mean estimate Q[k,e] ~ N(0, Q0²), second moment S[k,e] ~ |N(0,
// S0²)|. After pulling arm k and receiving r, each member e (independently with probability mask_p,
// the bootstrap mask) updates with its own rate α_e, u = a random permutation of linspace(0, 1, E)
// drawn anew at every update (np.random.permutation inside the authors' update(), so no member
// keeps a fixed rate):
//   Q[k,e] += α_e (r − Q[k,e]);   S[k,e] += α_e (r² − S[k,e])
//   μ_k = mean_e Q[k,e];  A_k = clip(mean_e S[k,e] − μ_k², 0, 100) (aleatoric, expected)
//   U_k = Var_e Q[k,e] (epistemic, unexpected; population variance, np.std(..)**2)
//   ACh: α_k = U_k / (U_k + A_k)  (Kalman-gain form, per arm; acetylcholine() = α of the arm just
//        pulled, the rate its value was updated with at this step — evaluated before the update, as
//        the authors' learning_rate(arm), but after a change reset of this step, see below)
//   NA:  T_raw = Σ_k softmax(v)_k U_k;  m = running minimum, lowered to T_raw − 1e-4 whenever
//        T_raw < m (the authors' BASELINE); noradrenaline() = max(na_gain·(T_raw − m), T_floor)
//        (variant A; T_floor only guards a zero temperature, na_gain = 1 in the authors' code)
// The policy is softmax(v/T) over the values v_k the circuit reads (decoder temperature_from =
// "noradrenaline"); v_k is written to the bias -> pool k weight.
//
// Member rates (`member_rates`):
//   scaled (the authors' code): α_e = α_k·multiplier·u_e and v_k = μ_k. The ensemble's spread is
//     proportional to α_k, so once the estimates agree α_k → 0 is a fixed point: U stays ~α²δ²,
//     a context change can no longer raise α_k, and learning stops (measured: mean cumulative
//     regret 5886 vs 1405 for the tuned fixed softmax on seeds 1-20, bench_step_agents bandit).
//   fixed (our variant): the ensemble is a bank of learners with fixed spread rates
//     α_e = ensemble_rate·multiplier·u_e (u redrawn every update as above), so a change makes fast
//     and slow members disagree (U jumps) whatever α_k is; ACh α_k = U/(U+A) is the learning rate
//     of the value the policy reads: v_k += α_k (r − v_k), v_k(0) = μ_k(0).
//   floored (our variant): as fixed, with α_e = max(α_k, ensemble_rate)·multiplier·u_e: the
//     members follow the Kalman gain like the authors' (so U shrinks fast after a change reset,
//     when α_k is high) but never slower than ensemble_rate (so α_k → 0 is no fixed point).
//
// Aleatoric measure (`aleatoric`):
//   total (the authors' code): A_k = clip(mean_e S − μ_k², 0, 100). By the law of total variance
//     this is mean_e(S_e − Q_e²) + U_k, so it contains the epistemic spread itself and
//     α_k = U/(U + A) can never exceed 1/2.
//   within: A_k = clip(mean_e (S_e − Q_e²), 0, 100), the members' own noise estimate only, so
//     α_k = U/(U + A) is the Kalman gain with prior variance U and observation noise A (→ 1 when
//     U ≫ A).
//
// Change reset (`change_reset`, our addition; the detector is seed_systems.md §3.2 variant B's,
// the authors' LikelihoodShiftAdaptation). Before each update the likelihood of r under the
// pulled arm's members, ℓ = mean_e N(r; Q_e, clip(S_e − Q_e², 1e-3, 100)), is pushed into a memory
// of the last 2m likelihoods: one memory per arm (arm) or one over every pull (all, the global
// memory the authors' module returns). With ℓ_present = the mean of the newest m and ℓ_past = the
// mean of the m before them,
//   shift = ℓ_past/ℓ_present + ℓ_present/ℓ_past − 2      (0 until the memory holds 2m entries)
// where the means are arithmetic (`shift_mean` = arithmetic, the authors') or geometric
// (exp of the mean log-likelihood: the per-reward likelihood of the window's rewards jointly,
// dominated by a few very unlikely rewards instead of by the largest densities). When shift >
// shift_threshold, unexpected uncertainty is declared: the members of arm k (arm) or of every arm
// (all) are re-spread around a prior value c, Q_e = c + 𝒩(0, reset_sd²), S_e = Q_e² + (their
// previous mean S_e − Q_e²), and in fixed / floored mode v = c; c = the mean (`reset_prior` =
// mean) or the largest (max: optimistic, so every re-spread arm is tried again) of the values v
// over arms. So U jumps to ≈ reset_sd²: ACh α = U/(U + A) rises and the NA temperature (variant A,
// from U) rises with it; both decay as the members re-agree on new rewards. The memory that fired
// is cleared and its next m likelihoods (the members relearning) are not recorded, so relearning
// is not taken for a second change; every memory starts in that state.
//
// Parameters:
//   name            default  meaning
//   ensemble        20       members E
//   q0 / s0         0.5/0.01 initial spreads
//   multiplier      1.25     learning-rate spread factor
//   mask_p          0.5      bootstrap-mask probability
//   t_floor         1e-3     lowest temperature
//   member_rates    scaled   scaled | fixed | floored (above)
//   ensemble_rate   1        fixed / floored mode: base rate of the members
//   na_gain         1        factor on the NA temperature
//   aleatoric       total    total | within (above)
//   change_reset    none     none | arm | all (above; none = the authors' code)
//   shift_memory    20       m, detector window (pulls)
//   shift_threshold 0.5      detector level that declares a change
//   shift_mean      arithmetic  arithmetic | geometric
//   reset_sd        1        sd of the re-spread members
//   reset_prior     mean     mean | max
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "engine/rng.hpp"

namespace sbx {

struct AchNaParams {
  std::uint32_t ensemble = 20;
  double q0 = 0.5, s0 = 0.01;
  double multiplier = 1.25;
  double mask_p = 0.5;
  double t_floor = 1e-3;
  bool fixed_member_rates = false;    // member_rates = "fixed"
  bool floored_member_rates = false;  // member_rates = "floored" (implies fixed_member_rates)
  double ensemble_rate = 1.0;
  double na_gain = 1.0;
  bool aleatoric_within = false;  // aleatoric = "within"
  enum class Reset { none, arm, all } change_reset = Reset::none;
  std::uint32_t shift_memory = 20;
  double shift_threshold = 0.5;
  double reset_sd = 1.0;
  bool reset_to_max = false;     // reset_prior = "max"
  bool shift_geometric = false;  // shift_mean = "geometric"
};

// The likelihood-shift detector of variant B (the authors' LikelihoodShiftAdaptation) with
// n_memories memories of 2m likelihoods: push(k, ℓ) records ℓ in memory k and returns its shift.
class LikelihoodShift {
 public:
  // skip_first: each arm's first m likelihoods are not recorded (as after clear()).
  LikelihoodShift(std::uint32_t n_arms, std::uint32_t memory, bool skip_first, bool geometric)
      : geometric_(geometric),
        m_(memory),
        mem_(std::size_t{n_arms} * 2 * memory, 0.0),
        head_(n_arms, 0),
        count_(n_arms, 0),
        skip_(n_arms, skip_first ? memory : 0) {}

  double push(std::uint32_t k, double l) {
    if (skip_[k] > 0) {
      --skip_[k];
      return 0.0;
    }
    const std::uint32_t w = 2 * m_;
    mem_[std::size_t{k} * w + head_[k]] = l;
    head_[k] = (head_[k] + 1) % w;
    if (count_[k] < w) ++count_[k];
    return shift(k);
  }

  // 0 until arm k holds 2m likelihoods since its last clear.
  double shift(std::uint32_t k) const {
    const std::uint32_t w = 2 * m_;
    if (count_[k] < w) return 0.0;
    double present = 0, past = 0;  // newest m, then the m before them
    for (std::uint32_t i = 1; i <= w; ++i) {
      const double l = mem_[std::size_t{k} * w + (head_[k] + w - i) % w];
      (i <= m_ ? present : past) += geometric_ ? std::log(std::max(l, 1e-300)) : l;
    }
    if (geometric_) {  // ℓ_past/ℓ_present = exp(mean log ℓ_past − mean log ℓ_present)
      const double d = std::min((past - present) / m_, 700.0);
      return std::exp(d) + std::exp(-d) - 2.0;
    }
    if (!(present > 0) || !(past > 0)) return present == past ? 0.0 : 1e300;
    return past / present + present / past - 2.0;
  }

  // Forget arm k's memory and skip its next m likelihoods.
  void clear(std::uint32_t k) { head_[k] = 0, count_[k] = 0, skip_[k] = m_; }
  std::uint32_t memory() const { return m_; }

 private:
  bool geometric_;
  std::uint32_t m_;
  std::vector<double> mem_;
  std::vector<std::uint32_t> head_, count_, skip_;
};

class AchNaEnsemble {
 public:
  AchNaEnsemble(AchNaParams p, std::uint32_t n_arms, Rng& rng)
      : p_(p),
        K_(n_arms),
        E_(p.ensemble),
        Q_(K_ * E_),
        S_(K_ * E_),
        u_(E_),
        alpha_(K_, 1.0),
        mu_(K_, 0.0),
        v_(K_, 0.0),
        A_(K_, 0.0),
        U_(K_, 0.0),
        seen_(K_, 0),
        detector_(p.change_reset == AchNaParams::Reset::all ? 1 : K_, p.shift_memory, true,
                  p.shift_geometric) {
    for (auto& q : Q_) q = rng.normal(0.0, p.q0);
    for (auto& s : S_) s = std::abs(rng.normal(0.0, p.s0));
    for (std::uint32_t e = 0; e < E_; ++e)
      u_[e] = E_ > 1 ? static_cast<double>(e) / static_cast<double>(E_ - 1) : 1.0;
    for (std::uint32_t k = 0; k < K_; ++k) refresh(k), v_[k] = mu_[k];
  }

  void update(std::uint32_t k, double r, Rng& rng) {
    if (p_.change_reset != AchNaParams::Reset::none) {
      // all: one memory over every pull (the authors' global likelihood memory); arm: per arm.
      shift_ = detector_.push(p_.change_reset == AchNaParams::Reset::all ? 0 : k, likelihood(k, r));
      if (shift_ > p_.shift_threshold) {
        ++n_resets_;
        // The prior the re-spread estimates revert to: the mean or largest value over arms.
        double prior = p_.reset_to_max ? mu(0) : 0.0;
        for (std::uint32_t j = 0; j < K_; ++j)
          prior = p_.reset_to_max ? std::max(prior, mu(j)) : prior + mu(j);
        if (!p_.reset_to_max) prior /= K_;
        if (p_.change_reset == AchNaParams::Reset::arm)
          respread(k, prior, rng);
        else
          for (std::uint32_t j = 0; j < K_; ++j) respread(j, prior, rng);
      }
    }
    const double a = alpha_[k];
    const double base = !p_.fixed_member_rates    ? a
                        : p_.floored_member_rates ? std::max(a, p_.ensemble_rate)
                                                  : p_.ensemble_rate;
    rng.shuffle(u_);  // fresh permutation of the members' rate factors at every update
    for (std::uint32_t e = 0; e < E_; ++e) {
      if (!(rng.uniform() < p_.mask_p)) continue;
      const double ae = base * p_.multiplier * u_[e];
      double& q = Q_[k * E_ + e];
      double& s = S_[k * E_ + e];
      q += ae * (r - q);
      s += ae * (r * r - s);
    }
    if (p_.fixed_member_rates) v_[k] += a * (r - v_[k]);
    ach_ = a;
    refresh(k);
    if (!seen_[k]) seen_[k] = 1, ++n_seen_;
    const double t = temperature_raw();
    if (t < t_min_) t_min_ = t - kTempBaseline;
    na_ = std::max(p_.na_gain * (t - t_min_), p_.t_floor);
  }

  // The authors' play(): until every arm has been pulled once, the lowest unpulled arm is played
  // (returns n_arms once all have been seen).
  std::uint32_t first_unseen() const {
    if (n_seen_ == K_) return K_;
    return static_cast<std::uint32_t>(std::find(seen_.begin(), seen_.end(), 0) - seen_.begin());
  }

  // The value the policy reads for arm k (μ_k in scaled mode, v_k in fixed mode).
  double mu(std::uint32_t k) const { return p_.fixed_member_rates ? v_[k] : mu_[k]; }
  double ensemble_mean(std::uint32_t k) const { return mu_[k]; }
  double alpha(std::uint32_t k) const { return alpha_[k]; }
  double aleatoric(std::uint32_t k) const { return A_[k]; }
  double epistemic(std::uint32_t k) const { return U_[k]; }
  double acetylcholine() const { return ach_; }
  double noradrenaline() const { return na_; }
  // Detector output of the last update (0 without change_reset) and how many changes it declared.
  double last_shift() const { return shift_; }
  std::uint32_t resets() const { return n_resets_; }
  // ℓ = mean_e N(r; Q_e, var_e), var_e = clip(S_e − Q_e², 1e-3, 100) (the authors' BASELINE).
  double likelihood(std::uint32_t k, double r) const {
    double l = 0;
    for (std::uint32_t e = 0; e < E_; ++e) {
      const double q = Q_[k * E_ + e];
      const double var = std::clamp(S_[k * E_ + e] - q * q, 1e-3, 100.0);
      l += std::exp(-0.5 * (r - q) * (r - q) / var) / std::sqrt(2.0 * kPi * var);
    }
    return l / E_;
  }
  // Variant A: Σ_k softmax(v)_k U_k.
  double temperature_raw() const {
    double mx = mu(0);
    for (std::uint32_t k = 1; k < K_; ++k) mx = std::max(mx, mu(k));
    double z = 0, t = 0;
    for (std::uint32_t k = 0; k < K_; ++k) {
      const double w = std::exp(mu(k) - mx);
      z += w;
      t += w * U_[k];
    }
    return t / z;
  }

 private:
  void refresh(std::uint32_t k) {
    double m = 0, s2 = 0;
    for (std::uint32_t e = 0; e < E_; ++e) m += Q_[k * E_ + e], s2 += S_[k * E_ + e];
    m /= E_;
    s2 /= E_;
    double within = 0;  // mean_e (S_e − Q_e²)
    for (std::uint32_t e = 0; e < E_; ++e)
      within += S_[k * E_ + e] - Q_[k * E_ + e] * Q_[k * E_ + e];
    within /= E_;
    double v = 0;
    for (std::uint32_t e = 0; e < E_; ++e) v += (Q_[k * E_ + e] - m) * (Q_[k * E_ + e] - m);
    v /= E_;
    mu_[k] = m;
    A_[k] = std::clamp(p_.aleatoric_within ? within : s2 - m * m, 0.0, 100.0);
    U_[k] = v;
    alpha_[k] = (U_[k] + A_[k]) > 0 ? U_[k] / (U_[k] + A_[k]) : 1.0;
  }

  // Unexpected uncertainty on arm k: members re-spread around the policy's value, each keeping the
  // arm's mean noise estimate, and the detector forgets the arm.
  void respread(std::uint32_t k, double c, Rng& rng) {
    double noise = 0;
    for (std::uint32_t e = 0; e < E_; ++e)
      noise += std::clamp(S_[k * E_ + e] - Q_[k * E_ + e] * Q_[k * E_ + e], 0.0, 100.0);
    noise /= E_;
    for (std::uint32_t e = 0; e < E_; ++e) {
      const double q = rng.normal(c, p_.reset_sd);
      Q_[k * E_ + e] = q;
      S_[k * E_ + e] = q * q + noise;
    }
    refresh(k);
    if (p_.fixed_member_rates) v_[k] = c;
    detector_.clear(p_.change_reset == AchNaParams::Reset::all ? 0 : k);
  }

  static constexpr double kPi = 3.14159265358979323846;
  static constexpr double kTempBaseline = 1e-4;  // the authors' DoyaDaYu.BASELINE
  AchNaParams p_;
  std::uint32_t K_, E_;
  std::vector<double> Q_, S_, u_, alpha_, mu_, v_, A_, U_;
  std::vector<std::uint8_t> seen_;
  std::uint32_t n_seen_ = 0;
  LikelihoodShift detector_;
  double shift_ = 0.0;
  std::uint32_t n_resets_ = 0;
  double ach_ = 1.0, na_ = 1.0, t_min_ = 1e300;
};

}  // namespace sbx
