// In-process checkpoint tests (issue 7): the byte stream's bounds checks and a save / load round
// trip of the category experiment that must continue bit-identically.
#include <doctest/doctest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/state_stream.hpp"
#include "envs/category_experiment.hpp"

using namespace sbx;

namespace {

CategoryExperimentSpec short_spec() {
  CategoryExperimentSpec s;
  s.seed = 5;
  s.t_stimulus = 300.0;
  s.t_warmup = 100.0;
  return s;
}

ClassificationEnvironment make_env(std::size_t n_trials) {
  DotPatternSpec g;
  g.n_images = 40;
  Rng r = Rng::stream(5, "stim");
  return ClassificationEnvironment(generate_dot_patterns(g, r), n_trials, TrialOrder::shuffled,
                                   Rng::stream(5, "environment"));
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

void check_rows_equal(const CategoryTrialRow& a, const CategoryTrialRow& b) {
  CHECK(a.trial == b.trial);
  CHECK(a.stimulus == b.stimulus);
  CHECK(a.action == b.action);
  CHECK(same_bits(a.dopamine, b.dopamine));
  CHECK(same_bits(a.rpe, b.rpe));
  CHECK(same_bits(a.start_time, b.start_time));
  CHECK(same_bits(a.tan_spikes[0], b.tan_spikes[0]));
  CHECK(same_bits(a.matrisome_drive[1], b.matrisome_drive[1]));
}

}  // namespace

TEST_CASE("state stream: values round-trip bit for bit, truncation and wrong tags throw") {
  StateWriter w;
  w.tag("x");
  w.put<double>(-0.0);
  w.put<std::uint64_t>(42);
  w.put_string("name");
  w.put_vector(std::vector<double>{1.5, std::nan("")});
  StateReader r(w.bytes());
  r.expect_tag("x");
  const double z = r.get<double>();
  CHECK(std::signbit(z));
  CHECK(r.get<std::uint64_t>() == 42);
  CHECK(r.get_string() == "name");
  const auto v = r.get_vector<double>();
  REQUIRE(v.size() == 2);
  CHECK(std::isnan(v[1]));
  CHECK(r.at_end());
  CHECK_THROWS_AS(r.get<std::uint8_t>(), std::runtime_error);

  for (std::size_t cut = 0; cut < w.bytes().size(); ++cut) {  // every truncation is caught
    StateReader t(std::string_view(w.bytes()).substr(0, cut));
    CHECK_THROWS_AS(
        {
          t.expect_tag("x");
          (void)t.get<double>();
          (void)t.get<std::uint64_t>();
          (void)t.get_string();
          (void)t.get_vector<double>();
        },
        std::runtime_error);
  }
  StateReader wrong(w.bytes());
  CHECK_THROWS_AS(wrong.expect_tag("y"), std::runtime_error);
}

TEST_CASE("category experiment: a checkpoint after 3 trials continues bit-identically") {
  const std::size_t n = 7;
  CategoryExperiment a(short_spec(), make_env(n));
  std::vector<CategoryTrialRow> rows_a;
  for (int k = 0; k < 3; ++k) rows_a.push_back(a.run_trial());
  StateWriter w;
  a.save_checkpoint(w);
  while (!a.environment().done()) rows_a.push_back(a.run_trial());

  CategoryExperiment b(short_spec(), make_env(n));
  StateReader r(w.bytes());
  b.load_checkpoint(r);
  CHECK(r.at_end());
  CHECK(b.trials_done() == 3);
  std::vector<CategoryTrialRow> rows_b;
  while (!b.environment().done()) rows_b.push_back(b.run_trial());
  REQUIRE(rows_b.size() == n - 3);
  for (std::size_t k = 0; k < rows_b.size(); ++k) check_rows_equal(rows_a[k + 3], rows_b[k]);
  auto wa = a.plastic_weights();
  auto wb = b.plastic_weights();
  REQUIRE(wa.size() == wb.size());
  for (std::size_t e = 0; e < wa.size(); ++e)
    CHECK(std::memcmp(wa[e].weight.data(), wb[e].weight.data(), wa[e].weight.size_bytes()) == 0);
}

TEST_CASE("category experiment: a checkpoint does not fit another seed or a used experiment") {
  CategoryExperiment a(short_spec(), make_env(4));
  (void)a.run_trial();
  StateWriter w;
  a.save_checkpoint(w);
  CategoryExperimentSpec other = short_spec();
  other.seed = 6;
  CategoryExperiment b(other, make_env(4));
  StateReader r(w.bytes());
  CHECK_THROWS_AS(b.load_checkpoint(r), std::runtime_error);
  StateReader r2(w.bytes());
  CHECK_THROWS_AS(a.load_checkpoint(r2), std::runtime_error);  // not freshly built
}
