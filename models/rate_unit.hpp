// Rate (non-spiking) units: a population of leaky firing-rate neurons (Miconi 2017, eLife
// 6:e20899; seed_systems.md §4.2).
//
// Equations (per unit i, time in ms):
//
//   tau · dx_i/dt = −x_i + I_i(t)                I_i = Σ_j w_ij·r_j (couplings) + I_ext,i + I_bias
//   r_i = φ(x_i)                                 φ = tanh  (model "rate")
//                                                φ = identity (model "rate_linear")
//
// Integration: forward Euler with the input held constant over the step (the simulator sums
// the couplings from the presynaptic r at the start of the step, operator splitting), exactly
// Miconi's update
//
//   x ← x + (dt/tau)·(−x + I),   r ← φ(x).
//
// For a constant input I the exact solution is x(t) = I + (x0 − I)·e^(−t/tau); the Euler scheme
// gives x_n = I + (x0 − I)·(1 − dt/tau)^n, first order in dt (tests/rate/test_rate_unit.cpp
// checks both the closed form and the convergence order). Stable for dt < 2·tau.
//
// Parameters:
// | name   | unit | default | meaning                                   |
// |--------|------|---------|-------------------------------------------|
// | tau    | ms   | 30      | time constant of the activation x         |
// | I_bias | -    | 0       | constant input added to every unit        |
//
// State: x (activation, dimensionless; initial value x_init, default 0) and r = φ(x) (rate, the
// continuous output that current couplings carry to other rate units). Units are dimensionless:
// a coupling weight multiplies r directly.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errors.hpp"
#include "engine/population.hpp"

namespace sbx {

struct RateParams {
  double tau = 30.0;    // ms
  double I_bias = 0.0;  // dimensionless

  std::vector<std::string> validate() const {
    std::vector<std::string> errs;
    if (!(tau > 0.0) || !std::isfinite(tau)) errs.push_back("tau must be a finite number > 0 ms");
    if (!std::isfinite(I_bias)) errs.push_back("I_bias must be finite");
    return errs;
  }
};

enum class RateTransfer : std::uint8_t { tanh, linear };

// One Euler step of n rate units: x += k·(−x + input), r = φ(x), with k = dt/tau. `input` is the
// total input of each unit for this step. Shared by RatePopulation and the dense DNMS network.
inline void rate_euler_step(double* x, double* r, const double* input, std::size_t n, double k,
                            RateTransfer f) {
  for (std::size_t i = 0; i < n; ++i) x[i] += k * (input[i] - x[i]);
  if (f == RateTransfer::tanh)
    for (std::size_t i = 0; i < n; ++i) r[i] = std::tanh(x[i]);
  else
    std::copy(x, x + n, r);
}

class RatePopulation final : public Population {
 public:
  RatePopulation(std::uint32_t n, const RateParams& p, RateTransfer f)
      : n_(n), p_(p), f_(f), x_(n, 0.0), r_(n, 0.0), input_(n, 0.0), total_(n, 0.0) {
    const auto errs = p.validate();
    if (!errs.empty()) throw UserError("rate population: " + errs.front());
    refresh_rates();
  }

  bool emits_spikes() const override { return false; }
  std::string_view model() const override {
    return f_ == RateTransfer::tanh ? "rate" : "rate_linear";
  }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }

  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    (void)spiked;  // rate units never spike
    const double k = ctx.dt_ms / p_.tau;
    if (!(k < 2.0))
      throw UserError("rate population: dt = " + std::to_string(ctx.dt_ms) +
                      " ms is unstable for tau = " + std::to_string(p_.tau) +
                      " ms (forward Euler needs dt < 2 tau)");
    for (std::uint32_t i = 0; i < n_; ++i) total_[i] = input_[i] + p_.I_bias;
    rate_euler_step(x_.data(), r_.data(), total_.data(), n_, k, f_);
    x_written_ = false;
  }

  // x may have been written through state("x") (initial values) since the last step, so r is
  // refreshed lazily before anyone reads it.
  const double* continuous_output() const override {
    if (x_written_) refresh_rates();
    return r_.data();
  }
  double* current_input() override { return input_.data(); }

  double* state(std::string_view name) override {
    if (name == "x") {
      x_written_ = true;
      return x_.data();
    }
    if (name == "r") {
      if (x_written_) refresh_rates();
      return r_.data();
    }
    return nullptr;
  }
  std::vector<std::string> state_names() const override { return {"x", "r"}; }
  void save_state(std::vector<double>& out) const override { out.assign(x_.begin(), x_.end()); }
  void load_state(std::span<const double> in) override {
    if (in.size() != n_)
      throw InternalError("RatePopulation::load_state: expected " + std::to_string(n_) +
                          " values, got " + std::to_string(in.size()));
    std::copy(in.begin(), in.end(), x_.begin());
    refresh_rates();
  }
  long first_nonfinite(std::string& variable) const override {
    for (std::uint32_t i = 0; i < n_; ++i)
      if (!std::isfinite(x_[i])) {
        variable.assign(1, 'x');  // (= "x"; GCC 12 warns falsely on the literal form)
        return static_cast<long>(i);
      }
    return -1;
  }

  // r = φ(x) after x was set from outside (initial values, clamps).
  void refresh_rates() const {
    for (std::uint32_t i = 0; i < n_; ++i)
      r_[i] = f_ == RateTransfer::tanh ? std::tanh(x_[i]) : x_[i];
    x_written_ = false;
  }
  const RateParams& params() const { return p_; }
  RateTransfer transfer() const { return f_; }

 private:
  std::uint32_t n_;
  RateParams p_;
  RateTransfer f_;
  std::vector<double> x_;
  mutable std::vector<double> r_;  // φ(x), refreshed lazily after outside writes to x
  mutable bool x_written_ = false;
  std::vector<double> input_;  // coupling accumulator (zeroed by the simulator before each step)
  std::vector<double> total_;  // scratch: input + bias
};

}  // namespace sbx
