// Current-based leaky integrate-and-fire neuron with exponentially decaying synaptic "currents"
// expressed as voltages: the cell of the CUBA benchmark (Brette et al. 2007, benchmark 2; Brian2
// example CUBA.py; our peer script ../shared/peers/brian2_cuba.py). Clocked population.
//
// Equations (units mV, ms):
//   τ_m dV/dt = g_e + g_i − (V − E_L)        (only when not refractory; V is held otherwise)
//   dg_e/dt = −g_e/τ_e,   dg_i/dt = −g_i/τ_i  (always)
//   spike when V > V_th (checked at the end of a non-refractory step): V ← V_reset, then V is held
//   for floor((t_ref + 10⁻³dt)/dt) − 1 steps (49 at t_ref = 5 ms, dt = 0.1 ms) — Brian2's
//   `timestep(t − lastspike, dt) >= timestep(refractory, dt)` rule.
// A spike weight w (mV) on receptor 0 adds to g_e, on receptor 1 to g_i, before the next step;
// inhibitory weights are negative (CUBA: w_e = +1.62 mV, w_i = −9 mV). The receptor buffers ARE
// the g_e and g_i arrays (Brian2's `ge += we` on the state): a separate buffer cost two loads and
// two stores per neuron-step, a third of the kernel's memory traffic.
//
// Integration: the exact propagator of the linear system over one step (what Brian's 'exact'
// method computes), with x = V − E_L:
//   x(t+dt) = x e^{−dt/τ_m} + (g_e κ_e + g_i κ_i)/τ_m,
//   κ_s = ∫₀^dt e^{−(dt−r)/τ_m} e^{−r/τ_s} dr = e^{−dt·min(1/τ_m,1/τ_s)} · (1 − e^{−d·dt})/d,
//   d = |1/τ_m − 1/τ_s| (κ_s = dt·e^{−dt/τ_m} when τ_s = τ_m; no cancellation near degeneracy).
// The inner loop is branch-free structure-of-arrays code (masks instead of branches) written on
// the vector types of sbx::simd (models/simd_math.hpp). Refractoriness is kept as the index of the
// first free step (`free_from_`, compared with the population's own step counter), so that array
// is only read in the loop and written for the rare spiking cell: with the receptor buffers gone
// (below) a neuron-step moves 32 bytes in and 24 out instead of 48 and 48.
//
// Parameters (LifCubaParams):
//   name     unit  default  meaning
//   tau_m    ms    20       membrane time constant
//   tau_e    ms    5        excitatory synaptic decay time
//   tau_i    ms    10       inhibitory synaptic decay time
//   E_L      mV    −49      resting (leak reversal) potential; above V_th in CUBA: self-driven
//   V_th     mV    −50      spike threshold
//   V_reset  mV    −60      reset potential
//   t_ref    ms    5        refractory period
//
// State variables: "V" (mV), "g_e", "g_i" (mV). Initial state: V = V_reset, g_e = g_i = 0
// (CUBA randomises V uniformly in [V_reset, V_th] through state("V")).
//
// Precision (LifCubaParams::precision, TOML key `precision`): "double" (default), or "float":
// V, g_e, g_i (and so the receptor buffers) are float arrays and the refractory "first free
// step" an int32 array compared with an int32 step counter: 16 bytes per cell instead of 32, and
// full-width float vectors (twice the lanes). Why: at 10^6 cells the double state (32 MB) no
// longer fits the last-level cache and the kernel and the random receptor-buffer additions become
// memory-bound (BENCHMARKS.md, "Scaling with network size"). The propagators are computed in
// double and rounded to float once. Float state is reached through state_view() (state() returns
// nullptr for it) and receptor_buffer_f32(); save_state/load_state keep the double layout
// (float → double is exact, so a float population's save/load round trip is exact).
// Accuracy cost: tests/models_point/test_lif_cuba_f32.cpp and BENCHMARKS.md "Session 6".
#pragma once

#include <algorithm>
#include <bit>
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

struct LifCubaParams {
  double tau_m = 20.0;     // ms
  double tau_e = 5.0;      // ms
  double tau_i = 10.0;     // ms
  double E_L = -49.0;      // mV
  double V_th = -50.0;     // mV
  double V_reset = -60.0;  // mV
  double t_ref = 5.0;      // ms
  // Element type of the state arrays and receptor buffers (see the top of this file).
  point::Precision precision = point::Precision::f64;

  std::vector<std::string> validate() const {
    point::ParamCheck c;
    c.positive("tau_m", tau_m, "ms");
    c.positive("tau_e", tau_e, "ms");
    c.positive("tau_i", tau_i, "ms");
    c.non_negative("t_ref", t_ref, "ms");
    c.finite("E_L", E_L), c.finite("V_th", V_th), c.finite("V_reset", V_reset);
    c.reset_below_threshold(V_reset, V_th);
    return c.take();
  }
};

// ∫₀^s e^{−(s−r)/τ_a} e^{−r/τ_b} dr, evaluated without cancellation for any τ_a, τ_b > 0.
inline double exp_convolution(double s, double tau_a, double tau_b) {
  const double ra = 1.0 / tau_a, rb = 1.0 / tau_b;
  const double slow = std::min(ra, rb), d = std::fabs(ra - rb);
  return std::exp(-slow * s) * (d > 0.0 ? -std::expm1(-d * s) / d : s);
}

class LifCubaPopulation final : public Population {
 public:
  static constexpr double default_dt_ms = 0.1;

  explicit LifCubaPopulation(std::uint32_t n, LifCubaParams p = {})
      : n_(n), p_(p), f32_(p.precision == point::Precision::f32) {
    point::throw_if_invalid("LifCuba", p.validate());
    if (f32_) {
      const std::size_t np = simd::padded_f(n);
      vf_.assign(np, static_cast<float>(p.V_reset));
      gef_.assign(np, 0.0f), gif_.assign(np, 0.0f), free_from_i_.assign(np, 0);
    } else {
      const std::size_t np = simd::padded(n);
      v_.assign(np, p.V_reset);
      ge_.assign(np, 0.0), gi_.assign(np, 0.0), free_from_.assign(np, 0.0);
    }
  }

  const LifCubaParams& params() const { return p_; }
  bool single_precision() const { return f32_; }

  std::string_view model() const override { return "lif_cuba"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  std::uint32_t n_receptors() const override { return 2; }
  double* receptor_buffer(std::uint32_t r) override {
    if (f32_) return nullptr;
    return r == 0 ? ge_.data() : r == 1 ? gi_.data() : nullptr;
  }
  float* receptor_buffer_f32(std::uint32_t r) override {
    if (!f32_) return nullptr;
    return r == 0 ? gef_.data() : r == 1 ? gif_.data() : nullptr;
  }

  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    prepare_step(ctx);
    step_range(ctx, 0, n_, spiked);
  }
  // Split across threads only when the step is long enough to pay for the hand-off: about 1 ns per
  // neuron-step: below ~65k cells a step is shorter than handing it to a worker thread (measured:
  // CUBA 4000 cells, 2 threads 30 % slower).
  std::uint32_t range_granularity() const override {
    return n_ >= min_split_ ? static_cast<std::uint32_t>(f32_ ? simd::kLanesF : simd::kLanes) : 0u;
  }
  // Tests lower it to exercise ranged stepping on small populations.
  void set_min_neurons_per_split(std::uint32_t n) { min_split_ = n; }
  std::uint32_t min_split_ = 1u << 16;
  void prepare_step(const StepContext& ctx) override {
    if (ctx.dt_ms != dt_) prepare(ctx.dt_ms);
    step_ += 1.0;  // once per step (the simulator calls it serially before any step_range)
    if (f32_ && ++step_i_ >= kRebase) rebase_steps();
  }
  void step_range(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                  std::vector<std::uint32_t>& spiked) override {
    (void)ctx;
    if (f32_)
      step_range_f32(begin, end, spiked);
    else
      step_range_f64(begin, end, spiked);
  }

  double* state(std::string_view name) override {
    if (f32_) return nullptr;  // float arrays: state_view()
    if (name == "V") return v_.data();
    if (name == "g_e") return ge_.data();
    if (name == "g_i") return gi_.data();
    return nullptr;
  }
  StateView state_view(std::string_view name) override {
    if (!f32_) return {state(name), StateType::f64};
    float* x = name == "V"     ? vf_.data()
               : name == "g_e" ? gef_.data()
               : name == "g_i" ? gif_.data()
                               : nullptr;
    return {x, StateType::f32};
  }
  std::vector<std::string> state_names() const override { return {"V", "g_e", "g_i"}; }

  // Layout: V, g_e, g_i, refractory steps left (before the next step), pending receptor inputs
  // e, i (n each). Pending inputs are already in g_e, g_i, so they are saved as zeros; loaded ones
  // (states saved before inputs went straight into g) are added to g_e, g_i. A float population
  // saves its values widened to double and rounds loaded ones to float.
  void save_state(std::vector<double>& out) const override {
    const point::Array zeros(n_, 0.0);
    point::Array left(n_);
    if (f32_) {
      point::Array v(vf_.begin(), vf_.begin() + n_), ge(gef_.begin(), gef_.begin() + n_),
          gi(gif_.begin(), gif_.begin() + n_);
      for (std::uint32_t k = 0; k < n_; ++k)
        left[k] = static_cast<double>(
            std::max<std::int64_t>(std::int64_t{free_from_i_[k]} - step_i_ - 1, 0));
      point::save_arrays<point::Array>(out, n_, {&v, &ge, &gi, &left, &zeros, &zeros});
      return;
    }
    for (std::uint32_t k = 0; k < n_; ++k) left[k] = std::max(free_from_[k] - (step_ + 1.0), 0.0);
    point::save_arrays<point::Array>(out, n_, {&v_, &ge_, &gi_, &left, &zeros, &zeros});
  }
  void load_state(std::span<const double> in) override {
    point::Array left(n_), pe(n_), pi(n_);
    if (f32_) {
      point::Array v(n_), ge(n_), gi(n_);
      point::load_arrays<point::Array>(in, n_, "LifCuba", {&v, &ge, &gi, &left, &pe, &pi});
      for (std::uint32_t k = 0; k < n_; ++k) {
        vf_[k] = static_cast<float>(v[k]);
        gef_[k] = static_cast<float>(ge[k] + pe[k]);
        gif_[k] = static_cast<float>(gi[k] + pi[k]);
        free_from_i_[k] = step_i_ + 1 + static_cast<std::int32_t>(std::min(left[k], hold_max()));
      }
      return;
    }
    point::load_arrays<point::Array>(in, n_, "LifCuba", {&v_, &ge_, &gi_, &left, &pe, &pi});
    for (std::uint32_t k = 0; k < n_; ++k)
      ge_[k] += pe[k], gi_[k] += pi[k], free_from_[k] = step_ + 1.0 + left[k];
  }
  long first_nonfinite(std::string& variable) const override {
    if (f32_)
      return point::first_nonfinite<point::ArrayF>(
          n_, {{"V", &vf_}, {"g_e", &gef_}, {"g_i", &gif_}}, variable);
    return point::first_nonfinite<point::Array>(n_, {{"V", &v_}, {"g_e", &ge_}, {"g_i", &gi_}},
                                                variable);
  }

 private:
  void step_range_f64(std::uint32_t begin, std::uint32_t end, std::vector<std::uint32_t>& spiked) {
    // A cell spiking in this step is free again `hold` steps later (Brian2: 50 at 5 ms / 0.1 ms).
    const double now = step_, until = step_ + std::max(nref_, 1.0);
    const std::size_t np = std::min(simd::padded(end), v_.size());  // padding lanes ride along
    kernel<simd::kLanes>(v_.data(), ge_.data(), gi_.data(), free_from_.data(), begin, np, now,
                         until, simd::splat(p_.V_reset), Coefficients<double>::of(*this), spiked);
  }
  // The same update on float arrays, kLanesF cells per vector; refractoriness as int32 step
  // indices (`free_from_i_` against `step_i_`).
  void step_range_f32(std::uint32_t begin, std::uint32_t end, std::vector<std::uint32_t>& spiked) {
    const std::size_t np = std::min(simd::padded_f(end), vf_.size());
    kernel<simd::kLanesF>(vf_.data(), gef_.data(), gif_.data(), free_from_i_.data(), begin, np,
                          step_i_, step_i_ + hold_i_, simd::wf{} + static_cast<float>(p_.V_reset),
                          Coefficients<float>::of(*this), spiked);
  }

  // Propagators and thresholds of one step in the kernel's element type (float: computed in
  // double, rounded once).
  template <class Real>
  struct Coefficients {
    Real EL, Vth, Pm, Pve, Pvi, Pe, Pi;
    static Coefficients of(const LifCubaPopulation& c) {
      auto r = [](double x) { return static_cast<Real>(x); };
      return {r(c.p_.E_L),   r(c.p_.V_th),  r(c.prop_m_), r(c.prop_ve_),
              r(c.prop_vi_), r(c.decay_e_), r(c.decay_i_)};
    }
  };
  // One step of cells [begin, np) (np a multiple of Lanes): the exact propagator, refractoriness
  // as "first free step" F compared with `now`, one code for both precisions (Real = double with
  // double step indices, or float with int32 ones). Branch-free over the lanes; spikes appended.
  template <std::size_t Lanes, class Real, class Free, class Vec>
  void kernel(Real* V, Real* GE, Real* GI, Free* F, std::size_t begin, std::size_t np, Free now,
              Free until, Vec vr, const Coefficients<Real>& c,
              std::vector<std::uint32_t>& spiked) const {
    const std::uint32_t n = n_;  // a local: `spiked` could alias a member, n_ would be reloaded
    for (std::size_t i = begin; i < np; i += Lanes) {
      const Vec v = simd::load(V + i);
      const Vec ge = simd::load(GE + i), gi = simd::load(GI + i);
      const auto free = simd::load(F + i) <= now;
      const Vec v_prop = c.EL + (v - c.EL) * c.Pm + ge * c.Pve + gi * c.Pvi;
      const Vec v_new = simd::select(free, v_prop, v);
      const auto spike = free & (v_new > c.Vth);
      simd::store(V + i, simd::select(spike, vr, v_new));
      simd::store(GE + i, ge * c.Pe);
      simd::store(GI + i, gi * c.Pi);
      if (unsigned bits = simd::mask_bits(spike)) {
        for (; bits != 0; bits &= bits - 1u) {
          const std::uint32_t j = static_cast<std::uint32_t>(i) + std::countr_zero(bits);
          F[j] = until;
          if (j < n) spiked.push_back(j);  // padding lanes ride along but never spike
        }
      }
    }
  }

  // The int32 step counter restarts near 0 every 2^30 steps (~30 h of simulated time at 0.1 ms);
  // free-from indices move with it (those already passed become 0), so comparisons are unchanged.
  static constexpr std::int32_t kRebase = std::int32_t{1} << 30;
  static double hold_max() { return static_cast<double>(kRebase - 1); }
  void rebase_steps() {
    for (std::int32_t& f : free_from_i_) f = f > kRebase ? f - kRebase : 0;
    step_i_ -= kRebase;
  }

  void prepare(double dt) {
    if (!(dt > 0.0)) throw std::invalid_argument("LifCuba: dt must be > 0");
    dt_ = dt;
    prop_m_ = std::exp(-dt / p_.tau_m);
    prop_ve_ = exp_convolution(dt, p_.tau_m, p_.tau_e) / p_.tau_m;
    prop_vi_ = exp_convolution(dt, p_.tau_m, p_.tau_i) / p_.tau_m;
    decay_e_ = std::exp(-dt / p_.tau_e);
    decay_i_ = std::exp(-dt / p_.tau_i);
    nref_ = simd::refractory_steps(p_.t_ref, dt);
    // (refractory periods beyond 2^30 − 1 steps are clamped there in float mode)
    hold_i_ = static_cast<std::int32_t>(std::min(std::max(nref_, 1.0), hold_max()));
  }

  std::uint32_t n_;
  LifCubaParams p_;
  bool f32_;  // precision = "float": the *f_ / *_i_ arrays below are used, the double ones empty
  double dt_ = -1.0, prop_m_ = 0, prop_ve_ = 0, prop_vi_ = 0, decay_e_ = 0, decay_i_ = 0, nref_ = 0;
  double step_ = -1.0;  // index of the current (last prepared) step; exact in double up to 2^53
  point::Array v_, ge_, gi_;
  point::Array free_from_;  // first step index at which the cell integrates again
  // precision = "float"
  point::ArrayF vf_, gef_, gif_;
  point::ArrayI32 free_from_i_;  // as free_from_, against step_i_
  std::int32_t step_i_ = -1, hold_i_ = 1;
};

}  // namespace sbx
