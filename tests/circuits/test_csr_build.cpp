// List-free CSR construction (circuits/connect.hpp make_spike_projection, engine/projection.hpp
// SpikeProjectionBuilder) and the presynaptic index that static projections do not store.
//   - the two-pass build gives the same arrays and the same final stream position as
//     build_spike_projection(make_synapses(...)) for every rule, weight and delay kind;
//   - PresynapticIndex read from the row pointers equals the stored index, also after copies and
//     moves of the projection (the view is re-pointed);
//   - bytes per static synapse: 8 + per-row arrays (12 with the stored index).
#include <doctest/doctest.h>

#include <utility>
#include <vector>

#include "circuits/connect.hpp"

using namespace sbx;
using namespace sbx::circuits;

namespace {

ConnectionDesc edge(std::string rule, Distribution w, std::optional<Distribution> d) {
  ConnectionDesc c;
  // Move-assigned strings: assigning a literal trips GCC 12's false -Wrestrict (PR 105329).
  c.from = std::string("A");
  c.to = std::string("A");
  c.name = std::string("A->A");
  c.rule = std::move(rule);
  c.density = 0.1;
  c.indegree = 7;
  c.weight = w;
  c.delay = d;
  c.receptor = 1;
  return c;
}

void check_same(const SpikeProjection& a, const SpikeProjection& b) {
  CHECK(a.row_ptr == b.row_ptr);
  CHECK(a.post == b.post);
  CHECK(a.weight == b.weight);
  CHECK(a.seg_ptr == b.seg_ptr);
  CHECK(a.seg_begin == b.seg_begin);
  CHECK(a.seg_delay == b.seg_delay);
  CHECK(a.col_ptr == b.col_ptr);
  CHECK(a.receptor == b.receptor);
}

}  // namespace

TEST_CASE("two-pass CSR build equals the list build: arrays and stream position") {
  const TimeGrid grid(0.1);
  const std::vector<Distribution> weights = {
      Distribution::constant(0.5), Distribution::uniform(0.1, 0.9), Distribution::normal(1.0, 0.2)};
  const std::vector<std::optional<Distribution>> delays = {
      std::nullopt, Distribution::constant(1.5), Distribution::uniform(0.1, 3.0)};
  int cases = 0;
  for (const std::string rule :
       {"all_to_all", "one_to_one", "bernoulli", "fixed_indegree", "hypergeometric"}) {
    for (const auto& w : weights) {
      for (const auto& d : delays) {
        CAPTURE(rule);
        const ConnectionDesc c = edge(rule, w, d);
        Rng r1 = Rng::stream(7, "edge"), r2 = r1;
        const std::uint32_t n = 60;
        const SpikeProjection list = build_spike_projection(
            c.name, 0, 0, n, n, c.receptor, make_synapses(c, n, n, grid, r1), PreIndex::store);
        const SpikeProjection two = make_spike_projection(c, 0, 0, n, n, grid, r2);
        REQUIRE(two.n_synapses() > 0);
        check_same(list, two);
        CHECK(r1.next_u64() == r2.next_u64());  // both leave the stream at the same position
        if (d && !d->is_constant() && rule != "one_to_one")
          CHECK(two.n_segments() > two.n_pre);  // rows really are split into delay segments
        ++cases;
      }
    }
  }
  CHECK(cases == 45);
}

TEST_CASE("two-pass builder rejects a second pass that differs from the first") {
  SpikeProjectionBuilder b("x", 0, 0, 3, 3, 0);
  CHECK_THROWS(b.count(3, 0));
  b.count(0, 1);
  b.count(0, 2);
  b.start_fill(Tick{10});
  CHECK_THROWS(b.place(0, 1, 1.0, 11));  // not the announced common delay
  b.place(0, 1, 1.0, 10);
  CHECK_THROWS(b.place(1, 1, 1.0, 10));  // row 1 was never counted
  CHECK_THROWS(b.finish());              // one synapse still missing
  SpikeProjectionBuilder neg("y", 0, 0, 1, 1, 0);
  neg.count(0, 0);
  CHECK_THROWS(neg.start_fill(Tick{-1}));
}

TEST_CASE("presynaptic index from the row pointers equals the stored one, across copies") {
  // Rows 0 and 3 empty, rows of 3, 1 and 2 synapses: pre = 1 1 1 2 4 4.
  std::vector<SynapseSpec> s = {{2, 0, 1.0, 5}, {1, 0, 1.0, 5}, {4, 1, 1.0, 5},
                                {1, 2, 1.0, 7}, {1, 1, 1.0, 5}, {4, 0, 1.0, 5}};
  SpikeProjection v = build_spike_projection("a", 0, 1, 5, 3, 0, s, PreIndex::view);
  const std::vector<std::uint32_t> want = {1, 1, 1, 2, 4, 4};
  CHECK_FALSE(v.pre_of_syn.stored());
  CHECK(v.pre_of_syn.size() == 6);
  for (std::size_t k = 0; k < want.size(); ++k) CHECK(v.pre_of_syn[k] == want[k]);
  CHECK(std::vector<std::uint32_t>(v.pre_of_syn.begin(), v.pre_of_syn.end()) == want);
  CHECK(v.memory_bytes() == 6 * 8 + (6 + 6 + 4) * 4 + 5 * 4 + 4 * 8);  // no per-synapse index

  SpikeProjection copy;
  {
    SpikeProjection tmp = v;  // copy, then the original copy dies: the view must follow
    copy = tmp;
  }
  SpikeProjection moved = std::move(copy);
  std::vector<SpikeProjection> many;
  for (int i = 0; i < 20; ++i) many.push_back(moved);  // reallocations move the elements
  for (const auto& p : many)
    CHECK(std::vector<std::uint32_t>(p.pre_of_syn.begin(), p.pre_of_syn.end()) == want);

  const std::uint32_t* data = v.pre_of_syn.data();  // materialises the array
  CHECK(v.pre_of_syn.stored());
  CHECK(std::vector<std::uint32_t>(data, data + 6) == want);
  CHECK(v.memory_bytes() == 6 * 8 + (6 + 6 + 4) * 4 + 5 * 4 + 4 * 8 + 6 * 4);
  SpikeProjection st = build_spike_projection("b", 0, 1, 5, 3, 0, s);  // default: stored
  CHECK(st.pre_of_syn.stored());
  for (std::size_t k = 0; k < want.size(); ++k) CHECK(st.pre_of_syn[k] == want[k]);

  SpikeProjection empty = build_spike_projection("e", 0, 1, 4, 3, 0, {}, PreIndex::view);
  CHECK(empty.pre_of_syn.begin() == empty.pre_of_syn.end());
  CHECK(empty.pre_of_syn.size() == 0);
}

TEST_CASE("static synapse storage: 8 bytes + per-row arrays without the presynaptic index") {
  // fixed in-degree 200 from 1000 onto 1000: 200 synapses per row on average, one delay.
  ConnectionDesc c = edge("fixed_indegree", Distribution::constant(0.5), std::nullopt);
  c.indegree = 200;
  c.to = std::string("B");  // autapses allowed
  Rng rng = Rng::stream(3, "storage");
  const SpikeProjection p = make_spike_projection(c, 0, 1, 1000, 1000, TimeGrid(0.1), rng);
  const double n = static_cast<double>(p.n_synapses());
  REQUIRE(n == 200000.0);
  // post (4) + weight (4); per pre neuron row_ptr + seg_ptr + seg_begin (4 each) + seg_delay (8),
  // per post neuron col_ptr (4): 24 bytes per 200 synapses.
  CHECK(static_cast<double>(p.memory_bytes()) / n ==
        doctest::Approx(8.0 + 24.0 / 200).epsilon(1e-3));
  // Targets within a row come out sorted (the rule draws post-major), so delivery walks the
  // target buffer forwards.
  for (std::uint32_t i = 0; i < p.n_pre; ++i)
    for (std::uint32_t k = p.row_ptr[i] + 1; k < p.row_ptr[i + 1]; ++k)
      REQUIRE(p.post[k - 1] < p.post[k]);
}
