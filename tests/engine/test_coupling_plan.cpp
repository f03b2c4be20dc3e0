// CouplingPlan (engine/coupling_plan.hpp): the compiled coupling sum equals the plain
// coupling-by-coupling loop (same additions in the same order per target cell; the two may differ
// in the last bit where the compiler fuses a multiply-add in one and not the other), re-reads the
// weights of touched couplings, catches writes that bypass touch(), knows when it is stale, and
// zeroes every input of the clocked populations.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/coupling_plan.hpp"
#include "engine/errors.hpp"
#include "engine/rng.hpp"

using namespace sbx;

namespace {

// A clocked population whose arrays may be views into shared storage (like HH pool blocks).
class Toy final : public Population {
 public:
  Toy(std::uint32_t n, double* g, double* ge, double* cur, double* out, double* rev)
      : n_(n), g_(g), ge_(ge), cur_(cur), out_(out), rev_(rev) {}
  std::string_view model() const override { return "toy"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  const double* continuous_output() const override { return out_; }
  const double* output_reversal() const override { return rev_; }
  double* conductance_input() override { return g_; }
  double* conductance_reversal_input() override { return ge_; }
  double* current_input() override { return cur_; }
  double* state(std::string_view) override { return nullptr; }
  std::vector<std::string> state_names() const override { return {}; }
  void save_state(std::vector<double>& out) const override { out.clear(); }
  void load_state(std::span<const double>) override {}

 private:
  std::uint32_t n_;
  double *g_, *ge_, *cur_, *out_, *rev_;
};

struct Net {
  // Two populations sharing one array per quantity (adjacent views), a third on its own.
  std::vector<double> g, ge, cur, out, rev;
  std::vector<double> g3, ge3, cur3, out3, rev3;
  std::vector<std::unique_ptr<Toy>> pops;
  std::vector<Population*> ptrs;
  std::vector<ContinuousProjection> conts;
  Net() : g(30), ge(30), cur(30), out(30), rev(30), g3(7), ge3(7), cur3(7), out3(7), rev3(7) {
    Rng r = Rng::stream(5, "plan");
    for (auto* v : {&out, &out3})
      for (double& x : *v) x = r.uniform();
    for (auto* v : {&rev, &rev3})
      for (double& x : *v) x = -80.0 + 90.0 * r.uniform();
    pops.push_back(
        std::make_unique<Toy>(18, g.data(), ge.data(), cur.data(), out.data(), rev.data()));
    pops.push_back(std::make_unique<Toy>(12, g.data() + 18, ge.data() + 18, cur.data() + 18,
                                         out.data() + 18, rev.data() + 18));
    pops.push_back(
        std::make_unique<Toy>(7, g3.data(), ge3.data(), cur3.data(), out3.data(), rev3.data()));
    for (auto& p : pops) ptrs.push_back(p.get());
    // Random couplings between every pair, with repeated targets.
    std::uint32_t id = 0;
    for (std::uint32_t a = 0; a < 3; ++a)
      for (std::uint32_t b = 0; b < 3; ++b)
        for (CouplingKind kind : {CouplingKind::conductance, CouplingKind::current}) {
          ContinuousProjection c;
          c.name = std::to_string(id++);  // ("c" + … trips GCC 12's false -Wrestrict)
          c.pre_population = a;
          c.post_population = b;
          c.kind = kind;
          const std::uint32_t m = 5 + r.below(20);
          for (std::uint32_t k = 0; k < m; ++k) {
            c.pre.push_back(r.below(ptrs[a]->size()));
            c.post.push_back(r.below(ptrs[b]->size()));
            c.weight.push_back(0.1 + r.uniform());
          }
          conts.push_back(std::move(c));
        }
  }
  // The plain loop the simulator used before the plan.
  void reference() {
    for (Population* p : ptrs)
      for (std::uint32_t i = 0; i < p->size(); ++i)
        p->conductance_input()[i] = p->conductance_reversal_input()[i] = p->current_input()[i] =
            0.0;
    for (const ContinuousProjection& c : conts) {
      Population& pre = *ptrs[c.pre_population];
      Population& post = *ptrs[c.post_population];
      for (std::size_t k = 0; k < c.pre.size(); ++k) {
        if (c.kind == CouplingKind::conductance) {
          const double x = c.weight[k] * pre.continuous_output()[c.pre[k]];
          post.conductance_input()[c.post[k]] += x;
          post.conductance_reversal_input()[c.post[k]] += x * pre.output_reversal()[c.pre[k]];
        } else {
          post.current_input()[c.post[k]] += c.weight[k] * pre.continuous_output()[c.pre[k]];
        }
      }
    }
  }
  std::vector<double> inputs() const {
    std::vector<double> v;
    for (const auto* a : {&g, &ge, &cur, &g3, &ge3, &cur3}) v.insert(v.end(), a->begin(), a->end());
    return v;
  }
  void garbage() {
    for (auto* a : {&g, &ge, &cur, &g3, &ge3, &cur3})
      for (double& x : *a) x = 123.0;
  }
};

// An empty conductance coupling named by its number.
ContinuousProjection conductance_coupling(std::uint32_t id, std::uint32_t pre, std::uint32_t post) {
  ContinuousProjection c;
  c.name = std::to_string(id);  // ("c" + … trips GCC 12's false -Wrestrict)
  c.pre_population = pre;
  c.post_population = post;
  c.kind = CouplingKind::conductance;
  return c;
}

}  // namespace

TEST_CASE("coupling plan: bitwise the plain coupling-by-coupling sum") {
  Net net;
  const std::vector<std::uint32_t> clocked = {0, 1, 2};
  CouplingPlan plan;
  CHECK(plan.stale(net.conts));
  plan.build(net.conts, net.ptrs, clocked);
  CHECK_FALSE(plan.stale(net.conts));
  net.reference();
  const std::vector<double> want = net.inputs();
  net.garbage();
  plan.apply();
  const std::vector<double> got = net.inputs();
  REQUIRE(got.size() == want.size());
  int same = 0, nonzero = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    same += got[i] == doctest::Approx(want[i]).epsilon(1e-14);
    nonzero += want[i] != 0.0;
  }
  CHECK(same == static_cast<int>(got.size()));
  CHECK(nonzero > 40);
}

TEST_CASE("coupling plan: weight copies follow touch(), a write behind its back is caught") {
  Net net;
  const std::vector<std::uint32_t> clocked = {0, 1, 2};
  CouplingPlan plan;
  CHECK(plan.needs_check());  // not built
  CHECK_FALSE(plan.check(net.conts));
  plan.build(net.conts, net.ptrs, clocked);
  CHECK_FALSE(plan.needs_check());
  // Learning changes weight values in place; touched couplings are re-read by check().
  for (std::uint32_t c = 0; c < net.conts.size(); ++c) {
    for (double& w : net.conts[c].weight) w *= 1.5;
    plan.touch(c);
  }
  net.out[3] = 7.0;     // presynaptic outputs change every step
  net.rev[20] = -33.0;  // (copied at every apply too)
  net.out3[2] = 0.25;
  CHECK(plan.needs_check());
  CHECK(plan.check(net.conts));
  CHECK_FALSE(plan.needs_check());
  plan.apply();
  std::vector<double> got = net.inputs();
  net.reference();
  std::vector<double> want = net.inputs();
  for (std::size_t i = 0; i < got.size(); ++i)
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-14));
  // Only the touched coupling is re-read: an untouched write is not seen ...
  const std::vector<double> before = want;
  net.conts[0].weight[0] += 1.0;  // not touched
  net.conts[1].weight[0] += 1.0;
  plan.touch(1);
  CHECK(plan.check(net.conts));
  net.garbage();
  plan.apply();
  got = net.inputs();
  net.conts[0].weight[0] -= 1.0;  // the reference without the untouched write
  net.reference();
  want = net.inputs();
  int changed = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-14));
    changed += want[i] != before[i];
  }
  CHECK(changed >= 1);
  // ... and the periodic verification (every check_every steps) throws, naming the coupling.
  net.conts[0].weight[0] += 1.0;
  std::uint32_t calls = 1;
  while (!plan.needs_check()) ++calls;
  // (counted from the build, 3 needs_check() calls ago)
  CHECK(calls == CouplingPlan::check_every - 3);
  try {
    plan.check(net.conts);
    FAIL("no error for a weight written without touch()");
  } catch (const InternalError& e) {
    CHECK(std::string(e.what()).find("coupling '0'") != std::string::npos);
  }
  // The verification also comes when another coupling is touched at every step.
  CouplingPlan busy;
  busy.build(net.conts, net.ptrs, clocked);
  net.conts[0].weight[0] += 1.0;  // behind its back
  bool thrown = false, rebuild_asked = false;
  for (std::uint32_t step = 0; step < CouplingPlan::check_every && !thrown; ++step) {
    busy.touch(1);
    REQUIRE(busy.needs_check());
    try {
      rebuild_asked |= !busy.check(net.conts);
    } catch (const InternalError&) {
      thrown = true;
    }
  }
  CHECK(thrown);
  CHECK_FALSE(rebuild_asked);
}

TEST_CASE(
    "coupling plan: a resized or added coupling rebuilds it, a resize behind its back is caught") {
  Net net;
  const std::vector<std::uint32_t> clocked = {0, 1, 2};
  CouplingPlan plan;
  plan.build(net.conts, net.ptrs, clocked);
  CHECK_FALSE(plan.stale(net.conts));
  // A grown synapse list, touched: check() rebuilds.
  net.conts[0].pre.push_back(0);
  net.conts[0].post.push_back(0);
  net.conts[0].weight.push_back(1.0);
  CHECK(plan.stale(net.conts));
  plan.touch(0);
  CHECK_FALSE(plan.check(net.conts));  // to be rebuilt
  plan.build(net.conts, net.ptrs, clocked);
  CHECK_FALSE(plan.stale(net.conts));
  net.garbage();
  plan.apply();
  const std::vector<double> got = net.inputs();
  net.reference();
  const std::vector<double> want = net.inputs();
  for (std::size_t i = 0; i < got.size(); ++i)
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-14));
  // A new coupling (the simulator invalidates the plan in add_continuous).
  net.conts.push_back(net.conts[1]);
  CHECK(plan.stale(net.conts));
  plan.invalidate();
  CHECK(plan.needs_check());
  CHECK_FALSE(plan.check(net.conts));
  plan.build(net.conts, net.ptrs, clocked);
  CHECK_FALSE(plan.stale(net.conts));
  // Resized without touch(): the periodic check throws instead of summing a stale layout.
  net.conts[2].weight.push_back(1.0);
  net.conts[2].pre.push_back(0);
  net.conts[2].post.push_back(0);
  while (!plan.needs_check()) {
  }
  CHECK_THROWS_AS(plan.check(net.conts), InternalError);
}

TEST_CASE("coupling plan: inputs of clocked populations without couplings are zeroed") {
  Net net;
  net.conts.clear();
  CouplingPlan plan;
  plan.build(net.conts, net.ptrs, std::vector<std::uint32_t>{0, 1, 2});
  net.garbage();
  plan.apply();
  for (double x : net.inputs()) CHECK(x == 0.0);
  // Only clocked populations are zeroed.
  plan.build(net.conts, net.ptrs, std::vector<std::uint32_t>{2});
  net.garbage();
  plan.apply();
  CHECK(net.g[0] == 123.0);
  CHECK(net.g3[6] == 0.0);
}

TEST_CASE("coupling plan: rows of every length, unrolled (1-8) and generic (> 8), in any order") {
  // Target cell i of population 0 gets i + 1 conductance synapses (1 to 18: every unrolled
  // length and the generic loop), interleaved across two couplings so that rows are not built
  // in length order; the plan sorts rows by length, which must not change any sum.
  Net net;
  net.conts.clear();
  Rng r = Rng::stream(9, "lengths");
  for (std::uint32_t part = 0; part < 2; ++part) {
    ContinuousProjection c = conductance_coupling(part, 2, 0);
    for (std::uint32_t i = 17; i + 1 > 0; --i)  // targets in decreasing length
      for (std::uint32_t k = part; k <= i; k += 2) {
        c.pre.push_back(r.below(7));
        c.post.push_back(i);
        c.weight.push_back(0.1 + r.uniform());
      }
    net.conts.push_back(std::move(c));
  }
  CouplingPlan plan;
  plan.build(net.conts, net.ptrs, std::vector<std::uint32_t>{0, 1, 2});
  net.reference();
  const std::vector<double> want = net.inputs();
  net.garbage();
  plan.apply();
  const std::vector<double> got = net.inputs();
  // Same additions in the same order per cell, up to the last bit (the plan fuses w·G into the
  // sum and computes gE as w·(G·E_rev), see coupling_plan.hpp).
  for (std::size_t i = 0; i < got.size(); ++i)
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-14));
  for (std::uint32_t i = 0; i < 18; ++i) CHECK(net.g[i] > 0.0);
}

#if defined(__FMA__)
TEST_CASE(
    "coupling plan: each row is exactly its entries' fused multiply-adds from 0.0, in order") {
  // Rows of different lengths from three couplings, targets in random order: every sum equals the
  // sequential std::fma loop over the row's synapses bit for bit (whatever the plan's grouping,
  // unrolling or vector width).
  Net net;
  net.conts.clear();
  Rng r = Rng::stream(11, "fma");
  for (std::uint32_t part = 0; part < 3; ++part) {
    ContinuousProjection c = conductance_coupling(part, part == 2 ? 2 : 0, part == 2 ? 2 : 1);
    const std::uint32_t n_post = part == 2 ? 7 : 12;
    for (std::uint32_t k = 0; k < 40 + 30 * part; ++k) {
      c.pre.push_back(r.below(part == 2 ? 7 : 18));
      c.post.push_back(r.below(n_post) % (1 + r.below(n_post)));  // skewed: lengths differ
      c.weight.push_back(r.uniform() - 0.3);
    }
    net.conts.push_back(std::move(c));
  }
  CouplingPlan plan;
  plan.build(net.conts, net.ptrs, std::vector<std::uint32_t>{0, 1, 2});
  net.garbage();
  plan.apply();
  std::vector<double> g(30, 0.0), ge(30, 0.0), g3(7, 0.0), ge3(7, 0.0);
  for (const ContinuousProjection& c : net.conts) {
    const bool third = c.post_population == 2;
    const double* out = third ? net.out3.data() : net.out.data();
    const double* rev = third ? net.rev3.data() : net.rev.data();
    double* tg = third ? g3.data() : g.data() + 18;
    double* tge = third ? ge3.data() : ge.data() + 18;
    for (std::size_t k = 0; k < c.pre.size(); ++k) {
      tg[c.post[k]] = std::fma(c.weight[k], out[c.pre[k]], tg[c.post[k]]);
      tge[c.post[k]] = std::fma(c.weight[k], out[c.pre[k]] * rev[c.pre[k]], tge[c.post[k]]);
    }
  }
  int rows = 0;
  for (std::size_t i = 18; i < 30; ++i) {
    CHECK(net.g[i] == g[i]);
    CHECK(net.ge[i] == ge[i]);
    rows += g[i] != 0.0;
  }
  for (std::size_t i = 0; i < 7; ++i) {
    CHECK(net.g3[i] == g3[i]);
    CHECK(net.ge3[i] == ge3[i]);
    rows += g3[i] != 0.0;
  }
  CHECK(rows >= 12);
}
#endif
