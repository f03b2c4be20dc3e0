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
// Integrators (TOML key `integrator`, per population; HHIntegrator in C++):
//  * "etdrk4" (DEFAULT): exponential Runge–Kutta of order 4 (Cox–Matthews ETDRK4, coefficients in
//    models/simd_math.hpp) in which only the stiffness EXCESS is treated exponentially: for each
//    of V, m, h, n the diagonal Jacobian entry λ at the step start (λ_V = G_total/C_m,
//    λ_x = α_x + β_x) gives the frozen linear part L = −max(0, λ − 1/dt); where nothing is stiff
//    L = 0 and the step is exactly classic RK4 (the usual case: the exponential coefficients are
//    only computed for vectors with a stiff lane). g_e and g_i decay exactly, also at the stages.
//    Why default: it is the integrator that meets the engine's accuracy requirement at the
//    default dt = 0.1 ms — spike times of a driven cell within 0.1 ms of a dt/10 reference over
//    1 s (measured: see tests/models_point/test_clocked_point.cpp; fourth-order convergence
//    shown there too). Cost ≈ 4 right-hand sides per step.
//  * "exponential_euler": exactly Brian2's `exponential_euler`, kept so the COBAHH benchmark
//    (circuits_toml/cobahh.toml sets it) compares like with like with Brian2: the benchmark's
//    spike counts depend on the integrator at dt = 0.1 ms (NEURON's implicit Euler gives 43 Hz
//    instead of Brian's 37 Hz). Every variable is conditionally linear, dx/dt = A + B·x with A, B
//    from the start-of-step state, so x ← −A/B + (x + A/B)·exp(B·dt); all variables use the
//    start-of-step values (V with the old m, h, n); g_e and g_i decay exactly. First order:
//    spike times drift linearly in dt (≈ 15 ms over 200 ms at dt 0.1 for a 400 pA drive).
//
// Vectorisation: both kernels are written on GCC/Clang vector types (models/simd_math.hpp) so
// they are SIMD regardless of the autovectoriser, with the shared branch-free simd::exp.
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
//   integrator  —   "etdrk4" "etdrk4" | "exponential_euler" (see Integrators above)
//   precision   —   "double" "double" | "float": arithmetic of the exponential-Euler kernel. Float
//                            runs the same kernel on half-width float vectors (float simd::exp);
//                            the state arrays stay double, rounded to float every step. Cost:
//                            single-cell spike times within 0.001 ms of double over 1 s (test
//                            test_point_precision.cpp); cobahh spike count +4 % (chaotic network,
//                            bench/point_precision.py); kernel ≈ 1.2× faster (memory-bound).
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
#include "models/point_common.hpp"
#include "models/simd_math.hpp"

namespace sbx {

enum class HHIntegrator : std::uint8_t { etdrk4, exponential_euler };

// TOML names of the integrators, in enum order.
inline constexpr const char* hh_integrator_names[] = {"etdrk4", "exponential_euler"};

struct HHParams {
  double C_m = 200.0;          // pF
  double g_L = 10.0;           // nS
  double E_L = -60.0;          // mV
  double g_Na = 20000.0;       // nS
  double E_Na = 50.0;          // mV
  double g_K = 6000.0;         // nS
  double E_K = -90.0;          // mV
  double V_T = -63.0;          // mV
  double tau_e = 5.0;          // ms
  double tau_i = 10.0;         // ms
  double E_e = 0.0;            // mV
  double E_i = -80.0;          // mV
  double V_spike = -20.0;      // mV
  double t_ref = 3.0;          // ms
  double I_bias = 0.0;         // pA
  double max_substep = 0.035;  // ms, ETDRK4 only
  HHIntegrator integrator = HHIntegrator::etdrk4;
  // Arithmetic of the kernel: double, or float (exponential_euler only; state stays in double
  // arrays, rounded to float every step). Accuracy cost: bench/point_precision.py.
  point::Precision precision = point::Precision::f64;

  // Human-readable violations ("tau_e must be > 0 ms, got -1"); empty when valid.
  std::vector<std::string> validate() const {
    point::ParamCheck c;
    c.positive("C_m", C_m, "pF");
    c.positive("tau_e", tau_e, "ms");
    c.positive("tau_i", tau_i, "ms");
    c.non_negative("g_L", g_L, "nS");
    c.non_negative("g_Na", g_Na, "nS");
    c.non_negative("g_K", g_K, "nS");
    c.non_negative("t_ref", t_ref, "ms");
    c.positive("max_substep", max_substep, "ms");
    if (precision == point::Precision::f32 && integrator != HHIntegrator::exponential_euler)
      c.fail("precision = \"float\" is available with integrator = \"exponential_euler\" only");
    for (auto [n, v] : {std::pair{"E_L", E_L},
                        {"E_Na", E_Na},
                        {"E_K", E_K},
                        {"V_T", V_T},
                        {"E_e", E_e},
                        {"E_i", E_i},
                        {"V_spike", V_spike},
                        {"I_bias", I_bias}})
      c.finite(n, v);
    return c.take();
  }
};

class TraubMilesHHPopulation final : public Population {
 public:
  static constexpr double default_dt_ms = 0.1;  // the benchmark (and Brian2 COBAHH) step

  TraubMilesHHPopulation(std::uint32_t n, HHParams p = {}) : n_(n), p_(p) {
    point::throw_if_invalid("TraubMilesHH", p.validate());
    const std::size_t np = simd::padded(n);
    v_.assign(np, p.E_L);
    m_.assign(np, 0.0), h_.assign(np, 0.0), nk_.assign(np, 0.0);
    ge_.assign(np, 0.0), gi_.assign(np, 0.0), ref_.assign(np, 0.0);
    buf_e_.assign(np, 0.0), buf_i_.assign(np, 0.0), bias_.assign(np, p.I_bias);
  }

  const HHParams& params() const { return p_; }
  HHIntegrator integrator() const { return p_.integrator; }

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
    prepare_step(ctx);
    step_range(ctx, 0, n_, spiked);
  }
  std::uint32_t range_granularity() const override {
    return static_cast<std::uint32_t>(simd::kLanes);
  }
  void prepare_step(const StepContext& ctx) override {
    if (ctx.dt_ms != dt_) prepare(ctx.dt_ms);
  }
  void step_range(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                  std::vector<std::uint32_t>& spiked) override {
    (void)ctx;
    const std::size_t e = std::min(simd::padded(end), v_.size());  // padding lanes ride along
    if (p_.integrator == HHIntegrator::exponential_euler) {
      if (p_.precision == point::Precision::f32)
        step_exponential_euler<LanesF>(begin, e, spiked);
      else
        step_exponential_euler<LanesD>(begin, e, spiked);
    } else
      step_etdrk4(begin, e, spiked);
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
    point::save_arrays<point::Array>(out, n_,
                                     {&v_, &m_, &h_, &nk_, &ge_, &gi_, &ref_, &buf_e_, &buf_i_});
  }
  void load_state(std::span<const double> in) override {
    point::load_arrays<point::Array>(in, n_, "TraubMilesHH",
                                     {&v_, &m_, &h_, &nk_, &ge_, &gi_, &ref_, &buf_e_, &buf_i_});
  }
  long first_nonfinite(std::string& variable) const override {
    return point::first_nonfinite<point::Array>(
        n_, {{"V", &v_}, {"m", &m_}, {"h", &h_}, {"n", &nk_}, {"g_e", &ge_}, {"g_i", &gi_}},
        variable);
  }

 private:
  using vd = simd::vd;
  using vi = simd::vi;

  // Lane arithmetic of one precision: double (vd), or float (vf: the double state arrays are
  // converted on load and store, so a float population's state is float-rounded every step).
  struct LanesD {
    using V = vd;
    using S = double;
    static V load(const double* p) { return simd::load(p); }
    static void store(double* p, V v) { simd::store(p, v); }
  };
  struct LanesF {
    using V = simd::vf;
    using S = float;
    static V load(const double* p) { return simd::to_float(simd::load(p)); }
    static void store(double* p, V v) { simd::store(p, simd::to_double(v)); }
  };

  // Gate rates (1/ms) at membrane potential v. Three of the six exponentials share
  // E = exp((u − 40)/5): exp((40 − u)/5) = 1/E and exp((15 − u)/5) = e^−5/E (saves two exp).
  template <class L>
  struct VRatesT {
    typename L::V am, bm, ah, bh, an, bn;
  };
  using VRates = VRatesT<LanesD>;
  template <class L>
  SBX_SIMD_INLINE VRatesT<L> vrates_t(typename L::V v) const {
    using S = typename L::S;
    using V = typename L::V;
    const V u = v - S(p_.V_T);
    const V zb = (u - S(40.0)) * S(0.2), zn = (S(15.0) - u) * S(0.2);
    const V E = simd::exp(zb);
    return {S(1.28) * simd::inv_exprel((S(13.0) - u) * S(0.25)),
            S(1.4) * simd::inv_exprel(zb, E),
            S(0.128) * simd::exp((S(17.0) - u) * S(1.0 / 18.0)),
            S(4.0) * E / (E + S(1.0)),
            S(0.16) * simd::inv_exprel(zn, S(0.006737946999085467) / E),
            S(0.5) * simd::exp((S(10.0) - u) * S(1.0 / 40.0))};
  }
  SBX_SIMD_INLINE VRates vrates(vd v) const { return vrates_t<LanesD>(v); }

  // Threshold (Brian: v > V_spike and not refractory), refractory countdown, spike list.
  SBX_SIMD_INLINE void detect(std::size_t i, vd v_new, std::vector<std::uint32_t>& spiked) {
    const vd r = simd::load(&ref_[i]);
    const vi spike = (v_new > p_.V_spike) & (r <= 0.0);
    simd::store(&ref_[i], simd::refractory_next(spike, r, std::max(nref_ - 1.0, 0.0)));
    simd::append_spikes(spike, static_cast<std::uint32_t>(i), n_, spiked);
  }

  // Exponential Euler in the precision of L (LanesD: the double kernel; LanesF: float).
  template <class L>
  void step_exponential_euler(std::size_t begin, std::size_t end,
                              std::vector<std::uint32_t>& spiked) {
    using S = typename L::S;
    using W = typename L::V;
    const S dt = S(dt_), inv_C = S(1.0 / p_.C_m);
    const S gL = S(p_.g_L), gNa = S(p_.g_Na), gK = S(p_.g_K);
    const S gLEL = S(p_.g_L * p_.E_L), Ee = S(p_.E_e), Ei = S(p_.E_i), ENa = S(p_.E_Na),
            EK = S(p_.E_K);
    const S de = S(decay_e_), di = S(decay_i_);
    double *V = v_.data(), *M = m_.data(), *H = h_.data(), *N = nk_.data();
    double *GE = ge_.data(), *GI = gi_.data();
    double *BE = buf_e_.data(), *BI = buf_i_.data();
    const double* IB = bias_.data();
    const vd zero = simd::splat(0.0);
    for (std::size_t i = begin; i < end; i += simd::kLanes) {
      const W v = L::load(V + i), m = L::load(M + i), h = L::load(H + i);
      const W nn = L::load(N + i);
      const W ge = L::load(GE + i) + L::load(BE + i);
      const W gi = L::load(GI + i) + L::load(BI + i);
      simd::store(BE + i, zero);
      simd::store(BI + i, zero);
      const VRatesT<L> r = vrates_t<L>(v);
      const W sm = r.am + r.bm, sh = r.ah + r.bh, sn = r.an + r.bn;
      const W m_inf = r.am / sm, h_inf = r.ah / sh, n_inf = r.an / sn;
      const W m_new = m_inf + (m - m_inf) * simd::exp(-dt * sm);
      const W h_new = h_inf + (h - h_inf) * simd::exp(-dt * sh);
      const W n_new = n_inf + (nn - n_inf) * simd::exp(-dt * sn);
      // Membrane: linear in V with the old gates and conductances.
      const W gna = gNa * (m * m * m * h);
      const W n2 = nn * nn;
      const W gk = gK * (n2 * n2);
      const W G = gL + ge + gi + gna + gk;
      const W Einf = (gLEL + ge * Ee + gi * Ei + gna * ENa + gk * EK + L::load(IB + i)) / G;
      const W v_new = Einf + (v - Einf) * simd::exp(-dt * inv_C * G);
      L::store(V + i, v_new);
      detect(i, simd::load(V + i), spiked);
      L::store(M + i, m_new);
      L::store(H + i, h_new);
      L::store(N + i, n_new);
      L::store(GE + i, ge * de);
      L::store(GI + i, gi * di);
    }
  }

  // Right-hand side of (V, m, h, n) and the diagonal stiffness λ of each, at one stage.
  struct Deriv {
    vd fV, fm, fh, fn, lV, lm, lh, ln;
  };
  SBX_SIMD_INLINE Deriv deriv(vd v, vd m, vd h, vd nn, vd ge, vd gi, vd ib) const {
    const VRates r = vrates(v);
    const double inv_C = 1.0 / p_.C_m;
    const vd gna = p_.g_Na * (m * m * m * h);
    const vd n2 = nn * nn;
    const vd gk = p_.g_K * (n2 * n2);
    const vd G = p_.g_L + ge + gi + gna + gk;
    const vd drive = p_.g_L * p_.E_L + ge * p_.E_e + gi * p_.E_i + gna * p_.E_Na + gk * p_.E_K + ib;
    Deriv d;
    d.lV = G * inv_C;
    d.fV = (drive - G * v) * inv_C;
    d.lm = r.am + r.bm;
    d.fm = r.am - d.lm * m;
    d.lh = r.ah + r.bh;
    d.fh = r.ah - d.lh * h;
    d.ln = r.an + r.bn;
    d.fn = r.an - d.ln * nn;
    return d;
  }

  // One ETDRK4 substep of length h for the vector at i (state in registers).
  struct Cell {
    vd V, m, h, n, ge, gi;
  };
  SBX_SIMD_INLINE void etdrk4_substep(Cell& s, vd ib) const {
    const double h = sub_h_;
    const vd cap = simd::splat(1.0 / h), zero = simd::splat(0.0);
    const simd::EtdCoeffs rk4 = simd::etd_rk4_classic();
    // L = −max(0, λ − 1/h): only the stiffness beyond 1/h is integrated exponentially.
    auto excess = [&](vd lambda) { return simd::min(zero, cap - lambda); };
    auto coeffs = [&](vd L) { return simd::any(L < 0.0) ? simd::etd_coeffs(L * h) : rk4; };
    const vd V0 = s.V, m0 = s.m, h0 = s.h, n0 = s.n, ge0 = s.ge, gi0 = s.gi;
    // Conductances decay exactly: their values at the half and the full substep.
    const vd geh = ge0 * sub_half_decay_e_, gih = gi0 * sub_half_decay_i_;
    const vd ge1 = ge0 * sub_decay_e_, gi1 = gi0 * sub_decay_i_;

    const Deriv d1 = deriv(V0, m0, h0, n0, ge0, gi0, ib);
    const vd LV = excess(d1.lV), Lm = excess(d1.lm), Lh = excess(d1.lh), Ln = excess(d1.ln);
    const simd::EtdCoeffs cV = coeffs(LV), cm = coeffs(Lm), ch = coeffs(Lh), cn = coeffs(Ln);
    const vd qV = h * cV.q, qm = h * cm.q, qh = h * ch.q, qn = h * cn.q;
    // Nonlinear remainders N = f − L·x at each stage.
    const vd NV1 = d1.fV - LV * V0, Nm1 = d1.fm - Lm * m0, Nh1 = d1.fh - Lh * h0,
             Nn1 = d1.fn - Ln * n0;

    const vd Va = cV.E2 * V0 + qV * NV1, ma = cm.E2 * m0 + qm * Nm1;
    const vd ha = ch.E2 * h0 + qh * Nh1, na = cn.E2 * n0 + qn * Nn1;
    const Deriv da = deriv(Va, ma, ha, na, geh, gih, ib);
    const vd NVa = da.fV - LV * Va, Nma = da.fm - Lm * ma, Nha = da.fh - Lh * ha,
             Nna = da.fn - Ln * na;

    const vd Vb = cV.E2 * V0 + qV * NVa, mb = cm.E2 * m0 + qm * Nma;
    const vd hb = ch.E2 * h0 + qh * Nha, nb = cn.E2 * n0 + qn * Nna;
    const Deriv db = deriv(Vb, mb, hb, nb, geh, gih, ib);
    const vd NVb = db.fV - LV * Vb, Nmb = db.fm - Lm * mb, Nhb = db.fh - Lh * hb,
             Nnb = db.fn - Ln * nb;

    const vd Vc = cV.E2 * Va + qV * (2.0 * NVb - NV1);
    const vd mc = cm.E2 * ma + qm * (2.0 * Nmb - Nm1);
    const vd hc = ch.E2 * ha + qh * (2.0 * Nhb - Nh1);
    const vd nc = cn.E2 * na + qn * (2.0 * Nnb - Nn1);
    const Deriv dc = deriv(Vc, mc, hc, nc, ge1, gi1, ib);
    const vd NVc = dc.fV - LV * Vc, Nmc = dc.fm - Lm * mc, Nhc = dc.fh - Lh * hc,
             Nnc = dc.fn - Ln * nc;

    auto finish = [h](const simd::EtdCoeffs& c, vd x0, vd N1, vd Na, vd Nb, vd Nc) {
      return c.E * x0 + h * (c.f1 * N1 + 2.0 * c.f2 * (Na + Nb) + c.f3 * Nc);
    };
    s.V = finish(cV, V0, NV1, NVa, NVb, NVc);
    s.m = finish(cm, m0, Nm1, Nma, Nmb, Nmc);
    s.h = finish(ch, h0, Nh1, Nha, Nhb, Nhc);
    s.n = finish(cn, n0, Nn1, Nna, Nnb, Nnc);
    s.ge = ge1;
    s.gi = gi1;
  }

  void step_etdrk4(std::size_t begin, std::size_t end, std::vector<std::uint32_t>& spiked) {
    const vd zero = simd::splat(0.0);
    for (std::size_t i = begin; i < end; i += simd::kLanes) {
      Cell s{simd::load(&v_[i]),
             simd::load(&m_[i]),
             simd::load(&h_[i]),
             simd::load(&nk_[i]),
             simd::load(&ge_[i]) + simd::load(&buf_e_[i]),
             simd::load(&gi_[i]) + simd::load(&buf_i_[i])};
      simd::store(&buf_e_[i], zero);
      simd::store(&buf_i_[i], zero);
      const vd ib = simd::load(&bias_[i]);
      for (int k = 0; k < substeps_; ++k) etdrk4_substep(s, ib);
      detect(i, s.V, spiked);
      simd::store(&v_[i], s.V);
      simd::store(&m_[i], s.m);
      simd::store(&h_[i], s.h);
      simd::store(&nk_[i], s.n);
      simd::store(&ge_[i], s.ge);
      simd::store(&gi_[i], s.gi);
    }
  }

  void prepare(double dt) {
    if (!(dt > 0.0)) throw std::invalid_argument("TraubMilesHH: dt must be > 0");
    dt_ = dt;
    decay_e_ = std::exp(-dt / p_.tau_e);
    decay_i_ = std::exp(-dt / p_.tau_i);
    nref_ = simd::refractory_steps(p_.t_ref, dt);
    // Substeps of the ETDRK4 integrator: the fewest whose length is <= max_substep (1e-9
    // relative slack so that dt = 0.1, max_substep = 0.1/3 gives 3, not 4).
    substeps_ = std::max(1, static_cast<int>(std::ceil(dt / p_.max_substep * (1.0 - 1e-9))));
    sub_h_ = dt / substeps_;
    sub_decay_e_ = std::exp(-sub_h_ / p_.tau_e);
    sub_decay_i_ = std::exp(-sub_h_ / p_.tau_i);
    sub_half_decay_e_ = std::exp(-0.5 * sub_h_ / p_.tau_e);
    sub_half_decay_i_ = std::exp(-0.5 * sub_h_ / p_.tau_i);
  }

  std::uint32_t n_;
  HHParams p_;
  double dt_ = -1.0, decay_e_ = 0.0, decay_i_ = 0.0, nref_ = 0.0;
  int substeps_ = 1;
  double sub_h_ = 0.0, sub_decay_e_ = 0.0, sub_decay_i_ = 0.0, sub_half_decay_e_ = 0.0,
         sub_half_decay_i_ = 0.0;
  point::Array v_, m_, h_, nk_, ge_, gi_, ref_, buf_e_, buf_i_, bias_;
};

}  // namespace sbx
