// Forward-Euler leaky integrate-and-fire unit with a bias current and Gaussian current noise: the
// neuron of the Neuro-Encoder lane-keeping agent (jmxctrl/spike_neuron, seed_systems.md §2.2).
// Dimensionless units (threshold 1). Clocked population.
//
// Equation, one step of length dt (the original uses dt = 1, τ = 20):
//   I = I_bias + noise_sd·ξ + Σ w (spike weights delivered this step, both receptors)
//   V ← V + (dt/τ)(−V + I),   ξ ~ 𝒩(0, 1) drawn per neuron and step from '<block>/noise'
//   spike when V ≥ V_th (checked after the update), then V ← V_reset; no refractory period.
// A spike weight w is a current w for the one step after delivery: the original's
// (1/N)·Σ_j W[i,j]·s_j(t−1) with w = W[i,j]/N and delay = dt. The noise is a current drawn once
// per step (not scaled by √dt), as in the original.
// The noise generator is not part of save_state: the episodes experiment restores the initial
// state at every episode start, and the original draws fresh noise every episode.
//
// Parameters (LifEulerParams):
//   name      unit  default  meaning
//   tau       ms    20       membrane time constant
//   V_th      -     1        spike threshold
//   V_reset   -     0        reset value (< V_th)
//   I_bias    -     0.08     constant input current
//   noise_sd  -     0.2      sd of the Gaussian current noise drawn every step
//
// State variables: "V". Initial state V = 0 (settable by V_init).
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/population.hpp"
#include "engine/rng.hpp"

namespace sbx {

struct LifEulerParams {
  double tau = 20.0;
  double V_th = 1.0;
  double V_reset = 0.0;
  double I_bias = 0.08;
  double noise_sd = 0.2;

  std::vector<std::string> validate() const {
    std::vector<std::string> e;
    if (!(tau > 0.0)) e.push_back("tau must be > 0");
    if (!(V_reset < V_th)) e.push_back("V_reset must be < V_th");
    if (!(noise_sd >= 0.0)) e.push_back("noise_sd must be >= 0");
    return e;
  }
};

class LifEulerPopulation final : public Population {
 public:
  LifEulerPopulation(std::uint32_t n, LifEulerParams p, Rng rng)
      : n_(n), p_(p), rng_(rng), v_(n, 0.0), buf_e_(n, 0.0), buf_i_(n, 0.0) {}

  std::string_view model() const override { return "lif_euler"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  std::uint32_t n_receptors() const override { return 2; }
  double* receptor_buffer(std::uint32_t r) override {
    return r == 0 ? buf_e_.data() : r == 1 ? buf_i_.data() : nullptr;
  }

  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    const double k = ctx.dt_ms / p_.tau, sd = p_.noise_sd, bias = p_.I_bias;
    for (std::uint32_t i = 0; i < n_; ++i) {
      // Without noise the draw is skipped so the stream stays untouched.
      const double I = bias + (sd > 0.0 ? sd * rng_.normal() : 0.0) + buf_e_[i] + buf_i_[i];
      buf_e_[i] = 0.0;
      buf_i_[i] = 0.0;
      double v = v_[i] + k * (-v_[i] + I);
      if (v >= p_.V_th) {
        v = p_.V_reset;
        spiked.push_back(i);
      }
      v_[i] = v;
    }
  }

  double* state(std::string_view name) override { return name == "V" ? v_.data() : nullptr; }
  std::vector<std::string> state_names() const override { return {"V"}; }
  void save_state(std::vector<double>& out) const override {
    out.clear();
    out.insert(out.end(), v_.begin(), v_.end());
    out.insert(out.end(), buf_e_.begin(), buf_e_.end());
    out.insert(out.end(), buf_i_.begin(), buf_i_.end());
  }
  void load_state(std::span<const double> in) override {
    if (in.size() != 3u * n_)
      throw std::invalid_argument("LifEuler::load_state: expected " + std::to_string(3u * n_) +
                                  " values, got " + std::to_string(in.size()));
    v_.assign(in.begin(), in.begin() + n_);
    buf_e_.assign(in.begin() + n_, in.begin() + 2 * n_);
    buf_i_.assign(in.begin() + 2 * n_, in.end());
  }
  long first_nonfinite(std::string& variable) const override {
    for (std::uint32_t i = 0; i < n_; ++i)
      if (!std::isfinite(v_[i])) {
        // A moved std::string: GCC 12 reports a false -Wrestrict on assigning the literal "V".
        variable = std::string(1, 'V');
        return static_cast<long>(i);
      }
    return -1;
  }

 private:
  std::uint32_t n_;
  LifEulerParams p_;
  Rng rng_;
  std::vector<double> v_, buf_e_, buf_i_;
};

}  // namespace sbx
