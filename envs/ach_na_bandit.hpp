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
//        pulled, evaluated before its update as the authors' learning_rate(arm))
//   NA:  T_raw = Σ_k softmax(v)_k U_k;  m = running minimum, lowered to T_raw − 1e-4 whenever
//        T_raw < m (the authors' BASELINE); noradrenaline() = max(na_gain·(T_raw − m), T_floor)
//        (variant A; T_floor only guards a zero temperature, na_gain = 1 in the authors' code)
// The policy is softmax(v/T) over the values v_k the circuit reads (decoder temperature_from =
// "noradrenaline"); v_k is written to the bias -> pool k weight.
//
// Two member-rate modes (`member_rates`):
//   scaled (the authors' code): α_e = α_k·multiplier·u_e and v_k = μ_k. The ensemble's spread is
//     proportional to α_k, so once the estimates agree α_k → 0 is a fixed point: U stays ~α²δ²,
//     a context change can no longer raise α_k, and learning stops (measured: mean cumulative
//     regret 5886 vs 1405 for the tuned fixed softmax on seeds 1-20, bench_step_agents bandit).
//   fixed (our variant, documented in BENCHMARKS.md): the ensemble is a bank of learners with
//     fixed spread rates α_e = ensemble_rate·multiplier·u_e (u redrawn every update as above), so
//     a change makes fast and slow members disagree (U jumps) whatever α_k is; ACh α_k = U/(U+A)
//     is the learning rate of the value the policy reads: v_k += α_k (r − v_k), v_k(0) = μ_k(0).
//
// Parameters:
//   name           default  meaning
//   ensemble       20       members E
//   q0 / s0        0.5/0.01 initial spreads
//   multiplier     1.25     learning-rate spread factor
//   mask_p         0.5      bootstrap-mask probability
//   t_floor        1e-3     lowest temperature
//   member_rates   scaled   scaled | fixed (above)
//   ensemble_rate  1        fixed mode: base rate of the members
//   na_gain        1        factor on the NA temperature
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
  bool fixed_member_rates = false;  // member_rates = "fixed"
  double ensemble_rate = 1.0;
  double na_gain = 1.0;
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
        seen_(K_, 0) {
    for (auto& q : Q_) q = rng.normal(0.0, p.q0);
    for (auto& s : S_) s = std::abs(rng.normal(0.0, p.s0));
    for (std::uint32_t e = 0; e < E_; ++e)
      u_[e] = E_ > 1 ? static_cast<double>(e) / static_cast<double>(E_ - 1) : 1.0;
    for (std::uint32_t k = 0; k < K_; ++k) refresh(k), v_[k] = mu_[k];
  }

  void update(std::uint32_t k, double r, Rng& rng) {
    const double a = alpha_[k];
    const double base = p_.fixed_member_rates ? p_.ensemble_rate : a;
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
    double v = 0;
    for (std::uint32_t e = 0; e < E_; ++e) v += (Q_[k * E_ + e] - m) * (Q_[k * E_ + e] - m);
    v /= E_;
    mu_[k] = m;
    A_[k] = std::clamp(s2 - m * m, 0.0, 100.0);
    U_[k] = v;
    alpha_[k] = (U_[k] + A_[k]) > 0 ? U_[k] / (U_[k] + A_[k]) : 1.0;
  }

  static constexpr double kTempBaseline = 1e-4;  // the authors' DoyaDaYu.BASELINE
  AchNaParams p_;
  std::uint32_t K_, E_;
  std::vector<double> Q_, S_, u_, alpha_, mu_, v_, A_, U_;
  std::vector<std::uint8_t> seen_;
  std::uint32_t n_seen_ = 0;
  double ach_ = 1.0, na_ = 1.0, t_min_ = 1e300;
};

}  // namespace sbx
