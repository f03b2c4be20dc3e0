// The acetylcholine / noradrenaline agent of Lee et al. 2024 as in the authors' code
// (seblee97/doya_dayu_bandits, 2023; seed_systems.md §3.2): an ensemble of E value learners per
// arm whose disagreement and noise estimates drive two neuromodulator signals.
//
// State per arm k and member e: mean estimate Q[k,e] ~ N(0, Q0²), second moment S[k,e] ~ |N(0,
// S0²)|. After pulling arm k and receiving r, each member e (independently with probability mask_p,
// the bootstrap mask) updates with its own learning rate α_e = α_k·multiplier·u_e, u = a random
// permutation of linspace(0, 1, E) drawn once:
//   Q[k,e] += α_e (r − Q[k,e]);   S[k,e] += α_e (r² − S[k,e])
//   μ_k = mean_e Q[k,e];  A_k = clip(mean_e S[k,e] − μ_k², 0, 100) (aleatoric, expected)
//   U_k = Var_e Q[k,e] (epistemic, unexpected)
//   ACh: α_k = U_k / (U_k + A_k)  (Kalman-gain form; the learning rate of arm k, used at its next
//        pull; acetylcholine() = α of the arm just pulled)
//   NA:  T_raw = Σ_k softmax(μ)_k U_k;  T = max(T_raw − min_{so far} T_raw, T_floor)
//        (variant A: "minus its running minimum"; T_floor keeps the softmax defined, our addition)
// The policy is softmax(μ/T) (the decoder reads NA as its temperature).
// μ_k is written to the weight of the bias -> pool k synapse, so the motor pools' membranes read
// out μ exactly (the circuit in circuits_toml/bandit_ach_na.toml).
//
// Parameters:
//   name        default  meaning
//   ensemble    20       members E
//   q0 / s0     0.5/0.01 initial spreads
//   multiplier  1.25     learning-rate spread factor
//   mask_p      0.5      bootstrap-mask probability
//   t_floor     1e-3     lowest temperature
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
        mu_(K_, 0.0) {
    for (auto& q : Q_) q = rng.normal(0.0, p.q0);
    for (auto& s : S_) s = std::abs(rng.normal(0.0, p.s0));
    for (std::uint32_t e = 0; e < E_; ++e)
      u_[e] = E_ > 1 ? static_cast<double>(e) / static_cast<double>(E_ - 1) : 1.0;
    rng.shuffle(u_);
    for (std::uint32_t k = 0; k < K_; ++k) refresh(k);
  }

  void update(std::uint32_t k, double r, Rng& rng) {
    const double a = alpha_[k];
    for (std::uint32_t e = 0; e < E_; ++e) {
      if (!(rng.uniform() < p_.mask_p)) continue;
      const double ae = a * p_.multiplier * u_[e];
      double& q = Q_[k * E_ + e];
      double& s = S_[k * E_ + e];
      q += ae * (r - q);
      s += ae * (r * r - s);
    }
    ach_ = a;
    refresh(k);
    const double t = temperature_raw();
    t_min_ = std::min(t_min_, t);
    na_ = std::max(t - t_min_, p_.t_floor);
  }

  double mu(std::uint32_t k) const { return mu_[k]; }
  double alpha(std::uint32_t k) const { return alpha_[k]; }
  double aleatoric(std::uint32_t k) const { return A_[k]; }
  double epistemic(std::uint32_t k) const { return U_[k]; }
  double acetylcholine() const { return ach_; }
  double noradrenaline() const { return na_; }

 private:
  void refresh(std::uint32_t k) {
    if (A_.empty()) A_.assign(K_, 0.0), U_.assign(K_, 0.0);
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
  double temperature_raw() const {
    const double mx = *std::max_element(mu_.begin(), mu_.end());
    double z = 0, t = 0;
    for (std::uint32_t k = 0; k < K_; ++k) {
      const double w = std::exp(mu_[k] - mx);
      z += w;
      t += w * U_[k];
    }
    return t / z;
  }

  AchNaParams p_;
  std::uint32_t K_, E_;
  std::vector<double> Q_, S_, u_, alpha_, mu_, A_, U_;
  double ach_ = 1.0, na_ = 1.0, t_min_ = 1e300;
};

}  // namespace sbx
