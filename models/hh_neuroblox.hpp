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
// All exponentials use simd::exp (models/simd_math.hpp; branch-free, ≤ 1 ulp vs std::exp);
// the six gating exponentials come from ONE exp(−V/720) raised to integer powers
// (720 = lcm(10, 18, 20, 80)), relative error ≈ 1e−14, and all divisions of a stage share one
// reciprocal. A spike is reported when V crosses 0 mV upward within the step.
//
// ---- Alternative integrators: exponential Adams–Bashforth (integrator = eab2 | eab3 | eab4) ----
// One right-hand-side evaluation per step instead of four: for x ∈ {V, n, m, h} with the diagonal
// stiffness a = −λ_x at the current step as stabiliser and N_j = f_j − a·x_j over the last K
// steps (f_j, x_j stored), x_{n+1} = x_n + dt·(φ₁(z)·f_n + φ₂(z)·∇N + (φ₃ + φ₂/2)(z)·∇²N +
// (φ₄ + φ₃ + φ₂/3)(z)·∇³N), z = a·dt (backward differences up to order K−1; Cox–Matthews ETD
// multistep with a varying stabiliser, Coudière et al.). Couplings held over a step enter f, so
// they are extrapolated as well. Each lane restarts with capped-ETDRK4 steps (K−1 of them) after
// construction, load_state, a change of dt, or any change of V, n, m, h, I_bg, I_in made outside
// the kernel (detected by comparing with the values the kernel left) — e.g. every trial of the
// category experiment restarts from the post-warm-up state. Measured (tests, 5 driven cells,
// 200 ms, vs ETDRK4 at 0.001 ms): orders 1.9, 3.0, 4.6; at dt 0.05 eab2/eab3 are off by 0.7–0.8 ms
// (etdrk4: 0.004 ms) and eab4 is unstable; the kernel costs 12.4 / 14.0 vs 21 ns/neuron-step
// (AVX-512). The category circuit fails its 5 % spike-count test with eab2/eab3 at dt 0.05 (40 and
// 52 of 260 cell-trials outside), so etdrk4 stays the default; to match etdrk4's accuracy the
// multistep schemes need dt ≈ 0.0125, i.e. four steps per 0.05 ms — no gain.
//
// ---- SIMD ------------------------------------------------------------------------------------
// The kernel is written with GCC/Clang vector extensions (see nbx_detail): 2 lanes with SSE2
// (the default x86-64 build), 4 with AVX, 8 with AVX-512; arrays are padded to whole vectors.
// Each lane gives bitwise the same result as that cell simulated on its own. The ETD
// coefficients are computed only for vectors in which some lane is stiff.
// Cost (bench/bench_hh_kernel.cpp, 48 cells, dt 0.05; the shared 2-vCPU Zen 4 was loaded, so the
// peer reference kernel ran at 2.6× its documented time): ≈ 150 ns/neuron-step with -O3
// (SSE2), ≈ 53 ns with -march=x86-64-v3 or -march=native.
// With AVX-512 (-march=x86-64-v4, machine loaded, CPU time): ≈ 20 ns/neuron-step (etdrk4).
//
// ---- Single precision (integrator = etdrk4_f32) ----------------------------------------------
// The same capped ETDRK4 with the rate evaluation, the stage values and the step increments in
// float (nbx_f32: twice the lanes, 16 with AVX-512; float exp with a degree-7 polynomial; the
// Taylor branch of α_n, α_m for |y| < 1e−2; φ folded into the rates; the three rate denominators
// share one reciprocal, the hardware estimate plus one Newton step, ≈ 1 ulp). The state stays
// double and is advanced by the float increment (x_{n+1} = x_n + Δx, e^z − 1 as z·φ₁(z)), so
// rounding scales with Δx, not with V; counters, emitted synapse and spike detection are double.
// The kernel advances up to three vectors together (group_f32<K>, every stage a loop over the
// group): one vector's step is a chain of dependent operations, and independent chains side by
// side keep the out-of-order core busy. Every lane's arithmetic is the same for every K (GCC's
// FMA fusion is pinned, see nbx_f32::settle and rk4_f_), so a cell's trajectory does not depend
// on the population's size or on its position (tests/models_neuroblox/test_hh_neuroblox_f32.cpp).
// Measured: spike times within 0.0002 ms of the double kernel at dt 0.05 over 1 s (error vs dt/10
// 0.0199 vs 0.0200 ms; float rounding floors the error at ≈ 7e−4 ms), the category circuit's 5 %
// spike-count test passes (1868 vs 1866 spikes, worst cell-trial 1 spike, as double). Cost
// (bench/bench_hh_kernel.cpp, 48 cells, dt 0.05, machine loaded, CPU time): AVX-512 ≈ 7.3
// ns/neuron-step (12.4 before the grouping, the φ-folded rates and the reciprocal; etdrk4 18 ns),
// AVX2 ≈ 14.8 (21.3); callgrind, AVX2: 144 instructions per neuron-step (182). Arrays are padded
// to whole float vectors; the double kernels stop at the last double vector.
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
#include "models/simd_math.hpp"

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
// (the vector types of models/simd_math.hpp)
inline constexpr std::uint32_t lanes = static_cast<std::uint32_t>(simd::kLanes);
using vd = simd::vd;
using vi = simd::vi;
using vu = simd::vu;

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

// exp(x): the shared models/simd_math.hpp exp (this header had a private copy of the same
// algorithm; the two are bitwise equal on [−707.7, 709.78], checked over 1e7 arguments, so the
// trajectories did not change). x < −707.7 → 0, x > 709.78 → +inf, NaN → NaN.
SBX_NBX_INLINE vd vexp(vd x) {
  return simd::exp(x);
}

// Scalar entry point (tests, tools): lane 0 of the vector code.
inline double exp_simd(double x) {
  return vexp(splat(x))[0];
}

// Cox–Matthews ETDRK4 coefficients for a diagonal linear part z = L·dt ≤ 0 (E2 = e^{z/2},
// E = e^z, q = φ₁(z/2)/2, f1..f3 the final-stage weights; exactly classic RK4 at z = 0): the
// shared models/simd_math.hpp implementation, also used by the Traub–Miles cell.
using EtdCoeffs = simd::EtdCoeffs;
using simd::etd_coeffs;

}  // namespace nbx_detail

// Single-precision variant of the ETDRK4 step (integrator = etdrk4_f32): twice the lanes per
// vector (16 with AVX-512). Only the rate evaluation and the step increments are float; the state,
// the counters and the synapse stay double (x_{n+1} = x_n + (float) Δx, so rounding errors scale
// with the increment, not with V).
namespace nbx_f32 {

// Float vectors as wide as the double ones (16 lanes with AVX-512). Measured on the Zen 4:
// 256-bit float vectors in groups of 6 instead of 512-bit ones in groups of 3 are 1.6× slower.
inline constexpr std::size_t kBytes = simd::kBytes;
inline constexpr std::uint32_t lanes = static_cast<std::uint32_t>(kBytes / sizeof(float));
typedef float vf __attribute__((vector_size(kBytes)));
typedef std::int32_t vfi __attribute__((vector_size(kBytes)));
typedef std::uint32_t vfu __attribute__((vector_size(kBytes)));
typedef double vd2 __attribute__((vector_size(2 * kBytes)));

SBX_NBX_INLINE vf splat(float x) {
  return vf{} + x;
}
// (vd2 never crosses a function boundary by value: GCC would print an ABI note for 128-byte
// vectors.)
SBX_NBX_INLINE void load2(vd2* out, const double* p) {
  std::memcpy(out, p, sizeof *out);
}
SBX_NBX_INLINE void store2(double* p, const vd2* v) {
  std::memcpy(p, v, sizeof *v);
}
SBX_NBX_INLINE vf loadf(const double* p) {
  vd2 v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, vf);
}
SBX_NBX_INLINE vf vmin(vf a, vf b) {
  return a < b ? a : b;
}
SBX_NBX_INLINE vf vabs(vf x) {
  return (vf)((vfu)x & 0x7fffffffu);
}
// 1/x to ≈ 1 ulp: the hardware estimate (rcp14: 2^−14 with AVX-512, rcp: 1.5·2^−12 otherwise) and
// one Newton step, 1 + 2 FMA-pipe operations instead of a division (vdivps blocks the FMA pipe
// for several cycles on Zen 4). For finite non-zero x only (0 and ±inf give NaN).
SBX_NBX_INLINE vf recip(vf x) {
  vf r;
#if defined(__AVX512F__)
  r = (vf)_mm512_maskz_rcp14_ps(0xFFFF, (__m512)x);  // (the unmasked form trips GCC 12's
                                                     // -Wmaybe-uninitialized)
#elif defined(__AVX__)
  r = (vf)_mm256_rcp_ps((__m256)x);
#elif defined(__SSE2__)
  r = (vf)_mm_rcp_ps((__m128)x);
#else
  r = 1.0f / x;
#endif
  const vf e = 1.0f - x * r;
  return r + r * e;
}
// Bit l set when lane l of a compare mask (all ones or zero per lane) is set; any(m) = some lane.
// One or two instructions (a generic loop over the lanes cost ~40 instructions per test).
SBX_NBX_INLINE unsigned mask_bits(vfi m) {
#if defined(__AVX512F__)
  return static_cast<unsigned>(_mm512_test_epi32_mask((__m512i)m, (__m512i)m));
#elif defined(__AVX__)
  return static_cast<unsigned>(_mm256_movemask_ps((__m256)m));
#elif defined(__SSE2__)
  return static_cast<unsigned>(_mm_movemask_ps((__m128)m));
#else
  unsigned bits = 0;
  for (std::uint32_t l = 0; l < lanes; ++l) bits |= (m[l] != 0 ? 1u : 0u) << l;
  return bits;
#endif
}
SBX_NBX_INLINE bool any(vfi m) {
  return mask_bits(m) != 0;
}
// Rounds x here: an empty asm the compiler cannot see through, so a product is never fused into
// an FMA with a later addition (GCC contracts across statements, -ffp-contract=fast). Why: the
// kernel is instantiated for groups of 1, 2, 3 vectors (group_f32<K>), and whether GCC fused the
// products etd_coeffs returns into the stage sums differed between the instantiations, i.e. a
// cell's trajectory depended on the population size (test_hh_neuroblox_f32.cpp catches that).
// No instruction is emitted.
SBX_NBX_INLINE void settle(vf& x) {
#if defined(__GNUC__) && defined(__AVX512F__)
  asm("" : "+v"(x));
#elif defined(__GNUC__) && defined(__SSE2__)
  asm("" : "+x"(x));
#else
  (void)x;
#endif
}
// Compares of the 2×-wide double vectors, one register half at a time, as lane bits (lane order
// kept). Why: GCC lowers a compare of a vector wider than the ISA to scalar code (compare, set,
// negate and insert per lane: ≈ 400 instructions per float vector for the kernel's 5 compares).
// (vd2 is one or two simd::vd registers)
inline constexpr int n_halves = static_cast<int>(sizeof(vd2) / sizeof(simd::vd));
static_assert(n_halves == 1 || n_halves == 2);
SBX_NBX_INLINE simd::vd half(const vd2& x, int j) {
  simd::vd v;
  std::memcpy(&v, reinterpret_cast<const char*>(&x) + j * sizeof v, sizeof v);
  return v;
}
// bits of (a > limit) | (|b| > limit)
SBX_NBX_INLINE unsigned above_bits(const vd2& a, const vd2& b, double limit) {
  unsigned bits = 0;
  for (int j = 0; j < n_halves; ++j)
    bits |= simd::mask_bits((half(a, j) > limit) | (simd::abs(half(b, j)) > limit))
            << (j * simd::kLanes);
  return bits;
}
// bits of (v0 < 0) & (v1 >= 0): an upward zero crossing
SBX_NBX_INLINE unsigned crossing_bits(const vd2& v0, const vd2& v1) {
  unsigned bits = 0;
  for (int j = 0; j < n_halves; ++j)
    bits |= simd::mask_bits((half(v0, j) < 0.0) & (half(v1, j) >= 0.0)) << (j * simd::kLanes);
  return bits;
}

// expf: Cody–Waite reduction, degree-7 Taylor polynomial (truncation < 3e−9 relative), 2^k in
// the exponent bits. x < −87.3 → 0, x > 88 → +inf (kernel arguments stay within ±40).
SBX_NBX_INLINE vf vexp(vf x) {
  const vfi too_small = x < -87.3f;
  const vfi too_large = x > 88.0f;
  vf xc = too_small ? splat(-87.3f) : x;
  xc = too_large ? splat(88.0f) : xc;
  const float shifter = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  const vf t = xc * 1.44269504f + shifter;
  const vf k = t - shifter;
  const vf r = (xc - k * 0.693359375f) - k * -2.12194440e-4f;
  vf p = splat(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const vfu bits = ((vfu)t + 127u) << 23;
  const vf res = too_small ? splat(0.0f) : p * (vf)bits;
  return too_large ? splat(std::numeric_limits<float>::infinity()) : res;
}

// vexp for the gating exponential B = exp(−V/720), without the two result selects: outside
// [−87.3, 88] (|V| > 6e4 mV, a diverged run) B is the clamped 1.2e−38 resp. 1.7e38 instead of 0
// resp. +inf, and every power B^j (j ≥ 2) the kernel uses under/overflows to the same 0 resp.
// +inf as before — bitwise the same rates for every V, two operations fewer per evaluation.
SBX_NBX_INLINE vf vexp_gate(vf x) {
  vf xc = x < -87.3f ? splat(-87.3f) : x;
  xc = xc > 88.0f ? splat(88.0f) : xc;
  const float shifter = 12582912.0f;
  const vf t = xc * 1.44269504f + shifter;
  const vf k = t - shifter;
  const vf r = (xc - k * 0.693359375f) - k * -2.12194440e-4f;
  vf p = splat(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const vfu bits = ((vfu)t + 127u) << 23;
  return p * (vf)bits;
}

// As nbx_detail::etd_coeffs, in float (shorter series: truncation below float rounding), plus
// em1 = e^z − 1 = z·φ₁(z) without cancellation.
struct EtdCoeffs {
  vf E2, E, em1, q, f1, f2, f3;
};
SBX_NBX_INLINE EtdCoeffs etd_coeffs(vf z) {
  const vf E2 = vexp(0.5f * z);
  const vf E = E2 * E2;
  const vfi small = z > -0.5f;
  const vf zs = small ? splat(-1.0f) : z;
  const vf rz = 1.0f / zs;
  vf t3 = splat(1.0f / 479001600.0f);  // φ₃ = Σ_{j ≤ 9} z^j/(j+3)!
  t3 = t3 * z + 1.0f / 39916800.0f;
  t3 = t3 * z + 1.0f / 3628800.0f;
  t3 = t3 * z + 1.0f / 362880.0f;
  t3 = t3 * z + 1.0f / 40320.0f;
  t3 = t3 * z + 1.0f / 5040.0f;
  t3 = t3 * z + 1.0f / 720.0f;
  t3 = t3 * z + 1.0f / 120.0f;
  t3 = t3 * z + 1.0f / 24.0f;
  t3 = t3 * z + 1.0f / 6.0f;
  const vf t2 = 0.5f + z * t3;
  const vf t1 = 1.0f + z * t2;
  const vf d1 = (E - 1.0f) * rz;
  const vf d2 = (d1 - 1.0f) * rz;
  const vf d3 = (d2 - 0.5f) * rz;
  const vf p1 = small ? t1 : d1;
  const vf p2 = small ? t2 : d2;
  const vf p3 = small ? t3 : d3;
  const vf w = 0.5f * z;
  vf h1 = splat(1.0f / 40320.0f);  // φ₁(w) = Σ_{j ≤ 7} w^j/(j+1)!
  h1 = h1 * w + 1.0f / 5040.0f;
  h1 = h1 * w + 1.0f / 720.0f;
  h1 = h1 * w + 1.0f / 120.0f;
  h1 = h1 * w + 1.0f / 24.0f;
  h1 = h1 * w + 1.0f / 6.0f;
  h1 = h1 * w + 0.5f;
  h1 = h1 * w + 1.0f;
  const vf half1 = small ? h1 : (E2 - 1.0f) * (2.0f * rz);
  const vfi zero = z == 0.0f;
  const vf sixth = splat(1.0f / 6.0f);
  EtdCoeffs c{E2,
              E,
              z * p1,
              0.5f * half1,
              zero ? sixth : p1 - 3.0f * p2 + 4.0f * p3,
              zero ? sixth : p2 - 2.0f * p3,
              zero ? sixth : 4.0f * p3 - p2};
  settle(c.E2);  // (products: see settle)
  settle(c.E);
  settle(c.em1);
  settle(c.q);
  return c;
}

}  // namespace nbx_f32

enum class NeurobloxCellType : std::uint8_t { excitatory, inhibitory };

// Integrator of (V, n, m, h); see the header. TOML names in neuroblox_integrator_names.
enum class NeurobloxIntegrator : std::uint8_t { etdrk4, eab2, eab3, eab4, etdrk4_f32 };
inline constexpr const char* neuroblox_integrator_names[] = {"etdrk4", "eab2", "eab3", "eab4",
                                                             "etdrk4_f32"};
// The integrator of a TOML name; false for an unknown name.
inline bool parse_neuroblox_integrator(std::string_view name, NeurobloxIntegrator& out) {
  for (int k = 0; k < 5; ++k)
    if (name == neuroblox_integrator_names[k]) {
      out = static_cast<NeurobloxIntegrator>(k);
      return true;
    }
  return false;
}

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

  static constexpr std::uint32_t n_dynamic_states = 8;
  // The dynamic states in save_state() order (also state() names).
  static constexpr const char* dynamic_state_names[n_dynamic_states] = {"V",     "n",     "m", "h",
                                                                        "C_cum", "C_win", "z", "G"};

  // One cell per entry; initial state V = −65, n = 0.32, m = 0.05, h = 0.59, others 0 (§1.1).
  // Throws UserError for non-finite parameters, negative conductances, V_range ≤ 0 or tau ≤ 0.
  explicit NeurobloxHHPopulation(const std::vector<NeurobloxHHParams>& params,
                                 NeurobloxIntegrator integrator = NeurobloxIntegrator::etdrk4)
      : integrator_(integrator) {
    n_ = static_cast<std::uint32_t>(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) validate(params[i], i);
    // Arrays are padded to whole SIMD vectors; padding lanes are inert default cells that
    // nobody reads (inputs stay 0, spikes and state access are limited to [0, n)).
    // (to whole float vectors, twice as wide; the double kernels stop at n_vec_)
    n_pad_ = (n_ + nbx_f32::lanes - 1) / nbx_f32::lanes * nbx_f32::lanes;
    n_vec_ = (n_ + nbx_detail::lanes - 1) / nbx_detail::lanes * nbx_detail::lanes;
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
    // Float copies of the per-type constants, prescaled for deriv_f (φ and the 1/10 of y folded
    // in), and of the release slope; none of them is writable from outside.
    const_f_.assign(std::size_t{const_f_rows} * n_pad_, 0.0f);
    for (std::uint32_t i = 0; i < n_pad_; ++i) {
      const double c[9] = {off_n_[i],      off_m_[i],      20.0 * k_an_[i],
                           phi * k_bn_[i], 2.0 * k_am_[i], phi * k_bm_[i],
                           phi * k_ah_[i], k_bh_[i] / phi, syn_slope_[i]};
      for (std::size_t r = 0; r < 9; ++r) const_f_[r * n_pad_ + i] = static_cast<float>(c[r]);
    }
    copy_channel_params_f32();
    hist_.assign(std::size_t{3} * 8 * n_pad_, 0.0);
    last_.assign(std::size_t{6} * n_pad_, 0.0);
    hist_valid_.assign(n_pad_, 0.0);
  }

  NeurobloxIntegrator integrator() const { return integrator_; }
  // Switching integrators restarts the multistep history (the next steps are ETDRK4 steps).
  void set_integrator(NeurobloxIntegrator integrator) {
    integrator_ = integrator;
    restart_history();
  }

  // ---- Population interface ----------------------------------------------------------------
  std::string_view model() const override { return "neuroblox_hh"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }

  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    const double dt = ctx.dt_ms;
    if (!(dt > 0.0)) throw InternalError("NeurobloxHHPopulation::step: dt must be positive");
    if (dt != coeff_dt_) {
      update_step_coefficients(dt);
      restart_history();
    }
    switch (integrator_) {
      case NeurobloxIntegrator::etdrk4:
        kernel(dt);
        break;
      case NeurobloxIntegrator::eab2:
        kernel_eab<2>(dt);
        break;
      case NeurobloxIntegrator::eab3:
        kernel_eab<3>(dt);
        break;
      case NeurobloxIntegrator::eab4:
        kernel_eab<4>(dt);
        break;
      case NeurobloxIntegrator::etdrk4_f32:
        kernel_f32(dt, spiked);  // appends the spikes itself (no flag array pass)
        return;
    }
    for (std::uint32_t i = 0; i < n_; ++i)
      if (spike_flag_[i] != 0.0) spiked.push_back(i);
  }

  const double* continuous_output() const override { return G_.data(); }
  const double* output_reversal() const override { return E_syn_.data(); }
  double* conductance_input() override { return g_in_.data(); }
  double* conductance_reversal_input() override { return gE_in_.data(); }
  double* current_input() override { return I_cont_.data(); }

  double* state(std::string_view name) override {
    // g_Na, g_K, E_Na, E_K handed out (perhaps to be written, now or later): from now on the
    // float kernel re-reads them at every step (see copy_channel_params_f32).
    for (std::string_view p : {"g_Na", "g_K", "E_Na", "E_K"})
      if (name == p) channel_params_out_ = true;
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
    restart_history();
  }
  long first_nonfinite(std::string& variable) const override {
    long best = -1;
    const auto arrays = dynamic_arrays();
    for (std::size_t a = 0; a < arrays.size(); ++a)
      for (std::uint32_t i = 0; i < n_ && (best < 0 || static_cast<long>(i) < best); ++i)
        if (!std::isfinite((*arrays[a])[i])) {
          best = static_cast<long>(i);
          variable = dynamic_state_names[a];
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

  // Per-neuron constants of vector i (shared by both integrators).
  SBX_NBX_INLINE CellConst cell_const(std::uint32_t i) const {
    using nbx_detail::load;
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
    return cc;
  }

  struct Gates {
    vd V, n, m, h;
  };

  // One capped-ETDRK4 step of (V, n, m, h) from (V0, n0, m0, h0); d1 = deriv at the start.
  static SBX_NBX_INLINE Gates etdrk4_step(const CellConst& cc, const D& d1, vd V0, vd n0, vd m0,
                                          vd h0, double dt) {
    using nbx_detail::splat;
    using nbx_detail::vmin;
    const double hdt = 0.5 * dt;
    const vd cap = splat(stiffness_cap / dt);
    const nbx_detail::EtdCoeffs rk4 = simd::etd_rk4_classic();
    // Only the stiffness beyond 1/dt is integrated exponentially (0 ⇒ classic RK4).
    const vd LV = vmin(splat(0.0), cap - d1.lv);
    const vd Lm = vmin(splat(0.0), cap - d1.lm);
    // Most blocks are not stiff anywhere (rest, upstroke): then the coefficients are those of
    // classic RK4 and the exponentials are skipped (one uniform test per block of lanes).
    const nbx_detail::EtdCoeffs cv = any_lane(LV < 0.0) ? nbx_detail::etd_coeffs(LV * dt) : rk4;
    const nbx_detail::EtdCoeffs cm = any_lane(Lm < 0.0) ? nbx_detail::etd_coeffs(Lm * dt) : rk4;
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

    Gates g;
    g.V = cv.E * V0 + dt * (cv.f1 * NV1 + 2.0 * cv.f2 * (NVa + NVb) + cv.f3 * NVc);
    g.m = cm.E * m0 + dt * (cm.f1 * Nm1 + 2.0 * cm.f2 * (Nma + Nmb) + cm.f3 * Nmc);
    g.n = n0 + (dt / 6.0) * (d1.fn + 2.0 * (da.fn + db.fn) + dc.fn);
    g.h = h0 + (dt / 6.0) * (d1.fh + 2.0 * (da.fh + db.fh) + dc.fh);
    return g;
  }

  static SBX_NBX_INLINE bool any_lane(vi mask) {
    std::int64_t acc = 0;
    for (std::uint32_t l = 0; l < nbx_detail::lanes; ++l) acc |= mask[l];
    return acc != 0;
  }
  static SBX_NBX_INLINE bool all_lanes(vi mask) {
    std::int64_t acc = -1;
    for (std::uint32_t l = 0; l < nbx_detail::lanes; ++l) acc &= mask[l];
    return acc != 0;
  }

  // Counters, emitted synapse and spike flag of vector i after (V, n, m, h) advanced V0 → g.V.
  SBX_NBX_INLINE void finish(std::uint32_t i, vd V0, const Gates& g, double dt) {
    using nbx_detail::load;
    using nbx_detail::splat;
    using nbx_detail::store;
    using nbx_detail::vexp;
    constexpr double c_slope = release_gain / counter_range_mV;
    const vd V1 = g.V;
    // Counter and release sigmoids at the end of the step (see header: rectangle rule), one
    // shared reciprocal.
    const vd ec = 1.0 + vexp(-c_slope * (V1 - counter_shift_mV));
    const vd es = 1.0 + vexp(-load(&syn_slope_[i]) * (V1 - load(&V_shift_[i])));
    const vd rr = 1.0 / (ec * es);
    const vd sig_c = es * rr, sig_s = ec * rr;
    const vd dC = dt * 3.0 * load(&k_spk_[i]) * sig_c;
    const vd z0 = load(&z_[i]), G0 = load(&G_[i]), drive_s = load(&G_syn_[i]) * sig_s;

    store(&V_[i], V1);
    store(&n_g_[i], g.n);
    store(&m_[i], g.m);
    store(&h_[i], g.h);
    store(&C_cum_[i], load(&C_cum_[i]) + dC);
    store(&C_win_[i], load(&C_win_[i]) + dC);
    store(&z_[i], syn_E1_ * z0 + syn_A_ * drive_s);
    store(&G_[i], load(&syn_E2_[i]) * G0 + load(&syn_P_[i]) * z0 + load(&syn_B_[i]) * drive_s);
    const vi crossed = (V0 < 0.0) & (V1 >= 0.0);
    store(&spike_flag_[i], crossed ? splat(1.0) : splat(0.0));
  }

  void kernel(double dt) {
    using nbx_detail::load;
    for (std::uint32_t i = 0; i < n_vec_; i += nbx_detail::lanes) {
      const CellConst cc = cell_const(i);
      const vd V0 = load(&V_[i]), n0 = load(&n_g_[i]), m0 = load(&m_[i]), h0 = load(&h_[i]);
      const D d1 = deriv(cc, V0, n0, m0, h0);
      finish(i, V0, etdrk4_step(cc, d1, V0, n0, m0, h0, dt), dt);
    }
  }

  // ---- exponential Adams–Bashforth (see the header) ------------------------------------------
  // Right-hand side f and diagonal stiffness λ = −∂f/∂x of the four variables.
  struct FL {
    vd f[4], lam[4];
  };
  static SBX_NBX_INLINE FL deriv_full(const CellConst& c, vd v, vd n, vd m, vd h) {
    const GateRates r =
        gate_rates(v, c.off_n, c.off_m, c.k_an, c.k_bn, c.k_am, c.k_bm, c.k_ah, c.k_bh);
    const vd gna = c.gna_max * (m * m * m * h);
    const vd n2 = n * n;
    const vd gk = c.gk_max * (n2 * n2);
    const vd b = gna + gk + c.g_lin;
    FL d;
    d.f[0] = gna * c.ena + gk * c.ek + c.drive - b * v;
    d.lam[0] = b;
    d.lam[1] = phi * (r.an + r.bn);
    d.f[1] = phi * r.an - d.lam[1] * n;
    d.lam[2] = phi * (r.am + r.bm);
    d.f[2] = phi * r.am - d.lam[2] * m;
    d.lam[3] = phi * (r.ah + r.bh);
    d.f[3] = phi * r.ah - d.lam[3] * h;
    return d;
  }

  // φ₁, φ₂ and the EAB weights g₂ = φ₃ + φ₂/2, g₃ = φ₄ + φ₃ + φ₂/3 at z ≤ 0 (backward-difference
  // form: ∫₀¹ e^{z(1−θ)} binom(θ+j−1, j) dθ). Taylor series of φ₄ for z > −0.5 (truncation
  // < 1e−17, then φ_k = 1/k! + z·φ_{k+1}), the recursion from e^z below; a vector evaluates only
  // the branch(es) its lanes need.
  struct EabW {
    vd p1, p2, g2, g3;
  };
  static SBX_NBX_INLINE EabW eab_weights(vd z) {
    using nbx_detail::splat;
    const vi small = z > -0.5;
    vd t1{}, t2{}, t3{}, t4{}, d1{}, d2{}, d3{}, d4{};
    const bool any_small = any_lane(small), all_small = all_lanes(small);
    if (any_small) {
      vd t = splat(1.0 / 1307674368000.0);  // 1/15!: φ₄ = Σ_{j ≤ 11} z^j/(j+4)!
      t = t * z + 1.0 / 87178291200.0;
      t = t * z + 1.0 / 6227020800.0;
      t = t * z + 1.0 / 479001600.0;
      t = t * z + 1.0 / 39916800.0;
      t = t * z + 1.0 / 3628800.0;
      t = t * z + 1.0 / 362880.0;
      t = t * z + 1.0 / 40320.0;
      t = t * z + 1.0 / 5040.0;
      t = t * z + 1.0 / 720.0;
      t = t * z + 1.0 / 120.0;
      t = t * z + 1.0 / 24.0;
      t4 = t;
      t3 = 1.0 / 6.0 + z * t4;
      t2 = 0.5 + z * t3;
      t1 = 1.0 + z * t2;
    }
    if (!all_small) {
      const vd zs = small ? splat(-1.0) : z;  // keeps the unused lanes finite
      const vd rz = 1.0 / zs;
      d1 = (nbx_detail::vexp(zs) - 1.0) * rz;
      d2 = (d1 - 1.0) * rz;
      d3 = (d2 - 0.5) * rz;
      d4 = (d3 - 1.0 / 6.0) * rz;
    }
    const vd p1 = all_small ? t1 : (any_small ? (small ? t1 : d1) : d1);
    const vd p2 = all_small ? t2 : (any_small ? (small ? t2 : d2) : d2);
    const vd p3 = all_small ? t3 : (any_small ? (small ? t3 : d3) : d3);
    const vd p4 = all_small ? t4 : (any_small ? (small ? t4 : d4) : d4);
    return {p1, p2, p3 + 0.5 * p2, p4 + p3 + p2 * (1.0 / 3.0)};
  }

  // Exponential Adams–Bashforth of order K (2, 3, 4): one right-hand-side evaluation per step.
  // History (f and x of the last K−1 steps) is a ring of 3 slots; lanes whose history is not
  // complete (after construction, load_state, a change of dt, or any write to V, n, m, h, I_bg,
  // I_in from outside the kernel) take a capped-ETDRK4 step instead and refill it.
  template <int K>
  void kernel_eab(double dt) {
    using nbx_detail::load;
    using nbx_detail::splat;
    using nbx_detail::store;
    static_assert(K >= 2 && K <= 4);
    const std::uint32_t np = n_pad_;
    const std::uint32_t s1 = head_, s2 = (head_ + 2) % 3, s3 = (head_ + 1) % 3;
    auto slot = [&](std::uint32_t s, int var) { return &hist_[(s * 8 + var) * np]; };
    const vd need = splat(static_cast<double>(K - 1));
    for (std::uint32_t i = 0; i < n_vec_; i += nbx_detail::lanes) {
      const CellConst cc = cell_const(i);
      const vd x0[4] = {load(&V_[i]), load(&n_g_[i]), load(&m_[i]), load(&h_[i])};
      // Anything changed behind the kernel's back (state load/write, persistent inputs)?
      const vi touched = (x0[0] != load(&last_[0 * np + i])) | (x0[1] != load(&last_[1 * np + i])) |
                         (x0[2] != load(&last_[2 * np + i])) | (x0[3] != load(&last_[3 * np + i])) |
                         (load(&I_bg_[i]) != load(&last_[4 * np + i])) |
                         (load(&I_in_[i]) != load(&last_[5 * np + i]));
      vd valid = touched ? splat(0.0) : load(&hist_valid_[i]);
      const vi fresh = valid < need;
      const FL d = deriv_full(cc, x0[0], x0[1], x0[2], x0[3]);
      Gates out{};
      vd* o[4] = {&out.V, &out.n, &out.m, &out.h};
      if (!all_lanes(fresh)) {
        for (int v = 0; v < 4; ++v) {
          const vd a = -d.lam[v];
          const EabW w = eab_weights(dt * a);
          const vd f0 = d.f[v], f1 = load(slot(s1, v) + i), y1 = load(slot(s1, 4 + v) + i);
          vd inc = w.p1 * f0 + w.p2 * ((f0 - f1) - a * (x0[v] - y1));
          if constexpr (K >= 3) {
            const vd f2 = load(slot(s2, v) + i), y2 = load(slot(s2, 4 + v) + i);
            const vd d2f = f0 - 2.0 * f1 + f2, d2y = x0[v] - 2.0 * y1 + y2;
            inc += w.g2 * (d2f - a * d2y);
            if constexpr (K >= 4) {
              const vd f3 = load(slot(s3, v) + i), y3 = load(slot(s3, 4 + v) + i);
              const vd d3f = d2f - (f1 - 2.0 * f2 + f3), d3y = d2y - (y1 - 2.0 * y2 + y3);
              inc += w.g3 * (d3f - a * d3y);
            }
          }
          *o[v] = x0[v] + dt * inc;
        }
      }
      if (any_lane(fresh)) {
        const Gates e =
            etdrk4_step(cc, deriv(cc, x0[0], x0[1], x0[2], x0[3]), x0[0], x0[1], x0[2], x0[3], dt);
        const vd* ev[4] = {&e.V, &e.n, &e.m, &e.h};
        for (int v = 0; v < 4; ++v) *o[v] = fresh ? *ev[v] : *o[v];
      }
      // The oldest slot (s3) was read above; it now takes this step's f and x.
      for (int v = 0; v < 4; ++v) {
        store(slot(s3, v) + i, d.f[v]);
        store(slot(s3, 4 + v) + i, x0[v]);
      }
      valid = valid + 1.0;
      store(&hist_valid_[i], valid < need ? valid : need);
      store(&last_[0 * np + i], out.V);
      store(&last_[1 * np + i], out.n);
      store(&last_[2 * np + i], out.m);
      store(&last_[3 * np + i], out.h);
      store(&last_[4 * np + i], load(&I_bg_[i]));
      store(&last_[5 * np + i], load(&I_in_[i]));
      finish(i, x0[0], out, dt);
    }
    head_ = s3;
  }

  // ---- single-precision ETDRK4 (integrator = etdrk4_f32) -------------------------------------
  using vf = nbx_f32::vf;
  using vfi = nbx_f32::vfi;
  // (k_* prescaled, see const_f_: k_an = 20·k_an, k_am = 2·k_am, k_bh = k_bh/φ, k_bn, k_bm, k_ah
  // times φ)
  struct CellConstF {
    vf off_n, off_m, k_an, k_bn, k_am, k_bm, k_ah, k_bh;
    vf gna_max, gk_max, g_lin, ena, ek, drive;
  };
  struct DF {
    vf fV, fn, fm, fh, lm, lv;
  };
  // The rates of deriv with φ folded into them (φα_n, …; saves a multiplication per rate and
  // per derivative) and every rate as numerator/denominator:
  //   φα_n = u_n/(20 − 20k_an·B72),  φα_m = u_m/(2 − 2k_am·B72),  φβ_h = 1/(1/φ + k_bh/φ·B72),
  //   u = V + s (y = u/10); near u = 0 the numerator is 10·y/(1 − e^−y) ≈ 10 + u/2 + u²/120 and
  //   the denominator 20 resp. 2 (|u| < 0.1, i.e. |y| < 1e−2: error < 1e−7).
  // The three divisions share one reciprocal (recip: rcp + one Newton step).
  static SBX_NBX_INLINE DF deriv_f(const CellConstF& c, vf v, vf n, vf m, vf h) {
    using nbx_f32::splat;
    const vf B = nbx_f32::vexp_gate(v * (-1.0f / 720.0f));
    const vf B2 = B * B, B4 = B2 * B2, B8 = B4 * B4, B9 = B8 * B, B18 = B9 * B9;
    const vf B36 = B18 * B18, B40 = B36 * B4, B72 = B36 * B36;
    const vf un = v + c.off_n, um = v + c.off_m;
    const vfi small_n = nbx_f32::vabs(un) < 0.1f;
    const vfi small_m = nbx_f32::vabs(um) < 0.1f;
    const vf tay_n = 10.0f + un * (0.5f + un * (1.0f / 120.0f));
    const vf tay_m = 10.0f + um * (0.5f + um * (1.0f / 120.0f));
    const vf num_n = small_n ? tay_n : un;
    const vf num_m = small_m ? tay_m : um;
    const vf den_n = small_n ? splat(20.0f) : 20.0f - c.k_an * B72;
    const vf den_m = small_m ? splat(2.0f) : 2.0f - c.k_am * B72;
    const vf den_h = static_cast<float>(1.0 / phi) + c.k_bh * B72;
    const vf r = nbx_f32::recip(den_n * den_m * den_h);
    const vf an = num_n * (den_m * den_h * r);
    const vf am = num_m * (den_n * den_h * r);
    const vf bh = den_n * den_m * r;
    const vf bn = c.k_bn * B9, bm = c.k_bm * B40, ah = c.k_ah * B36;
    const vf gna = c.gna_max * (m * m * m * h);
    const vf n2 = n * n;
    const vf gk = c.gk_max * (n2 * n2);
    const vf b = gna + gk + c.g_lin;
    DF d;
    d.fV = gna * c.ena + gk * c.ek + c.drive - b * v;
    d.lv = b;
    d.fn = an - (an + bn) * n;
    d.lm = am + bm;
    d.fm = am - d.lm * m;
    d.fh = ah - (ah + bh) * h;
    return d;
  }

  // Vectors per group of the float kernel: that many independent vectors advance together,
  // every stage written as a loop over the group. Why: one step of one vector is a chain of
  // dependent operations (exp → B^72 → reciprocal → rates → next stage, ≈ 150 cycles per stage)
  // that leaves the core mostly waiting; with K chains interleaved the out-of-order core
  // overlaps them. Each lane's arithmetic is unchanged (bitwise the same trajectories).
  // Measured (48 cells): 3 is best with AVX-512 (7.7 ns/neuron-step vs 9.1 with 2; 4 spills more)
  // and with AVX2 (15.4 vs 16.6 with 2 and 15.6 with 4).
  static constexpr int f32_group = 3;

  // One step of the float kernel for every cell; spikes appended in increasing index order.
  void kernel_f32(double dt_d, std::vector<std::uint32_t>& spiked) {
    if (channel_params_out_) copy_channel_params_f32();
    constexpr std::uint32_t L = nbx_f32::lanes;
    std::uint32_t i = 0;
    for (; i + f32_group * L <= n_pad_; i += f32_group * L) group_f32<f32_group>(i, dt_d, spiked);
    group_f32_tail<f32_group - 1>(i, (n_pad_ - i) / L, dt_d, spiked);
  }
  template <int K>
  SBX_NBX_INLINE void group_f32_tail(std::uint32_t i, std::uint32_t n_vectors, double dt_d,
                                     std::vector<std::uint32_t>& spiked) {
    if constexpr (K >= 1) {
      if (n_vectors == static_cast<std::uint32_t>(K))
        group_f32<K>(i, dt_d, spiked);
      else
        group_f32_tail<K - 1>(i, n_vectors, dt_d, spiked);
    }
  }

  // Appends the cells of float vector i whose lanes are set in `bits` (padding lanes excluded).
  SBX_NBX_INLINE void append_spikes_f32(unsigned bits, std::uint32_t i,
                                        std::vector<std::uint32_t>& spiked) const {
    if (bits == 0) return;
    if (i + nbx_f32::lanes > n_) bits &= n_ > i ? (1u << (n_ - i)) - 1u : 0u;
    for (; bits != 0; bits &= bits - 1u)
      spiked.push_back(i + static_cast<std::uint32_t>(std::countr_zero(bits)));
  }

  // K float vectors starting at cell i0, one step (see f32_group). Every loop over the group is
  // unrolled completely (without the pragma GCC kept some of the K = 3 loops, with the arrays in
  // memory).
#define SBX_NBX_EACH_K _Pragma("GCC unroll 8") for (int k = 0; k < K; ++k)
  //
  // Compiled with register-pressure-aware instruction scheduling before register allocation
  // (GCC -fschedule-insns -fsched-pressure, off by default on x86): the group keeps more values
  // live than there are vector registers, and scheduling for pressure orders the stages so the
  // spills that remain cost less — 7.0–7.6 → 6.1–6.7 ns/neuron-step with AVX-512
  // (bench/bench_hh_kernel.cpp, 48 cells, 20 s, alternating binaries). Scheduling does not
  // change any arithmetic: the trajectories are bitwise the same (the category run file is).
  template <int K>
  __attribute__((optimize("schedule-insns", "sched-pressure"))) void group_f32(
      std::uint32_t i0, double dt_d, std::vector<std::uint32_t>& spiked) {
    using nbx_f32::load2;
    using nbx_f32::splat;
    using nbx_f32::store2;
    using nbx_f32::vd2;
    constexpr std::uint32_t L = nbx_f32::lanes;
    const float dt = static_cast<float>(dt_d), hdt = 0.5f * dt;
    const vf cap = splat(static_cast<float>(stiffness_cap / dt_d));
    const vf zero = splat(0.0f);
    // (classic RK4 coefficients read from memory: as compile-time constants GCC specialised the
    // stages for them in some instantiations K and not in others, with different FMA fusion)
    const nbx_f32::EtdCoeffs rk4{splat(rk4_f_[0]), splat(rk4_f_[1]), splat(rk4_f_[2]),
                                 splat(rk4_f_[3]), splat(rk4_f_[4]), splat(rk4_f_[5]),
                                 splat(rk4_f_[6])};
    constexpr float c_slope = static_cast<float>(release_gain / counter_range_mV);
    // raw pointers: a store through memcpy may alias anything, so std::vector's data pointers
    // would be re-read after every store
    const double *gL = g_L_.data(), *gIn = g_in_.data(), *Ibg = I_bg_.data(), *Iin = I_in_.data();
    const double *Icont = I_cont_.data(), *gEin = gE_in_.data(), *EL = E_L_.data();
    const double *kspk_p = k_spk_.data(), *Gsyn = G_syn_.data(), *Vsh = V_shift_.data();
    const double *E2p = syn_E2_.data(), *Pp = syn_P_.data(), *Bp = syn_B_.data();
    const float* cf = const_f_.data();

    double *Vp = V_.data(), *np = n_g_.data(), *mp = m_.data(), *hp = h_.data();
    double *Ccum = C_cum_.data(), *Cwin = C_win_.data(), *zp = z_.data(), *Gp = G_.data();
    auto loadcf = [&](int row, std::uint32_t i) {
      vf v;
      std::memcpy(&v, cf + std::size_t(row) * n_pad_ + i, sizeof v);
      return v;
    };

    vd2 g_lin_d[K], drive_d[K];
    unsigned huge = 0;
    SBX_NBX_EACH_K {
      const std::uint32_t i = i0 + k * L;
      vd2 gl_d, gin, ibg, iin, icont, gE, el;
      load2(&gl_d, gL + i);
      load2(&gin, gIn + i);
      load2(&ibg, Ibg + i);
      load2(&iin, Iin + i);
      load2(&icont, Icont + i);
      load2(&gE, gEin + i);
      load2(&el, EL + i);
      g_lin_d[k] = gl_d + gin;
      drive_d[k] = (ibg + iin + icont + gE) + gl_d * el;
      // Inputs beyond float range (absurd conductances, e.g. G_syn = 1e308): this vector takes
      // the double kernel, so such a run fails (or not) exactly as with etdrk4.
      constexpr double float_safe = 1e30;
      huge |= nbx_f32::above_bits(g_lin_d[k], drive_d[k], float_safe);
    }
    if (huge != 0) {
      if constexpr (K > 1) {
        SBX_NBX_EACH_K group_f32<1>(i0 + k * L, dt_d, spiked);
      } else {
        for (std::uint32_t j = i0; j < i0 + L; j += nbx_detail::lanes) {
          const CellConst c = cell_const(j);
          const vd V0 = nbx_detail::load(&V_[j]), n0 = nbx_detail::load(&n_g_[j]);
          const vd m0 = nbx_detail::load(&m_[j]), h0 = nbx_detail::load(&h_[j]);
          finish(j, V0, etdrk4_step(c, deriv(c, V0, n0, m0, h0), V0, n0, m0, h0, dt_d), dt_d);
        }
        for (std::uint32_t j = i0; j < i0 + L && j < n_; ++j)
          if (spike_flag_[j] != 0.0) spiked.push_back(j);
      }
      return;
    }
    CellConstF cc[K];
    vd2 V0d[K], n0d[K], m0d[K], h0d[K];
    vf V0[K], n0[K], m0[K], h0[K];
    SBX_NBX_EACH_K {
      const std::uint32_t i = i0 + k * L;
      cc[k].off_n = loadcf(0, i);
      cc[k].off_m = loadcf(1, i);
      cc[k].k_an = loadcf(2, i);
      cc[k].k_bn = loadcf(3, i);
      cc[k].k_am = loadcf(4, i);
      cc[k].k_bm = loadcf(5, i);
      cc[k].k_ah = loadcf(6, i);
      cc[k].k_bh = loadcf(7, i);
      cc[k].gna_max = loadcf(9, i);
      cc[k].gk_max = loadcf(10, i);
      cc[k].g_lin = __builtin_convertvector(g_lin_d[k], vf);
      cc[k].ena = loadcf(11, i);
      cc[k].ek = loadcf(12, i);
      // (summed in double in the order of the double kernel, then rounded once)
      cc[k].drive = __builtin_convertvector(drive_d[k], vf);
      load2(&V0d[k], Vp + i);
      load2(&n0d[k], np + i);
      load2(&m0d[k], mp + i);
      load2(&h0d[k], hp + i);
      V0[k] = __builtin_convertvector(V0d[k], vf);
      n0[k] = __builtin_convertvector(n0d[k], vf);
      m0[k] = __builtin_convertvector(m0d[k], vf);
      h0[k] = __builtin_convertvector(h0d[k], vf);
    }
    DF d1[K];
    SBX_NBX_EACH_K d1[k] = deriv_f(cc[k], V0[k], n0[k], m0[k], h0[k]);
    vf LV[K], Lm[K];
    vfi stiff_V = vfi{}, stiff_m = vfi{};
    SBX_NBX_EACH_K {
      LV[k] = nbx_f32::vmin(zero, cap - d1[k].lv);
      Lm[k] = nbx_f32::vmin(zero, cap - d1[k].lm);
      stiff_V |= LV[k] < 0.0f;
      stiff_m |= Lm[k] < 0.0f;
    }
    // At z = 0 etd_coeffs returns exactly the classic-RK4 coefficients, so computing them for
    // the whole group as soon as one lane is stiff changes no lane's result.
    nbx_f32::EtdCoeffs cv[K], cm[K];
    const bool any_V = nbx_f32::any(stiff_V), any_m = nbx_f32::any(stiff_m);
    SBX_NBX_EACH_K {
      cv[k] = any_V ? nbx_f32::etd_coeffs(LV[k] * dt) : rk4;
      cm[k] = any_m ? nbx_f32::etd_coeffs(Lm[k] * dt) : rk4;
    }
    vf QV[K], Qm[K], NV1[K], Nm1[K], Va[K], ma[K], na[K], ha[K];
    SBX_NBX_EACH_K {
      QV[k] = dt * cv[k].q;
      Qm[k] = dt * cm[k].q;
      NV1[k] = d1[k].fV - LV[k] * V0[k];
      Nm1[k] = d1[k].fm - Lm[k] * m0[k];
      Va[k] = cv[k].E2 * V0[k] + QV[k] * NV1[k];
      ma[k] = cm[k].E2 * m0[k] + Qm[k] * Nm1[k];
      na[k] = n0[k] + hdt * d1[k].fn;
      ha[k] = h0[k] + hdt * d1[k].fh;
    }
    DF da[K];
    SBX_NBX_EACH_K da[k] = deriv_f(cc[k], Va[k], na[k], ma[k], ha[k]);
    vf NVa[K], Nma[K], Vb[K], mb[K], nb[K], hb[K];
    SBX_NBX_EACH_K {
      NVa[k] = da[k].fV - LV[k] * Va[k];
      Nma[k] = da[k].fm - Lm[k] * ma[k];
      Vb[k] = cv[k].E2 * V0[k] + QV[k] * NVa[k];
      mb[k] = cm[k].E2 * m0[k] + Qm[k] * Nma[k];
      nb[k] = n0[k] + hdt * da[k].fn;
      hb[k] = h0[k] + hdt * da[k].fh;
    }
    DF db[K];
    SBX_NBX_EACH_K db[k] = deriv_f(cc[k], Vb[k], nb[k], mb[k], hb[k]);
    vf NVb[K], Nmb[K], Vc[K], mc[K], nc[K], hc[K];
    SBX_NBX_EACH_K {
      NVb[k] = db[k].fV - LV[k] * Vb[k];
      Nmb[k] = db[k].fm - Lm[k] * mb[k];
      Vc[k] = cv[k].E2 * Va[k] + QV[k] * (2.0f * NVb[k] - NV1[k]);
      mc[k] = cm[k].E2 * ma[k] + Qm[k] * (2.0f * Nmb[k] - Nm1[k]);
      nc[k] = n0[k] + dt * db[k].fn;
      hc[k] = h0[k] + dt * db[k].fh;
    }
    DF dc[K];
    SBX_NBX_EACH_K dc[k] = deriv_f(cc[k], Vc[k], nc[k], mc[k], hc[k]);

    SBX_NBX_EACH_K {
      const std::uint32_t i = i0 + k * L;
      const vf NVc = dc[k].fV - LV[k] * Vc[k], Nmc = dc[k].fm - Lm[k] * mc[k];
      const nbx_f32::EtdCoeffs& v = cv[k];
      const nbx_f32::EtdCoeffs& m = cm[k];
      // Increments in float, added to the double state.
      const vf dV =
          v.em1 * V0[k] + dt * (v.f1 * NV1[k] + 2.0f * v.f2 * (NVa[k] + NVb[k]) + v.f3 * NVc);
      const vf dm =
          m.em1 * m0[k] + dt * (m.f1 * Nm1[k] + 2.0f * m.f2 * (Nma[k] + Nmb[k]) + m.f3 * Nmc);
      const vf dn = (dt / 6.0f) * (d1[k].fn + 2.0f * (da[k].fn + db[k].fn) + dc[k].fn);
      const vf dh = (dt / 6.0f) * (d1[k].fh + 2.0f * (da[k].fh + db[k].fh) + dc[k].fh);
      const vd2 V1d = V0d[k] + __builtin_convertvector(dV, vd2);
      const vd2 n1d = n0d[k] + __builtin_convertvector(dn, vd2);
      const vd2 m1d = m0d[k] + __builtin_convertvector(dm, vd2);
      const vd2 h1d = h0d[k] + __builtin_convertvector(dh, vd2);
      const vf V1 = __builtin_convertvector(V1d, vf);

      // Sigmoids in float (one shared reciprocal); counters and synapse in double.
      const vf ec = 1.0f + nbx_f32::vexp(-c_slope * (V1 - static_cast<float>(counter_shift_mV)));
      const vf es = 1.0f + nbx_f32::vexp(-loadcf(8, i) * (V1 - nbx_f32::loadf(Vsh + i)));
      const vf rr = 1.0f / (ec * es);
      const vd2 sig_c = __builtin_convertvector(es * rr, vd2);
      const vd2 sig_s = __builtin_convertvector(ec * rr, vd2);
      vd2 kspk, ccum, cwin, z0, G0, gsyn, e2, pp, bb;
      load2(&kspk, kspk_p + i);
      load2(&ccum, Ccum + i);
      load2(&cwin, Cwin + i);
      load2(&z0, zp + i);
      load2(&G0, Gp + i);
      load2(&gsyn, Gsyn + i);
      load2(&e2, E2p + i);
      load2(&pp, Pp + i);
      load2(&bb, Bp + i);
      const vd2 dC = dt_d * 3.0 * kspk * sig_c;
      const vd2 drive_s = gsyn * sig_s;
      const vd2 c1 = ccum + dC, w1 = cwin + dC;
      const vd2 z1 = syn_E1_ * z0 + syn_A_ * drive_s;
      const vd2 G1 = e2 * G0 + pp * z0 + bb * drive_s;
      store2(Vp + i, &V1d);
      store2(np + i, &n1d);
      store2(mp + i, &m1d);
      store2(hp + i, &h1d);
      store2(Ccum + i, &c1);
      store2(Cwin + i, &w1);
      store2(zp + i, &z1);
      store2(Gp + i, &G1);
      append_spikes_f32(nbx_f32::crossing_bits(V0d[k], V1d), i, spiked);
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
  std::uint32_t n_pad_ = 0;  // n_ rounded up to whole float SIMD vectors (array length)
  std::uint32_t n_vec_ = 0;  // n_ rounded up to whole double SIMD vectors (double kernels)
  // dynamic state
  std::vector<double> V_, n_g_, m_, h_, C_cum_, C_win_, z_, G_;
  // per-type gating constants
  std::vector<double> off_n_, off_m_, k_an_, k_bn_, k_am_, k_bm_, k_ah_, k_bh_;
  std::vector<std::uint8_t> is_inhib_;
  // parameters and inputs
  std::vector<double> g_Na_, g_K_, g_L_, E_Na_, E_K_, E_L_, I_bg_, I_in_, I_cont_, g_in_, gE_in_;
  std::vector<double> E_syn_, G_syn_, V_shift_, syn_slope_, tau_, k_spk_;
  // float kernel: rows off_n, off_m, k_an, k_bn, k_am, k_bm, k_ah, k_bh, syn_slope, then g_Na,
  // g_K, E_Na, E_K (× n_pad_)
  static constexpr std::size_t const_f_rows = 13;
  std::vector<float> const_f_;
  // state() handed out one of g_Na, g_K, E_Na, E_K: their float rows are refreshed every step.
  bool channel_params_out_ = false;
  // The float rows of g_Na, g_K, E_Na, E_K (rows 9-12 of const_f_). Why copies: converting them
  // from double at every step took ≈ 1–4 % of the float kernel (bench_hh_kernel on the Xeon of
  // sessions 14–15, BENCHMARKS.md "Session 15"); each is the same float either way (one rounding of
  // the double), so results are bitwise unchanged. They are parameters, normally never written
  // after construction; a caller that obtained one of the arrays through state() may write it at
  // any later time, so from then on they are copied before every step (the old cost, the same
  // results).
  void copy_channel_params_f32() {
    const std::vector<double>* src[4] = {&g_Na_, &g_K_, &E_Na_, &E_K_};
    for (std::size_t r = 0; r < 4; ++r)
      for (std::uint32_t i = 0; i < n_pad_; ++i)
        const_f_[(9 + r) * n_pad_ + i] = static_cast<float>((*src[r])[i]);
  }
  // E2, E, e^z − 1, q, f1, f2, f3 of classic RK4 (etd_coeffs at z = 0), see group_f32
  float rk4_f_[7] = {1.0f, 1.0f, 0.0f, 0.5f, 1.0f / 6.0f, 1.0f / 6.0f, 1.0f / 6.0f};
  // per-dt synapse propagator
  double coeff_dt_ = -1.0;
  double syn_E1_ = 0.0, syn_A_ = 0.0;  // z-row, the same for every neuron
  std::vector<double> syn_E2_, syn_P_, syn_B_;
  std::vector<double> spike_flag_;
  // exponential Adams–Bashforth history: 3 slots × (f_V, f_n, f_m, f_h, V, n, m, h) × n_pad,
  // slot head_ = the latest step; last_ = (V, n, m, h, I_bg, I_in) as the kernel left them;
  // hist_valid_ = number of usable past steps per lane.
  NeurobloxIntegrator integrator_ = NeurobloxIntegrator::etdrk4;
  std::vector<double> hist_, last_, hist_valid_;
  std::uint32_t head_ = 0;
  void restart_history() {
    std::fill(hist_valid_.begin(), hist_valid_.end(), 0.0);
  }
};

}  // namespace sbx

#undef SBX_NBX_EACH_K

// (No "diagnostic pop": GCC reports -Wpsabi at the end of the translation unit, after a pop.)
