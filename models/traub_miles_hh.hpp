// Traub–Miles Hodgkin–Huxley point neuron with exponentially decaying synaptic conductances: the
// cell of the COBAHH benchmark (Brette et al. 2007, benchmark 3; Brian2 example COBAHH.py; our
// peer script ../shared/peers/brian2_cobahh.py). Clocked population.
//
// Equations (units mV, ms, nS, pF, pA; u = V − V_T):
//   C_m dV/dt = g_L (E_L − V) + g_e (E_e − V) + g_i (E_i − V)
//               − g_Na m³ h (V − E_Na) − g_K n⁴ (V − E_K) + I_bias
//   dx/dt     = α_x(V) (1 − x) − β_x(V) x                         for x ∈ {m, h, n}
//   dg_e/dt   = −g_e / τ_e,      dg_i/dt = −g_i / τ_i
//   α_m = 0.32·4 / exprel((13 − u)/4)     β_m = 0.28·5 / exprel((u − 40)/5)
//   α_h = 0.128 · exp((17 − u)/18)        β_h = 4 / (1 + exp((40 − u)/5))
//   α_n = 0.032·5 / exprel((15 − u)/5)    β_n = 0.5 · exp((10 − u)/40)        (rates in 1/ms)
//   exprel(z) = (e^z − 1)/z.
// A spike weight w arriving on receptor 0 (excitatory) adds w nS to g_e, on receptor 1
// (inhibitory) adds w nS to g_i; the jump is applied at the start of the next step.
//
// Spikes and refractoriness (Brian2 semantics): a spike is emitted at the end of a step in which
// V > V_spike and the neuron is not refractory; there is no reset. For the floor((t_ref +
// 10⁻³dt)/dt) − 1 steps that follow (29 at t_ref = 3 ms, dt = 0.1 ms) no spike can be emitted; V,
// the gates and the conductances keep being integrated.
//
// Integration: exponential Euler, exactly Brian2's `exponential_euler` (why: the benchmark's spike
// counts depend on the integrator at dt = 0.1 ms; NEURON's implicit Euler gives 43 Hz instead of
// Brian's 37 Hz). Every variable is conditionally linear, dx/dt = A + B·x with A, B evaluated from
// the state at the start of the step, so x ← −A/B + (x + A/B)·exp(B·dt); all variables use the
// start-of-step values (V with the old m, h, n). g_e and g_i decay exactly. The method is first
// order: spike times converge linearly in dt (see tests/models_point, measured numbers in the
// report).
//
// Vectorisation: the step kernel is written on GCC/Clang vector types (sbx::simd below) so it is
// SIMD regardless of the autovectoriser (glibc's exp is not vectorised without -ffast-math, and
// if-conversion of the range clamps is blocked under -ftrapping-math). sbx::simd::exp is our own
// branch-free exp, accurate to ≤ 1 ulp on [−708.39, 709.43] (tested against std::exp).
//
// Parameters (HHParams; area 20 000 µm² folded into the conductances and capacitance):
//   name      unit  default  meaning
//   C_m       pF    200      membrane capacitance (1 µF/cm²)
//   g_L       nS    10       leak conductance (0.05 mS/cm²)
//   E_L       mV    −60      leak reversal potential
//   g_Na      nS    20000    maximal sodium conductance (100 mS/cm²)
//   E_Na      mV    50       sodium reversal potential
//   g_K       nS    6000     maximal delayed-rectifier potassium conductance (30 mS/cm²)
//   E_K       mV    −90      potassium reversal potential
//   V_T       mV    −63      gate-curve offset (sets the firing threshold)
//   tau_e     ms    5        excitatory conductance decay time
//   tau_i     ms    10       inhibitory conductance decay time
//   E_e       mV    0        excitatory reversal potential
//   E_i       mV    −80      inhibitory reversal potential
//   V_spike   mV    −20      spike detection threshold (upward: V > V_spike when not refractory)
//   t_ref     ms    3        refractory period (blocks spike detection only)
//   I_bias    pA    0        constant injected current (per neuron, state "I_bias"; not in COBAHH)
// Benchmark weights: 6 nS (excitatory), 67 nS (inhibitory).
//
// State variables ("V" mV, "m", "h", "n", "g_e" nS, "g_i" nS, parameter array "I_bias" pA).
// Initial state: V = E_L, m = h = n = 0, g_e = g_i = 0 — Brian2's defaults (COBAHH sets V, g_e and
// g_i itself and leaves the gates at 0); set_gates_to_steady_state() puts the gates at rest.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/population.hpp"

namespace sbx {

// ---------------------------------------------------------------------------------------------
// Minimal SIMD toolkit on GCC/Clang vector extensions (shared by the clocked point models).
namespace simd {

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

inline vd load(const double* p) {
  vd v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(double* p, vd v) {
  std::memcpy(p, &v, sizeof v);
}
inline vd splat(double x) {
  return vd{} + x;
}
inline vd select(vi mask, vd a, vd b) {
  return mask ? a : b;
}  // lane-wise mask ? a : b
inline vd abs(vd x) {
  return (vd)((vu)x & ~(vu{} + 0x8000000000000000ull));
}
inline bool any(vi mask) {
  std::int64_t r = 0;
  for (std::size_t k = 0; k < kLanes; ++k) r |= mask[k];
  return r != 0;
}

// exp(x), branch-free. Cody–Waite reduction x = k·ln2 + r, |r| ≤ ln2/2, degree-13 Taylor
// polynomial for e^r (truncation < 1.7e-16), 2^k built in the exponent bits. Max error 1 ulp.
// Range: x < −708.39 returns 0 (the true value is subnormal); x > 709.43 returns +inf (the true
// value exceeds 2^1023.5 there); NaN propagates.
inline vd exp(vd x) {
  constexpr double lo = -708.3964185322641, hi = 709.43;
  constexpr double magic = 6755399441055744.0;  // 1.5·2^52: adding it rounds to an integer
  const vd t = x * 1.4426950408889634 + magic;
  const vd k = t - magic;
  const vd r = (x - k * 0.6931471805598903) - k * 5.497923018708371e-14;
  vd p = splat(1.0 / 479001600.0);
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
  const vu ki = (vu)t - (vu)splat(magic);  // the integer k sits in the low mantissa bits of t
  const vd scale = (vd)((ki + 1023u) << 52);
  vd res = p * scale;
  res = select(x < lo, splat(0.0), res);
  res = select(x > hi, splat(HUGE_VAL), res);
  return res;
}

// z / (e^z − 1) = 1 / exprel(z) given e^z; series near 0 (error < 1e-22 for |z| < 0.01), else
// the direct formula, whose cancellation costs at most 2.2e-16/|z| < 2.3e-14 relative.
inline vd inv_exprel(vd z, vd exp_z) {
  const vd z2 = z * z;
  const vd series = 1.0 - 0.5 * z + z2 * (1.0 / 12.0 - z2 * (1.0 / 720.0 - z2 * (1.0 / 30240.0)));
  const vd direct = z / (exp_z - 1.0);
  return select(abs(z) < 0.01, series, direct);
}
inline vd inv_exprel(vd z) {
  return inv_exprel(z, exp(z));
}

// Scalar convenience wrappers (tests, non-hot code).
inline double exp(double x) {
  return exp(splat(x))[0];
}
inline double inv_exprel(double z) {
  return inv_exprel(splat(z))[0];
}

// Number of refractory steps as Brian2 counts them: timestep(t_ref, dt) = floor((t_ref + 1e-3
// dt)/dt).
inline double refractory_steps(double t_ref_ms, double dt_ms) {
  return std::floor((t_ref_ms + 1e-3 * dt_ms) / dt_ms);
}

// Appends i0 + k for every lane k < n_valid whose mask is set.
inline void append_spikes(vi mask, std::uint32_t i0, std::uint32_t n,
                          std::vector<std::uint32_t>& out) {
  if (!any(mask)) return;
  for (std::size_t k = 0; k < kLanes; ++k)
    if (mask[k] && i0 + k < n) out.push_back(static_cast<std::uint32_t>(i0 + k));
}

}  // namespace simd

// ---------------------------------------------------------------------------------------------

struct HHParams {
  double C_m = 200.0;      // pF
  double g_L = 10.0;       // nS
  double E_L = -60.0;      // mV
  double g_Na = 20000.0;   // nS
  double E_Na = 50.0;      // mV
  double g_K = 6000.0;     // nS
  double E_K = -90.0;      // mV
  double V_T = -63.0;      // mV
  double tau_e = 5.0;      // ms
  double tau_i = 10.0;     // ms
  double E_e = 0.0;        // mV
  double E_i = -80.0;      // mV
  double V_spike = -20.0;  // mV
  double t_ref = 3.0;      // ms
  double I_bias = 0.0;     // pA

  // Human-readable violations ("tau_e must be > 0 ms, got -1"); empty when valid.
  std::vector<std::string> validate() const {
    std::vector<std::string> e;
    auto pos = [&](const char* n, double v, const char* unit) {
      if (!(v > 0.0) || !std::isfinite(v))
        e.push_back(std::string(n) + " must be > 0 " + unit + ", got " + std::to_string(v));
    };
    auto fin = [&](const char* n, double v) {
      if (!std::isfinite(v)) e.push_back(std::string(n) + " must be finite");
    };
    pos("C_m", C_m, "pF");
    pos("tau_e", tau_e, "ms");
    pos("tau_i", tau_i, "ms");
    if (!(g_L >= 0.0) || !(g_Na >= 0.0) || !(g_K >= 0.0))
      e.push_back("g_L, g_Na and g_K must be >= 0 nS");
    if (!(t_ref >= 0.0)) e.push_back("t_ref must be >= 0 ms, got " + std::to_string(t_ref));
    fin("E_L", E_L), fin("E_Na", E_Na), fin("E_K", E_K), fin("V_T", V_T), fin("E_e", E_e);
    fin("E_i", E_i), fin("V_spike", V_spike), fin("I_bias", I_bias);
    return e;
  }
};

class TraubMilesHHPopulation final : public Population {
 public:
  static constexpr double default_dt_ms = 0.1;  // the benchmark (and Brian2 COBAHH) step

  TraubMilesHHPopulation(std::uint32_t n, HHParams p = {}) : n_(n), p_(p) {
    if (auto err = p.validate(); !err.empty()) {
      std::string msg = "TraubMilesHH parameters:";
      for (auto& s : err) msg += " " + s + ";";
      throw std::invalid_argument(msg);
    }
    const std::size_t np = simd::padded(n);
    v_.assign(np, p.E_L);
    m_.assign(np, 0.0), h_.assign(np, 0.0), nk_.assign(np, 0.0);
    ge_.assign(np, 0.0), gi_.assign(np, 0.0), ref_.assign(np, 0.0);
    buf_e_.assign(np, 0.0), buf_i_.assign(np, 0.0), bias_.assign(np, p.I_bias);
  }

  const HHParams& params() const { return p_; }

  // Sets m, h, n to their steady state α/(α+β) at each neuron's current V.
  void set_gates_to_steady_state() {
    for (std::size_t i = 0; i < v_.size(); ++i) {
      const Rates r = rates(v_[i]);
      m_[i] = r.am / (r.am + r.bm);
      h_[i] = r.ah / (r.ah + r.bh);
      nk_[i] = r.an / (r.an + r.bn);
    }
  }

  // Scalar rate functions (1/ms), same formulas as the kernel; used for initialisation and tests.
  struct Rates {
    double am, bm, ah, bh, an, bn;
  };
  Rates rates(double V) const {
    const double u = V - p_.V_T;
    return {1.28 * simd::inv_exprel((13.0 - u) / 4.0), 1.4 * simd::inv_exprel((u - 40.0) / 5.0),
            0.128 * std::exp((17.0 - u) / 18.0),       4.0 / (1.0 + std::exp((40.0 - u) / 5.0)),
            0.16 * simd::inv_exprel((15.0 - u) / 5.0), 0.5 * std::exp((10.0 - u) / 40.0)};
  }

  std::string_view model() const override { return "traub_miles_hh"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  std::uint32_t n_receptors() const override { return 2; }
  double* receptor_buffer(std::uint32_t r) override {
    return r == 0 ? buf_e_.data() : r == 1 ? buf_i_.data() : nullptr;
  }

  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    using simd::vd;
    using simd::vi;
    if (ctx.dt_ms != dt_) prepare(ctx.dt_ms);
    const double dt = dt_, VT = p_.V_T, inv_C = 1.0 / p_.C_m;
    const double gL = p_.g_L, gNa = p_.g_Na, gK = p_.g_K;
    const double gLEL = p_.g_L * p_.E_L, Ee = p_.E_e, Ei = p_.E_i, ENa = p_.E_Na, EK = p_.E_K;
    const double Vs = p_.V_spike, nref1 = std::max(nref_ - 1.0, 0.0);
    const double de = decay_e_, di = decay_i_;
    double *V = v_.data(), *M = m_.data(), *H = h_.data(), *N = nk_.data();
    double *GE = ge_.data(), *GI = gi_.data(), *R = ref_.data();
    double *BE = buf_e_.data(), *BI = buf_i_.data();
    const double* IB = bias_.data();
    const vd zero = simd::splat(0.0);
    const std::size_t np = v_.size();
    for (std::size_t i = 0; i < np; i += simd::kLanes) {
      const vd v = simd::load(V + i), m = simd::load(M + i), h = simd::load(H + i);
      const vd nn = simd::load(N + i);
      const vd ge = simd::load(GE + i) + simd::load(BE + i);
      const vd gi = simd::load(GI + i) + simd::load(BI + i);
      simd::store(BE + i, zero);
      simd::store(BI + i, zero);
      const vd u = v - VT;
      // Gate rates (1/ms) at the start-of-step V. Three of the six exponentials share
      // E = exp((u − 40)/5): exp((40 − u)/5) = 1/E and exp((15 − u)/5) = e^−5/E (saves two exp).
      const vd zb = (u - 40.0) * 0.2, zn = (15.0 - u) * 0.2;
      const vd E = simd::exp(zb);
      const vd am = 1.28 * simd::inv_exprel((13.0 - u) * 0.25);
      const vd bm = 1.4 * simd::inv_exprel(zb, E);
      const vd ah = 0.128 * simd::exp((17.0 - u) * (1.0 / 18.0));
      const vd bh = 4.0 * E / (E + 1.0);
      const vd an = 0.16 * simd::inv_exprel(zn, 0.006737946999085467 / E);
      const vd bn = 0.5 * simd::exp((10.0 - u) * (1.0 / 40.0));
      const vd sm = am + bm, sh = ah + bh, sn = an + bn;
      const vd m_inf = am / sm, h_inf = ah / sh, n_inf = an / sn;
      const vd m_new = m_inf + (m - m_inf) * simd::exp(-dt * sm);
      const vd h_new = h_inf + (h - h_inf) * simd::exp(-dt * sh);
      const vd n_new = n_inf + (nn - n_inf) * simd::exp(-dt * sn);
      // Membrane: linear in V with the old gates and conductances.
      const vd gna = gNa * (m * m * m * h);
      const vd n2 = nn * nn;
      const vd gk = gK * (n2 * n2);
      const vd G = gL + ge + gi + gna + gk;
      const vd Einf = (gLEL + ge * Ee + gi * Ei + gna * ENa + gk * EK + simd::load(IB + i)) / G;
      const vd v_new = Einf + (v - Einf) * simd::exp(-dt * inv_C * G);
      // Threshold (Brian: v > V_spike and not refractory), refractory countdown as arithmetic.
      const vd r = simd::load(R + i);
      const vi spike = (v_new > Vs) & (r <= 0.0);
      const vd r_dec = r - 1.0;
      simd::store(R + i,
                  simd::select(spike, simd::splat(nref1), simd::select(r_dec > 0.0, r_dec, zero)));
      simd::store(V + i, v_new);
      simd::store(M + i, m_new);
      simd::store(H + i, h_new);
      simd::store(N + i, n_new);
      simd::store(GE + i, ge * de);
      simd::store(GI + i, gi * di);
      simd::append_spikes(spike, static_cast<std::uint32_t>(i), n_, spiked);
    }
  }

  double* state(std::string_view name) override {
    if (name == "V") return v_.data();
    if (name == "m") return m_.data();
    if (name == "h") return h_.data();
    if (name == "n") return nk_.data();
    if (name == "g_e") return ge_.data();
    if (name == "g_i") return gi_.data();
    if (name == "I_bias") return bias_.data();
    return nullptr;
  }
  std::vector<std::string> state_names() const override {
    return {"V", "m", "h", "n", "g_e", "g_i", "I_bias"};
  }

  // Layout: V, m, h, n, g_e, g_i, refractory steps left, pending receptor inputs e, i (n each).
  void save_state(std::vector<double>& out) const override {
    out.clear();
    for (const auto* a : {&v_, &m_, &h_, &nk_, &ge_, &gi_, &ref_, &buf_e_, &buf_i_})
      out.insert(out.end(), a->begin(), a->begin() + n_);
  }
  void load_state(std::span<const double> in) override {
    if (in.size() != 9u * n_) throw std::invalid_argument("TraubMilesHH::load_state: wrong size");
    std::size_t k = 0;
    for (auto* a : {&v_, &m_, &h_, &nk_, &ge_, &gi_, &ref_, &buf_e_, &buf_i_}) {
      std::copy(in.begin() + k, in.begin() + k + n_, a->begin());
      k += n_;
    }
  }
  long first_nonfinite(std::string& variable) const override {
    const char* names[] = {"V", "m", "h", "n", "g_e", "g_i"};
    const std::vector<double>* arrs[] = {&v_, &m_, &h_, &nk_, &ge_, &gi_};
    long best = -1;
    for (int a = 0; a < 6; ++a)
      for (std::uint32_t i = 0; i < n_ && (best < 0 || static_cast<long>(i) < best); ++i)
        if (!std::isfinite((*arrs[a])[i])) {
          best = i;
          variable = std::string(names[a]);
          break;
        }
    return best;
  }

 private:
  void prepare(double dt) {
    if (!(dt > 0.0)) throw std::invalid_argument("TraubMilesHH: dt must be > 0");
    dt_ = dt;
    decay_e_ = std::exp(-dt / p_.tau_e);
    decay_i_ = std::exp(-dt / p_.tau_i);
    nref_ = simd::refractory_steps(p_.t_ref, dt);
  }

  std::uint32_t n_;
  HHParams p_;
  double dt_ = -1.0, decay_e_ = 0.0, decay_i_ = 0.0, nref_ = 0.0;
  std::vector<double> v_, m_, h_, nk_, ge_, gi_, ref_, buf_e_, buf_i_, bias_;
};

}  // namespace sbx
