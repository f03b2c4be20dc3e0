// Spike-timing plasticity rules that act during the simulation (engine/learning.hpp hooks):
//
//  * PairStdp — pair-based STDP with exponential pre/post traces, additive or multiplicative
//    (soft) bounds, all-to-all ("add") or nearest-spike ("set") pairing.
//  * ThreeFactorStdp — the STDP pairing feeds a per-synapse eligibility c instead of w; the weight
//    follows dw/dt = η·c·m(t), where m is a named neuromodulator (engine/modulator.hpp).
//    With the Izhikevich (2007) parameters (the defaults below) this is reward-modulated STDP
//    with dopamine; any other modulator name (acetylcholine, noradrenaline, rpe) gives the
//    generic three-factor rule of Frémaux & Gerstner (2016).
//
// Equations (t in ms; x_k: presynaptic trace of synapse k, y_j: postsynaptic trace of neuron j)
//   dx/dt = −x/τ+,  dy/dt = −y/τ−;  a spike sets the trace to 1 ("set") or adds 1 ("add").
//   pre spike arriving on k (post neuron j):  Δ = −A−·y_j   (depression)
//   post spike of j, for every synapse k onto j: Δ = +A+·x_k (potentiation)
//   PairStdp:        w += Δ (additive), or w += Δ·(w_max − w) for Δ > 0 and Δ·(w − w_min) for
//                    Δ < 0 (multiplicative); then w is clipped to [w_min, w_max].
//   ThreeFactorStdp: c += Δ;  dc/dt = −c/τ_c;  dw/dt = η·c(t)·m(t);  w ∈ [w_min, w_max].
//
// Event order (engine/simulator.hpp): a post spike at tick T is handled when it is emitted, a
// presynaptic spike when it is delivered. With delay 0 a pre spike emitted at T is delivered after
// every emission at T, so for a pre and a post spike in the same step the post spike sees the pre
// trace *without* that pre spike (no potentiation) and the pre spike sees the post trace *with*
// the post spike (depression A−) — the order of Izhikevich's daspnet.m ("LTP reads the pre trace
// one step back, LTD uses the post trace including a same-ms spike").
//
// Lazy evaluation (no per-step sweep over synapses; the cost is per synaptic event):
//   Every decaying quantity q with time constant τ is stored scaled, q̂ = q·e^{(t−t_E)/τ}, relative
//   to an epoch t_E; a global per-tick factor converts it, so updating or reading a trace or an
//   eligibility costs one multiply and no exp per synapse. Between two events that touch synapse k
//   its c decays exponentially and m(t) is known analytically (baseline + phasic exponential with
//   jumps at modulator events), so the weight change is exact:
//     ∫ η c(s) m(s) ds = η ĉ_k (K(t) − K(t_k)),  K(t) = ∫_{t_E}^{t} e^{−(s−t_E)/τ_c} m(s) ds,
//   with K a single global running integral (closed in closed form at every modulator change)
//   and K(t_k) stored per synapse. A synapse's weight is brought up to date whenever a spike
//   touches it (before it is delivered or potentiated) and for output (sync_all).
//   Bounds: c keeps its sign between events, so when m ≥ 0 (dopamine with baseline ≥ 0) the
//   weight moves monotonically and clipping once at the next event equals clipping continuously
//   (exact). A modulator that goes negative (an RPE) can reverse the direction between events;
//   then the bounds are applied at events only (documented approximation).
//   Every `rebase` interval (≤ 10 τ_c and ≤ 300 min τ±, so the scaled values stay within double
//   range and K differences lose at most e^{10}·ε ≈ 2e-12 relative precision) all synapses are
//   brought up to date once and the epoch moves: O(n_syn) every few simulated seconds.
//
// Parameters (StdpParams / ThreeFactorParams):
//   name        unit   STDP default  three-factor default (Izhikevich 2007)
//   A_plus      -      0.01          0.1      potentiation amplitude
//   A_minus     -      0.0105        0.15     depression amplitude (magnitude, >= 0)
//   tau_plus    ms     20            20       presynaptic trace time constant
//   tau_minus   ms     20            20       postsynaptic trace time constant
//   trace       -      "add"         "set"    "add": all-to-all pairing; "set": nearest spike
//   w_min       -      0             0        lower weight bound
//   w_max       -      1             4        upper weight bound
//   bounds      -      "additive"    -        PairStdp only: "additive" | "multiplicative"
//   tau_c       ms     -             1000     eligibility time constant (daspnet ×0.99/10 ms)
//   eta         1/ms   -             0.1      dw/dt = η·c·m (daspnet: w += (0.002 + DA)·c every
//                                             10 ms, i.e. η = 1/(10 ms))
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/learning.hpp"
#include "engine/modulator.hpp"
#include "engine/projection.hpp"
#include "engine/time.hpp"

namespace sbx {

enum class TraceMode : std::uint8_t { add, set };
enum class BoundMode : std::uint8_t { additive, multiplicative };

struct StdpParams {
  double A_plus = 0.01;
  double A_minus = 0.0105;
  double tau_plus = 20.0;
  double tau_minus = 20.0;
  TraceMode trace = TraceMode::add;
  double w_min = 0.0;
  double w_max = 1.0;
  BoundMode bounds = BoundMode::additive;
};

struct ThreeFactorParams {
  double A_plus = 0.1;
  double A_minus = 0.15;
  double tau_plus = 20.0;
  double tau_minus = 20.0;
  TraceMode trace = TraceMode::set;
  double w_min = 0.0;
  double w_max = 4.0;
  double tau_c = 1000.0;
  double eta = 0.1;
};

namespace detail {

inline void check_stdp_common(double A_plus, double A_minus, double tau_plus, double tau_minus,
                              double w_min, double w_max) {
  auto bad = [](const std::string& m) { throw std::invalid_argument("STDP parameters: " + m); };
  if (!(A_plus >= 0.0) || !std::isfinite(A_plus)) bad("A_plus must be >= 0");
  if (!(A_minus >= 0.0) || !std::isfinite(A_minus)) bad("A_minus must be >= 0 (a magnitude)");
  if (!(tau_plus > 0.0) || !std::isfinite(tau_plus)) bad("tau_plus must be > 0 ms");
  if (!(tau_minus > 0.0) || !std::isfinite(tau_minus)) bad("tau_minus must be > 0 ms");
  if (!(w_min <= w_max) || !std::isfinite(w_min) || !std::isfinite(w_max))
    bad("need finite w_min <= w_max");
}

// Pre traces per synapse, post traces per postsynaptic neuron, both scaled to the epoch, and the
// per-tick conversion factors.
class LazyTraces {
 public:
  void init(std::size_t n_syn, std::uint32_t n_post, double tau_plus, double tau_minus,
            double tick_ms, TraceMode mode) {
    pre_.assign(n_syn, 0.0);
    post_.assign(n_post, 0.0);
    tau_plus_ = tau_plus, tau_minus_ = tau_minus, tick_ms_ = tick_ms, mode_ = mode;
    cached_ = -1;
  }
  // Factors at tick t (t >= epoch).
  void at(Tick t, Tick epoch) {
    if (t == cached_) return;
    cached_ = t;
    const double s = static_cast<double>(t - epoch) * tick_ms_;
    grow_plus_ = std::exp(s / tau_plus_);
    grow_minus_ = std::exp(s / tau_minus_);
    shrink_plus_ = 1.0 / grow_plus_;
    shrink_minus_ = 1.0 / grow_minus_;
  }
  double grow_plus() const { return grow_plus_; }
  double shrink_plus() const { return shrink_plus_; }
  double pre(std::size_t k) const { return pre_[k] * shrink_plus_; }
  double post(std::uint32_t j) const { return post_[j] * shrink_minus_; }
  void spike_pre(std::size_t k) {
    pre_[k] = mode_ == TraceMode::set ? grow_plus_ : pre_[k] + grow_plus_;
  }
  void spike_post(std::uint32_t j) {
    post_[j] = mode_ == TraceMode::set ? grow_minus_ : post_[j] + grow_minus_;
  }
  // Moves the epoch forward by s ms (values unchanged).
  void rebase(double s) {
    const double fp = std::exp(-s / tau_plus_), fm = std::exp(-s / tau_minus_);
    for (double& x : pre_) x *= fp;
    for (double& y : post_) y *= fm;
    cached_ = -1;
  }
  void invalidate() { cached_ = -1; }

 private:
  std::vector<double> pre_, post_;
  double tau_plus_ = 20, tau_minus_ = 20, tick_ms_ = 1;
  TraceMode mode_ = TraceMode::add;
  Tick cached_ = -1;
  double grow_plus_ = 1, grow_minus_ = 1, shrink_plus_ = 1, shrink_minus_ = 1;
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
class PairStdp final : public SpikeLearningRule {
 public:
  PairStdp(const SpikeProjection& proj, StdpParams p, const TimeGrid& grid) : p_(p) {
    detail::check_stdp_common(p.A_plus, p.A_minus, p.tau_plus, p.tau_minus, p.w_min, p.w_max);
    tick_ms_ = grid.tick_ms();
    traces_.init(proj.n_synapses(), proj.n_post, p.tau_plus, p.tau_minus, tick_ms_, p.trace);
    rebase_ticks_ = std::max<Tick>(1, grid.round_ms(300.0 * std::min(p.tau_plus, p.tau_minus)));
  }
  const StdpParams& params() const { return p_; }

  void on_pre(SpikeProjection& proj, std::uint32_t begin, std::uint32_t end, Tick t) override {
    prepare(t);
    float* w = proj.weight.data();
    const std::uint32_t* post = proj.post.data();
    for (std::uint32_t k = begin; k < end; ++k) {
      const double dep = p_.A_minus * traces_.post(post[k]);
      double x = w[k];
      x -= p_.bounds == BoundMode::additive ? dep : dep * (x - p_.w_min);
      w[k] = static_cast<float>(std::clamp(x, p_.w_min, p_.w_max));
      traces_.spike_pre(k);
    }
  }
  void on_post(SpikeProjection& proj, std::uint32_t j, Tick t) override {
    prepare(t);
    float* w = proj.weight.data();
    for (std::uint32_t c = proj.col_ptr[j]; c < proj.col_ptr[j + 1]; ++c) {
      const std::uint32_t k = proj.syn_of_col[c];
      const double pot = p_.A_plus * traces_.pre(k);
      double x = w[k];
      x += p_.bounds == BoundMode::additive ? pot : pot * (p_.w_max - x);
      w[k] = static_cast<float>(std::clamp(x, p_.w_min, p_.w_max));
    }
    traces_.spike_post(j);
  }

  double pre_trace(std::size_t k, Tick t) {
    prepare(t);
    return traces_.pre(k);
  }
  double post_trace(std::uint32_t j, Tick t) {
    prepare(t);
    return traces_.post(j);
  }

 private:
  void prepare(Tick t) {
    if (t - epoch_ > rebase_ticks_) {
      traces_.rebase(static_cast<double>(t - epoch_) * tick_ms_);
      epoch_ = t;
    }
    traces_.at(t, epoch_);
  }

  StdpParams p_;
  double tick_ms_ = 1.0;
  detail::LazyTraces traces_;
  Tick epoch_ = 0, rebase_ticks_ = 1;
};

// ---------------------------------------------------------------------------------------------
class ThreeFactorStdp final : public SpikeLearningRule, public ModulatorListener {
 public:
  // The rule keeps no pointer to `proj` (the simulator's projection array may move when edges
  // are added later): the hooks and the output functions are given it.
  ThreeFactorStdp(const SpikeProjection& proj, ThreeFactorParams p, Modulator& mod,
                  const TimeGrid& grid)
      : p_(p), mod_(&mod) {
    detail::check_stdp_common(p.A_plus, p.A_minus, p.tau_plus, p.tau_minus, p.w_min, p.w_max);
    if (!(p.tau_c > 0.0) || !std::isfinite(p.tau_c))
      throw std::invalid_argument("three-factor STDP: tau_c must be > 0 ms");
    if (!std::isfinite(p.eta)) throw std::invalid_argument("three-factor STDP: eta must be finite");
    tick_ms_ = grid.tick_ms();
    const std::size_t n = proj.n_synapses();
    // Pre traces live in syn_ (one cache line per synapse on the random-access post side).
    traces_.init(0, proj.n_post, p.tau_plus, p.tau_minus, tick_ms_, p.trace);
    syn_.assign(n, SynState{});
    rebase_ticks_ = std::max<Tick>(
        1, grid.round_ms(std::min(10.0 * p.tau_c, 300.0 * std::min(p.tau_plus, p.tau_minus))));
    mod.add_listener(this);
    r_ = 1.0 / p.tau_c + 1.0 / mod.tau_ms();
  }
  const ThreeFactorParams& params() const { return p_; }
  const Modulator& modulator() const { return *mod_; }

  void on_pre(SpikeProjection& proj, std::uint32_t begin, std::uint32_t end, Tick t) override {
    prepare(t, &proj);
    float* w = proj.weight.data();
    const std::uint32_t* post = proj.post.data();
    const double dep = p_.A_minus * grow_c_;
    const double gp = traces_.grow_plus();
    const bool set = p_.trace == TraceMode::set;
    for (std::uint32_t k = begin; k < end; ++k) {
      SynState& s = syn_[k];
      advance_weight(w, k, s);
      s.c_hat -= dep * traces_.post(post[k]);
      s.pre_hat = set ? gp : s.pre_hat + gp;
    }
  }
  void on_post(SpikeProjection& proj, std::uint32_t j, Tick t) override {
    prepare(t, &proj);
    float* w = proj.weight.data();
    const double pot = p_.A_plus * grow_c_ * traces_.shrink_plus();
    const std::uint32_t c_end = proj.col_ptr[j + 1];
    for (std::uint32_t c = proj.col_ptr[j]; c < c_end; ++c) {
      const std::uint32_t k = proj.syn_of_col[c];
      SynState& s = syn_[k];
      advance_weight(w, k, s);
      s.c_hat += pot * s.pre_hat;
    }
    traces_.spike_post(j);
  }

  // ModulatorListener: close the running integral K with the modulator's old state.
  // (No epoch rebase here: that needs the projection; the next spike event does it.)
  void before_modulator_change(Tick t) override {
    prepare(t, nullptr);
    k_ref_ = k_now_;
    t_ref_ = t;
  }

  // ---- output -------------------------------------------------------------------------------
  // Brings every weight up to date at tick t (before reading proj.weight as a whole).
  void sync_all(SpikeProjection& proj, Tick t) {
    prepare(t, &proj);
    float* w = proj.weight.data();
    for (std::size_t k = 0; k < syn_.size(); ++k) advance_weight(w, k, syn_[k]);
  }
  double weight(SpikeProjection& proj, std::size_t k, Tick t) {
    prepare(t, &proj);
    advance_weight(proj.weight.data(), k, syn_[k]);
    return proj.weight[k];
  }
  double eligibility(std::size_t k, Tick t) {
    prepare(t, nullptr);
    return syn_[k].c_hat * shrink_c_;
  }
  double pre_trace(std::size_t k, Tick t) {
    prepare(t, nullptr);
    return syn_[k].pre_hat * traces_.shrink_plus();
  }
  double post_trace(std::uint32_t j, Tick t) {
    prepare(t, nullptr);
    return traces_.post(j);
  }
  double modulator_value(Tick t) const { return mod_->value(t); }

 private:
  // Per-synapse state, scaled to the epoch (see the header comment).
  struct SynState {
    double c_hat = 0.0;    // eligibility
    double k_at = 0.0;     // K at the synapse's last update
    double pre_hat = 0.0;  // presynaptic trace
  };

  void advance_weight(float* w, std::size_t k, SynState& s) const {
    const double dk = k_now_ - s.k_at;
    s.k_at = k_now_;
    const double x = static_cast<double>(w[k]) + p_.eta * s.c_hat * dk;
    w[k] = static_cast<float>(std::clamp(x, p_.w_min, p_.w_max));
  }

  // K(t) from (k_ref_, t_ref_) and the modulator's current (t0, p0) — valid because the
  // modulator tells us before every change, so it has not changed since max(t_ref_, t0).
  double integral_to(Tick t) const {
    const double s_ref = static_cast<double>(t_ref_ - epoch_) * tick_ms_;
    const double d = static_cast<double>(t - t_ref_) * tick_ms_;
    if (d <= 0.0) return k_ref_;
    const double p_ref = mod_->phasic(t_ref_);
    const double base = mod_->baseline() * p_.tau_c * -std::expm1(-d / p_.tau_c);
    const double phas = p_ref * -std::expm1(-d * r_) / r_;
    return k_ref_ + std::exp(-s_ref / p_.tau_c) * (base + phas);
  }

  void prepare(Tick t, SpikeProjection* proj) {
    if (t == cached_) return;
    if (proj && t - epoch_ > rebase_ticks_) rebase(*proj, t);
    cached_ = t;
    traces_.at(t, epoch_);
    const double s = static_cast<double>(t - epoch_) * tick_ms_;
    grow_c_ = std::exp(s / p_.tau_c);
    shrink_c_ = 1.0 / grow_c_;
    k_now_ = integral_to(t);
  }

  // All weights brought to t, then every scaled quantity re-expressed relative to epoch t.
  void rebase(SpikeProjection& proj, Tick t) {
    k_now_ = integral_to(t);
    float* w = proj.weight.data();
    const double s = static_cast<double>(t - epoch_) * tick_ms_;
    const double fc = std::exp(-s / p_.tau_c);
    const double fp = std::exp(-s / p_.tau_plus);
    for (std::size_t k = 0; k < syn_.size(); ++k) {
      advance_weight(w, k, syn_[k]);
      syn_[k].c_hat *= fc;
      syn_[k].pre_hat *= fp;
      syn_[k].k_at = 0.0;
    }
    traces_.rebase(s);
    epoch_ = t;
    t_ref_ = t;
    k_ref_ = 0.0;
    k_now_ = 0.0;
  }

  ThreeFactorParams p_;
  Modulator* mod_;
  double tick_ms_ = 1.0, r_ = 0.0;
  detail::LazyTraces traces_;
  std::vector<SynState> syn_;
  Tick epoch_ = 0, rebase_ticks_ = 1, t_ref_ = 0, cached_ = -1;
  double k_ref_ = 0.0, k_now_ = 0.0, grow_c_ = 1.0, shrink_c_ = 1.0;
};

}  // namespace sbx
