// Izhikevich (2003) simple spiking neuron as a clocked population, integrated with the scheme of
// Izhikevich's own 2003/2007 MATLAB code (spnet.m, daspnet.m).
//
// Equations (v in mV, t in ms, I in mV/ms):
//   dv/dt = 0.04 v² + 5 v + 140 − u + I
//   du/dt = a (b v − u)
//   if v ≥ v_peak: v ← c, u ← u + d   (a spike)
// Integration scheme of the 2007 code (daspnet.m), for a step dt (1 ms there):
//   v ← v + (dt/2)(0.04 v² + 5 v + 140 − u + I)     (twice: two half-steps "for numerical
//   v ← v + (dt/2)(0.04 v² + 5 v + 140 − u + I)      stability", u held)
//   u ← u + dt · a (b v − u)                         (one full step, with the new v)
//   spike if v ≥ v_peak, then reset.  In daspnet.m the test and reset happen at the start of the
//   next millisecond; doing them at the end of this step is the same sequence of operations.
// Input current during a step: I = I_bias + U(−noise, +noise) (one draw per neuron per step, as
// daspnet's 13·(rand − 0.5) = U(−6.5, 6.5)) + (sum of spike weights delivered before the step)/dt.
// Dividing the weights by dt makes a weight w raise v by w mV (to first order) whatever dt is; at
// dt = 1 ms it is exactly daspnet's I(ind) += s. Two receptors, "exc" and "inh", both add to I
// (the sign is the weight's: inhibitory weights are negative, as in daspnet).
//
// Parameters (IzhikevichParams):
//   name     unit   default  meaning
//   a        1/ms   0.02     recovery rate (RS 0.02, FS 0.1)
//   b        -      0.2      sensitivity of u to v
//   c        mV     -65      reset potential
//   d        mV/ms  8        reset increment of u (RS 8, FS 2)
//   v_peak   mV     30       spike cut-off
//   I_bias   mV/ms  0        constant input
//   noise    mV/ms  0        half-width of the uniform input noise drawn every step (daspnet 6.5)
//
// State variables: "v" (mV), "u" (mV/ms); initially v = −65 mV and u = b·v (as daspnet.m),
// settable through state("v") / state("u").
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errors.hpp"
#include "engine/population.hpp"
#include "engine/rng.hpp"
#include "models/point_common.hpp"

namespace sbx {

struct IzhikevichParams {
  double a = 0.02;
  double b = 0.2;
  double c = -65.0;
  double d = 8.0;
  double v_peak = 30.0;
  double I_bias = 0.0;
  double noise = 0.0;

  std::vector<std::string> validate() const {
    point::ParamCheck ch;
    ch.positive("a", a, "1/ms");
    ch.finite("b", b), ch.finite("c", c), ch.finite("d", d), ch.finite("I_bias", I_bias);
    ch.finite("v_peak", v_peak);
    ch.non_negative("noise", noise, "mV/ms");
    auto e = ch.take();
    if (std::isfinite(c) && std::isfinite(v_peak) && !(c < v_peak))
      e.push_back("c (reset) must be < v_peak (got c = " + format_number(c) +
                  " mV, v_peak = " + format_number(v_peak) + " mV)");
    return e;
  }
};

class IzhikevichPopulation final : public Population {
 public:
  IzhikevichPopulation(std::uint32_t n, IzhikevichParams p, Rng rng)
      : n_(n),
        p_(p),
        rng_(rng),
        v_(n, -65.0),
        u_(n, p.b * -65.0),
        buf_e_(n, 0.0),
        buf_i_(n, 0.0),
        input_(n, 0.0) {
    point::throw_if_invalid("Izhikevich", p.validate());
  }

  const IzhikevichParams& params() const { return p_; }

  std::string_view model() const override { return "izhikevich"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  std::uint32_t n_receptors() const override { return 2; }
  double* receptor_buffer(std::uint32_t r) override {
    return r == 0 ? buf_e_.data() : r == 1 ? buf_i_.data() : nullptr;
  }

  // Three passes over the cells (same operations, same values as one fused loop): the input
  // current with its noise draw (a serial chain through the generator's state, kept apart so the
  // update vectorises), the update of v and u (vectorised), then the spike test and reset (a
  // branch per cell; spikes are rare). Fused, the draw's dependency chain and the spike branch
  // kept the update scalar: ~75 % of the distal-reward network's run time (BENCHMARKS.md).
  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    const double dt = ctx.dt_ms, h = 0.5 * dt, inv_dt = 1.0 / dt;
    const double a = p_.a, b = p_.b, c = p_.c, d = p_.d, vpk = p_.v_peak;
    const double bias = p_.I_bias, width = 2.0 * p_.noise, lo = p_.I_bias - p_.noise;
    double* __restrict I = input_.data();
    // The draw is skipped (not just multiplied by 0) without noise so noise-free runs keep the
    // stream untouched.
    if (width > 0.0)
      for (std::uint32_t i = 0; i < n_; ++i) I[i] = lo + width * rng_.uniform();
    else
      std::fill(input_.begin(), input_.end(), bias);
    double* __restrict V = v_.data(), * __restrict U = u_.data();
    double* __restrict BE = buf_e_.data(), * __restrict BI = buf_i_.data();
    for (std::uint32_t i = 0; i < n_; ++i) {
      const double in = I[i] + (BE[i] + BI[i]) * inv_dt;
      BE[i] = 0.0;
      BI[i] = 0.0;
      double v = V[i], u = U[i];
      v += h * ((0.04 * v + 5.0) * v + 140.0 - u + in);
      v += h * ((0.04 * v + 5.0) * v + 140.0 - u + in);
      u += dt * a * (b * v - u);
      V[i] = v;
      U[i] = u;
    }
    // Spike test: eight cells per compare (spikes are rare), then the few with a spike.
    const auto reset = [&](std::uint32_t i) {
      if (V[i] >= vpk) {
        V[i] = c;
        U[i] += d;
        spiked.push_back(i);
      }
    };
    std::uint32_t i = 0;
    for (; i + 8 <= n_; i += 8) {
      bool any = false;
      for (std::uint32_t j = 0; j < 8; ++j) any |= V[i + j] >= vpk;
      if (any)
        for (std::uint32_t j = 0; j < 8; ++j) reset(i + j);
    }
    for (; i < n_; ++i) reset(i);
  }

  double* state(std::string_view name) override {
    if (name == "v") return v_.data();
    if (name == "u") return u_.data();
    return nullptr;
  }
  std::vector<std::string> state_names() const override { return {"v", "u"}; }

  // Layout: v, u, pending receptor inputs exc, inh (n each), then the 4 words of the noise
  // generator's state stored bit for bit in 4 doubles (so a restored run draws the same noise).
  void save_state(std::vector<double>& out) const override {
    point::save_arrays(out, n_, {&v_, &u_, &buf_e_, &buf_i_});
    for (std::uint64_t w : rng_.state()) {
      double x;
      std::memcpy(&x, &w, sizeof x);
      out.push_back(x);
    }
  }
  void load_state(std::span<const double> in) override {
    const std::size_t n_arrays = 4u * n_;
    if (in.size() != n_arrays + 4u)
      throw std::invalid_argument("Izhikevich::load_state: expected " +
                                  std::to_string(n_arrays + 4u) + " values, got " +
                                  std::to_string(in.size()));
    point::load_arrays(in.first(n_arrays), n_, "Izhikevich", {&v_, &u_, &buf_e_, &buf_i_});
    Rng::State s{};
    for (std::size_t k = 0; k < 4; ++k) std::memcpy(&s[k], &in[n_arrays + k], sizeof s[k]);
    rng_.set_state(s);
  }
  long first_nonfinite(std::string& variable) const override {
    return point::first_nonfinite(n_, {{"v", &v_}, {"u", &u_}}, variable);
  }

 private:
  std::uint32_t n_;
  IzhikevichParams p_;
  Rng rng_;
  std::vector<double> v_, u_, buf_e_, buf_i_;
  std::vector<double> input_;  // step()'s scratch: this step's input current without synapses
};

}  // namespace sbx
