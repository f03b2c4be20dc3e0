// Test-only reference: the rules of circuits/plasticity.hpp as they were before session 5, when
// ThreeFactorStdp kept ĉ in f64 and, per synapse, the index of K at its last update (32 B per
// plastic synapse). test_rstdp_storage.cpp checks the 24-byte form (ĉ in f32, virtual weights
// relative to a per-segment K) against it. (Verbatim copy of ThreeFactorStdp and its column
// helpers; the parameter types, LazyTraces and the parameter checks are shared with
// plasticity.hpp.)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "circuits/plasticity.hpp"
#include "engine/learning.hpp"
#include "engine/modulator.hpp"
#include "engine/projection.hpp"
#include "engine/time.hpp"

namespace sbx::eager_ref {

namespace detail {

// Unchanged since session 4: shared with circuits/plasticity.hpp.
using sbx::detail::check_stdp_common;
using sbx::detail::LazyTraces;

// The rule's post -> pre pass: for post neuron j, entries col_ptr[j] .. col_ptr[j+1] of `cols`
// name the synapses ending on j (ascending id) and their delay segment (the pre-trace index).
struct ColEntry {
  std::uint32_t syn;
  std::uint32_t seg;
};
inline std::vector<ColEntry> column_entries(const SpikeProjection& p) {
  std::vector<ColEntry> cols(p.n_synapses());
  {
    const std::vector<std::uint32_t> rev = reverse_synapse_index(p);
    for (std::size_t c = 0; c < rev.size(); ++c) cols[c].syn = rev[c];
  }
  std::vector<std::uint32_t> seg_of(p.n_synapses());
  for (std::uint32_t s = 0; s < p.n_segments(); ++s)
    for (std::uint32_t k = p.seg_begin[s]; k < p.seg_begin[s + 1]; ++k) seg_of[k] = s;
  for (auto& c : cols) c.seg = seg_of[c.syn];
  return cols;
}

// Calls f(seg, b, e) for every delay segment overlapping [begin, end) of p.
template <class F>
void for_segments(const SpikeProjection& p, std::uint32_t begin, std::uint32_t end, F&& f) {
  if (begin >= end) return;
  for (std::uint32_t s = p.segment_of(begin); s < p.n_segments() && p.seg_begin[s] < end; ++s)
    f(s, std::max(begin, p.seg_begin[s]), std::min(end, p.seg_begin[s + 1]));
}

// ThreeFactorStdp's presynaptic pass over synapses [b, e) of one segment: each weight brought
// up to date (w += η·ĉ·(K(t) − K(t_k)), clipped), then the depression into ĉ. A free function with
// restrict pointers (no aliasing between the arrays and the rule's members) so that the compiler
// vectorises it (gathers for K(t_k) and y[post[k]]); same operations, same order as
// ThreeFactorStdp::advance_weight(), so the results are bit-identical to the scalar loop.
inline void three_factor_pre_pass(float* __restrict w, double* __restrict c,
                                  std::uint32_t* __restrict k_at, const double* __restrict k_hist,
                                  const std::uint32_t* __restrict post, const double* __restrict y,
                                  double dep, double shrink_minus, double k_now, double eta,
                                  double lo, double hi, std::uint32_t k_idx, std::uint32_t b,
                                  std::uint32_t e) {
  for (std::uint32_t k = b; k < e; ++k) {
    const double dk = k_now - k_hist[k_at[k]];
    k_at[k] = k_idx;
    const double x = static_cast<double>(w[k]) + eta * c[k] * dk;
    w[k] = static_cast<float>(std::clamp(x, lo, hi));
    c[k] -= dep * (y[post[k]] * shrink_minus);
  }
}

// ThreeFactorStdp's postsynaptic pass over the column entries [c0, c1) of one neuron: weight
// brought up to date, then the potentiation into ĉ (scalar: the synapses are scattered, but the
// restrict pointers keep the rule's constants in registers). The three arrays are prefetched 8
// entries ahead: ~7 more instructions per entry, but ~9 % less plastic time on the distal-reward
// replay (indicative, loaded machine), whose arrays spill out of L2.
inline void three_factor_post_pass(float* __restrict w, double* __restrict c,
                                   std::uint32_t* __restrict k_at, const double* __restrict k_hist,
                                   const ColEntry* c0, const ColEntry* c1,
                                   const double* __restrict x_pre, double pot, double k_now,
                                   double eta, double lo, double hi, std::uint32_t k_idx) {
  constexpr std::ptrdiff_t kAhead = 8;  // the column's synapses are scattered: fetch ahead
  for (std::ptrdiff_t q = 0; q < std::min(c1 - c0, kAhead); ++q) {
    __builtin_prefetch(w + c0[q].syn, 1);
    __builtin_prefetch(c + c0[q].syn, 1);
    __builtin_prefetch(k_at + c0[q].syn, 1);
  }
  for (const ColEntry* it = c0; it != c1; ++it) {
    if (c1 - it > kAhead) {
      const std::uint32_t kp = it[kAhead].syn;
      __builtin_prefetch(w + kp, 1);
      __builtin_prefetch(c + kp, 1);
      __builtin_prefetch(k_at + kp, 1);
    }
    const std::uint32_t k = it->syn;
    const double dk = k_now - k_hist[k_at[k]];
    k_at[k] = k_idx;
    const double x = static_cast<double>(w[k]) + eta * c[k] * dk;
    w[k] = static_cast<float>(std::clamp(x, lo, hi));
    c[k] += pot * x_pre[it->seg];
  }
}

}  // namespace detail

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
    traces_.init(proj.n_segments(), proj.n_post, p.tau_plus, p.tau_minus, tick_ms_, p.trace);
    c_hat_.assign(proj.n_synapses(), 0.0);
    k_at_.assign(proj.n_synapses(), 0);
    cols_ = detail::column_entries(proj);
    seg_begin_ = proj.seg_begin;
    k_hist_.assign(1, 0.0);
    rebase_ticks_ = std::max<Tick>(
        1, grid.round_ms(std::min(10.0 * p.tau_c, 300.0 * std::min(p.tau_plus, p.tau_minus))));
    mod.add_listener(this);
    r_ = 1.0 / p.tau_c + 1.0 / mod.tau_ms();
  }
  const ThreeFactorParams& params() const { return p_; }
  const Modulator& modulator() const { return *mod_; }

  void on_pre(SpikeProjection& proj, std::uint32_t begin, std::uint32_t end, Tick t) override {
    detail::for_segments(proj, begin, end, [&](std::uint32_t s, std::uint32_t b, std::uint32_t e) {
      pre_segment(proj, s, b, e, t);
    });
  }
  void on_pre_segment(SpikeProjection& proj, std::uint32_t seg, Tick t) override {
    pre_segment(proj, seg, proj.seg_begin[seg], proj.seg_begin[seg + 1], t);
  }
  void on_post(SpikeProjection& proj, std::uint32_t j, Tick t) override {
    prepare(t, &proj);
    const double pot = p_.A_plus * grow_c_ * traces_.shrink_plus();
    detail::three_factor_post_pass(proj.weight.data(), c_hat_.data(), k_at_.data(), k_hist_.data(),
                                   cols_.data() + proj.col_ptr[j],
                                   cols_.data() + proj.col_ptr[j + 1], traces_.pre_hat(), pot,
                                   k_now_, p_.eta, p_.w_min, p_.w_max, k_idx_);
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
    for (std::size_t k = 0; k < c_hat_.size(); ++k) advance_weight(w, k);
  }
  double weight(SpikeProjection& proj, std::size_t k, Tick t) {
    prepare(t, &proj);
    advance_weight(proj.weight.data(), k);
    return proj.weight[k];
  }
  double eligibility(std::size_t k, Tick t) {
    prepare(t, nullptr);
    return c_hat_[k] * shrink_c_;
  }
  double pre_trace(std::size_t k, Tick t) {
    prepare(t, nullptr);
    return traces_.pre_hat(segment_of(k)) * traces_.shrink_plus();
  }
  double post_trace(std::uint32_t j, Tick t) {
    prepare(t, nullptr);
    return traces_.post(j);
  }
  double modulator_value(Tick t) const { return mod_->value(t); }
  // Bytes this rule keeps per synapse and in all (state, column list, traces, K table).
  std::size_t memory_bytes() const {
    return c_hat_.capacity() * 8 + k_at_.capacity() * 4 +
           cols_.capacity() * sizeof(detail::ColEntry) + seg_begin_.capacity() * 4 +
           k_hist_.capacity() * 8 + seg_begin_.size() * 8;
  }

 private:
  // The segment's synapses [b, e): weight brought up to date, depression into ĉ, one pass; then
  // the segment's presynaptic trace.
  void pre_segment(SpikeProjection& proj, std::uint32_t seg, std::uint32_t b, std::uint32_t e,
                   Tick t) {
    prepare(t, &proj);
    detail::three_factor_pre_pass(proj.weight.data(), c_hat_.data(), k_at_.data(), k_hist_.data(),
                                  proj.post.data(), traces_.post_hat(), p_.A_minus * grow_c_,
                                  traces_.shrink_minus(), k_now_, p_.eta, p_.w_min, p_.w_max,
                                  k_idx_, b, e);
    traces_.spike_pre(seg);
  }

  void advance_weight(float* w, std::size_t k) {
    const double dk = k_now_ - k_hist_[k_at_[k]];
    k_at_[k] = k_idx_;
    const double x = static_cast<double>(w[k]) + p_.eta * c_hat_[k] * dk;
    w[k] = static_cast<float>(std::clamp(x, p_.w_min, p_.w_max));
  }

  std::uint32_t segment_of(std::size_t k) const {
    return static_cast<std::uint32_t>(
               std::upper_bound(seg_begin_.begin(), seg_begin_.end() - 1, k) - seg_begin_.begin()) -
           1;
  }

  // K(t) from (k_ref_, t_ref_) and the modulator's current (t0, p0) — valid because the
  // modulator tells us before every change, so it has not changed since max(t_ref_, t0).
  double integral_to(Tick t) const {
    const double s_ref = static_cast<double>(t_ref_ - epoch_) * tick_ms_;
    const double d = static_cast<double>(t - t_ref_) * tick_ms_;
    if (d <= 0.0) return k_ref_;
    // e^{-s_ref/τ_c} and p(t_ref) change only with t_ref, the epoch and the modulator's state:
    // computed once per change instead of at every tick (same values).
    if (t_ref_ != ref_.t_ref || epoch_ != ref_.epoch || mod_->t0() != ref_.t0 ||
        mod_->p0() != ref_.p0) {
      ref_ = {t_ref_,
              epoch_,
              mod_->t0(),
              mod_->p0(),
              std::exp(-s_ref / p_.tau_c),
              mod_->phasic(t_ref_)};
    }
    const double p_ref = ref_.phasic;
    const double base = mod_->baseline() * p_.tau_c * -std::expm1(-d / p_.tau_c);
    const double phas = p_ref * -std::expm1(-d * r_) / r_;
    return k_ref_ + ref_.scale * (base + phas);
  }

  void prepare(Tick t, SpikeProjection* proj) {
    if (t != cached_) prepare_new_tick(t, proj);
  }
  void prepare_new_tick(Tick t, SpikeProjection* proj) {
    // The K table grows by one entry per distinct event tick; a rebase empties it.
    if (proj && (t - epoch_ > rebase_ticks_ || k_hist_.size() >= kMaxHist)) rebase(*proj, t);
    cached_ = t;
    traces_.at(t, epoch_);
    const double s = static_cast<double>(t - epoch_) * tick_ms_;
    grow_c_ = std::exp(s / p_.tau_c);
    shrink_c_ = 1.0 / grow_c_;
    k_now_ = integral_to(t);
    if (k_now_ != k_hist_.back()) k_hist_.push_back(k_now_);
    k_idx_ = static_cast<std::uint32_t>(k_hist_.size() - 1);
  }

  // All weights brought to t, then every scaled quantity re-expressed relative to epoch t.
  void rebase(SpikeProjection& proj, Tick t) {
    k_now_ = integral_to(t);
    k_hist_.push_back(k_now_);
    k_idx_ = static_cast<std::uint32_t>(k_hist_.size() - 1);
    float* w = proj.weight.data();
    const double s = static_cast<double>(t - epoch_) * tick_ms_;
    const double fc = std::exp(-s / p_.tau_c);
    for (std::size_t k = 0; k < c_hat_.size(); ++k) {
      advance_weight(w, k);
      c_hat_[k] *= fc;
      k_at_[k] = 0;
    }
    traces_.rebase(s);
    k_hist_.assign(1, 0.0);
    epoch_ = t;
    t_ref_ = t;
    k_ref_ = 0.0;
    k_now_ = 0.0;
    k_idx_ = 0;
  }

  static constexpr std::size_t kMaxHist = std::size_t{1} << 22;  // 32 MB of K values at most

  ThreeFactorParams p_;
  Modulator* mod_;
  double tick_ms_ = 1.0, r_ = 0.0;
  detail::LazyTraces traces_;
  // Per synapse, scaled to the epoch (see the header comment): the eligibility ĉ and the index
  // into k_hist_ of K at the synapse's last update (structure of arrays: the pre pass vectorises).
  std::vector<double> c_hat_;
  std::vector<std::uint32_t> k_at_;
  std::vector<detail::ColEntry> cols_;
  std::vector<std::uint32_t> seg_begin_;  // copy of the projection's, for pre_trace(k)
  std::vector<double> k_hist_;            // K at the event ticks of this epoch (k_hist_[0] = 0)
  std::uint32_t k_idx_ = 0;               // index of k_now_ in k_hist_
  Tick epoch_ = 0, rebase_ticks_ = 1, t_ref_ = 0, cached_ = -1;
  double k_ref_ = 0.0, k_now_ = 0.0, grow_c_ = 1.0, shrink_c_ = 1.0;
  // integral_to()'s per-reference factors and what they were computed for.
  struct RefFactors {
    Tick t_ref = -1, epoch = -1, t0 = -1;
    double p0 = 0.0, scale = 1.0, phasic = 0.0;
  };
  mutable RefFactors ref_;
};

}  // namespace sbx::eager_ref
