// ThreeFactorStdp's 24-byte form (circuits/plasticity.hpp, session 5: ĉ in f32, no per-synapse
// K(t_k) — proj.weight holds a virtual weight relative to K at the segment's last presynaptic
// pass) against the 32-byte rule it replaced (eager_reference.hpp, a verbatim copy): the same
// weights and eligibilities up to f32 rounding on random spike trains with several delays per
// row, same-tick pre/post events in both orders, epoch rebases, both bounds reached, and a
// dopamine-like and an RPE-like (sign-changing) modulator. Also: the packed column layout gives
// the wide one's results bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "circuits/plasticity.hpp"
#include "engine/rng.hpp"
#include "tests/plasticity/eager_reference.hpp"
#include "tests/plasticity/random_projection.hpp"

using namespace sbx;
using test::random_projection;

namespace {

// Random event stream: at each tick, tick(t) first (modulator pulses), then each post neuron fires
// with p_post and each segment is delivered with p_pre (post spikes first or pre first at random:
// both same-tick orders occur).
template <class Tk, class Post, class Pre>
void drive(Rng& rng, const SpikeProjection& p, Tick end, double p_post, double p_pre, Tk&& tick,
           Post&& post, Pre&& pre) {
  for (Tick t = 1; t < end; ++t) {
    tick(t);
    const bool post_first = rng.uniform() < 0.5;
    auto posts = [&] {
      for (std::uint32_t j = 0; j < p.n_post; ++j)
        if (rng.uniform() < p_post) post(j, t);
    };
    if (post_first) posts();
    for (std::uint32_t s = 0; s < p.n_segments(); ++s)
      if (rng.uniform() < p_pre) pre(s, t);
    if (!post_first) posts();
  }
}

struct Compared {
  double max_dw = 0, max_dc = 0, max_c = 0;
  std::size_t moved = 0, at_bound = 0;
  // The packed column layout against the wide one (the same rule, the same events): synapses
  // whose stored weight or eligibility differ in any bit; must be 0.
  std::size_t layout_differs = 0;
  bool packed = false, wide = true;
};

Compared compare(Modulator& m, ThreeFactorParams prm, std::uint64_t seed, Tick end,
                 double p_post = 0.003, double p_pre = 0.002, bool rpe = true,
                 std::uint64_t* skipped = nullptr) {
  const TimeGrid grid(0.1);
  Rng rng = Rng::stream(seed, "rstdp-24b");
  SpikeProjection a = random_projection(30, 10, 12, 3, 1.0, rng);
  SpikeProjection b = a, bw = a;
  eager_ref::ThreeFactorStdp ref(a, prm, m, grid);
  ThreeFactorStdp r(b, prm, m, grid);
  ThreeFactorStdp rw(bw, prm, m, grid, ColumnLayout::wide);
  Compared out;
  out.packed = r.packed_columns();
  out.wide = !rw.packed_columns();
  drive(
      rng, a, end, p_post, p_pre,
      [&](Tick t) {  // a reward or (RPE-like) punishment every 150 ms
        if (t % 1500 == 700) m.pulse(t, !rpe || rng.uniform() < 0.5 ? 2.0 : -1.5);
      },
      [&](std::uint32_t j, Tick t) {
        ref.on_post(a, j, t), r.on_post(b, j, t), rw.on_post(bw, j, t);
      },
      [&](std::uint32_t s, Tick t) {
        ref.on_pre_segment(a, s, t), r.on_pre_segment(b, s, t), rw.on_pre_segment(bw, s, t);
        // What is delivered: proj.weight of the segment right after on_pre equals the weight.
        for (std::uint32_t k = a.seg_begin[s]; k < a.seg_begin[s + 1]; ++k)
          out.max_dw = std::max(out.max_dw, std::abs(double(a.weight[k]) - double(b.weight[k])));
      });
  for (std::size_t k = 0; k < a.n_synapses(); ++k) {
    const double ca = ref.eligibility(k, end), cb = r.eligibility(k, end);
    out.max_dc = std::max(out.max_dc, std::abs(ca - cb));
    out.max_c = std::max(out.max_c, std::abs(ca));
    const double wb = r.weight(b, k, end);  // computed from the virtual weight
    ref.weight(a, k, end);
    out.max_dw = std::max(out.max_dw, std::abs(double(a.weight[k]) - wb));
  }
  if (skipped) *skipped = r.ltp_skipped();
  for (std::size_t k = 0; k < a.n_synapses(); ++k)
    out.layout_differs +=
        b.weight[k] != bw.weight[k] || r.eligibility(k, end) != rw.eligibility(k, end);
  CHECK(r.ltp_skipped() == rw.ltp_skipped());
  ref.sync_all(a, end);
  r.sync_all(b, end);
  for (std::size_t k = 0; k < a.n_synapses(); ++k) {
    out.max_dw = std::max(out.max_dw, std::abs(double(a.weight[k]) - double(b.weight[k])));
    out.moved += a.weight[k] != 1.0f;
    out.at_bound += a.weight[k] == float(prm.w_min) || a.weight[k] == float(prm.w_max);
  }
  return out;
}

}  // namespace

TEST_CASE("rstdp 24-byte form equals the 32-byte rule up to f32 rounding (dopamine, RPE)") {
  const TimeGrid grid(0.1);
  ThreeFactorParams prm;
  prm.tau_c = 60.0;  // rebase every 600 ms: ~5 rebases in 3 s
  prm.w_min = 0.9, prm.w_max = 1.1;
  for (int kind = 0; kind < 2; ++kind) {
    CAPTURE(kind);
    Modulator m(kind == 0 ? "dopamine" : "rpe", 0.01, 50.0, grid);
    const Compared c = compare(m, prm, 21 + kind, 30000);
    CHECK(c.moved > 300);    // of 360 synapses: learning happened
    CHECK(c.at_bound > 10);  // and reached the bounds
    CHECK(c.max_c > 0.01);   // eligibilities of the order of A+ = 0.1 (scaled back)
    // f32: ulp(1.1) = 1.2e-7; measured 4.8e-7 / 3.6e-7 (≤ 4 ulp) for weights, 5e-8 / 4e-8 of
    // the largest eligibility (ĉ in f32: 6e-8 relative per rounding).
    CHECK(c.max_dw < 2e-6);
    CHECK(c.max_dc < 2e-7 * c.max_c);
    CHECK(c.packed);
    CHECK(c.wide);
    CHECK(c.layout_differs == 0);
  }
}

TEST_CASE("rstdp: 8 bytes of rule state per synapse with packed columns, 12 with wide ones") {
  const TimeGrid grid(0.1);
  Rng rng = Rng::stream(3, "storage");
  SpikeProjection p = random_projection(1000, 1000, 200, 1, 0.5, rng);
  const double n = static_cast<double>(p.n_synapses());
  Modulator da("dopamine", 0.0, 200.0, grid);
  // ĉ (4) + column entry {synapse, segment}: one u32 (200 000 synapses: 18 bits; 1000 segments:
  // 10 bits) or two; per segment start, K_s, pre trace and per post neuron trace: (4+8+8+8)/200.
  ThreeFactorStdp t(p, ThreeFactorParams{}, da, grid);
  CHECK(t.packed_columns());
  CHECK(static_cast<double>(t.memory_bytes()) / n ==
        doctest::Approx(8.0 + 28.0 / 200).epsilon(0.01));
  CHECK((static_cast<double>(p.memory_bytes()) + static_cast<double>(t.memory_bytes())) / n <=
        20.3);
  ThreeFactorStdp wide(p, ThreeFactorParams{}, da, grid, ColumnLayout::wide);
  CHECK_FALSE(wide.packed_columns());
  CHECK(static_cast<double>(wide.memory_bytes()) / n ==
        doctest::Approx(12.0 + 28.0 / 200).epsilon(0.01));
}

TEST_CASE("rstdp: column entries are packed only when every synapse and segment index fits") {
  Rng rng = Rng::stream(4, "shift");
  // 360 synapses (indices 0..359: 9 bits) and 90 segments: packed with the synapse in 9 bits.
  const SpikeProjection small = random_projection(30, 10, 12, 3, 1.0, rng);
  REQUIRE(small.n_synapses() == 360);
  CHECK(detail::packed_column_shift(small) == 9);
  const detail::PackedColumn l{9};
  const detail::ColEntry e{359, 89};
  CHECK(l.syn(l.encode(e)) == 359);
  CHECK(l.seg(l.encode(e)) == 89);
  // The largest indices that fit: a 31-bit synapse index leaves one bit for the segment.
  const detail::PackedColumn top{31};
  const detail::ColEntry big{0x7FFFFFFFu, 1};
  CHECK(top.syn(top.encode(big)) == 0x7FFFFFFFu);
  CHECK(top.seg(top.encode(big)) == 1);
  // 2^16 + 1 synapses (17 bits) over 2^15 + 1 segments (16 bits): 33 bits, wide.
  // (packed_column_shift reads only the synapse and segment counts.)
  SpikeProjection p;
  p.post.assign((1u << 16) + 1, 0);
  p.seg_delay.assign((1u << 15) + 1, 1);
  CHECK(detail::packed_column_shift(p) == 0);
  // One segment fewer fits: 17 + 15 bits.
  p.seg_delay.pop_back();
  CHECK(detail::packed_column_shift(p) == 17);
  // Exactly 2^17 synapses still take 17 bits (the largest index is 2^17 - 1).
  p.post.assign(1u << 17, 0);
  CHECK(detail::packed_column_shift(p) == 17);
}

TEST_CASE("rstdp: sync_weights mid-run makes proj.weight current and changes nothing after") {
  // Code that reads or writes proj.weight as a whole mid-run (pruning in apps/run_episodes.cpp)
  // calls SpikeLearningRule::sync_weights first: the stored values are virtual weights otherwise.
  const TimeGrid grid(0.1);
  ThreeFactorParams prm;
  prm.w_min = 0.0, prm.w_max = 2.0;
  Modulator m("dopamine", 0.01, 50.0, grid);
  Rng rng = Rng::stream(7, "rstdp-sync");
  SpikeProjection a = random_projection(30, 10, 12, 3, 1.0, rng);
  SpikeProjection b = a;
  ThreeFactorStdp ra(a, prm, m, grid), rb(b, prm, m, grid);
  SpikeLearningRule& base = rb;
  const Tick mid = 15000, end = 30000;
  double max_virtual = 0.0, max_after_sync = 0.0, max_end = 0.0;
  drive(
      rng, a, end, 0.003, 0.002,
      [&](Tick t) {
        if (t % 1500 == 700) m.pulse(t, 2.0);
        if (t == mid) {
          for (std::size_t k = 0; k < b.n_synapses(); ++k)
            max_virtual = std::max(max_virtual, std::abs(b.weight[k] - rb.weight(b, k, t)));
          base.sync_weights(b, t);
          for (std::size_t k = 0; k < b.n_synapses(); ++k)
            max_after_sync = std::max(max_after_sync, std::abs(b.weight[k] - rb.weight(b, k, t)));
        }
      },
      [&](std::uint32_t j, Tick t) { ra.on_post(a, j, t), rb.on_post(b, j, t); },
      [&](std::uint32_t s, Tick t) { ra.on_pre_segment(a, s, t), rb.on_pre_segment(b, s, t); });
  for (std::size_t k = 0; k < a.n_synapses(); ++k)
    max_end = std::max(max_end, std::abs(ra.weight(a, k, end) - rb.weight(b, k, end)));
  CHECK(max_virtual > 1e-3);     // before the sync the stored values are not the weights
  CHECK(max_after_sync == 0.0);  // after it they are
  CHECK(max_end < 1e-6);         // and the run goes on as without the sync (f32 rounding)
}

TEST_CASE("rstdp: skipping potentiation from traces below 2^-24 keeps the 32-byte rule's weights") {
  // Sparse presynaptic firing (2 Hz per segment, 30 Hz post): about half of the post spikes find
  // a segment's trace below 2^-24 (> 333 ms since its spike) and skip it. With a modulator
  // declared non-negative the skip is exact up to the dropped < 2^-24·A+ (the same f32 bounds as
  // the test above); the reference potentiates every synapse at every post spike.
  const TimeGrid grid(0.1);
  ThreeFactorParams prm;
  prm.tau_c = 60.0;
  prm.w_min = 0.9, prm.w_max = 1.1;
  Modulator m("dopamine", 0.01, 50.0, grid);
  m.declare_nonnegative();  // rewards only: the rule may skip
  std::uint64_t skipped = 0;
  const Compared c = compare(m, prm, 31, 60000, 0.003, 0.0002, false, &skipped);
  CHECK(skipped > 1000);  // of ~5400 column entries visited
  CHECK(c.moved > 300);
  CHECK(c.at_bound > 10);
  CHECK(c.max_dw < 2e-6);
  CHECK(c.max_dc < 2e-7 * c.max_c);
  CHECK(c.layout_differs == 0);
}
