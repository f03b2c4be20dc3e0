// Neuroblox Hodgkin–Huxley cells (HHNeuronExci / HHNeuronInhib) with the synapse each cell emits
// and the smooth spike counters — one clocked structure-of-arrays population for both cell types.
// Spec: shared/reference/neuroblox_models.md §1.1, §1.2, §1.3.
//
// ---- Equations (ms, mV, µA/cm², mS/cm², C_m = 1 µF/cm²) ------------------------------------
//   dV/dt = −g_Na·m³h·(V−E_Na) − g_K·n⁴·(V−E_K) − g_L·(V−E_L) + I_bg + I_in + I_cont + (gE − g·V)
//   dx/dt = φ·(α_x(V)·(1−x) − β_x(V)·x),  x ∈ {n, m, h},  φ = 5
//       α_n = 0.01·(V+s_n)/(1−exp(−(V+s_n)/10))   β_n = 0.125·exp(−(V+s_n+10)/80)
//       α_m = 0.1·(V+s_m)/(1−exp(−(V+s_m)/10))    β_m = 4·exp(−(V+s_m+25)/18)
//       α_h = 0.07·exp(−(V+s_h)/20)               β_h = 1/(1+exp(−(V+s_h−30)/10))
//       excitatory: s_n = 34, s_m = 30, s_h = 44;  inhibitory: s_n = 38, s_m = 33, s_h = 51
//       (the removable singularities of α_n, α_m at V = −s_n, −s_m are replaced by a Taylor
//        form y/(1−e^−y) ≈ 1 + y/2 + y²/12 for |y| < 1e−3, giving the limits 0.1 resp. 1.0)
//   dC_cum/dt = dC_win/dt = 3·k_spk·σ(4.394·(V−10)/35)          (smooth spike counters)
//   dz/dt = −z/τ₁ + G_syn·σ(4.394·(V−V_shift)/V_range),  τ₁ = 0.1 ms   (emitted synapse)
//   dG/dt = −G/τ  + z
//   σ(x) = 1/(1+e^−x).  Postsynaptic current of a coupling with weight w: w·G·(E_syn − V_post),
//   delivered by the simulator as g = Σ w·G_pre, gE = Σ w·G_pre·E_syn,pre  (I_syn = gE − g·V).
//
// ---- Parameters (per neuron) ---------------------------------------------------------------
//   name     unit      exc     inh     meaning
//   type     –         exci    inhib   selects the gating shifts s_n, s_m, s_h above
//   g_Na     mS/cm²    52      52      Na max conductance
//   g_K      mS/cm²    20      20      K max conductance
//   g_L      mS/cm²    0.1     0.1     leak conductance
//   E_Na     mV        55      55      Na reversal
//   E_K      mV        −90     −90     K reversal
//   E_L      mV        −60     −60     leak reversal
//   I_bg     µA/cm²    0       0       constant background current (persistent, writable)
//   E_syn    mV        0       −70     reversal of the synapse this cell EMITS (AMPA / GABA_A)
//   G_syn    –         3       11.5    max transmitter drive of the emitted synapse
//   V_shift  mV        10      0       release-sigmoid centre
//   V_range  mV        35      35      release-sigmoid width
//   tau      ms        5       70      decay time τ of the emitted synapse (τ₂ of §1.3)
//   k_spk    –         1.127   1.127   spike-counter gain (inhibitory cells integrate it too,
//                                      nothing reads it)
//   Initial state: V = −65, n = 0.32, m = 0.05, h = 0.59, C_cum = C_win = z = G = 0.
//   Inputs: I_in (persistent stimulus current, written by the experiment), I_cont =
//   current_input() and (g, gE) = conductance_input(), conductance_reversal_input() (zeroed and
//   summed by the simulator before every step, held constant over the step).
//
// ---- Integrator (why: accuracy per exp, since the 48-cell × 400-trial run is the benchmark) ---
// Classic RK4 is very accurate here (spike times within 0.002 ms of an exact solution at
// dt = 0.025) but unstable at dt ≥ 0.05: at hyperpolarised V the m-gate has a rate
// φ·(α_m+β_m) up to ≈ 140 /ms. Second-order exponential schemes (Rush–Larsen 2, staggered
// exponential midpoint) are stable but need dt ≈ 0.01 for 0.1 ms spike-time accuracy over 1 s.
// We therefore use an exponential RK4 (Cox–Matthews ETDRK4) for V and m in which only the
// stiffness EXCESS is treated exponentially: with the diagonal Jacobian entry λ at the step start
// (λ_m = φ·(α_m+β_m), λ_V = total membrane conductance) the frozen linear part is
// L = −max(0, λ − 1/dt). Where nothing is stiff L = 0 and the scheme is exactly classic RK4;
// in the after-hyperpolarisation the excess decays exactly. n and h (rates ≤ 5 /ms) use
// classic RK4. Measured (tests): every spike time at dt = 0.05 within 0.02 ms of dt/10 over 1 s.
// Other choices measured and rejected at dt = 0.05: plain RK4 (unstable), Lawson RK4 (3.8 ms),
// ETDRK4 with the full frozen λ (0.08–0.17 ms), ETD3 / Kutta RK3 (0.1–0.6 ms); at dt = 0.1 the
// capped ETDRK4 is off by 0.35–0.65 ms, hence default_dt_ms = 0.05.
// The counters and the emitted synapse only depend on V. They use σ(V_{n+1}) held over the step
// (rectangle rule; the exact propagator of the linear (z, G) system for a constant drive,
// coefficients per neuron computed once per dt). Over a whole release pulse the rectangle sum
// equals the trapezoid sum (the end terms are at rest), so per-spike counts and conductance
// jumps are unchanged; release is at most dt/2 late, and one exp per sigmoid is saved.
// All exponentials use nbx_detail::vexp (branch-free, ≤ 1 ulp measured against std::exp);
// the six gating exponentials come from ONE exp(−V/720) raised to integer powers
// (720 = lcm(10, 18, 20, 80)), relative error ≈ 1e−14, and all divisions of a stage share one
// reciprocal. A spike is reported when V crosses 0 mV upward within the step.
//
// ---- SIMD ------------------------------------------------------------------------------------
// The kernel is written with GCC/Clang vector extensions (see nbx_detail): 2 lanes with SSE2
// (the default x86-64 build), 4 with AVX, 8 with AVX-512; arrays are padded to whole vectors.
// Each lane gives bitwise the same result as that cell simulated on its own. The ETD
// coefficients are computed only for vectors in which some lane is stiff.
// Cost (bench/bench_hh_kernel.cpp, 48 cells, dt 0.05; the shared 2-vCPU Zen 4 was loaded, so the
// peer reference kernel ran at 2.6× its documented time): ≈ 150 ns/neuron-step with -O3
// (SSE2), ≈ 53 ns with -march=x86-64-v3 or -march=native.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/errors.hpp"
#include "engine/population.hpp"

// Passing 32-byte vectors between (always inlined) functions without AVX triggers an ABI note.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace sbx {

namespace nbx_detail {

#if defined(__GNUC__)
#define SBX_NBX_INLINE inline __attribute__((always_inline))
#else
#define SBX_NBX_INLINE inline
#endif

// Explicit SIMD through the GCC/Clang vector extensions. Why not a plain loop: with the default
// -ftrapping-math GCC refuses to if-convert a select whose arms hold floating-point operations,
// so a scalar-looking kernel with guarded branches never vectorises without -ffast-math.
// Vector operations are always evaluated and `c ? a : b` on vectors is a blend.
// One register per vector: 8 lanes with AVX-512, 4 with AVX, 2 with SSE2 (wider generic
// vectors than the target's registers are lowered badly).
#if defined(SBX_NBX_LANES)
inline constexpr std::uint32_t lanes = SBX_NBX_LANES;
#elif defined(__AVX512F__)
inline constexpr std::uint32_t lanes = 8;
#elif defined(__AVX__)
inline constexpr std::uint32_t lanes = 4;
#else
inline constexpr std::uint32_t lanes = 2;
#endif
typedef double vd __attribute__((vector_size(8 * lanes)));
typedef std::int64_t vi __attribute__((vector_size(8 * lanes)));
typedef std::uint64_t vu __attribute__((vector_size(8 * lanes)));

SBX_NBX_INLINE vd splat(double x) {
  return vd{} + x;
}
SBX_NBX_INLINE vd load(const double* p) {
  vd v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
SBX_NBX_INLINE void store(double* p, vd v) {
  std::memcpy(p, &v, sizeof v);
}
SBX_NBX_INLINE vd vmin(vd a, vd b) {
  return a < b ? a : b;
}
SBX_NBX_INLINE vd vabs(vd x) {
  return (vd)((vu)x & 0x7fffffffffffffffull);
}

// exp(x), branch-free. Cody–Waite reduction x = k·ln2 + r, |r| ≤ ln2/2, degree-13 Taylor
// polynomial (truncation < 1e−17), 2^k assembled in the exponent bits.
// x < −708.39 → 0, x > 709.78 → +inf, NaN → NaN. Accuracy vs std::exp tested (≤ 2 ulp).
SBX_NBX_INLINE vd vexp(vd x) {
  constexpr double log2e = 1.4426950408889634074;
  constexpr double ln2_hi = 6.93147180369123816490e-01;  // 32 significant bits: k·ln2_hi exact
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  constexpr double shifter = 6755399441055744.0;  // 1.5·2^52: adding it rounds to an integer
  const vi too_small = x < -708.39;
  const vi too_large = x > 709.78;
  vd xc = too_small ? splat(-708.39) : x;  // NaN compares false and passes through
  xc = too_large ? splat(709.78) : xc;
  const vd t = xc * log2e + shifter;
  const vd k = t - shifter;
  const vd r = (xc - k * ln2_hi) - k * ln2_lo;
  vd p = splat(1.0 / 6227020800.0);  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // The low mantissa bits of t hold k (two's complement). After clamping k ∈ [−1022, 1024];
  // k = 1024 (x > 709.08) is not a finite power of two, so there 2^(k−1)·2 is used.
  const vi top = xc > 709.08;  // −1 where true
  const vu bits = ((vu)t + 1023u + (vu)top) << 52;
  const vd scaled = p * (vd)bits * (top ? splat(2.0) : splat(1.0));
  const vd lo = too_small ? splat(0.0) : scaled;
  return too_large ? splat(std::numeric_limits<double>::infinity()) : lo;
}

// Scalar entry point (tests, tools): lane 0 of the vector code.
inline double exp_simd(double x) {
  return vexp(splat(x))[0];
}

// Cox–Matthews ETDRK4 coefficients for a diagonal linear part z = L·dt ≤ 0.
// E2 = e^{z/2}, E = e^z; q = φ₁(z/2)/2 (stage weight Q = dt·q); f1..f3 the final-stage weights
// (φ₁ − 3φ₂ + 4φ₃, φ₂ − 2φ₃, 4φ₃ − φ₂; all 1/6 at z = 0, where the scheme is classic RK4).
// φ-functions from a Taylor φ₃ and φ_k = 1/k! + z·φ_{k+1} for |z| < 0.5 (no cancellation); by
// the upward recursion from e^z otherwise (error amplification ≤ 8 ε there).
struct EtdCoeffs {
  vd E2, E, q, f1, f2, f3;
};
SBX_NBX_INLINE EtdCoeffs etd_coeffs(vd z) {
  const vd E2 = vexp(0.5 * z);
  const vd E = E2 * E2;
  const vi small = z > -0.5;
  const vd zs = small ? splat(-1.0) : z;  // keeps the unused branch finite
  const vd rz = 1.0 / zs;
  vd t3 = splat(1.0 / 6402373705728000.0);  // φ₃ = Σ_{j ≤ 15} z^j/(j+3)!
  t3 = t3 * z + 1.0 / 355687428096000.0;
  t3 = t3 * z + 1.0 / 20922789888000.0;
  t3 = t3 * z + 1.0 / 1307674368000.0;
  t3 = t3 * z + 1.0 / 87178291200.0;
  t3 = t3 * z + 1.0 / 6227020800.0;
  t3 = t3 * z + 1.0 / 479001600.0;
  t3 = t3 * z + 1.0 / 39916800.0;
  t3 = t3 * z + 1.0 / 3628800.0;
  t3 = t3 * z + 1.0 / 362880.0;
  t3 = t3 * z + 1.0 / 40320.0;
  t3 = t3 * z + 1.0 / 5040.0;
  t3 = t3 * z + 1.0 / 720.0;
  t3 = t3 * z + 1.0 / 120.0;
  t3 = t3 * z + 1.0 / 24.0;
  t3 = t3 * z + 1.0 / 6.0;
  const vd t2 = 0.5 + z * t3;
  const vd t1 = 1.0 + z * t2;
  const vd d1 = (E - 1.0) * rz;
  const vd d2 = (d1 - 1.0) * rz;
  const vd d3 = (d2 - 0.5) * rz;
  const vd p1 = small ? t1 : d1;
  const vd p2 = small ? t2 : d2;
  const vd p3 = small ? t3 : d3;
  const vd w = 0.5 * z;             // φ₁(z/2): Taylor for |z/2| < 0.25, else (E2 − 1)/(z/2)
  vd h1 = splat(1.0 / 39916800.0);  // 1/11!
  h1 = h1 * w + 1.0 / 3628800.0;
  h1 = h1 * w + 1.0 / 362880.0;
  h1 = h1 * w + 1.0 / 40320.0;
  h1 = h1 * w + 1.0 / 5040.0;
  h1 = h1 * w + 1.0 / 720.0;
  h1 = h1 * w + 1.0 / 120.0;
  h1 = h1 * w + 1.0 / 24.0;
  h1 = h1 * w + 1.0 / 6.0;
  h1 = h1 * w + 0.5;
  h1 = h1 * w + 1.0;
  const vd half1 = small ? h1 : (E2 - 1.0) * (2.0 * rz);
  // At z = 0 return classic RK4's weights exactly (1 − 3/2 + 4/6 ≠ 1/6 in floating point), so a
  // cell's trajectory does not depend on whether another lane of its vector is stiff.
  const vi zero = z == 0.0;
  const vd sixth = splat(1.0 / 6.0);
  return {E2,
          E,
          0.5 * half1,
          zero ? sixth : p1 - 3.0 * p2 + 4.0 * p3,
          zero ? sixth : p2 - 2.0 * p3,
          zero ? sixth : 4.0 * p3 - p2};
}

}  // namespace nbx_detail

enum class NeurobloxCellType : std::uint8_t { excitatory, inhibitory };

struct NeurobloxHHParams {
  NeurobloxCellType type = NeurobloxCellType::excitatory;
  double g_Na = 52.0, g_K = 20.0, g_L = 0.1;
  double E_Na = 55.0, E_K = -90.0, E_L = -60.0;
  double I_bg = 0.0;
  double E_syn = 0.0, G_syn = 3.0, V_shift = 10.0, V_range = 35.0, tau = 5.0;
  double k_spk = 1.127;

  static NeurobloxHHParams excitatory() { return {}; }
  static NeurobloxHHParams inhibitory() {
    NeurobloxHHParams p;
    p.type = NeurobloxCellType::inhibitory;
    p.E_syn = -70.0;
    p.G_syn = 11.5;
    p.V_shift = 0.0;
    p.tau = 70.0;
    return p;
  }
};

// Gating rates at one voltage (scalar helper for tests and tools; same code as the kernel).
struct NeurobloxHHRates {
  double alpha_n, beta_n, alpha_m, beta_m, alpha_h, beta_h;
};

class NeurobloxHHPopulation : public Population {
 public:
  static constexpr double default_dt_ms = 0.05;
  static constexpr double phi = 5.0;                // gating temperature factor (fixed)
  static constexpr double tau_rise_ms = 0.1;        // τ₁ of the emitted synapse
  static constexpr double release_gain = 4.394;     // slope numerator of both sigmoids
  static constexpr double counter_shift_mV = 10.0;  // counter sigmoid centre (fixed in v0.8)
  static constexpr double counter_range_mV = 35.0;  // counter sigmoid width (fixed in v0.8)
  // Stiffness (× 1/dt) that RK4 handles itself; only the excess is integrated exponentially.
  static constexpr double stiffness_cap = 1.0;

  static constexpr std::uint32_t n_dynamic_states = 8;  // V, n, m, h, C_cum, C_win, z, G

  // One cell per entry; initial state V = −65, n = 0.32, m = 0.05, h = 0.59, others 0 (§1.1).
  // Throws UserError for non-finite parameters, negative conductances, V_range ≤ 0 or tau ≤ 0.
  explicit NeurobloxHHPopulation(const std::vector<NeurobloxHHParams>& params) {
    n_ = static_cast<std::uint32_t>(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) validate(params[i], i);
    // Arrays are padded to whole SIMD vectors; padding lanes are inert default cells that
    // nobody reads (inputs stay 0, spikes and state access are limited to [0, n)).
    n_pad_ = (n_ + nbx_detail::lanes - 1) / nbx_detail::lanes * nbx_detail::lanes;
    for (auto* a : all_arrays()) a->assign(n_pad_, 0.0);
    is_inhib_.assign(n_pad_, 0);
    for (std::uint32_t i = 0; i < n_pad_; ++i) {
      const NeurobloxHHParams p = i < n_ ? params[i] : NeurobloxHHParams::excitatory();
      is_inhib_[i] = p.type == NeurobloxCellType::inhibitory ? 1 : 0;
      const Shifts s = shifts(p.type);
      off_n_[i] = s.n;
      off_m_[i] = s.m;
      k_an_[i] = std::exp(-s.n / 10.0);
      k_bn_[i] = 0.125 * std::exp(-(s.n + 10.0) / 80.0);
      k_am_[i] = std::exp(-s.m / 10.0);
      k_bm_[i] = 4.0 * std::exp(-(s.m + 25.0) / 18.0);
      k_ah_[i] = 0.07 * std::exp(-s.h / 20.0);
      k_bh_[i] = std::exp(-(s.h - 30.0) / 10.0);
      g_Na_[i] = p.g_Na;
      g_K_[i] = p.g_K;
      g_L_[i] = p.g_L;
      E_Na_[i] = p.E_Na;
      E_K_[i] = p.E_K;
      E_L_[i] = p.E_L;
      I_bg_[i] = p.I_bg;
      E_syn_[i] = p.E_syn;
      G_syn_[i] = p.G_syn;
      V_shift_[i] = p.V_shift;
      syn_slope_[i] = release_gain / p.V_range;
      tau_[i] = p.tau;
      k_spk_[i] = p.k_spk;
      V_[i] = -65.0;
      n_g_[i] = 0.32;
      m_[i] = 0.05;
      h_[i] = 0.59;
    }
  }

  // ---- Population interface ----------------------------------------------------------------
  std::string_view model() const override { return "neuroblox_hh"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }

  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    const double dt = ctx.dt_ms;
    if (!(dt > 0.0)) throw InternalError("NeurobloxHHPopulation::step: dt must be positive");
    if (dt != coeff_dt_) update_step_coefficients(dt);
    kernel(dt);
    for (std::uint32_t i = 0; i < n_; ++i)
      if (spike_flag_[i] != 0.0) spiked.push_back(i);
  }

  const double* continuous_output() const override { return G_.data(); }
  const double* output_reversal() const override { return E_syn_.data(); }
  double* conductance_input() override { return g_in_.data(); }
  double* conductance_reversal_input() override { return gE_in_.data(); }
  double* current_input() override { return I_cont_.data(); }

  double* state(std::string_view name) override {
    for (const Named& s : named())
      if (s.name == name) return s.array->data();
    return nullptr;
  }
  std::vector<std::string> state_names() const override {
    std::vector<std::string> out;
    for (const Named& s : const_cast<NeurobloxHHPopulation*>(this)->named())
      out.emplace_back(s.name);
    return out;
  }
  void save_state(std::vector<double>& out) const override {
    out.clear();
    out.reserve(std::size_t{n_dynamic_states} * n_);
    for (const auto* a : dynamic_arrays()) out.insert(out.end(), a->begin(), a->begin() + n_);
  }
  void load_state(std::span<const double> in) override {
    if (in.size() != std::size_t{n_dynamic_states} * n_)
      throw InternalError("NeurobloxHHPopulation::load_state: expected " +
                          std::to_string(std::size_t{n_dynamic_states} * n_) + " values, got " +
                          std::to_string(in.size()));
    std::size_t k = 0;
    for (auto* a : dynamic_arrays_mut()) {
      std::copy(in.begin() + static_cast<std::ptrdiff_t>(k),
                in.begin() + static_cast<std::ptrdiff_t>(k + n_), a->begin());
      k += n_;
    }
  }
  long first_nonfinite(std::string& variable) const override {
    static constexpr const char* names[] = {"V", "n", "m", "h", "C_cum", "C_win", "z", "G"};
    long best = -1;
    const auto arrays = dynamic_arrays();
    for (std::size_t a = 0; a < arrays.size(); ++a)
      for (std::uint32_t i = 0; i < n_ && (best < 0 || static_cast<long>(i) < best); ++i)
        if (!std::isfinite((*arrays[a])[i])) {
          best = static_cast<long>(i);
          variable = names[a];
          break;
        }
    return best;
  }

  // ---- model-specific access ---------------------------------------------------------------
  NeurobloxCellType cell_type(std::uint32_t i) const {
    return is_inhib_[i] ? NeurobloxCellType::inhibitory : NeurobloxCellType::excitatory;
  }
  double synapse_tau(std::uint32_t i) const { return tau_[i]; }

  // Gating rates of a cell type at voltage V (same arithmetic as the kernel).
  static NeurobloxHHRates rates(double V, NeurobloxCellType type) {
    using nbx_detail::splat;
    const Shifts s = shifts(type);
    const GateRates r =
        gate_rates(splat(V), splat(s.n), splat(s.m), splat(std::exp(-s.n / 10.0)),
                   splat(0.125 * std::exp(-(s.n + 10.0) / 80.0)), splat(std::exp(-s.m / 10.0)),
                   splat(4.0 * std::exp(-(s.m + 25.0) / 18.0)), splat(0.07 * std::exp(-s.h / 20.0)),
                   splat(std::exp(-(s.h - 30.0) / 10.0)));
    return {r.an[0], r.bn[0], r.am[0], r.bm[0], r.ah[0], r.bh[0]};
  }

 private:
  struct Shifts {
    double n, m, h;
  };
  static Shifts shifts(NeurobloxCellType t) {
    return t == NeurobloxCellType::inhibitory ? Shifts{38.0, 33.0, 51.0} : Shifts{34.0, 30.0, 44.0};
  }

  static void validate(const NeurobloxHHParams& p, std::size_t i) {
    auto bad = [&](const char* what) {
      throw UserError("Neuroblox HH neuron " + std::to_string(i) + ": " + what);
    };
    const double all[] = {p.g_Na,  p.g_K,   p.g_L,     p.E_Na,    p.E_K, p.E_L,  p.I_bg,
                          p.E_syn, p.G_syn, p.V_shift, p.V_range, p.tau, p.k_spk};
    for (double x : all)
      if (!std::isfinite(x)) bad("parameters must be finite");
    if (p.g_Na < 0 || p.g_K < 0 || p.g_L < 0) bad("conductances g_Na, g_K, g_L must be >= 0");
    if (!(p.V_range > 0)) bad("V_range must be > 0 mV");
    if (!(p.tau > 0)) bad("tau (synaptic decay) must be > 0 ms");
  }

  using vd = nbx_detail::vd;
  using vi = nbx_detail::vi;

  struct GateRates {
    vd an, bn, am, bm, ah, bh;
  };
  // The six rates from one exponential. B72 = exp(−V/10), B40 = exp(−V/18), B36 = exp(−V/20),
  // B9 = exp(−V/80) (powers of B = exp(−V/720), relative error ≈ 1e−14); the k_* constants carry
  // the per-type shifts and prefactors. All three divisions share one reciprocal.
  static SBX_NBX_INLINE GateRates gate_rates(vd V, vd off_n, vd off_m, vd k_an, vd k_bn, vd k_am,
                                             vd k_bm, vd k_ah, vd k_bh) {
    using nbx_detail::splat;
    const vd B = nbx_detail::vexp(V * (-1.0 / 720.0));
    const vd B2 = B * B, B4 = B2 * B2, B8 = B4 * B4, B9 = B8 * B, B18 = B9 * B9;
    const vd B36 = B18 * B18, B40 = B36 * B4, B72 = B36 * B36;
    const vd yn = 0.1 * (V + off_n);
    const vd ym = 0.1 * (V + off_m);
    const vi small_n = nbx_detail::vabs(yn) < 1e-3;
    const vi small_m = nbx_detail::vabs(ym) < 1e-3;
    // α_n = 0.1·y/(1−e^−y), α_m = 1.0·y/(1−e^−y); y/(1−e^−y) ≈ 1 + y/2 + y²/12 near y = 0
    const vd tay_n = 1.0 + yn * (0.5 + yn * (1.0 / 12.0));
    const vd tay_m = 1.0 + ym * (0.5 + ym * (1.0 / 12.0));
    const vd num_n = 0.1 * (small_n ? tay_n : yn);
    const vd num_m = small_m ? tay_m : ym;
    const vd den_n = small_n ? splat(1.0) : 1.0 - k_an * B72;
    const vd den_m = small_m ? splat(1.0) : 1.0 - k_am * B72;
    const vd den_h = 1.0 + k_bh * B72;
    const vd r = 1.0 / (den_n * den_m * den_h);
    GateRates g;
    g.an = num_n * (den_m * den_h * r);
    g.am = num_m * (den_n * den_h * r);
    g.bh = den_n * den_m * r;
    g.bn = k_bn * B9;
    g.bm = k_bm * B40;
    g.ah = k_ah * B36;
    return g;
  }

  // Per-neuron constants seen by every stage of one step.
  struct CellConst {
    vd off_n, off_m, k_an, k_bn, k_am, k_bm, k_ah, k_bh;
    vd gna_max, gk_max, g_lin, ena, ek, drive;  // drive = g_L·E_L + currents + gE
  };
  // Right-hand side at one stage; lv, lm are the diagonal stiffness of V and m.
  struct D {
    vd fV, fn, fm, fh, lm, lv;
  };
  static SBX_NBX_INLINE D deriv(const CellConst& c, vd v, vd n, vd m, vd h) {
    const GateRates r =
        gate_rates(v, c.off_n, c.off_m, c.k_an, c.k_bn, c.k_am, c.k_bm, c.k_ah, c.k_bh);
    const vd gna = c.gna_max * (m * m * m * h);
    const vd n2 = n * n;
    const vd gk = c.gk_max * (n2 * n2);
    const vd b = gna + gk + c.g_lin;
    D d;
    d.fV = gna * c.ena + gk * c.ek + c.drive - b * v;
    d.lv = b;
    d.fn = phi * (r.an - (r.an + r.bn) * n);
    d.lm = phi * (r.am + r.bm);
    d.fm = phi * r.am - d.lm * m;
    d.fh = phi * (r.ah - (r.ah + r.bh) * h);
    return d;
  }

  // Per-neuron coefficients of the exact (z, G) propagator over one step for a release drive
  // held constant over the step:  z' = E1·z + A·u,  G' = E2·G + P·z + B·u,  u = G_syn·σ.
  // Computed by integrating the linear system for unit inputs with 512 RK4 substeps (error
  // ≈ 1e−16; valid for any τ, including τ = τ₁).
  void update_step_coefficients(double dt) {
    coeff_dt_ = dt;
    for (auto* a : {&syn_E2_, &syn_P_, &syn_B_}) a->assign(n_pad_, 0.0);
    auto propagate = [dt](double tau2, double z0, double G0, double u) {
      const int sub = 512;
      const double hh = dt / sub;
      double z = z0, G = G0;
      auto f = [&](double zz, double GG, double& dz, double& dG) {
        dz = -zz / tau_rise_ms + u;
        dG = -GG / tau2 + zz;
      };
      for (int k = 0; k < sub; ++k) {
        double z1, G1, z2, G2, z3, G3, z4, G4;
        f(z, G, z1, G1);
        f(z + hh / 2 * z1, G + hh / 2 * G1, z2, G2);
        f(z + hh / 2 * z2, G + hh / 2 * G2, z3, G3);
        f(z + hh * z3, G + hh * G3, z4, G4);
        z += hh / 6 * (z1 + 2 * z2 + 2 * z3 + z4);
        G += hh / 6 * (G1 + 2 * G2 + 2 * G3 + G4);
      }
      return std::pair<double, double>{z, G};
    };
    for (std::uint32_t i = 0; i < n_pad_; ++i) {
      const auto [e1, p] = propagate(tau_[i], 1, 0, 0);
      const auto [unused_z, e2] = propagate(tau_[i], 0, 1, 0);
      const auto [a, b] = propagate(tau_[i], 0, 0, 1);
      (void)unused_z;
      syn_E1_ = e1;  // the z-row does not depend on τ
      syn_A_ = a;
      syn_P_[i] = p;
      syn_E2_[i] = e2;
      syn_B_[i] = b;
    }
  }

  void kernel(double dt) {
    using nbx_detail::load;
    using nbx_detail::splat;
    using nbx_detail::store;
    using nbx_detail::vexp;
    using nbx_detail::vmin;
    const double hdt = 0.5 * dt;
    const vd cap = splat(stiffness_cap / dt);
    constexpr double c_slope = release_gain / counter_range_mV;
    const vd one = splat(1.0), sixth = splat(1.0 / 6.0);
    const nbx_detail::EtdCoeffs rk4{one, one, splat(0.5), sixth, sixth, sixth};
    auto any_negative = [](vd L) {
      const vi neg = L < 0.0;
      std::int64_t acc = 0;
      for (std::uint32_t l = 0; l < nbx_detail::lanes; ++l) acc |= neg[l];
      return acc != 0;
    };

    for (std::uint32_t i = 0; i < n_pad_; i += nbx_detail::lanes) {
      const vd gl = load(&g_L_[i]);
      const vd gsyn = load(&g_in_[i]);
      CellConst cc;
      cc.off_n = load(&off_n_[i]);
      cc.off_m = load(&off_m_[i]);
      cc.k_an = load(&k_an_[i]);
      cc.k_bn = load(&k_bn_[i]);
      cc.k_am = load(&k_am_[i]);
      cc.k_bm = load(&k_bm_[i]);
      cc.k_ah = load(&k_ah_[i]);
      cc.k_bh = load(&k_bh_[i]);
      cc.gna_max = load(&g_Na_[i]);
      cc.gk_max = load(&g_K_[i]);
      cc.g_lin = gl + gsyn;
      cc.ena = load(&E_Na_[i]);
      cc.ek = load(&E_K_[i]);
      // Constant-over-step drive: leak + external currents + synaptic reversal term.
      // (currents summed first: the result must not depend on which input carries a current,
      // also when the compiler contracts g_L·E_L + x into an FMA)
      cc.drive = (load(&I_bg_[i]) + load(&I_in_[i]) + load(&I_cont_[i]) + load(&gE_in_[i])) +
                 gl * load(&E_L_[i]);

      const vd V0 = load(&V_[i]), n0 = load(&n_g_[i]), m0 = load(&m_[i]), h0 = load(&h_[i]);
      const D d1 = deriv(cc, V0, n0, m0, h0);
      // Only the stiffness beyond 1/dt is integrated exponentially (0 ⇒ classic RK4).
      const vd LV = vmin(splat(0.0), cap - d1.lv);
      const vd Lm = vmin(splat(0.0), cap - d1.lm);
      // Most blocks are not stiff anywhere (rest, upstroke): then the coefficients are those of
      // classic RK4 and the exponentials are skipped (one uniform test per block of lanes).
      const nbx_detail::EtdCoeffs cv = any_negative(LV) ? nbx_detail::etd_coeffs(LV * dt) : rk4;
      const nbx_detail::EtdCoeffs cm = any_negative(Lm) ? nbx_detail::etd_coeffs(Lm * dt) : rk4;
      const vd QV = dt * cv.q, Qm = dt * cm.q;
      const vd NV1 = d1.fV - LV * V0, Nm1 = d1.fm - Lm * m0;

      const vd Va = cv.E2 * V0 + QV * NV1, ma = cm.E2 * m0 + Qm * Nm1;
      const vd na = n0 + hdt * d1.fn, ha = h0 + hdt * d1.fh;
      const D da = deriv(cc, Va, na, ma, ha);
      const vd NVa = da.fV - LV * Va, Nma = da.fm - Lm * ma;

      const vd Vb = cv.E2 * V0 + QV * NVa, mb = cm.E2 * m0 + Qm * Nma;
      const vd nb = n0 + hdt * da.fn, hb = h0 + hdt * da.fh;
      const D db = deriv(cc, Vb, nb, mb, hb);
      const vd NVb = db.fV - LV * Vb, Nmb = db.fm - Lm * mb;

      const vd Vc = cv.E2 * Va + QV * (2.0 * NVb - NV1);
      const vd mc = cm.E2 * ma + Qm * (2.0 * Nmb - Nm1);
      const vd nc = n0 + dt * db.fn, hc = h0 + dt * db.fh;
      const D dc = deriv(cc, Vc, nc, mc, hc);
      const vd NVc = dc.fV - LV * Vc, Nmc = dc.fm - Lm * mc;

      const vd V1 = cv.E * V0 + dt * (cv.f1 * NV1 + 2.0 * cv.f2 * (NVa + NVb) + cv.f3 * NVc);
      const vd m1 = cm.E * m0 + dt * (cm.f1 * Nm1 + 2.0 * cm.f2 * (Nma + Nmb) + cm.f3 * Nmc);
      const vd n1 = n0 + (dt / 6.0) * (d1.fn + 2.0 * (da.fn + db.fn) + dc.fn);
      const vd h1 = h0 + (dt / 6.0) * (d1.fh + 2.0 * (da.fh + db.fh) + dc.fh);

      // Counter and release sigmoids at the end of the step (see header: rectangle rule), one
      // shared reciprocal.
      const vd ec = 1.0 + vexp(-c_slope * (V1 - counter_shift_mV));
      const vd es = 1.0 + vexp(-load(&syn_slope_[i]) * (V1 - load(&V_shift_[i])));
      const vd rr = 1.0 / (ec * es);
      const vd sig_c = es * rr, sig_s = ec * rr;
      const vd dC = dt * 3.0 * load(&k_spk_[i]) * sig_c;
      const vd z0 = load(&z_[i]), G0 = load(&G_[i]), drive_s = load(&G_syn_[i]) * sig_s;

      store(&V_[i], V1);
      store(&n_g_[i], n1);
      store(&m_[i], m1);
      store(&h_[i], h1);
      store(&C_cum_[i], load(&C_cum_[i]) + dC);
      store(&C_win_[i], load(&C_win_[i]) + dC);
      store(&z_[i], syn_E1_ * z0 + syn_A_ * drive_s);
      store(&G_[i], load(&syn_E2_[i]) * G0 + load(&syn_P_[i]) * z0 + load(&syn_B_[i]) * drive_s);
      const vi crossed = (V0 < 0.0) & (V1 >= 0.0);
      store(&spike_flag_[i], crossed ? splat(1.0) : splat(0.0));
    }
  }

  // ---- storage -----------------------------------------------------------------------------
  struct Named {
    std::string_view name;
    std::vector<double>* array;
  };
  std::vector<Named> named() {
    return {{"V", &V_},
            {"n", &n_g_},
            {"m", &m_},
            {"h", &h_},
            {"C_cum", &C_cum_},
            {"C_win", &C_win_},
            {"z", &z_},
            {"G", &G_},
            {"I_bg", &I_bg_},
            {"I_in", &I_in_},
            {"E_syn", &E_syn_},
            {"G_syn", &G_syn_},
            {"V_shift", &V_shift_},
            {"k_spk", &k_spk_},
            {"g_Na", &g_Na_},
            {"g_K", &g_K_},
            {"g_L", &g_L_},
            {"E_Na", &E_Na_},
            {"E_K", &E_K_},
            {"E_L", &E_L_}};
  }
  std::vector<const std::vector<double>*> dynamic_arrays() const {
    return {&V_, &n_g_, &m_, &h_, &C_cum_, &C_win_, &z_, &G_};
  }
  std::vector<std::vector<double>*> dynamic_arrays_mut() {
    return {&V_, &n_g_, &m_, &h_, &C_cum_, &C_win_, &z_, &G_};
  }
  std::vector<std::vector<double>*> all_arrays() {
    return {&V_,     &n_g_,     &m_,         &h_,      &C_cum_, &C_win_,     &z_,
            &G_,     &off_n_,   &off_m_,     &k_an_,   &k_bn_,  &k_am_,      &k_bm_,
            &k_ah_,  &k_bh_,    &g_Na_,      &g_K_,    &g_L_,   &E_Na_,      &E_K_,
            &E_L_,   &I_bg_,    &I_in_,      &I_cont_, &g_in_,  &gE_in_,     &E_syn_,
            &G_syn_, &V_shift_, &syn_slope_, &tau_,    &k_spk_, &spike_flag_};
  }

  std::uint32_t n_ = 0;
  std::uint32_t n_pad_ = 0;  // n_ rounded up to whole SIMD vectors
  // dynamic state
  std::vector<double> V_, n_g_, m_, h_, C_cum_, C_win_, z_, G_;
  // per-type gating constants
  std::vector<double> off_n_, off_m_, k_an_, k_bn_, k_am_, k_bm_, k_ah_, k_bh_;
  std::vector<std::uint8_t> is_inhib_;
  // parameters and inputs
  std::vector<double> g_Na_, g_K_, g_L_, E_Na_, E_K_, E_L_, I_bg_, I_in_, I_cont_, g_in_, gE_in_;
  std::vector<double> E_syn_, G_syn_, V_shift_, syn_slope_, tau_, k_spk_;
  // per-dt synapse propagator
  double coeff_dt_ = -1.0;
  double syn_E1_ = 0.0, syn_A_ = 0.0;  // z-row, the same for every neuron
  std::vector<double> syn_E2_, syn_P_, syn_B_;
  std::vector<double> spike_flag_;
};

}  // namespace sbx

// (No "diagnostic pop": GCC reports -Wpsabi at the end of the translation unit, after a pop.)
