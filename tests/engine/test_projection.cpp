#include <doctest/doctest.h>

#include "engine/projection.hpp"

using namespace sbx;

TEST_CASE("CSR rows, delay segments and the reverse index") {
  std::vector<SynapseSpec> s = {
      {0, 1, 0.5, 3}, {0, 2, 0.25, 1}, {0, 0, 1.0, 3}, {2, 1, 2.0, 2}, {1, 2, -1.0, 1}};
  SpikeProjection p = build_spike_projection("A->B", 0, 1, 3, 3, 0, s);
  REQUIRE(p.n_synapses() == 5);
  CHECK(p.row_ptr == std::vector<std::uint32_t>{0, 3, 4, 5});
  // Row 0 sorted by delay, caller order kept inside a delay: (0->2,d1), (0->1,d3), (0->0,d3).
  CHECK(p.post[0] == 2);
  CHECK(p.post[1] == 1);
  CHECK(p.post[2] == 0);
  CHECK(p.seg_ptr == std::vector<std::uint32_t>{0, 2, 3, 4});
  CHECK(p.seg_delay == std::vector<Tick>{1, 3, 1, 2});
  CHECK(p.seg_begin == std::vector<std::uint32_t>{0, 1, 3, 4, 5});
  CHECK(p.min_delay() == 1);
  // Reverse index: synapses ending on post 1 are #1 (from 0) and #4 (from 2).
  CHECK(p.col_ptr == std::vector<std::uint32_t>{0, 1, 3, 5});
  const std::vector<std::uint32_t> rev = reverse_synapse_index(p);
  CHECK(rev == std::vector<std::uint32_t>{2, 1, 4, 0, 3});
  CHECK(p.segment_of(0) == 0);
  CHECK(p.segment_of(2) == 1);
  CHECK(p.segment_of(4) == 3);
  CHECK(p.pre_of_syn[4] == 2);
  CHECK(p.weight[4] == doctest::Approx(2.0));
}

TEST_CASE("bad synapses are rejected") {
  CHECK_THROWS(build_spike_projection("x", 0, 0, 2, 2, 0, {{2, 0, 1.0, 1}}));
  CHECK_THROWS(build_spike_projection("x", 0, 0, 2, 2, 0, {{0, 5, 1.0, 1}}));
  CHECK_THROWS(build_spike_projection("x", 0, 0, 2, 2, 0, {{0, 0, 1.0, -1}}));  // delay < 0
}
