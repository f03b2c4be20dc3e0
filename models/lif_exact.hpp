// Leaky integrate-and-fire neuron with exponentially decaying synaptic currents, integrated
// EXACTLY and event-driven (the NEST iaf_psc_exp model, simulated as Arbor's lif_cell_group /
// NEST's precise-spiking models do: the state is advanced in closed form only when an input
// arrives, and the next threshold crossing is predicted from the closed form).
//
// Equations (units mV, ms, pF, pA; u = V − E_L):
//   C_m dV/dt = −(C_m/τ_m)(V − E_L) + I_e + I_i + I_bias      (V held at V_reset when refractory)
//   dI_e/dt = −I_e/τ_e,   dI_i/dt = −I_i/τ_i                    (always)
//   spike at the first t with V(t) = V_th: V ← V_reset for t_ref, then free evolution again.
// A spike weight w (pA) on receptor 0 adds to I_e, on receptor 1 to I_i; inhibitory weights are
// negative (the sign of w is applied as is).
//
// Closed form over a free interval of length s from (u₀, I_e0, I_i0):
//   u(s) = u₀ e^{−s/τ_m} + (τ_m I_bias/C_m)(1 − e^{−s/τ_m}) + (I_e0 κ_e(s) + I_i0 κ_i(s))/C_m,
//   κ_x(s) = ∫₀^s e^{−(s−r)/τ_m} e^{−r/τ_x} dr = e^{−s·min(1/τ_m,1/τ_x)} · (1 − e^{−d s})/d,
//   d = |1/τ_m − 1/τ_x|, and κ_x(s) = s·e^{−s/τ_m} when τ_x = τ_m (the degenerate case; the
//   expm1 form is continuous through it, without cancellation near it).
//
// Threshold prediction (first root of u(s) = θ = V_th − E_L, robust, no missed crossing):
// u relaxes toward w(s) = τ_m I(s)/C_m (τ_m u' = w − u), where I(s) = I_bias + I_e(s) + I_i(s)
// has at most one extremum s* (closed form). On a piece where w decreases every extremum of u is
// a maximum, so u has at most one (rises, then falls); where w does not decrease u has at most
// one minimum. So on each of the ≤ 2 pieces the first crossing is bracketed by marching with
// doubling steps (checking u ≥ θ, and u' < 0 → locate the maximum by bisection on u' and compare
// it with θ), then refined by safeguarded Newton to |Δs| < 1e-13 ms. An upper bound of u over
// all s (sum of the positive parts of the terms) rejects most subthreshold inputs at once.
//
// Time: receive() and fire_predicted() get integer ticks; the population keeps exact double
// times (t_last, refractory end, predicted spike) so the integration is exact regardless of the
// tick. A predicted spike is scheduled at tick ceil(t*/tick) (first tick at or after the exact
// time t*, up to 1e-6 tick of rounding slack): every input at an earlier tick really is earlier
// than t*, and inputs of the spike's own tick are applied after it (the queue pops predictions
// before deliveries), so causality is exact; the emitted spike is late by < 1 tick. The reset
// happens at the exact t*.
//
// Parameters (LifExactParams; defaults are NEST iaf_psc_exp's):
//   name       unit  default  meaning
//   tau_m      ms    10       membrane time constant
//   C_m        pF    250      membrane capacitance
//   E_L        mV    −70      resting potential
//   V_th       mV    −55      spike threshold
//   V_reset    mV    −70      reset potential (must be < V_th)
//   t_ref      ms    2        absolute refractory period (V clamped, currents keep decaying)
//   tau_syn_e  ms    2        excitatory synaptic current decay time
//   tau_syn_i  ms    2        inhibitory synaptic current decay time
//   I_bias     pA    0        constant input current (per neuron, state "I_bias")
//
// State variables: "V" (mV), "I_e", "I_i" (pA), parameter array "I_bias" (pA); valid at the
// neuron's last update time — call advance_all_to(t) before reading them (the simulator does
// this before sampling). Initial state: V = E_L, I_e = I_i = 0, given at the start() time.
// Changing V or I_bias after start() requires calling start() again (it re-predicts).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errors.hpp"
#include "engine/population.hpp"
#include "engine/time.hpp"

namespace sbx {

struct LifExactParams {
  double tau_m = 10.0;     // ms
  double C_m = 250.0;      // pF
  double E_L = -70.0;      // mV
  double V_th = -55.0;     // mV
  double V_reset = -70.0;  // mV
  double t_ref = 2.0;      // ms
  double tau_syn_e = 2.0;  // ms
  double tau_syn_i = 2.0;  // ms
  double I_bias = 0.0;     // pA

  std::vector<std::string> validate() const {
    std::vector<std::string> e;
    auto pos = [&](const char* n, double v, const char* unit) {
      if (!(v > 0.0) || !std::isfinite(v))
        e.push_back(std::string(n) + " must be > 0 " + unit + ", got " + format_number(v));
    };
    pos("tau_m", tau_m, "ms");
    pos("C_m", C_m, "pF");
    pos("tau_syn_e", tau_syn_e, "ms");
    pos("tau_syn_i", tau_syn_i, "ms");
    if (!(t_ref >= 0.0) || !std::isfinite(t_ref))
      e.push_back("t_ref must be >= 0 ms, got " + format_number(t_ref));
    if (!std::isfinite(E_L) || !std::isfinite(V_th) || !std::isfinite(V_reset) ||
        !std::isfinite(I_bias))
      e.push_back("E_L, V_th, V_reset and I_bias must be finite");
    else if (!(V_reset < V_th))
      e.push_back("V_reset must be < V_th (got V_reset = " + format_number(V_reset) +
                  " mV, V_th = " + format_number(V_th) + " mV)");
    return e;
  }
};

class LifExactPopulation final : public Population {
 public:
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  LifExactPopulation(std::uint32_t n, LifExactParams p = {}, TimeGrid grid = TimeGrid{})
      : n_(n), p_(p), grid_(grid) {
    if (auto err = p.validate(); !err.empty()) {
      std::string msg = "LifExact parameters:";
      for (auto& s : err) msg += " " + s + ";";
      throw std::invalid_argument(msg);
    }
    v_.assign(n, p.E_L);
    ie_.assign(n, 0.0), ii_.assign(n, 0.0), bias_.assign(n, p.I_bias);
    t_last_.assign(n, 0.0), ref_until_.assign(n, -kInf), last_spike_.assign(n, -kInf);
    t_pred_.assign(n, kInf);
    version_.assign(n, 0), pred_version_.assign(n, ~0u);
    inv_tau_m_ = 1.0 / p.tau_m;
    inv_tau_e_ = 1.0 / p.tau_syn_e;
    inv_tau_i_ = 1.0 / p.tau_syn_i;
    theta_ = p.V_th - p.E_L;
    h0_ = std::min({p.tau_m, p.tau_syn_e, p.tau_syn_i}) / 8.0;
    cap_ = 1e4 * std::max({p.tau_m, p.tau_syn_e, p.tau_syn_i});
    kmax_e_ = kernel_peak(p.tau_syn_e);
    kmax_i_ = kernel_peak(p.tau_syn_i);
  }

  const LifExactParams& params() const { return p_; }
  const TimeGrid& grid() const { return grid_; }

  // ---- Population interface -----------------------------------------------------------------
  std::string_view model() const override { return "lif_exact"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::event_driven; }
  std::uint32_t n_receptors() const override { return 2; }

  void receive(Tick t, const std::uint32_t* post, const float* w, std::size_t n,
               std::uint32_t receptor, SpikeScheduler& sched) override {
    if (receptor > 1) throw std::invalid_argument("LifExact: receptor must be 0 or 1");
    const double t_ms = grid_.to_ms(t);
    std::vector<double>& cur = receptor == 0 ? ie_ : ii_;
    for (std::size_t k = 0; k < n; ++k) {
      const std::uint32_t i = post[k];
      advance_to(i, t_ms);
      cur[i] += static_cast<double>(w[k]);
      ++version_[i];
    }
    for (std::size_t k = 0; k < n; ++k)  // one prediction per touched neuron
      if (pred_version_[post[k]] != version_[post[k]]) predict(post[k], sched);
  }

  // Applies one input of weight w (pA) at exact time t_ms (no tick rounding); for tests and for
  // callers that keep exact input times. Returns nothing; schedules the new prediction.
  void receive_exact(double t_ms, std::uint32_t i, double w, std::uint32_t receptor,
                     SpikeScheduler& sched) {
    advance_to(i, t_ms);
    (receptor == 0 ? ie_ : ii_)[i] += w;
    ++version_[i];
    predict(i, sched);
  }

  bool fire_predicted(std::uint32_t i, std::uint32_t version, Tick,
                      SpikeScheduler& sched) override {
    if (version != version_[i] || !std::isfinite(t_pred_[i])) return false;
    const double ts = t_pred_[i];
    advance_to(i, ts);
    v_[i] = p_.V_reset;
    last_spike_[i] = ts;
    ref_until_[i] = ts + p_.t_ref;
    ++version_[i];
    predict(i, sched);
    return true;
  }

  void advance_all_to(Tick t) override {
    const double t_ms = grid_.to_ms(t);
    for (std::uint32_t i = 0; i < n_; ++i) advance_to(i, t_ms);
  }

  // Sets the state time of every neuron that is behind t (its state is taken as given at t),
  // then predicts every neuron's next spike. Also used to re-schedule after load_state().
  void start(Tick t, std::uint32_t self_id, SpikeScheduler& sched) override {
    self_ = self_id;
    const double t_ms = grid_.to_ms(t);
    for (std::uint32_t i = 0; i < n_; ++i) {
      if (t_last_[i] < t_ms) t_last_[i] = t_ms;
      ++version_[i];
      predict(i, sched);
    }
  }

  // After load_state(): predict every neuron's next spike from its loaded state (which is valid
  // at its own t_last; nothing is re-stamped).
  void resume(Tick t, std::uint32_t self_id, SpikeScheduler& sched) override {
    (void)t;
    self_ = self_id;
    for (std::uint32_t i = 0; i < n_; ++i) {
      ++version_[i];
      predict(i, sched);
    }
  }

  double* state(std::string_view name) override {
    if (name == "V") return v_.data();
    if (name == "I_e") return ie_.data();
    if (name == "I_i") return ii_.data();
    if (name == "I_bias") return bias_.data();
    return nullptr;
  }
  std::vector<std::string> state_names() const override { return {"V", "I_e", "I_i", "I_bias"}; }

  // Layout: V, I_e, I_i, t_last, refractory end, last spike (ms; n each). Predictions are not
  // saved: load_state() invalidates pending ones (version bump); resume() re-schedules them.
  void save_state(std::vector<double>& out) const override {
    out.clear();
    for (const auto* a : {&v_, &ie_, &ii_, &t_last_, &ref_until_, &last_spike_})
      out.insert(out.end(), a->begin(), a->end());
  }
  void load_state(std::span<const double> in) override {
    if (in.size() != 6u * n_) throw std::invalid_argument("LifExact::load_state: wrong size");
    std::size_t k = 0;
    for (auto* a : {&v_, &ie_, &ii_, &t_last_, &ref_until_, &last_spike_}) {
      std::copy(in.begin() + k, in.begin() + k + n_, a->begin());
      k += n_;
    }
    for (std::uint32_t i = 0; i < n_; ++i) ++version_[i], t_pred_[i] = kInf;
  }
  long first_nonfinite(std::string& variable) const override {
    for (std::uint32_t i = 0; i < n_; ++i) {
      if (!std::isfinite(v_[i])) return variable = std::string("V"), static_cast<long>(i);
      if (!std::isfinite(ie_[i])) return variable = std::string("I_e"), static_cast<long>(i);
      if (!std::isfinite(ii_[i])) return variable = std::string("I_i"), static_cast<long>(i);
    }
    return -1;
  }

  // ---- exact-time introspection (tests, recorders of precise spike times) ----------------------
  double predicted_spike_ms(std::uint32_t i) const { return t_pred_[i]; }  // +inf: none
  double last_spike_ms(std::uint32_t i) const { return last_spike_[i]; }   // −inf: never
  double last_update_ms(std::uint32_t i) const { return t_last_[i]; }
  std::uint32_t version(std::uint32_t i) const { return version_[i]; }
  // Tick at which a spike at exact time t_ms is emitted.
  Tick spike_tick(double t_ms) const {
    return static_cast<Tick>(std::ceil(t_ms / grid_.tick_ms() - 1e-6));
  }

  // Brings neuron i to exact time t_ms (no-op if t_ms is not after its last update). Never
  // crosses a pending threshold crossing by construction (predictions fire first).
  void advance_to(std::uint32_t i, double t_ms) {
    double t0 = t_last_[i];
    if (!(t_ms > t0)) return;
    if (t0 < ref_until_[i]) {  // refractory part: V held, currents decay
      const double t1 = std::min(t_ms, ref_until_[i]);
      ie_[i] *= std::exp(-(t1 - t0) * inv_tau_e_);
      ii_[i] *= std::exp(-(t1 - t0) * inv_tau_i_);
      v_[i] = p_.V_reset;
      t0 = t1;
    }
    if (t_ms > t0) {
      const Trajectory tr = trajectory(i);
      const double s = t_ms - t0;
      v_[i] = p_.E_L + tr.u(s);
      ie_[i] *= std::exp(-s * inv_tau_e_);
      ii_[i] *= std::exp(-s * inv_tau_i_);
    }
    t_last_[i] = t_ms;
  }

  // Exact time (ms) of neuron i's next threshold crossing from its current state, ignoring
  // future inputs; +inf if it never reaches threshold.
  double next_crossing_ms(std::uint32_t i) const {
    double t0 = t_last_[i];
    Trajectory tr = trajectory(i);
    if (t0 < ref_until_[i]) {  // prediction starts when the refractory period ends
      const double s = ref_until_[i] - t0;
      tr.u0 = p_.V_reset - p_.E_L;
      tr.ie0 *= std::exp(-s * inv_tau_e_);
      tr.ii0 *= std::exp(-s * inv_tau_i_);
      t0 = ref_until_[i];
    }
    return t0 + first_crossing(tr);
  }

  // u(s) = V − E_L of a free trajectory (exposed for tests).
  struct Trajectory {
    const LifExactPopulation* m;
    double u0, ie0, ii0, ib;
    double u(double s) const {
      const double em = std::exp(-s * m->inv_tau_m_);
      return u0 * em - m->p_.tau_m * ib / m->p_.C_m * std::expm1(-s * m->inv_tau_m_) +
             (ie0 * kappa(s, m->inv_tau_e_) + ii0 * kappa(s, m->inv_tau_i_)) / m->p_.C_m;
    }
    double current(double s) const {
      return ib + ie0 * std::exp(-s * m->inv_tau_e_) + ii0 * std::exp(-s * m->inv_tau_i_);
    }
    double du(double s) const { return -u(s) * m->inv_tau_m_ + current(s) / m->p_.C_m; }
    double d2u(double s) const { return -du(s) * m->inv_tau_m_ + dcurrent(s) / m->p_.C_m; }
    // d I/ds: sign tells whether the relaxation target w = τ_m I / C_m decreases.
    double dcurrent(double s) const {
      return -ie0 * m->inv_tau_e_ * std::exp(-s * m->inv_tau_e_) -
             ii0 * m->inv_tau_i_ * std::exp(-s * m->inv_tau_i_);
    }
    double kappa(double s, double inv_tau_x) const {
      const double r_m = m->inv_tau_m_;
      const double slow = std::min(r_m, inv_tau_x), d = std::fabs(r_m - inv_tau_x);
      return std::exp(-slow * s) * (d > 0.0 ? -std::expm1(-d * s) / d : s);
    }
  };
  Trajectory trajectory(std::uint32_t i) const {
    return {this, v_[i] - p_.E_L, ie_[i], ii_[i], bias_[i]};
  }

  // First s ≥ 0 with u(s) ≥ θ, or +inf.
  double first_crossing(const Trajectory& tr) const {
    if (tr.u(0.0) >= theta_) return 0.0;
    // Upper bound of u over all s ≥ 0: u = u_b + (u0 − u_b)e^{−s/τ_m} + synaptic terms, with
    // u_b = τ_m I_bias/C_m; the first two lie between u0 and u_b, every synaptic kernel in
    // [0, its peak].
    const double bound =
        std::max(tr.u0, p_.tau_m * tr.ib / p_.C_m) +
        (std::max(tr.ie0, 0.0) * kmax_e_ + std::max(tr.ii0, 0.0) * kmax_i_) / p_.C_m;
    if (bound < theta_) return kInf;
    // Extremum of the synaptic current (at most one).
    double s_star = kInf;
    const double a = tr.ie0 * inv_tau_e_, b = tr.ii0 * inv_tau_i_;
    if (a != 0.0 && b != 0.0 && (a > 0.0) != (b > 0.0) && inv_tau_e_ != inv_tau_i_) {
      // a e^{−s/τ_e} = −b e^{−s/τ_i}  ⇔  s = ln(−b/a) / (1/τ_i − 1/τ_e)
      const double s = std::log(-b / a) / (inv_tau_i_ - inv_tau_e_);
      if (s > 0.0 && std::isfinite(s)) s_star = s;
    }
    if (std::isfinite(s_star)) {
      const double r = search_piece(tr, 0.0, s_star, tr.dcurrent(0.5 * s_star) < 0.0);
      if (std::isfinite(r)) return r;
      return search_piece(tr, s_star, kInf, tr.dcurrent(s_star + h0_) < 0.0);
    }
    return search_piece(tr, 0.0, kInf, tr.dcurrent(h0_) < 0.0);
  }

 private:
  // max over s of κ(s) for the pair (τ_m, τ_x): at s_p = ln(r_m/r_x)/(r_m − r_x), or τ_m/e.
  double kernel_peak(double tau_x) const {
    const double rm = inv_tau_m_, rx = 1.0 / tau_x;
    const Trajectory probe{this, 0.0, 0.0, 0.0, 0.0};
    const double sp = rm == rx ? p_.tau_m : std::log(rm / rx) / (rm - rx);
    return probe.kappa(sp, rx) * (1.0 + 1e-12);  // tiny margin: the bound must stay an upper bound
  }

  // First crossing in [a, b] (b may be +inf), u(a) < θ; w_decreasing tells the piece's kind.
  double search_piece(const Trajectory& tr, double a, double b, bool w_decreasing) const {
    if (w_decreasing && tr.du(a) <= 0.0) return kInf;  // u only falls on this piece
    const double end = std::isfinite(b) ? b : a + cap_;
    double lo = a, h = h0_;
    for (;;) {
      const double hi = std::min(lo + h, end);
      if (tr.u(hi) >= theta_) return refine(tr, lo, hi);
      if (w_decreasing && tr.du(hi) < 0.0) {  // passed u's only maximum, inside (lo, hi)
        // Locate the maximum (u' = 0) by safeguarded Newton on u'. Its position only needs to
        // be good enough to compare u there with θ: u is flat at the maximum.
        double l = lo, r = hi, x = 0.5 * (lo + hi);
        for (int it = 0; it < 100 && r - l > 1e-12 * (1.0 + r); ++it) {
          const double g = tr.du(x);
          (g >= 0.0 ? l : r) = x;
          double xn = x - g / tr.d2u(x);
          if (!(xn > l && xn < r)) xn = 0.5 * (l + r);
          const bool done = std::fabs(xn - x) <= 1e-10 * (1.0 + x);
          x = xn;
          if (done) break;
        }
        const double s_max = x;
        if (tr.u(s_max) >= theta_) return refine(tr, lo, s_max);
        return kInf;
      }
      if (hi >= end) return kInf;
      lo = hi;
      h *= 2.0;
    }
  }

  // Root of u(s) = θ in [lo, hi] with u(lo) < θ ≤ u(hi) and exactly one crossing: safeguarded
  // Newton (bisection whenever Newton leaves the bracket).
  double refine(const Trajectory& tr, double lo, double hi) const {
    double x = 0.5 * (lo + hi);
    for (int it = 0; it < 200; ++it) {
      const double f = tr.u(x) - theta_;
      if (f >= 0.0)
        hi = x;
      else
        lo = x;
      const double tol = 1e-13 * std::max(1.0, x);
      if (hi - lo <= tol) break;
      const double d = tr.du(x);
      double xn = x - f / d;
      if (!(xn > lo && xn < hi)) xn = 0.5 * (lo + hi);
      if (std::fabs(xn - x) <= 0.25 * tol) {
        x = xn;
        break;
      }
      x = xn;
    }
    return x;
  }

  void predict(std::uint32_t i, SpikeScheduler& sched) {
    pred_version_[i] = version_[i];
    const double ts = next_crossing_ms(i);
    t_pred_[i] = ts;
    if (std::isfinite(ts)) sched.schedule_spike(self_, i, version_[i], spike_tick(ts));
  }

  std::uint32_t n_;
  LifExactParams p_;
  TimeGrid grid_;
  std::uint32_t self_ = 0;
  double inv_tau_m_, inv_tau_e_, inv_tau_i_, theta_, h0_, cap_, kmax_e_ = 0, kmax_i_ = 0;
  std::vector<double> v_, ie_, ii_, bias_, t_last_, ref_until_, last_spike_, t_pred_;
  std::vector<std::uint32_t> version_, pred_version_;
};

}  // namespace sbx
