// Test-only reference: PairStdp as it was up to session 8, when every postsynaptic spike
// potentiated all synapses onto the neuron at once (a scattered pass over the column).
// test_pair_stdp_lazy.cpp checks the deferred form of circuits/plasticity.hpp (potentiation
// applied at the synapse's next presynaptic pass, or when the neuron's history is full) against
// it. Verbatim copy of the class; LazyTraces, the column helpers and the parameter checks are
// shared with plasticity.hpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "circuits/plasticity.hpp"

namespace sbx::eager_ref {

class PairStdpImmediate final : public SpikeLearningRule {
 public:
  PairStdpImmediate(const SpikeProjection& proj, StdpParams p, const TimeGrid& grid) : p_(p) {
    sbx::detail::check_stdp_common(p.A_plus, p.A_minus, p.tau_plus, p.tau_minus, p.w_min, p.w_max);
    tick_ms_ = grid.tick_ms();
    traces_.init(proj.n_segments(), proj.n_post, p.tau_plus, p.tau_minus, tick_ms_, p.trace);
    cols_ = sbx::detail::column_entries(proj);
    seg_begin_ = proj.seg_begin;
    n_post_ = proj.n_post;
    rebase_ticks_ = std::max<Tick>(1, grid.round_ms(300.0 * std::min(p.tau_plus, p.tau_minus)));
  }
  const StdpParams& params() const { return p_; }

  void on_pre(SpikeProjection& proj, std::uint32_t begin, std::uint32_t end, Tick t) override {
    sbx::detail::for_segments(
        proj, begin, end,
        [&](std::uint32_t s, std::uint32_t b, std::uint32_t e) { pre_segment(proj, s, b, e, t); });
  }
  void on_pre_segment(SpikeProjection& proj, std::uint32_t seg, Tick t) override {
    pre_segment(proj, seg, proj.seg_begin[seg], proj.seg_begin[seg + 1], t);
  }
  void on_post(SpikeProjection& proj, std::uint32_t j, Tick t) override {
    prepare(t);
    if (p_.bounds == BoundMode::additive)
      post_loop<true>(proj, j);
    else
      post_loop<false>(proj, j);
    traces_.spike_post(j);
  }

  // Readers compute from the stored state and change nothing (no rebase, no cached tick).
  double pre_trace(std::size_t k, Tick t) const {
    return traces_.pre_hat(segment_of(k)) * traces_.factors(t, epoch_).shrink_plus;
  }
  double post_trace(std::uint32_t j, Tick t) const {
    return traces_.post_hat(j) * traces_.factors(t, epoch_).shrink_minus;
  }
  // Bytes this rule keeps (column list, segment starts, traces).
  std::size_t memory_bytes() const {
    return cols_.capacity() * sizeof(sbx::detail::ColEntry) + seg_begin_.capacity() * 4 +
           (seg_begin_.size() + n_post_) * sizeof(double);
  }

 private:
  std::uint32_t segment_of(std::size_t k) const {
    return static_cast<std::uint32_t>(
               std::upper_bound(seg_begin_.begin(), seg_begin_.end() - 1, k) - seg_begin_.begin()) -
           1;
  }
  // Depression of the synapses [b, e) of segment s (one pass: post trace by index, weight), then
  // the segment's presynaptic trace.
  void pre_segment(SpikeProjection& proj, std::uint32_t s, std::uint32_t b, std::uint32_t e,
                   Tick t) {
    prepare(t);
    if (p_.bounds == BoundMode::additive)
      pre_loop<true>(proj, b, e);
    else
      pre_loop<false>(proj, b, e);
    traces_.spike_pre(s);
  }
  template <bool Additive>
  void pre_loop(SpikeProjection& proj, std::uint32_t b, std::uint32_t e) const {
    float* w = proj.weight.data();
    const std::uint32_t* post = proj.post.data();
    const double* y = traces_.post_hat();
    const double am = p_.A_minus, sm = traces_.shrink_minus(), lo = p_.w_min, hi = p_.w_max;
    for (std::uint32_t k = b; k < e; ++k) {
      const double dep = am * (y[post[k]] * sm);
      double x = w[k];
      x -= Additive ? dep : dep * (x - lo);
      w[k] = static_cast<float>(std::clamp(x, lo, hi));
    }
  }
  template <bool Additive>
  void post_loop(SpikeProjection& proj, std::uint32_t j) const {
    float* w = proj.weight.data();
    const double* xs = traces_.pre_hat();
    const double ap = p_.A_plus, sp = traces_.shrink_plus(), lo = p_.w_min, hi = p_.w_max;
    const sbx::detail::ColEntry* col = cols_.data();
    const std::uint32_t c0 = proj.col_ptr[j], c1 = proj.col_ptr[j + 1];
    for (std::uint32_t c = c0; c < std::min(c1, c0 + kPrefetch); ++c)
      __builtin_prefetch(w + col[c].syn, 1);
    for (std::uint32_t c = c0; c < c1; ++c) {
      // The weights of one column are scattered over the whole projection: fetch ahead.
      if (c + kPrefetch < c1) __builtin_prefetch(w + col[c + kPrefetch].syn, 1);
      const std::uint32_t k = col[c].syn;
      const double pot = ap * (xs[col[c].seg] * sp);
      double x = w[k];
      x += Additive ? pot : pot * (hi - x);
      w[k] = static_cast<float>(std::clamp(x, lo, hi));
    }
  }
  void prepare(Tick t) {
    if (t - epoch_ > rebase_ticks_) {
      traces_.rebase(static_cast<double>(t - epoch_) * tick_ms_);
      epoch_ = t;
    }
    traces_.at(t, epoch_);
  }

  // 64 entries ahead (was 16: about 20 % less plastic time on the Brunel benchmark, whose
  // 25.6 MB E->E weight array is far beyond the caches; 128 was no better, 256 worse).
  static constexpr std::uint32_t kPrefetch = 64;
  StdpParams p_;
  double tick_ms_ = 1.0;
  sbx::detail::LazyTraces traces_;
  std::vector<sbx::detail::ColEntry> cols_;
  std::vector<std::uint32_t> seg_begin_;  // copy of the projection's, for pre_trace(k)
  std::uint32_t n_post_ = 0;
  Tick epoch_ = 0, rebase_ticks_ = 1;
};

}  // namespace sbx::eager_ref
