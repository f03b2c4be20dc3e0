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
//   with K a single global running integral (closed in closed form at every modulator change).
//   K(t_k) is not stored per synapse: proj.weight holds a virtual weight relative to K at the
//   segment's last presynaptic pass (one value per segment; see three_factor_pre_pass). A
//   synapse's weight is brought up to date whenever a spike touches it (before it is delivered
//   or potentiated), for weight(k) and for output (sync_all: proj.weight is the weight only after
//   it).
//   Bounds: c keeps its sign between events, so when m ≥ 0 (dopamine with baseline ≥ 0) the
//   weight moves monotonically and clipping once at the next event equals clipping continuously
//   (exact). A modulator that goes negative (an RPE) can reverse the direction between events;
//   then the bounds are applied at events only (documented approximation).
//   Storage (bytes per plastic synapse on top of the 12 of a static one): the post -> pre pass
//   uses the rule's own column list {synapse, segment} (8 B). Presynaptic traces are kept per
//   delay segment, not per synapse: every synapse of a segment receives the same spikes at the
//   same ticks, so their traces are equal (bit for bit) and one value serves them all
//   (PairStdp: 21 B per plastic synapse in all, with the deferred potentiation's `seen` byte and
//   its per-neuron history, see PairStdp). ThreeFactorStdp adds the eligibility ĉ (f32)
//   and nothing for K(t_k) (virtual weights): 12 B, 24 B per plastic synapse in all (was 32:
//   ĉ f64 + a u32 index of K(t_k); session 5, BENCHMARKS.md).
//   The hooks get whole delay segments (the simulator delivers segment by segment; on_pre with a
//   synapse range must cover whole segments, as a row does).
//   Every `rebase` interval (≤ 10 τ_c and ≤ 300 min τ±, so the scaled values stay within double
//   range and K differences lose at most e^{10}·ε ≈ 2e-12 relative precision) all synapses are
//   brought up to date once and the epoch moves: O(n_syn) every few simulated seconds.
//   The per-tick factors (e^{±(t−t_E)/τ}, and K's 1 − e^{−(t−t_ref)/τ_c}, 1 − e^{−(t−t_ref)·r})
//   are the value at an anchor (every 64 ticks, exp/expm1) times a table entry: relative error
//   < 1e-13 (test), instead of four exp calls per tick (~8 % of the distal-reward network's
//   plastic time). They are pure functions of the tick, and the readers (weight, eligibility,
//   traces, current_weights) change nothing, not even the epoch: reading never alters a run.
//   Negligible potentiation skipped (ThreeFactorStdp): when the modulator is declared
//   non-negative (Modulator::declare_nonnegative: it can then never go below 0 — the
//   distal-reward experiment's reward-fed dopamine), a post spike leaves alone the synapses whose
//   presynaptic trace is below kLtpMin = 2^-24 (the f32 resolution of ĉ relative to A+; with the
//   "set" trace, 333 ms after the presynaptic spike for τ+ = 20 ms), so the post pass touches
//   the scattered weights/eligibilities only of recently active inputs (~40 % of them in the
//   distal-reward network; BENCHMARKS.md session 7). With m >= 0 at all times, skipping an event
//   is exact for the weights by the bounds argument above (the skipped event's clipping equals
//   the next event's); the dropped Δĉ < 2^-24·A+ per pair is below the f32 rounding of ĉ itself
//   (tests: test_three_factor.cpp, test_rstdp_storage.cpp). A modulator that may go negative (an
//   RPE, a TD error) keeps the full pass: the bounds would then depend on the skipped events.
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
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

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
  // LTP reads the presynaptic trace one tick before the postsynaptic spike (daspnet.m's
  // STDP(N*t+aux): a pre spike one tick earlier counts the full A_plus, not A_plus·e^{-tick/τ+});
  // implemented as the factor e^{tick/τ+} on the trace read at the spike.
  bool ltp_previous_tick = false;
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

// e^{n·h} for a whole number n >= 0 of ticks, as (its value at the anchor a = 64·⌊n/64⌋) ×
// e^{(n−a)·h} from a table: one exp per 64 consecutive n instead of one per tick. A pure
// function: the memo of the anchor's value never changes a result, so the factors at a tick
// have the same bits however often or rarely they were asked for before (reading a rule's state
// must not change a run). Negative n (a read before the epoch) is computed directly. The memo
// makes the const call not thread-safe: a rule is used by one thread at a time.
class AnchoredExp {
 public:
  static constexpr Tick kSpan = 64;
  void init(double h) {
    h_ = h;
    for (Tick i = 0; i < kSpan; ++i) table_[i] = std::exp(h * static_cast<double>(i));
    anchor_ = -1;
  }
  double operator()(Tick n) const {
    if (n < 0) return std::exp(h_ * static_cast<double>(n));
    const Tick a = n - n % kSpan;
    if (a != anchor_) {
      anchor_ = a;
      base_ = std::exp(h_ * static_cast<double>(a));
    }
    return base_ * table_[n - a];
  }

 private:
  double h_ = 0.0;
  std::array<double, kSpan> table_{};
  mutable Tick anchor_ = -1;
  mutable double base_ = 1.0;
};

// 1 − e^{−n·h} for n >= 0 the same way: (1 − e^{−a·h}) + e^{−a·h}·(1 − e^{−(n−a)·h}), with
// expm1 for the small differences (precise for n·h ≪ 1, where 1 − e^{−n·h} would cancel).
class AnchoredOneMinusExp {
 public:
  void init(double h) {
    h_ = h;
    for (Tick i = 0; i < AnchoredExp::kSpan; ++i)
      table_[i] = -std::expm1(-h * static_cast<double>(i));
    anchor_ = -1;
  }
  double operator()(Tick n) const {
    if (n <= 0) return -std::expm1(-h_ * static_cast<double>(n));
    const Tick a = n - n % AnchoredExp::kSpan;
    if (a != anchor_) {
      anchor_ = a;
      om_a_ = -std::expm1(-h_ * static_cast<double>(a));
      e_a_ = std::exp(-h_ * static_cast<double>(a));
    }
    return om_a_ + e_a_ * table_[n - a];
  }

 private:
  double h_ = 0.0;
  std::array<double, AnchoredExp::kSpan> table_{};
  mutable Tick anchor_ = -1;
  mutable double om_a_ = 0.0, e_a_ = 1.0;
};

// Pre traces per delay segment, post traces per postsynaptic neuron, both scaled to the epoch,
// and the per-tick conversion factors e^{±(t−t_E)/τ±} (AnchoredExp: one exp per 64 ticks; the
// per-tick exp calls were ~8 % of the distal-reward network's plastic cost).
class LazyTraces {
 public:
  void init(std::size_t n_seg, std::uint32_t n_post, double tau_plus, double tau_minus,
            double tick_ms, TraceMode mode) {
    pre_.assign(n_seg, 0.0);
    post_.assign(n_post, 0.0);
    tau_plus_ = tau_plus, tau_minus_ = tau_minus, tick_ms_ = tick_ms, mode_ = mode;
    grow_plus_exp_.init(tick_ms / tau_plus);
    grow_minus_exp_.init(tick_ms / tau_minus);
    cached_ = -1;
  }
  struct Factors {
    double grow_plus, shrink_plus, grow_minus, shrink_minus;
  };
  // The factors at tick t for the given epoch (a pure function of both).
  Factors factors(Tick t, Tick epoch) const {
    Factors f;
    f.grow_plus = grow_plus_exp_(t - epoch);
    f.shrink_plus = 1.0 / f.grow_plus;
    if (tau_minus_ == tau_plus_) {  // the usual case: the same value
      f.grow_minus = f.grow_plus;
      f.shrink_minus = f.shrink_plus;
    } else {
      f.grow_minus = grow_minus_exp_(t - epoch);
      f.shrink_minus = 1.0 / f.grow_minus;
    }
    return f;
  }
  // Makes the factors of tick t (t >= epoch) the current ones.
  void at(Tick t, Tick epoch) {
    if (t == cached_) return;
    cached_ = t;
    f_ = factors(t, epoch);
  }
  double grow_plus() const { return f_.grow_plus; }
  double shrink_plus() const { return f_.shrink_plus; }
  double shrink_minus() const { return f_.shrink_minus; }
  double pre_hat(std::size_t seg) const { return pre_[seg]; }
  double post(std::uint32_t j) const { return post_[j] * f_.shrink_minus; }
  double post_hat(std::uint32_t j) const { return post_[j]; }
  const double* post_hat() const { return post_.data(); }
  const double* pre_hat() const { return pre_.data(); }
  void spike_pre(std::size_t seg) {
    pre_[seg] = mode_ == TraceMode::set ? f_.grow_plus : pre_[seg] + f_.grow_plus;
  }
  void spike_post(std::uint32_t j) {
    post_[j] = mode_ == TraceMode::set ? f_.grow_minus : post_[j] + f_.grow_minus;
  }
  // Moves the epoch forward by s ms (values unchanged).
  void rebase(double s) {
    const double fp = std::exp(-s / tau_plus_), fm = std::exp(-s / tau_minus_);
    for (double& x : pre_) x *= fp;
    for (double& y : post_) y *= fm;
    invalidate();
  }
  void invalidate() { cached_ = -1; }

 private:
  std::vector<double> pre_, post_;
  double tau_plus_ = 20, tau_minus_ = 20, tick_ms_ = 1;
  TraceMode mode_ = TraceMode::add;
  AnchoredExp grow_plus_exp_, grow_minus_exp_;
  Tick cached_ = -1;
  Factors f_{1.0, 1.0, 1.0, 1.0};
};

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

// ThreeFactorStdp reads the column entries through one of two layouts. Packed: {synapse,
// segment} in one u32 (synapse in the low `shift` bits), when every synapse index and segment
// fits; else the two-word ColEntry. Why: a postsynaptic spike reads its column from a random place
// in the column array (a cold read, ~45 % of the post pass); half the bytes, half the lines.
struct WideColumn {
  using Entry = ColEntry;
  static Entry encode(ColEntry e) { return e; }
  std::uint32_t syn(Entry e) const { return e.syn; }
  std::uint32_t seg(Entry e) const { return e.seg; }
};
struct PackedColumn {
  using Entry = std::uint32_t;
  unsigned shift = 1;  // 1 … 31
  Entry encode(ColEntry e) const { return e.syn | (e.seg << shift); }
  std::uint32_t syn(Entry e) const { return e & ((1u << shift) - 1u); }
  std::uint32_t seg(Entry e) const { return e >> shift; }
};
// The packed layout's shift for p (bits of the largest synapse index), or 0 when the segment
// indices do not fit in the remaining bits (then the wide layout).
inline unsigned packed_column_shift(const SpikeProjection& p) {
  unsigned shift = 1;
  while (shift < 32 && (std::uint64_t{1} << shift) < p.n_synapses()) ++shift;
  const std::uint64_t n_seg = p.n_segments();
  if (shift >= 32 || (n_seg > 0 && n_seg - 1 > (std::uint64_t{0xFFFFFFFFu} >> shift))) return 0;
  return shift;
}

// Calls f(seg, b, e) for every delay segment overlapping [begin, end) of p.
template <class F>
void for_segments(const SpikeProjection& p, std::uint32_t begin, std::uint32_t end, F&& f) {
  if (begin >= end) return;
  for (std::uint32_t s = p.segment_of(begin); s < p.n_segments() && p.seg_begin[s] < end; ++s)
    f(s, std::max(begin, p.seg_begin[s]), std::min(end, p.seg_begin[s + 1]));
}

// ThreeFactorStdp keeps no per-synapse K(t_k): proj.weight[k] holds a "virtual" weight v_k,
// relative to K at its segment's last presynaptic pass (K_s, one value per segment), such that
// the synapse's weight at a tick t before its segment's next pass is
//   w_k(t) = clip(v_k + η·ĉ_k·(K(t) − K_s)).
// The presynaptic pass sets v_k = w_k(t) (the weight delivered) and K_s = K(t); a post spike at t
// brings w_k to t (clipped, as the immediate rule did), adds the potentiation to ĉ_k and stores
// v_k = w_k(t) − η·ĉ_k'·(K(t) − K_s), so that the formula holds with the new ĉ_k'. Same
// mathematics as a K(t_k) per synapse; the f32 roundings fall on v_k instead of w_k.

// ThreeFactorStdp's presynaptic pass over synapses [b, e) of one segment: each weight brought
// up to date (w = v + η·ĉ·(K(t) − K_s), clipped), then the depression into ĉ. A free function
// with restrict pointers (no aliasing between the arrays and the rule's members) so that the
// compiler vectorises it (one gather, y[post[k]]).
inline void three_factor_pre_pass(float* __restrict w, float* __restrict c,
                                  const std::uint32_t* __restrict post, const double* __restrict y,
                                  double dep, double shrink_minus, double dk, double eta, double lo,
                                  double hi, std::uint32_t b, std::uint32_t e) {
  for (std::uint32_t k = b; k < e; ++k) {
    const double ck = c[k];
    const double x = static_cast<double>(w[k]) + eta * ck * dk;
    w[k] = static_cast<float>(std::clamp(x, lo, hi));
    c[k] = static_cast<float>(ck - dep * (y[post[k]] * shrink_minus));
  }
}

// ThreeFactorStdp's postsynaptic pass over the column entries [c0, c1) of one neuron: weight
// brought to t and clipped, potentiation into ĉ, virtual weight stored (see above). Scalar (the
// synapses are scattered); two arrays prefetched kColAhead entries ahead (the distal-reward
// network's arrays spill out of L2) without a bounds check: the entry array has kColAhead valid
// padding entries after its end. K_s and the pre trace are per segment (small, cached).
inline constexpr std::ptrdiff_t kColAhead = 8;
template <class Layout>
void three_factor_post_pass(Layout L, float* __restrict w, float* __restrict c,
                            const typename Layout::Entry* c0, const typename Layout::Entry* c1,
                            const double* __restrict k_seg, const double* __restrict x_pre,
                            double pot, double k_now, double eta, double lo, double hi) {
  for (std::ptrdiff_t q = 0; q < std::min(c1 - c0, kColAhead); ++q) {
    __builtin_prefetch(w + L.syn(c0[q]), 1);
    __builtin_prefetch(c + L.syn(c0[q]), 1);
  }
  for (const auto* it = c0; it != c1; ++it) {
    const std::uint32_t kp = L.syn(it[kColAhead]);  // a later entry or padding: harmless
    __builtin_prefetch(w + kp, 1);
    __builtin_prefetch(c + kp, 1);
    const std::uint32_t k = L.syn(*it), s = L.seg(*it);
    const double dk = k_now - k_seg[s];
    const double ck = c[k];
    const double x = std::clamp(static_cast<double>(w[k]) + eta * ck * dk, lo, hi);
    const float cn = static_cast<float>(ck + pot * x_pre[s]);
    c[k] = cn;
    w[k] = static_cast<float>(x - eta * static_cast<double>(cn) * dk);
  }
}

#if defined(__AVX512F__)
// GCC 12's AVX-512 intrinsics pass an "undefined" vector as the unused merge operand, which
// -Wmaybe-uninitialized reports at every inlined use.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// entries_with_trace (below) for the packed layout, 16 entries at a time: the segments' traces
// gathered, the kept entries compressed in a register and stored whole (16 lanes written at
// o <= out + the entries read before this block: within out's room for c1 - c0), then the tail
// one at a time.
inline std::uint32_t* entries_with_trace(PackedColumn L, const std::uint32_t* c0,
                                         const std::uint32_t* c1, const double* __restrict x_hat,
                                         double thr, std::uint32_t* __restrict out) {
  std::uint32_t* o = out;
  const __m512d vthr = _mm512_set1_pd(thr);
  const __m128i sh = _mm_cvtsi32_si128(static_cast<int>(L.shift));
  const std::uint32_t* it = c0;
  for (; c1 - it >= 16; it += 16) {
    const __m512i e = _mm512_loadu_si512(it);
    const __m512i seg = _mm512_srl_epi32(e, sh);
    const __m512d lo = _mm512_i32gather_pd(_mm512_castsi512_si256(seg), x_hat, 8);
    const __m512d hi = _mm512_i32gather_pd(_mm512_extracti64x4_epi64(seg, 1), x_hat, 8);
    const __mmask16 keep = static_cast<__mmask16>(
        _mm512_cmp_pd_mask(lo, vthr, _CMP_GE_OQ) |
        (static_cast<unsigned>(_mm512_cmp_pd_mask(hi, vthr, _CMP_GE_OQ)) << 8));
    _mm512_storeu_si512(o, _mm512_maskz_compress_epi32(keep, e));
    o += __builtin_popcount(keep);
  }
  for (; it != c1; ++it) {
    *o = *it;
    o += x_hat[L.seg(*it)] >= thr ? 1 : 0;
  }
  return o;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

// Copies the entries of [c0, c1) whose segment's scaled presynaptic trace x_hat[seg] is >= thr,
// in order, to out (room for c1 - c0 entries); returns the end of the copy. Branch-free: whether
// an entry is kept is close to random. Streams over the column; the traces are small and cached.
template <class Layout>
typename Layout::Entry* entries_with_trace(Layout L, const typename Layout::Entry* c0,
                                           const typename Layout::Entry* c1,
                                           const double* __restrict x_hat, double thr,
                                           typename Layout::Entry* __restrict out) {
  std::size_t m = 0;
  for (const auto* it = c0; it != c1; ++it) {
    out[m] = *it;
    m += x_hat[L.seg(*it)] >= thr ? 1u : 0u;
  }
  return out + m;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// PairStdp with additive bounds defers potentiation (session 9). A postsynaptic spike of neuron
// j only records the per-tick factor e = e^{-(t−t_E)/τ+} of its tick in j's history; the
// potentiation it causes on synapse k (Δ = A+·x̂_s·e, x̂_s the scaled presynaptic trace of k's
// segment) is applied when k is next touched: at its segment's next presynaptic pass (before the
// depression and the delivery), or when j's history is full (a pass over j's column), or when
// the weights are synchronised or read. Why: the immediate form read-modified-wrote every weight
// of the column at each postsynaptic spike, scattered over the projection (half of the Brunel
// benchmark's plastic time); the presynaptic pass streams over its row anyway.
//   Exact, not an approximation: between two presynaptic passes of a segment its trace x̂_s does
// not change, so the deferred Δ are the immediate ones. The immediate rule clipped after each
// spike; here the oldest pending spike's step is clipped at w_min (which only matters for a
// weight set below w_min from outside, e.g. pruned to 0), the others are summed and the total
// clipped at w_max once (all Δ >= 0: from then on the weight only rises, so min(w_max, ·)
// applied once or after each gives the same value). Only the roundings differ: the weight is
// rounded to f32 once per pass instead of after each spike.
//   Per synapse: `seen_` = the low 8 bits of j's spike count when k was last brought up to date,
// so m = count_j − seen_k (mod 256) spikes are pending (m <= kPostHistory by the column pass).
// Per post neuron: count, spikes since its last column pass, and hist[q] = the sum of the
// factors of its last q spikes, q = 0 … kPostHistory (hist[0] = 0): the pass needs one gather
// and no loop (vectorised).
//   Same-tick order is kept: a pass at tick T after j's spike at T applies it with the trace
// before the pass's own pre spike (as the immediate on_post did, being earlier); a pass at T
// before j's spike leaves it pending until the next pass, which uses the trace including the pre
// spike at T (as the immediate on_post at T did, being later).
//   Epoch rebase: every synapse is brought up to date first (the recorded factors are relative
// to the old epoch; after that, only factors recorded later are ever read: m <= the spikes since).
//   Memory: 1 B per synapse (`seen`) and 8·(kPostHistory + 1) + 13 = 149 B per post neuron on top
// of the immediate form's 8 B per synapse: 21.2 B per plastic synapse in all at the Brunel
// benchmark's 800 inputs per neuron, 9 + 149/fan-in B of rule state in general.
//   Multiplicative bounds stay immediate: there each pending spike is one step
// w += Δ·(w_max − w) with its own Δ, a loop of data-dependent length per synapse; deferred that
// way the Brunel network with multiplicative bounds went from ratio 3.05 to 3.85 (session 9).
// History length: a power of two <= 255. Brunel benchmark (bench/brunel_stdp.cpp, ratio of the
// plastic to the static cost per event, alternating): immediate 3.10, 4: 2.71, 8: 2.41,
// 16: 2.19, 32: 2.25 (the histories, 8·17 B per neuron, then fill L2). BENCHMARKS.md session 9.
inline constexpr std::uint32_t kPostHistory = 16;
static_assert((kPostHistory & (kPostHistory - 1)) == 0 && kPostHistory <= 255);

namespace detail {

// The stored weight w with the m pending spikes' potentiation (h: the neuron's factor sums, see
// above; ltp = A+·x̂_s): unchanged when nothing is pending, else clipped at w_max once. Exact
// when w >= w_min (then the weight only rises); Exact = true also for a weight set below w_min
// from outside (e.g. pruned to 0): the oldest spike's step is clipped at w_min first, as the
// immediate rule did (an extra gather and ~15 % of the Brunel benchmark's plastic time, so
// only used when such weights may exist; see PairStdp::exact_bounds_).
template <bool Exact>
inline double pair_potentiated(double w, const double* h, std::uint32_t m, double ltp, double lo,
                               double hi) {
  if constexpr (Exact) {
    const double rest = h[m == 0 ? 0 : m - 1];  // the newer m − 1 spikes
    const double first = std::max(w + ltp * (h[m] - rest), lo);
    return m == 0 ? w : std::min(first + ltp * rest, hi);
  } else {  // w in [w_min, w_max]: with h[0] = 0, m = 0 leaves w as it is
    (void)lo;
    return std::min(w + ltp * h[m], hi);
  }
}

// The additive pass over synapses [b, e) of one segment: pending potentiation, then (Depress:
// a presynaptic spike) the depression ltd·ŷ_j and the clip, as the immediate pre pass did;
// without it, for synchronising, the potentiation only. seen[k] records the post neuron's
// count. Free function with restrict pointers so that it vectorises (gathers of count, hist and
// ŷ by post[k]).
template <bool Depress, bool Exact>
inline void pair_pass_additive(float* __restrict w, std::uint8_t* __restrict seen,
                               const std::uint32_t* __restrict post,
                               const std::uint32_t* __restrict count, const double* __restrict hist,
                               const double* __restrict y, double ltp, double ltd, double lo,
                               double hi, std::uint32_t b, std::uint32_t e) {
  constexpr std::uint32_t stride = kPostHistory + 1;
  for (std::uint32_t k = b; k < e; ++k) {
    const std::uint32_t j = post[k], n = count[j];
    const std::uint32_t m = (n - seen[k]) & 0xFFu;
    // 32-bit index arithmetic (the loop vectorises; with 64-bit it did not): the constructor
    // checks that n_post·kStride fits.
    const double x = pair_potentiated<Exact>(w[k], hist + j * stride, m, ltp, lo, hi);
    w[k] = static_cast<float>(Depress ? std::clamp(x - ltd * y[j], lo, hi) : x);
    seen[k] = static_cast<std::uint8_t>(n);
  }
}

}  // namespace detail

class PairStdp final : public SpikeLearningRule {
 public:
  PairStdp(const SpikeProjection& proj, StdpParams p, const TimeGrid& grid) : p_(p) {
    detail::check_stdp_common(p.A_plus, p.A_minus, p.tau_plus, p.tau_minus, p.w_min, p.w_max);
    tick_ms_ = grid.tick_ms();
    traces_.init(proj.n_segments(), proj.n_post, p.tau_plus, p.tau_minus, tick_ms_, p.trace);
    cols_ = detail::column_entries(proj);
    seg_begin_ = proj.seg_begin;
    n_post_ = proj.n_post;
    if (deferred()) {
      seen_.assign(proj.n_synapses(), 0);
      count_.assign(n_post_, 0);
      since_pass_.assign(n_post_, 0);
      if (n_post_ > std::numeric_limits<std::uint32_t>::max() / kStride)
        throw std::invalid_argument("STDP: more than 2^32/17 postsynaptic neurons");
      hist_.assign(std::size_t{n_post_} * kStride, 0.0);
      exact_bounds_ = any_out_of_bounds(proj);
    }
    rebase_ticks_ = std::max<Tick>(1, grid.round_ms(300.0 * std::min(p.tau_plus, p.tau_minus)));
  }
  const StdpParams& params() const { return p_; }

  void on_pre(SpikeProjection& proj, std::uint32_t begin, std::uint32_t end, Tick t) override {
    detail::for_segments(proj, begin, end, [&](std::uint32_t s, std::uint32_t b, std::uint32_t e) {
      pre_segment(proj, s, b, e, t);
    });
  }
  void on_pre_segment(SpikeProjection& proj, std::uint32_t seg, Tick t) override {
    pre_segment(proj, seg, proj.seg_begin[seg], proj.seg_begin[seg + 1], t);
  }
  // Additive: records the spike in j's history (see above); when the history is full, first
  // brings every synapse onto j up to date (the only scattered pass left: once per
  // kPostHistory spikes). Multiplicative: potentiates every synapse onto j now.
  void on_post(SpikeProjection& proj, std::uint32_t j, Tick t) override {
    prepare(t, proj);
    if (deferred()) {
      if (since_pass_[j] == kPostHistory) column_pass(proj, j);
      const double e = traces_.shrink_plus();
      double* h = hist_.data() + std::size_t{j} * kStride;
      for (std::uint32_t q = kPostHistory; q > 0; --q) h[q] = h[q - 1] + e;
      ++count_[j];
      ++since_pass_[j];
    } else {
      post_loop_multiplicative(proj, j);
    }
    traces_.spike_post(j);
  }

  // Applies every pending potentiation to proj.weight (then proj.weight holds the weights).
  void sync_weights(SpikeProjection& proj, Tick t) override {
    (void)t;  // the pending changes are fixed by the spike times already seen
    if (!deferred()) return;
    pass_all(proj);
    recheck_bounds_ = true;  // the caller may now write proj.weight (e.g. pruning)
  }
  // Readers compute from the stored state and change nothing (no rebase, no cached tick).
  void current_weights(const SpikeProjection& proj, Tick t, float* out) const override {
    (void)t;
    for (std::uint32_t s = 0; s < proj.n_segments(); ++s)
      for (std::uint32_t k = proj.seg_begin[s]; k < proj.seg_begin[s + 1]; ++k)
        out[k] = weight_of(proj, k, s);
  }
  // Weight of synapse k (its stored value with the pending potentiation applied).
  double weight(const SpikeProjection& proj, std::size_t k, Tick t) const {
    (void)t;
    return weight_of(proj, static_cast<std::uint32_t>(k), segment_of(k));
  }
  double pre_trace(std::size_t k, Tick t) const {
    return traces_.pre_hat(segment_of(k)) * traces_.factors(t, epoch_).shrink_plus;
  }
  double post_trace(std::uint32_t j, Tick t) const {
    return traces_.post_hat(j) * traces_.factors(t, epoch_).shrink_minus;
  }
  // Column passes so far (histories that filled up; additive bounds).
  std::uint64_t column_passes() const { return column_passes_; }
  // Bytes this rule keeps (column list and `seen` per synapse; segment starts and traces; per
  // post neuron: trace, count, history).
  std::size_t memory_bytes() const {
    return cols_.capacity() * sizeof(detail::ColEntry) + seen_.capacity() +
           seg_begin_.capacity() * 4 + seg_begin_.size() * sizeof(double) +
           static_cast<std::size_t>(n_post_) * sizeof(double) + count_.capacity() * 4 +
           since_pass_.capacity() + hist_.capacity() * sizeof(double);
  }

 private:
  static constexpr std::uint32_t kStride = kPostHistory + 1;

  bool deferred() const { return p_.bounds == BoundMode::additive; }
  std::uint32_t segment_of(std::size_t k) const {
    return static_cast<std::uint32_t>(
               std::upper_bound(seg_begin_.begin(), seg_begin_.end() - 1, k) - seg_begin_.begin()) -
           1;
  }
  // The additive pass over synapses [b, e) of segment s: pending potentiation, then for a
  // presynaptic spike the depression A−·y; otherwise (synchronising) the potentiation only.
  template <bool Depress>
  void pass(SpikeProjection& proj, std::uint32_t s, std::uint32_t b, std::uint32_t e) {
    const double ltp = p_.A_plus * traces_.pre_hat(s), ltd = p_.A_minus * traces_.shrink_minus();
    if (exact_bounds_)
      detail::pair_pass_additive<Depress, true>(proj.weight.data(), seen_.data(), proj.post.data(),
                                                count_.data(), hist_.data(), traces_.post_hat(),
                                                ltp, ltd, p_.w_min, p_.w_max, b, e);
    else
      detail::pair_pass_additive<Depress, false>(proj.weight.data(), seen_.data(), proj.post.data(),
                                                 count_.data(), hist_.data(), traces_.post_hat(),
                                                 ltp, ltd, p_.w_min, p_.w_max, b, e);
  }
  // The pending potentiation of one synapse (as pass() computes it).
  double potentiated(double w, const double* h, std::uint32_t m, double ltp) const {
    return exact_bounds_ ? detail::pair_potentiated<true>(w, h, m, ltp, p_.w_min, p_.w_max)
                         : detail::pair_potentiated<false>(w, h, m, ltp, p_.w_min, p_.w_max);
  }
  // Whether a stored weight lies outside [w_min, w_max] (then the exact potentiation is used).
  bool any_out_of_bounds(const SpikeProjection& proj) const {
    const float lo = static_cast<float>(p_.w_min), hi = static_cast<float>(p_.w_max);
    bool out = false;
    for (const float w : proj.weight) out |= !(w >= lo && w <= hi);
    return out;
  }
  // Depression of the synapses [b, e) of segment s (after their pending potentiation), then the
  // segment's presynaptic trace.
  void pre_segment(SpikeProjection& proj, std::uint32_t s, std::uint32_t b, std::uint32_t e,
                   Tick t) {
    prepare(t, proj);
    if (deferred())
      pass<true>(proj, s, b, e);
    else
      pre_loop_multiplicative(proj, b, e);
    traces_.spike_pre(s);
  }
  void pre_loop_multiplicative(SpikeProjection& proj, std::uint32_t b, std::uint32_t e) const {
    float* w = proj.weight.data();
    const std::uint32_t* post = proj.post.data();
    const double* y = traces_.post_hat();
    const double am = p_.A_minus, sm = traces_.shrink_minus(), lo = p_.w_min, hi = p_.w_max;
    for (std::uint32_t k = b; k < e; ++k) {
      const double dep = am * (y[post[k]] * sm);
      double x = w[k];
      x -= dep * (x - lo);
      w[k] = static_cast<float>(std::clamp(x, lo, hi));
    }
  }
  // Multiplicative: potentiation of every synapse onto j, now (scattered, prefetched ahead).
  void post_loop_multiplicative(SpikeProjection& proj, std::uint32_t j) const {
    float* w = proj.weight.data();
    const double* xs = traces_.pre_hat();
    const double ap = p_.A_plus, sp = traces_.shrink_plus(), lo = p_.w_min, hi = p_.w_max;
    const detail::ColEntry* col = cols_.data();
    const std::uint32_t c0 = proj.col_ptr[j], c1 = proj.col_ptr[j + 1];
    for (std::uint32_t c = c0; c < std::min(c1, c0 + kPrefetch); ++c)
      __builtin_prefetch(w + col[c].syn, 1);
    for (std::uint32_t c = c0; c < c1; ++c) {
      if (c + kPrefetch < c1) __builtin_prefetch(w + col[c + kPrefetch].syn, 1);
      const std::uint32_t k = col[c].syn;
      const double pot = ap * (xs[col[c].seg] * sp);
      double x = w[k];
      x += pot * (hi - x);
      w[k] = static_cast<float>(std::clamp(x, lo, hi));
    }
  }
  // Additive: every synapse onto j brought up to date (scattered, w and `seen` prefetched).
  void column_pass(SpikeProjection& proj, std::uint32_t j) {
    float* w = proj.weight.data();
    const detail::ColEntry* col = cols_.data();
    const std::uint32_t c0 = proj.col_ptr[j], c1 = proj.col_ptr[j + 1];
    const std::uint32_t n = count_[j];
    const double* h = hist_.data() + std::size_t{j} * kStride;
    const double* xs = traces_.pre_hat();
    const double ap = p_.A_plus;
    for (std::uint32_t c = c0; c < std::min(c1, c0 + kPrefetch); ++c) {
      __builtin_prefetch(w + col[c].syn, 1);
      __builtin_prefetch(seen_.data() + col[c].syn, 1);
    }
    for (std::uint32_t c = c0; c < c1; ++c) {
      if (c + kPrefetch < c1) {
        __builtin_prefetch(w + col[c + kPrefetch].syn, 1);
        __builtin_prefetch(seen_.data() + col[c + kPrefetch].syn, 1);
      }
      const std::uint32_t k = col[c].syn;
      const std::uint32_t m = (n - seen_[k]) & 0xFFu;
      w[k] = static_cast<float>(potentiated(w[k], h, m, ap * xs[col[c].seg]));
      seen_[k] = static_cast<std::uint8_t>(n);
    }
    since_pass_[j] = 0;
    ++column_passes_;
  }
  // Additive: every synapse brought up to date (streaming, segment by segment).
  void pass_all(SpikeProjection& proj) {
    for (std::uint32_t s = 0; s < proj.n_segments(); ++s)
      pass<false>(proj, s, proj.seg_begin[s], proj.seg_begin[s + 1]);
    std::fill(since_pass_.begin(), since_pass_.end(), 0);
  }
  // What pass() would store for synapse k of segment s, computed without storing.
  float weight_of(const SpikeProjection& proj, std::uint32_t k, std::uint32_t s) const {
    if (!deferred()) return proj.weight[k];
    const std::uint32_t j = proj.post[k];
    const std::uint32_t m = (count_[j] - seen_[k]) & 0xFFu;
    const double ltp = p_.A_plus * traces_.pre_hat(s);
    return static_cast<float>(
        potentiated(proj.weight[k], hist_.data() + std::size_t{j} * kStride, m, ltp));
  }
  // Every hook calls this first: the epoch moved when due, then the factors of tick t.
  void prepare(Tick t, SpikeProjection& proj) {
    if (recheck_bounds_ && deferred()) {  // every pending change applied: nothing is pending
      exact_bounds_ = any_out_of_bounds(proj);
      recheck_bounds_ = false;
    }
    if (t - epoch_ > rebase_ticks_) {
      if (deferred()) {
        pass_all(proj);  // the histories hold factors of the old epoch
        if (exact_bounds_) exact_bounds_ = any_out_of_bounds(proj);
      }
      traces_.rebase(static_cast<double>(t - epoch_) * tick_ms_);
      epoch_ = t;
    }
    traces_.at(t, epoch_);
  }

  // 64 entries ahead (was 16: about 20 % less time in the immediate post pass on the Brunel
  // benchmark, whose 25.6 MB E->E weight array is far beyond the caches; 128 was no better).
  static constexpr std::uint32_t kPrefetch = 64;
  StdpParams p_;
  double tick_ms_ = 1.0;
  detail::LazyTraces traces_;
  std::vector<detail::ColEntry> cols_;
  std::vector<std::uint32_t> seg_begin_;  // copy of the projection's, for pre_trace(k)
  std::uint32_t n_post_ = 0;
  // Deferred potentiation (additive bounds only; empty otherwise):
  std::vector<std::uint8_t> seen_;        // per synapse (see above)
  std::vector<std::uint32_t> count_;      // per post neuron: spikes so far
  std::vector<std::uint8_t> since_pass_;  // per post neuron: spikes since its column pass
  std::vector<double> hist_;              // per post neuron: kStride factor sums (see above)
  std::uint64_t column_passes_ = 0;
  // Some stored weight may lie below w_min or above w_max (set at the build, or written by the
  // caller after sync_weights): then the exact potentiation (detail::pair_potentiated). Checked
  // at construction, at the first hook after a sync_weights, and at rebases while set.
  bool exact_bounds_ = false, recheck_bounds_ = false;
  Tick epoch_ = 0, rebase_ticks_ = 1;
};

// ---------------------------------------------------------------------------------------------
// How ThreeFactorStdp stores its column entries: packed when they fit (automatic), or always
// two words (wide: for tests that compare the layouts).
enum class ColumnLayout { automatic, wide };

class ThreeFactorStdp final : public SpikeLearningRule, public ModulatorListener {
 public:
  // The rule keeps no pointer to `proj` (the simulator's projection array may move when edges
  // are added later): the hooks and the output functions are given it.
  ThreeFactorStdp(const SpikeProjection& proj, ThreeFactorParams p, Modulator& mod,
                  const TimeGrid& grid, ColumnLayout layout = ColumnLayout::automatic)
      : p_(p), mod_(&mod) {
    detail::check_stdp_common(p.A_plus, p.A_minus, p.tau_plus, p.tau_minus, p.w_min, p.w_max);
    if (!(p.tau_c > 0.0) || !std::isfinite(p.tau_c))
      throw std::invalid_argument("three-factor STDP: tau_c must be > 0 ms");
    if (!std::isfinite(p.eta)) throw std::invalid_argument("three-factor STDP: eta must be finite");
    tick_ms_ = grid.tick_ms();
    a_plus_ = p.A_plus * (p.ltp_previous_tick ? std::exp(tick_ms_ / p.tau_plus) : 1.0);
    traces_.init(proj.n_segments(), proj.n_post, p.tau_plus, p.tau_minus, tick_ms_, p.trace);
    c_hat_.assign(proj.n_synapses(), 0.0f);
    k_seg_.assign(proj.n_segments(), 0.0);
    {
      const std::vector<detail::ColEntry> cols = detail::column_entries(proj);
      std::uint32_t longest = 0;
      for (std::uint32_t j = 0; j < proj.n_post; ++j)
        longest = std::max(longest, proj.col_ptr[j + 1] - proj.col_ptr[j]);
      const unsigned shift =
          layout == ColumnLayout::automatic ? detail::packed_column_shift(proj) : 0u;
      if (shift != 0) {
        packed_.layout.shift = shift;
        packed_.fill(cols, longest);
      } else {
        wide_.fill(cols, longest);
      }
    }
    seg_begin_ = proj.seg_begin;
    n_post_ = proj.n_post;
    rebase_ticks_ = std::max<Tick>(
        1, grid.round_ms(std::min(10.0 * p.tau_c, 300.0 * std::min(p.tau_plus, p.tau_minus))));
    mod.add_listener(this);
    r_ = 1.0 / p.tau_c + 1.0 / mod.tau_ms();
    grow_c_exp_.init(tick_ms_ / p.tau_c);
    decay_c_.init(tick_ms_ / p.tau_c);
    decay_r_.init(tick_ms_ * r_);
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
    if (packed_columns())
      post_pass(packed_, proj, j);
    else
      post_pass(wide_, proj, j);
    traces_.spike_post(j);
  }
  // Whether the column entries are packed in one u32 each (ColumnLayout).
  bool packed_columns() const { return !packed_.entries.empty(); }

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
    for (std::uint32_t s = 0; s < proj.n_segments(); ++s) advance_segment(proj, s);
  }
  void sync_weights(SpikeProjection& proj, Tick t) override { sync_all(proj, t); }
  // Readers: computed from the stored state, nothing changed (no rebase, no cached tick), so
  // reading never alters a run. t >= the last event.
  // Weights at t computed from the virtual weights.
  void current_weights(const SpikeProjection& proj, Tick t, float* out) const override {
    const double k_now = integral_to(t);
    for (std::uint32_t s = 0; s < proj.n_segments(); ++s)
      for (std::uint32_t k = proj.seg_begin[s]; k < proj.seg_begin[s + 1]; ++k)
        out[k] = weight_from(proj.weight[k], c_hat_[k], k_seg_[s], k_now);
  }
  // Weight of synapse k at tick t (computed: the stored value is the virtual weight).
  double weight(const SpikeProjection& proj, std::size_t k, Tick t) const {
    return weight_from(proj.weight[k], c_hat_[k], k_seg_[segment_of(k)], integral_to(t));
  }
  double eligibility(std::size_t k, Tick t) const {
    return static_cast<double>(c_hat_[k]) / grow_c_exp_(t - epoch_);
  }
  double pre_trace(std::size_t k, Tick t) const {
    return traces_.pre_hat(segment_of(k)) * traces_.factors(t, epoch_).shrink_plus;
  }
  double post_trace(std::uint32_t j, Tick t) const {
    return traces_.post_hat(j) * traces_.factors(t, epoch_).shrink_minus;
  }
  // Column entries a postsynaptic spike left alone (presynaptic trace below kLtpMin), in all.
  std::uint64_t ltp_skipped() const { return ltp_skipped_; }
  double modulator_value(Tick t) const { return mod_->value(t); }
  // Bytes this rule keeps per synapse and in all (ĉ, column list, per segment: start, K_s and
  // pre trace, per post neuron: trace).
  std::size_t memory_bytes() const {
    return c_hat_.capacity() * sizeof(float) + wide_.memory_bytes() + packed_.memory_bytes() +
           seg_begin_.capacity() * 4 + k_seg_.capacity() * 8 + seg_begin_.size() * 8 +
           static_cast<std::size_t>(n_post_) * 8;
  }

 private:
  // The weight of a synapse with virtual weight v, eligibility ĉ and segment value K_s at the
  // integral value k (as advance_segment computes it).
  float weight_from(float v, float c_hat, double k_s, double k) const {
    const double x = static_cast<double>(v) + p_.eta * static_cast<double>(c_hat) * (k - k_s);
    return static_cast<float>(std::clamp(x, p_.w_min, p_.w_max));
  }

  // The column entries of one layout, with the post pass's scratch (room for the longest
  // column) and kColAhead padding entries after each (the prefetches read ahead unchecked).
  template <class Layout>
  struct Columns {
    Layout layout;
    std::vector<typename Layout::Entry> entries;
    std::vector<typename Layout::Entry> active;  // the entries with potentiation
    void fill(const std::vector<detail::ColEntry>& cols, std::uint32_t longest) {
      const auto pad = layout.encode(detail::ColEntry{0, 0});
      entries.reserve(cols.size() + detail::kColAhead);  // exact
      for (const detail::ColEntry& e : cols) entries.push_back(layout.encode(e));
      entries.resize(cols.size() + detail::kColAhead, pad);
      active.assign(longest + detail::kColAhead, pad);
    }
    std::size_t memory_bytes() const {
      return (entries.capacity() + active.capacity()) * sizeof(typename Layout::Entry);
    }
  };

  // A postsynaptic spike of j: every synapse onto j brought to t, potentiation into ĉ.
  template <class Layout>
  void post_pass(Columns<Layout>& cols, SpikeProjection& proj, std::uint32_t j) {
    const double pot = a_plus_ * grow_c_ * traces_.shrink_plus();
    const auto* c0 = cols.entries.data() + proj.col_ptr[j];
    const auto* c1 = cols.entries.data() + proj.col_ptr[j + 1];
    // The column is at a random place in the array, cold: all its lines requested at once
    // rather than one after the other as the loop below reaches them.
    for (const char* q = reinterpret_cast<const char*>(c0); q < reinterpret_cast<const char*>(c1);
         q += 64)
      __builtin_prefetch(q, 0);
    if (mod_->nonnegative()) {
      // Only the entries with a presynaptic trace >= kLtpMin (see the header), compacted first,
      // so the scattered weight/eligibility accesses happen only where something changes.
      const auto* kept =
          detail::entries_with_trace(cols.layout, c0, c1, traces_.pre_hat(),
                                     kLtpMin * traces_.grow_plus(), cols.active.data());
      ltp_skipped_ += static_cast<std::uint64_t>((c1 - c0) - (kept - cols.active.data()));
      c0 = cols.active.data();
      c1 = kept;
    }
    detail::three_factor_post_pass(cols.layout, proj.weight.data(), c_hat_.data(), c0, c1,
                                   k_seg_.data(), traces_.pre_hat(), pot, k_now_, p_.eta, p_.w_min,
                                   p_.w_max);
  }

  // The segment's synapses [b, e): weight brought up to date, depression into ĉ, one pass; then
  // the segment's presynaptic trace.
  void pre_segment(SpikeProjection& proj, std::uint32_t seg, std::uint32_t b, std::uint32_t e,
                   Tick t) {
    prepare(t, &proj);
    detail::three_factor_pre_pass(proj.weight.data(), c_hat_.data(), proj.post.data(),
                                  traces_.post_hat(), p_.A_minus * grow_c_, traces_.shrink_minus(),
                                  k_now_ - k_seg_[seg], p_.eta, p_.w_min, p_.w_max, b, e);
    k_seg_[seg] = k_now_;
    traces_.spike_pre(seg);
  }
  // Segment s's weights brought to the current tick (virtual weights -> weights, K_s = K(t)).
  void advance_segment(SpikeProjection& proj, std::uint32_t s) {
    float* w = proj.weight.data();
    const double dk = k_now_ - k_seg_[s];
    for (std::uint32_t k = proj.seg_begin[s]; k < proj.seg_begin[s + 1]; ++k) {
      const double x = static_cast<double>(w[k]) + p_.eta * static_cast<double>(c_hat_[k]) * dk;
      w[k] = static_cast<float>(std::clamp(x, p_.w_min, p_.w_max));
    }
    k_seg_[s] = k_now_;
  }

  std::uint32_t segment_of(std::size_t k) const {
    return static_cast<std::uint32_t>(
               std::upper_bound(seg_begin_.begin(), seg_begin_.end() - 1, k) - seg_begin_.begin()) -
           1;
  }

  // K(t) from (k_ref_, t_ref_) and the modulator's current (t0, p0) — valid because the
  // modulator tells us before every change, so it has not changed since max(t_ref_, t0).
  // A pure function of the rule's state and t (the memos below never change a value).
  double integral_to(Tick t) const {
    const Tick d = t - t_ref_;
    if (d <= 0) return k_ref_;
    // e^{-s_ref/τ_c} and p(t_ref) change only with t_ref, the epoch and the modulator's state:
    // computed once per change instead of at every tick (same values).
    if (t_ref_ != ref_.t_ref || epoch_ != ref_.epoch || mod_->t0() != ref_.t0 ||
        mod_->p0() != ref_.p0) {
      const double s_ref = static_cast<double>(t_ref_ - epoch_) * tick_ms_;
      ref_ = {t_ref_,
              epoch_,
              mod_->t0(),
              mod_->p0(),
              std::exp(-s_ref / p_.tau_c),
              mod_->phasic(t_ref_)};
    }
    // 1 − e^{-d/τ_c} and 1 − e^{-d·r} from anchored tables (one exp/expm1 pair per 64 ticks).
    const double base = mod_->baseline() * p_.tau_c * decay_c_(d);
    const double phas = ref_.phasic * decay_r_(d) / r_;
    return k_ref_ + ref_.scale * (base + phas);
  }

  // Every hook calls this first: the epoch moved when due (only from hooks that have the
  // projection: events and sync, never readers), then the factors of tick t.
  void prepare(Tick t, SpikeProjection* proj) {
    if (proj && t - epoch_ > rebase_ticks_) rebase(*proj, t);
    if (t == cached_) return;
    cached_ = t;
    traces_.at(t, epoch_);
    grow_c_ = grow_c_exp_(t - epoch_);
    k_now_ = integral_to(t);
  }

  // All weights brought to t, then every scaled quantity re-expressed relative to epoch t.
  void rebase(SpikeProjection& proj, Tick t) {
    k_now_ = integral_to(t);
    for (std::uint32_t seg = 0; seg < proj.n_segments(); ++seg) advance_segment(proj, seg);
    const double s = static_cast<double>(t - epoch_) * tick_ms_;
    const double fc = std::exp(-s / p_.tau_c);
    for (float& c : c_hat_) c = static_cast<float>(static_cast<double>(c) * fc);
    std::fill(k_seg_.begin(), k_seg_.end(), 0.0);
    traces_.rebase(s);
    cached_ = -1;  // the factors are recomputed for the new epoch
    epoch_ = t;
    t_ref_ = t;
    k_ref_ = 0.0;
    k_now_ = 0.0;
  }

  double a_plus_ = 0.0;  // A_plus, times e^{tick/τ+} with ltp_previous_tick
  ThreeFactorParams p_;
  Modulator* mod_;
  double tick_ms_ = 1.0, r_ = 0.0;
  detail::LazyTraces traces_;
  // Per synapse, scaled to the epoch (see the header comment): the eligibility ĉ (f32: 4 B per
  // synapse fewer; relative rounding 6e-8 per update, see BENCHMARKS.md session 5).
  std::vector<float> c_hat_;
  std::vector<double> k_seg_;             // per segment: K at its last presynaptic pass (K_s)
  Columns<detail::WideColumn> wide_;      // empty when packed
  Columns<detail::PackedColumn> packed_;  // empty when wide
  // Presynaptic trace below which a postsynaptic spike potentiates nothing (see the header).
  static constexpr double kLtpMin = 0x1p-24;
  std::uint64_t ltp_skipped_ = 0;
  std::vector<std::uint32_t> seg_begin_;  // copy of the projection's, for pre_trace(k)
  std::uint32_t n_post_ = 0;
  Tick epoch_ = 0, rebase_ticks_ = 1, t_ref_ = 0, cached_ = -1;
  double k_ref_ = 0.0, k_now_ = 0.0, grow_c_ = 1.0;
  detail::AnchoredExp grow_c_exp_;                 // e^{n·tick/τ_c}
  detail::AnchoredOneMinusExp decay_c_, decay_r_;  // 1 − e^{−n·tick/τ_c}, 1 − e^{−n·tick·r}
  // integral_to()'s per-reference factors and what they were computed for.
  struct RefFactors {
    Tick t_ref = -1, epoch = -1, t0 = -1;
    double p0 = 0.0, scale = 1.0, phasic = 0.0;
  };
  mutable RefFactors ref_;
};

}  // namespace sbx
