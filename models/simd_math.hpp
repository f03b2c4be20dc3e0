// Vector math shared by the clocked point models (and available to every clocked model): a
// minimal SIMD toolkit on GCC/Clang vector extensions, ONE branch-free vectorised exp, 1/exprel
// and the coefficients of the exponential Runge–Kutta scheme ETDRK4 (Cox & Matthews 2002); the
// float counterparts of exp and 1/exprel for the single-precision kernels (`precision = "float"`).
//
// Why explicit vectors: glibc's exp is not vectorised without -ffast-math, and with the default
// -ftrapping-math GCC refuses to if-convert selects whose arms hold floating-point operations, so
// a scalar-looking kernel with range clamps never vectorises. Vector operations are always
// evaluated and `mask ? a : b` on vectors is a blend.
//
// Width: one register per vector — 8 doubles with AVX-512, 4 with AVX, 2 with SSE2/NEON (wider
// generic vectors than the target's registers are lowered badly, and a vector type wider than the
// ISA changes the calling convention). Arrays of the point models are padded to whole vectors.
//
// Accuracy of exp (tests/models_point/test_simd_math.cpp): ≤ 1 ulp measured against glibc's
// std::exp over [−707.7, 709.78] (the test asserts ≤ 2 ulp there and ≤ 1 ulp on [−50, 50]);
// x < −707.7 returns 0, x > 709.78 returns +inf, NaN propagates. Each lane's result depends only on
// that lane's input, so a neuron's trajectory never depends on its neighbours in the vector.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace sbx::simd {

#if defined(__GNUC__)
#define SBX_SIMD_INLINE inline __attribute__((always_inline))
#else
#define SBX_SIMD_INLINE inline
#endif

#if defined(__AVX512F__)
inline constexpr std::size_t kBytes = 64;
#elif defined(__AVX__)
inline constexpr std::size_t kBytes = 32;
#else
inline constexpr std::size_t kBytes = 16;  // SSE2 / NEON width; never wider than the ISA (ABI)
#endif
inline constexpr std::size_t kLanes = kBytes / sizeof(double);

using vd = double __attribute__((vector_size(kBytes)));
using vi = std::int64_t __attribute__((vector_size(kBytes)));
using vu = std::uint64_t __attribute__((vector_size(kBytes)));

// Arrays are padded to a whole number of vectors so kernels never need a scalar tail.
inline constexpr std::size_t padded(std::size_t n) {
  return (n + kLanes - 1) / kLanes * kLanes;
}

SBX_SIMD_INLINE vd load(const double* p) {
  vd v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
SBX_SIMD_INLINE void store(double* p, vd v) {
  std::memcpy(p, &v, sizeof v);
}
SBX_SIMD_INLINE vd splat(double x) {
  return vd{} + x;
}
SBX_SIMD_INLINE vd select(vi mask, vd a, vd b) {
  return mask ? a : b;
}  // lane-wise mask ? a : b
SBX_SIMD_INLINE vd abs(vd x) {
  return (vd)((vu)x & 0x7fffffffffffffffull);
}
SBX_SIMD_INLINE vd min(vd a, vd b) {
  return a < b ? a : b;
}
SBX_SIMD_INLINE vd max(vd a, vd b) {
  return a > b ? a : b;
}
// Bit k set when lane k of the mask is non-zero. One instruction or two (compare results are
// all-ones or zero per lane, but any non-zero lane counts); perf put up to half of the LIF
// kernel's samples on the generic loop that extracted every lane.
SBX_SIMD_INLINE unsigned mask_bits(vi mask) {
#if defined(__AVX512F__)
  return static_cast<unsigned>(_mm512_test_epi64_mask((__m512i)mask, (__m512i)mask));
#elif defined(__AVX2__)
  return static_cast<unsigned>(_mm256_movemask_pd((__m256d)(mask != 0)));
#elif defined(__SSE2__)
  return static_cast<unsigned>(_mm_movemask_pd((__m128d)(mask != 0)));
#else
  unsigned bits = 0;
  for (std::size_t k = 0; k < kLanes; ++k) bits |= (mask[k] != 0 ? 1u : 0u) << k;
  return bits;
#endif
}
SBX_SIMD_INLINE bool any(vi mask) {
  return mask_bits(mask) != 0;
}

// exp(x), branch-free. Cody–Waite reduction x = k·ln2 + r, |r| ≤ ln2/2 (ln2 split in a 32-bit
// high part, so k·ln2_hi is exact), degree-13 Taylor polynomial for e^r (truncation < 1e−17),
// and 2^k assembled in the exponent bits as 2^(k−1)·2, the factor 2 folded into the polynomial's
// coefficients (exact): that reaches k = 1024 (x up to 709.78, the largest finite result) without
// a second scaling step. Range: x < −707.7 returns 0 (there 2^(k−1) would be subnormal; the true
// value is < 1.1e−307, within 5× of the smallest normal double); x > 709.78 returns +inf; NaN
// propagates. Cost: 1 mul + 1 add (rounding) + 2 FMA-able reduction steps + 13 FMA + 2 int ops +
// 2 compare/blend pairs per vector.
SBX_SIMD_INLINE vd exp(vd x) {
  constexpr double lo = -707.7, hi = 709.782712893384;
  constexpr double log2e = 1.4426950408889634074;
  constexpr double ln2_hi = 6.93147180369123816490e-01;
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  constexpr double shifter = 6755399441055744.0;  // 1.5·2^52: adding it rounds to an integer
  const vd t = x * log2e + shifter;
  const vd k = t - shifter;
  const vd r = (x - k * ln2_hi) - k * ln2_lo;
  vd p = splat(2.0 / 6227020800.0);  // 2·Σ r^j/j!, j ≤ 13
  p = p * r + 2.0 / 479001600.0;
  p = p * r + 2.0 / 39916800.0;
  p = p * r + 2.0 / 3628800.0;
  p = p * r + 2.0 / 362880.0;
  p = p * r + 2.0 / 40320.0;
  p = p * r + 2.0 / 5040.0;
  p = p * r + 2.0 / 720.0;
  p = p * r + 2.0 / 120.0;
  p = p * r + 2.0 / 24.0;
  p = p * r + 2.0 / 6.0;
  p = p * r + 1.0;
  p = p * r + 2.0;
  p = p * r + 2.0;
  // The low mantissa bits of t hold k (two's complement): 2^(k−1) has exponent field k + 1022.
  const vd scale = (vd)(((vu)t + 1022u) << 52);
  vd res = p * scale;
  res = x < lo ? splat(0.0) : res;
  return x > hi ? splat(std::numeric_limits<double>::infinity()) : res;
}

// z / (e^z − 1) = 1 / exprel(z) given e^z; series near 0 (error < 1e-22 for |z| < 0.01), else
// the direct formula, whose cancellation costs at most 2.2e-16/|z| < 2.3e-14 relative.
SBX_SIMD_INLINE vd inv_exprel(vd z, vd exp_z) {
  const vd z2 = z * z;
  const vd series = 1.0 - 0.5 * z + z2 * (1.0 / 12.0 - z2 * (1.0 / 720.0 - z2 * (1.0 / 30240.0)));
  const vd direct = z / (exp_z - 1.0);
  return select(abs(z) < 0.01, series, direct);
}
SBX_SIMD_INLINE vd inv_exprel(vd z) {
  return inv_exprel(z, exp(z));
}

// Scalar convenience wrappers (tests, initialisation): lane 0 of the vector code.
inline double exp(double x) {
  return exp(splat(x))[0];
}
inline double inv_exprel(double z) {
  return inv_exprel(splat(z))[0];
}

// ---- single precision (the point models' `precision = "float"` option) ------------------------
// Half-width float vectors with the same number of lanes as vd, so a kernel converts one vd of
// state to one vf, computes in float (half the register width: twice the throughput on Zen 4,
// whose 512-bit operations are double-pumped, and a shorter exp polynomial) and converts back.
// State arrays stay double (the engine's interface); a float kernel rounds them to float.
using vf = float __attribute__((vector_size(kBytes / 2)));
using vfi = std::int32_t __attribute__((vector_size(kBytes / 2)));
using vfu = std::uint32_t __attribute__((vector_size(kBytes / 2)));

SBX_SIMD_INLINE vf to_float(vd x) {
  return __builtin_convertvector(x, vf);
}
SBX_SIMD_INLINE vd to_double(vf x) {
  return __builtin_convertvector(x, vd);
}
SBX_SIMD_INLINE vf splatf(float x) {
  return vf{} + x;
}
SBX_SIMD_INLINE vf abs(vf x) {
  return (vf)((vfu)x & 0x7fffffffu);
}
SBX_SIMD_INLINE vi widen_mask(vfi m) {
  return __builtin_convertvector(m, vi);  // −1/0 lanes stay −1/0
}

// expf, branch-free: same scheme as exp above in float (degree-7 Taylor on |r| ≤ ln2/2,
// truncation < 4e−9 relative, below float's 6e−8). x < −86.6 returns 0 (true value < 2.2e−38), x
// > 88.72 returns +inf, NaN propagates. Measured ≤ 2 ulp against std::exp(float)
// (tests/models_point/test_simd_math.cpp).
SBX_SIMD_INLINE vf exp(vf x) {
  constexpr float lo = -86.6f, hi = 88.7228f;
  constexpr float log2e = 1.44269504f;
  constexpr float ln2_hi = 0.693359375f;  // 8 significant bits: k·ln2_hi exact for |k| < 2^15
  constexpr float ln2_lo = -2.12194440e-4f;
  constexpr float shifter = 12582912.0f;  // 1.5·2^23
  const vf t = x * log2e + shifter;
  const vf k = t - shifter;
  const vf r = (x - k * ln2_hi) - k * ln2_lo;
  vf p = splatf(2.0f / 5040.0f);  // 2·Σ r^j/j!, j ≤ 7
  p = p * r + 2.0f / 720.0f;
  p = p * r + 2.0f / 120.0f;
  p = p * r + 2.0f / 24.0f;
  p = p * r + 2.0f / 6.0f;
  p = p * r + 1.0f;
  p = p * r + 2.0f;
  p = p * r + 2.0f;
  const vf scale = (vf)(((vfu)t + 126u) << 23);  // 2^(k−1): exponent field k + 126
  vf res = p * scale;
  res = x < lo ? splatf(0.0f) : res;
  return x > hi ? splatf(std::numeric_limits<float>::infinity()) : res;
}

// z / (e^z − 1) in float given e^z: series for |z| < 0.1 (truncation < 1e−12), else the direct
// formula (cancellation ≤ 6e−8/|z| < 6e−7 relative).
SBX_SIMD_INLINE vf inv_exprel(vf z, vf exp_z) {
  const vf z2 = z * z;
  const vf series =
      1.0f - 0.5f * z + z2 * (1.0f / 12.0f - z2 * (1.0f / 720.0f - z2 * (1.0f / 30240.0f)));
  const vf direct = z / (exp_z - 1.0f);
  return abs(z) < 0.1f ? series : direct;
}
SBX_SIMD_INLINE vf inv_exprel(vf z) {
  return inv_exprel(z, exp(z));
}
inline float exp(float x) {
  return exp(splatf(x))[0];
}

// ---- full-width float vectors (state arrays stored as float) -----------------------------------
// For kernels whose arrays are float (lif_cuba with precision = "float"): one register holds
// kLanesF = 2·kLanes floats, so a neuron-step costs half the loads, stores and instructions of
// the double kernel. Integer lanes (wfi) are 32-bit: masks from float compares, and int32 arrays
// (step indices) compared without conversion. Float arrays are padded to whole wf vectors.
inline constexpr std::size_t kLanesF = kBytes / sizeof(float);
using wf = float __attribute__((vector_size(kBytes)));
using wfi = std::int32_t __attribute__((vector_size(kBytes)));

inline constexpr std::size_t padded_f(std::size_t n) {
  return (n + kLanesF - 1) / kLanesF * kLanesF;
}
SBX_SIMD_INLINE wf load(const float* p) {
  wf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
SBX_SIMD_INLINE void store(float* p, wf v) {
  std::memcpy(p, &v, sizeof v);
}
SBX_SIMD_INLINE wfi load(const std::int32_t* p) {
  wfi v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
SBX_SIMD_INLINE wf select(wfi mask, wf a, wf b) {
  return mask ? a : b;
}
// Bit k set when lane k of the mask is non-zero (kLanesF ≤ 16 bits). A template taking exactly
// wfi: clang converts between same-size vector types implicitly, so a plain overload would make
// mask_bits of a double compare (a vector of long long there, neither vi nor wfi) ambiguous.
template <class M>
  requires std::same_as<M, wfi>
SBX_SIMD_INLINE unsigned mask_bits(M mask) {
#if defined(__AVX512F__)
  return static_cast<unsigned>(_mm512_test_epi32_mask((__m512i)mask, (__m512i)mask));
#elif defined(__AVX__)
  return static_cast<unsigned>(_mm256_movemask_ps((__m256)(mask != 0)));
#elif defined(__SSE2__)
  return static_cast<unsigned>(_mm_movemask_ps((__m128)(mask != 0)));
#else
  unsigned bits = 0;
  for (std::size_t k = 0; k < kLanesF; ++k) bits |= (mask[k] != 0 ? 1u : 0u) << k;
  return bits;
#endif
}

// ---- ETDRK4 (Cox–Matthews) coefficients --------------------------------------------------------
// For dx/dt = L·x + N(x) with a diagonal linear part frozen over the step, z = L·dt ≤ 0:
//   a = E2·x + dt·q·N(x),  b = E2·x + dt·q·N(a),  c = E2·a + dt·q·(2N(b) − N(x)),
//   x' = E·x + dt·(f1·N(x) + 2·f2·(N(a) + N(b)) + f3·N(c)),
// E2 = e^{z/2}, E = e^z, q = φ₁(z/2)/2, f1 = φ₁ − 3φ₂ + 4φ₃, f2 = φ₂ − 2φ₃, f3 = 4φ₃ − φ₂.
// At z = 0 the scheme is exactly classic RK4 (q = 1/2, f = 1/6; returned exactly, so a cell's
// trajectory does not depend on whether another lane of its vector is stiff).
// φ-functions from a Taylor φ₃ and φ_k = 1/k! + z·φ_{k+1} for |z| < 0.5 (no cancellation); by the
// upward recursion from e^z otherwise (error amplification ≤ 8 ε there).
struct EtdCoeffs {
  vd E2, E, q, f1, f2, f3;
};
SBX_SIMD_INLINE EtdCoeffs etd_rk4_classic() {
  const vd sixth = splat(1.0 / 6.0);
  return {splat(1.0), splat(1.0), splat(0.5), sixth, sixth, sixth};
}
SBX_SIMD_INLINE EtdCoeffs etd_coeffs(vd z) {
  const vd E2 = exp(0.5 * z);
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
  const vi zero = z == 0.0;
  const vd sixth = splat(1.0 / 6.0);
  return {E2,
          E,
          0.5 * half1,
          zero ? sixth : p1 - 3.0 * p2 + 4.0 * p3,
          zero ? sixth : p2 - 2.0 * p3,
          zero ? sixth : 4.0 * p3 - p2};
}

// ---- spike bookkeeping shared by the clocked point models --------------------------------------

// Number of refractory steps as Brian2 counts them: timestep(t_ref, dt) = floor((t_ref + 1e-3
// dt)/dt).
inline double refractory_steps(double t_ref_ms, double dt_ms) {
  return std::floor((t_ref_ms + 1e-3 * dt_ms) / dt_ms);
}

// Refractory countdown as arithmetic (no branches): a spiking lane starts at `hold` steps
// (= refractory_steps − 1: the spike step itself counts), other lanes count down to 0.
SBX_SIMD_INLINE vd refractory_next(vi spike, vd r, double hold) {
  const vd r_dec = r - 1.0;
  return select(spike, splat(hold), select(r_dec > 0.0, r_dec, splat(0.0)));
}

// Appends i0 + k for every lane k with i0 + k < n whose mask is set.
// Lanes in increasing order (the spike order does not depend on the vector width).
SBX_SIMD_INLINE void append_spikes(vi mask, std::uint32_t i0, std::uint32_t n,
                                   std::vector<std::uint32_t>& out) {
  unsigned bits = mask_bits(mask);
  if (bits == 0) return;
  if (i0 + kLanes > n) bits &= n > i0 ? (1u << (n - i0)) - 1u : 0u;  // padding lanes never spike
  for (; bits != 0; bits &= bits - 1u)
    out.push_back(i0 + static_cast<std::uint32_t>(std::countr_zero(bits)));
}

}  // namespace sbx::simd
