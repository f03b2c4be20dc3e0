// Connection rules: degrees, statistics against closed forms, autapses, determinism.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "circuits/connect.hpp"

using namespace sbx;
using namespace sbx::circuits;

namespace {

std::vector<std::uint32_t> in_degrees(const std::vector<SynapseSpec>& s, std::uint32_t n_post) {
  std::vector<std::uint32_t> d(n_post, 0);
  for (const auto& x : s) ++d[x.post];
  return d;
}
std::vector<std::uint32_t> out_degrees(const std::vector<SynapseSpec>& s, std::uint32_t n_pre) {
  std::vector<std::uint32_t> d(n_pre, 0);
  for (const auto& x : s) ++d[x.pre];
  return d;
}
bool no_duplicates(const std::vector<SynapseSpec>& s) {
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  for (const auto& x : s)
    if (!seen.insert({x.pre, x.post}).second) return false;
  return true;
}

}  // namespace

TEST_CASE("hypergeometric degrees follow neuroblox_models.md §2.3") {
  auto h = hypergeometric_degrees(20, 10, 0.1);
  CHECK(h.n_connections == doctest::Approx(20.0));
  CHECK(h.out_max == 1);
  CHECK(h.in_degree == 2);
  h = hypergeometric_degrees(10, 5, 0.04);
  CHECK(h.n_connections == doctest::Approx(2.0));
  CHECK(h.out_max == 1);
  CHECK(h.in_degree == 1);
  h = hypergeometric_degrees(100, 50, 0.05);  // N_c = 250 -> out_max 3, in_deg 5
  CHECK(h.out_max == 3);
  CHECK(h.in_degree == 5);
}

TEST_CASE("hypergeometric VAC(20) -> AC(10), d = 0.1: in-degree 2, out-degree exactly 1") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    const auto s = connect_hypergeometric(20, 10, 0.1, false, rng);
    CHECK(s.size() == 20);
    CHECK(no_duplicates(s));
    for (auto d : in_degrees(s, 10)) CHECK(d == 2);
    for (auto d : out_degrees(s, 20)) CHECK(d == 1);
  }
}

TEST_CASE("hypergeometric AC(10) -> STR(5), d = 0.04: in-degree 1, distinct sources") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    const auto s = connect_hypergeometric(10, 5, 0.04, false, rng);
    CHECK(s.size() == 5);
    for (auto d : in_degrees(s, 5)) CHECK(d == 1);
    for (auto d : out_degrees(s, 10)) CHECK(d <= 1);
  }
}

TEST_CASE("hypergeometric: sources exhaust when in_deg*N_dst exceeds out_max*N_src") {
  // N_c = 0.3*7*10 = 21 -> out_max 3, in_deg 3: 7 targets want 21 <= 30 slots; every target
  // gets 3 and no source exceeds 3.
  Rng rng(5);
  const auto s = connect_hypergeometric(10, 7, 0.3, false, rng);
  CHECK(s.size() == 21);
  for (auto d : in_degrees(s, 7)) CHECK(d == 3);
  for (auto d : out_degrees(s, 10)) CHECK(d <= 3);
  // Self-connections excluded on a recurrent edge.
  Rng rng2(6);
  const auto r = connect_hypergeometric(10, 10, 0.2, true, rng2);
  for (const auto& x : r) CHECK(x.pre != x.post);
}

TEST_CASE("bernoulli: synapse count within 4 binomial sigmas, no duplicates") {
  struct Case {
    std::uint32_t n_pre, n_post;
    double p;
  };
  for (const Case c : {Case{200, 300, 0.1}, Case{1000, 1000, 0.5}, Case{2000, 1000, 0.001}}) {
    Rng rng(42);
    const auto s = connect_bernoulli(c.n_pre, c.n_post, c.p, false, rng);
    const double n = static_cast<double>(c.n_pre) * c.n_post;
    const double mean = n * c.p, sd = std::sqrt(n * c.p * (1 - c.p));
    CHECK(std::fabs(static_cast<double>(s.size()) - mean) < 4 * sd);
    CHECK(no_duplicates(s));
  }
}

TEST_CASE("bernoulli: every pair is equally likely (per-target in-degrees)") {
  // 50 pre, 40 post, p = 0.2, pooled over 200 seeds: each post's in-degree count is
  // Binomial(50*200, 0.2): mean 2000, sd 40.
  std::vector<double> indeg(40, 0.0);
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    Rng rng(seed);
    for (const auto& x : connect_bernoulli(50, 40, 0.2, false, rng)) indeg[x.post] += 1;
  }
  for (double d : indeg) CHECK(std::fabs(d - 2000.0) < 4 * 40.0);
}

TEST_CASE("bernoulli without autapses never connects i -> i") {
  Rng rng(3);
  const auto s = connect_bernoulli(100, 100, 0.3, true, rng);
  for (const auto& x : s) CHECK(x.pre != x.post);
  const double n = 9900, mean = n * 0.3, sd = std::sqrt(n * 0.3 * 0.7);
  CHECK(std::fabs(static_cast<double>(s.size()) - mean) < 4 * sd);
  Rng r1(1);
  CHECK(connect_bernoulli(10, 10, 1.0, true, r1).size() == 90);
  CHECK(connect_bernoulli(10, 10, 0.0, false, r1).empty());
}

TEST_CASE("fixed_indegree: exactly k distinct inputs per target") {
  for (std::uint32_t k : {1u, 5u, 60u, 99u}) {
    Rng rng(k);
    const auto s = connect_fixed_indegree(100, 30, k, false, rng);
    CHECK(s.size() == 30u * k);
    CHECK(no_duplicates(s));
    for (auto d : in_degrees(s, 30)) CHECK(d == k);
  }
  // Without autapses, k = n - 1 connects everything but i -> i.
  Rng rng(9);
  const auto s = connect_fixed_indegree(20, 20, 19, true, rng);
  CHECK(s.size() == 380);
  CHECK(no_duplicates(s));
  for (const auto& x : s) CHECK(x.pre != x.post);
  CHECK_THROWS_AS(connect_fixed_indegree(20, 20, 20, true, rng), std::invalid_argument);
}

TEST_CASE("fixed_indegree: sources are uniform over the presynaptic population") {
  // 20 sources, k = 3, 2000 targets: each source count ~ Binomial-like with mean 300.
  Rng rng(11);
  const auto s = connect_fixed_indegree(20, 2000, 3, false, rng);
  const auto out = out_degrees(s, 20);
  const double sd = std::sqrt(2000 * 0.15 * 0.85);
  for (auto d : out) CHECK(std::fabs(d - 300.0) < 4 * sd);
}

TEST_CASE("all_to_all and one_to_one") {
  CHECK(connect_all_to_all(4, 5, false).size() == 20);
  const auto s = connect_all_to_all(5, 5, true);
  CHECK(s.size() == 20);
  for (const auto& x : s) CHECK(x.pre != x.post);
  const auto o = connect_one_to_one(7);
  REQUIRE(o.size() == 7);
  for (std::uint32_t i = 0; i < 7; ++i) CHECK((o[i].pre == i && o[i].post == i));
}

TEST_CASE("same seed, same synapses, another seed, other synapses") {
  ConnectionDesc c;
  c.from.assign(1, 'A');
  c.to.assign(1, 'B');
  c.name = c.from + "->" + c.to;
  c.rule = "bernoulli";
  c.density = 0.1;
  c.weight = Distribution::uniform(0.5, 1.5);
  c.delay = Distribution::normal(1.0, 0.2);
  TimeGrid grid(0.1);
  auto draw = [&](std::uint64_t seed) {
    Rng rng = Rng::stream(seed, c.name);
    return make_synapses(c, 100, 80, grid, rng);
  };
  const auto a = draw(7), b = draw(7), other = draw(8);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    CHECK((a[i].pre == b[i].pre && a[i].post == b[i].post && a[i].weight == b[i].weight &&
           a[i].delay == b[i].delay));
  bool differs = other.size() != a.size();
  for (std::size_t i = 0; !differs && i < a.size(); ++i)
    differs = a[i].pre != other[i].pre || a[i].post != other[i].post;
  CHECK(differs);
  for (const auto& x : a) {
    CHECK(x.weight >= 0.5);
    CHECK(x.weight < 1.5);
    CHECK(x.delay >= 1);
  }
}

TEST_CASE(
    "delays: scalars exact on the grid (0 allowed), draws rounded to it and at least one tick") {
  TimeGrid grid(0.1);
  std::vector<SynapseSpec> s(1000);
  Rng rng(1);
  assign_delays(s, Distribution::constant(1.5), grid, rng);
  for (const auto& x : s) CHECK(x.delay == 15);
  CHECK_THROWS_AS(assign_delays(s, Distribution::constant(0.15), grid, rng), std::invalid_argument);
  assign_delays(s, Distribution::constant(0.0), grid, rng);  // Brian2's "no delay"
  for (const auto& x : s) CHECK(x.delay == 0);
  CHECK_THROWS_AS(assign_delays(s, Distribution::constant(-0.1), grid, rng), std::invalid_argument);
  assign_delays(s, Distribution::uniform(0.1, 0.3), grid, rng);
  std::set<Tick> seen;
  for (const auto& x : s) seen.insert(x.delay);
  CHECK(seen == std::set<Tick>{1, 2, 3});
  assign_delays(s, Distribution::normal(0.1, 1.0), grid, rng);
  for (const auto& x : s) CHECK(x.delay >= 1);
}

TEST_CASE("uniform weights: sample mean within 4 standard errors") {
  std::vector<SynapseSpec> s(10000);
  Rng rng(2);
  assign_weights(s, Distribution::uniform(1.0, 3.0), rng);
  double sum = 0;
  for (const auto& x : s) sum += x.weight;
  const double se = (2.0 / std::sqrt(12.0)) / std::sqrt(10000.0);
  CHECK(std::fabs(sum / 10000.0 - 2.0) < 4 * se);
  // A constant draws nothing from the stream.
  Rng a(5), b(5);
  assign_weights(s, Distribution::constant(0.7), a);
  CHECK(a.next_u64() == b.next_u64());
}
