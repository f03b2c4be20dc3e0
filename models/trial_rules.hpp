// Between-trial learning rules of the Neuroblox corticostriatal circuit (reference:
// ../shared/reference/neuroblox_models.md §3). Both are applied once per trial, after the trial has
// been simulated, independently to every plastic connection, using the weight before the update:
// w ← w + Δw. There is no online plasticity during a trial.
//
// HebbianRule (Neuroblox HebbianPlasticity):
//   Δw = K · x_pre · x_post · (W_lim − w) · r
//   x_pre / x_post = pre/post state at the end of the trial (C_cum of the source / target cell),
//   r ∈ {0, 1} the trial's feedback: weights move monotonically toward W_lim, only when r ≠ 0.
//
// HebbianDopamineRule (Neuroblox HebbianModulationPlasticity):
//   ε    = r − (κ_DA − DA)                         (reward-prediction error; DA = SNc R_ at t_mod)
//   f(ε) = ε · (ε + θ_m) · σ'(α·(ε + θ_m)),        σ'(x) = σ(x)·(1 − σ(x)), σ logistic
//   Δw   = max(K · x_pre · x_post · f(ε) − decay · w, −w)    (the floor keeps w ≥ 0)
//   x_pre = source C_cum at the end of the trial, x_post = the target striatum's matrisome H.
//
// Parameters:
//   rule                 name     unit  tutorial  meaning
//   HebbianRule          K        1     5e−4      learning rate
//                        W_lim    1     7         weight limit (15 in the open-loop example)
//   HebbianDopamineRule  K        1     0.06      learning rate
//                        decay    1     0.01      weight decay per trial
//                        alpha    1     2.5       slope of the σ' window
//                        theta_m  1     1         shift of the RPE window (f = 0 at ε = −θ_m)
//
// Arrays: weights are a flat span (one entry per plastic synapse); pre/post values are given either
// per synapse (same length as the weights) or per cell together with per-synapse indices.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>

namespace sbx {

struct HebbianRule {
  double K = 5e-4;
  double W_lim = 7.0;

  double delta(double w, double x_pre, double x_post, double r) const {
    return K * x_pre * x_post * (W_lim - w) * r;
  }

  // Per-synapse pre/post values.
  void apply(std::span<double> w, std::span<const double> x_pre, std::span<const double> x_post,
             double r) const {
    check_sizes(w.size(), x_pre.size(), x_post.size());
    if (r == 0.0) return;  // no change on unrewarded trials (and no -0.0 noise)
    for (std::size_t k = 0; k < w.size(); ++k) w[k] += delta(w[k], x_pre[k], x_post[k], r);
  }

  // Per-cell values with per-synapse indices: synapse k uses pre_values[pre[k]],
  // post_values[post[k]].
  void apply(std::span<double> w, std::span<const std::uint32_t> pre,
             std::span<const double> pre_values, std::span<const std::uint32_t> post,
             std::span<const double> post_values, double r) const {
    check_sizes(w.size(), pre.size(), post.size());
    if (r == 0.0) return;
    for (std::size_t k = 0; k < w.size(); ++k)
      w[k] += delta(w[k], pre_values[pre[k]], post_values[post[k]], r);
  }

  static void check_sizes(std::size_t n, std::size_t a, std::size_t b) {
    if (a != n || b != n) throw std::invalid_argument("HebbianRule: array sizes differ");
  }
};

struct HebbianDopamineRule {
  double K = 0.06;
  double decay = 0.01;
  double alpha = 2.5;
  double theta_m = 1.0;

  // Reward-prediction error from the feedback r, the SNc's κ_DA and its dopamine value DA = R_.
  static double rpe(double r, double kappa_da, double dopamine) {
    return r - (kappa_da - dopamine);
  }

  static double sigmoid_prime(double x) {
    const double s = 1.0 / (1.0 + std::exp(-x));
    return s * (1.0 - s);
  }

  // f(ε) = ε(ε + θ_m)σ'(α(ε + θ_m)).
  double modulation(double eps) const {
    return eps * (eps + theta_m) * sigmoid_prime(alpha * (eps + theta_m));
  }

  // Δw for one synapse, given the modulation value f(ε) of the trial.
  double delta_given_f(double w, double x_pre, double x_post, double f) const {
    const double dw = K * x_pre * x_post * f - decay * w;
    return dw > -w ? dw : -w;
  }
  double delta(double w, double x_pre, double x_post, double eps) const {
    return delta_given_f(w, x_pre, x_post, modulation(eps));
  }

  void apply(std::span<double> w, std::span<const double> x_pre, std::span<const double> x_post,
             double eps) const {
    HebbianRule::check_sizes(w.size(), x_pre.size(), x_post.size());
    const double f = modulation(eps);
    for (std::size_t k = 0; k < w.size(); ++k) w[k] += delta_given_f(w[k], x_pre[k], x_post[k], f);
  }

  void apply(std::span<double> w, std::span<const std::uint32_t> pre,
             std::span<const double> pre_values, std::span<const std::uint32_t> post,
             std::span<const double> post_values, double eps) const {
    HebbianRule::check_sizes(w.size(), pre.size(), post.size());
    const double f = modulation(eps);
    for (std::size_t k = 0; k < w.size(); ++k)
      w[k] += delta_given_f(w[k], pre_values[pre[k]], post_values[post[k]], f);
  }
};

}  // namespace sbx
