// Conductance-based leaky integrate-and-fire neuron with exponentially decaying synaptic
// conductances: the cell of the COBA benchmark (Vogels & Abbott 2005; Brette et al. 2007,
// benchmark 1; Brian2 example COBA.py). Clocked population.
//
// Equations (units mV, ms, nS, pF, pA):
//   C_m dV/dt = g_L (E_L − V) + g_e (E_e − V) + g_i (E_i − V) + I_bias   (held when refractory)
//   dg_e/dt = −g_e/τ_e,   dg_i/dt = −g_i/τ_i                               (always)
//   spike when V > V_th at the end of a non-refractory step: V ← V_reset, then V is held for
//   floor((t_ref + 10⁻³dt)/dt) − 1 steps (Brian2's refractory rule, as in lif_cuba.hpp).
// A spike weight w (nS, ≥ 0) on receptor 0 adds to g_e, on receptor 1 to g_i, at the start of the
// next step. Benchmark weights: 0.27 nS (excitatory), 4.5 nS (inhibitory).
//
// Integration: exponential Euler (Brian2's `exponential_euler`): V is linear in itself with the
// conductances held at their start-of-step values, so with G = g_L + g_e + g_i and
// V_∞ = (g_L E_L + g_e E_e + g_i E_i + I_bias)/G, V ← V_∞ + (V − V_∞)·exp(−dt·G/C_m); g_e and g_i
// decay exactly. Exact when g_e = g_i = 0; otherwise first order in dt, because the conductances
// decay during the step (the exact V would need exponential integrals). Why this choice: it is
// what the reference simulators run for this benchmark, and it is unconditionally stable.
// Vectorised with sbx::simd (models/simd_math.hpp: own exp), branch-free.
//
// Parameters (LifCobaParams):
//   name     unit  default  meaning
//   C_m      pF    200      membrane capacitance (τ_m = C_m/g_L = 20 ms)
//   g_L      nS    10       leak conductance
//   E_L      mV    −60      leak reversal potential
//   V_th     mV    −50      spike threshold
//   V_reset  mV    −60      reset potential
//   t_ref    ms    5        refractory period
//   E_e      mV    0        excitatory reversal potential
//   E_i      mV    −80      inhibitory reversal potential
//   tau_e    ms    5        excitatory conductance decay time
//   tau_i    ms    10       inhibitory conductance decay time
//   I_bias   pA    0        constant injected current (per neuron, state "I_bias")
//
// State variables: "V" (mV), "g_e", "g_i" (nS), parameter array "I_bias" (pA).
// Initial state: V = V_reset, g_e = g_i = 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/population.hpp"
#include "models/point_common.hpp"
#include "models/simd_math.hpp"

namespace sbx {

struct LifCobaParams {
  double C_m = 200.0;      // pF
  double g_L = 10.0;       // nS
  double E_L = -60.0;      // mV
  double V_th = -50.0;     // mV
  double V_reset = -60.0;  // mV
  double t_ref = 5.0;      // ms
  double E_e = 0.0;        // mV
  double E_i = -80.0;      // mV
  double tau_e = 5.0;      // ms
  double tau_i = 10.0;     // ms
  double I_bias = 0.0;     // pA

  std::vector<std::string> validate() const {
    point::ParamCheck c;
    c.positive("C_m", C_m, "pF");
    c.positive("g_L", g_L, "nS");
    c.positive("tau_e", tau_e, "ms");
    c.positive("tau_i", tau_i, "ms");
    c.non_negative("t_ref", t_ref, "ms");
    for (auto [n, v] : {std::pair{"E_L", E_L},
                        {"V_th", V_th},
                        {"V_reset", V_reset},
                        {"E_e", E_e},
                        {"E_i", E_i},
                        {"I_bias", I_bias}})
      c.finite(n, v);
    c.reset_below_threshold(V_reset, V_th);
    return c.take();
  }
};

class LifCobaPopulation final : public Population {
 public:
  static constexpr double default_dt_ms = 0.1;

  explicit LifCobaPopulation(std::uint32_t n, LifCobaParams p = {}) : n_(n), p_(p) {
    point::throw_if_invalid("LifCoba", p.validate());
    const std::size_t np = simd::padded(n);
    v_.assign(np, p.V_reset);
    ge_.assign(np, 0.0), gi_.assign(np, 0.0), ref_.assign(np, 0.0);
    buf_e_.assign(np, 0.0), buf_i_.assign(np, 0.0), bias_.assign(np, p.I_bias);
  }

  const LifCobaParams& params() const { return p_; }

  std::string_view model() const override { return "lif_coba"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  std::uint32_t n_receptors() const override { return 2; }
  double* receptor_buffer(std::uint32_t r) override {
    return r == 0 ? buf_e_.data() : r == 1 ? buf_i_.data() : nullptr;
  }

  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    prepare_step(ctx);
    step_range(ctx, 0, n_, spiked);
  }
  // Split across threads only when the step is long enough to pay for the hand-off: a few ns per
  // neuron-step: below ~16k cells a step is shorter than handing it to a worker thread.
  std::uint32_t range_granularity() const override {
    return n_ >= min_split_ ? static_cast<std::uint32_t>(simd::kLanes) : 0u;
  }
  // Tests lower it to exercise ranged stepping on small populations.
  void set_min_neurons_per_split(std::uint32_t n) { min_split_ = n; }
  std::uint32_t min_split_ = 1u << 14;
  void prepare_step(const StepContext& ctx) override {
    if (ctx.dt_ms != dt_) prepare(ctx.dt_ms);
  }
  void step_range(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                  std::vector<std::uint32_t>& spiked) override {
    (void)ctx;
    using simd::vd;
    using simd::vi;
    const double gL = p_.g_L, gLEL = p_.g_L * p_.E_L, Ee = p_.E_e, Ei = p_.E_i;
    const double k = -dt_ / p_.C_m, Vth = p_.V_th, Vr = p_.V_reset;
    const double nref1 = std::max(nref_ - 1.0, 0.0), Pe = decay_e_, Pi = decay_i_;
    double *V = v_.data(), *GE = ge_.data(), *GI = gi_.data(), *R = ref_.data();
    double *BE = buf_e_.data(), *BI = buf_i_.data();
    const double* IB = bias_.data();
    const vd zero = simd::splat(0.0);
    const std::size_t np = std::min(simd::padded(end), v_.size());  // padding lanes ride along
    for (std::size_t i = begin; i < np; i += simd::kLanes) {
      const vd v = simd::load(V + i), r = simd::load(R + i);
      const vd ge = simd::load(GE + i) + simd::load(BE + i);
      const vd gi = simd::load(GI + i) + simd::load(BI + i);
      simd::store(BE + i, zero);
      simd::store(BI + i, zero);
      const vd G = gL + ge + gi;
      const vd Vinf = (gLEL + ge * Ee + gi * Ei + simd::load(IB + i)) / G;
      const vd v_prop = Vinf + (v - Vinf) * simd::exp(k * G);
      const vi free = r <= 0.0;
      const vd v_new = simd::select(free, v_prop, v);
      const vi spike = free & (v_new > Vth);
      simd::store(V + i, simd::select(spike, simd::splat(Vr), v_new));
      simd::store(R + i, simd::refractory_next(spike, r, nref1));
      simd::store(GE + i, ge * Pe);
      simd::store(GI + i, gi * Pi);
      simd::append_spikes(spike, static_cast<std::uint32_t>(i), n_, spiked);
    }
  }

  double* state(std::string_view name) override {
    if (name == "V") return v_.data();
    if (name == "g_e") return ge_.data();
    if (name == "g_i") return gi_.data();
    if (name == "I_bias") return bias_.data();
    return nullptr;
  }
  std::vector<std::string> state_names() const override { return {"V", "g_e", "g_i", "I_bias"}; }

  // Layout: V, g_e, g_i, refractory steps left, pending receptor inputs e, i (n each).
  void save_state(std::vector<double>& out) const override {
    point::save_arrays<point::Array>(out, n_, {&v_, &ge_, &gi_, &ref_, &buf_e_, &buf_i_});
  }
  void load_state(std::span<const double> in) override {
    point::load_arrays<point::Array>(in, n_, "LifCoba", {&v_, &ge_, &gi_, &ref_, &buf_e_, &buf_i_});
  }
  long first_nonfinite(std::string& variable) const override {
    return point::first_nonfinite<point::Array>(n_, {{"V", &v_}, {"g_e", &ge_}, {"g_i", &gi_}},
                                                variable);
  }

 private:
  void prepare(double dt) {
    if (!(dt > 0.0)) throw std::invalid_argument("LifCoba: dt must be > 0");
    dt_ = dt;
    decay_e_ = std::exp(-dt / p_.tau_e);
    decay_i_ = std::exp(-dt / p_.tau_i);
    nref_ = simd::refractory_steps(p_.t_ref, dt);
  }

  std::uint32_t n_;
  LifCobaParams p_;
  double dt_ = -1.0, decay_e_ = 0, decay_i_ = 0, nref_ = 0;
  point::Array v_, ge_, gi_, ref_, buf_e_, buf_i_, bias_;
};

}  // namespace sbx
