// Classification environment (envs/category_learning.hpp), spec §1.12.
#include <doctest/doctest.h>

#include "tests/shared_data.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "engine/errors.hpp"
#include "envs/category_learning.hpp"

using namespace sbx;

namespace {
ImageSet small_set(std::size_t n) {
  ImageSet s;
  s.n_pixels = 2;
  s.n_images = n;
  for (std::size_t i = 0; i < n; ++i) {
    s.pixels.push_back(static_cast<double>(i));
    s.pixels.push_back(0.0);
    s.category.push_back(static_cast<int>(i % 2) + 1);
  }
  return s;
}
}  // namespace

TEST_CASE("sequential order: file order, cycling, trials counted from 0") {
  ClassificationEnvironment env(small_set(5), 12);
  CHECK(env.trial() == -1);
  std::vector<std::size_t> seen;
  while (!env.done()) seen.push_back(env.next_stimulus());
  CHECK(seen == std::vector<std::size_t>{0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1});
  CHECK(env.trial() == 11);
  CHECK(env.current_image()[0] == 1.0);
  CHECK(env.next_stimulus() == 2);  // keeps cycling past n_trials
}

TEST_CASE("real set, sequential: categories of the first 30 trials are those of the file") {
  SBX_REQUIRE_REAL_STIMULUS_SET();
  ClassificationEnvironment env(
      read_image_csv(std::string(SBX_SHARED_DATA_DIR) + "/neuroblox_stimuli_set.csv"), 100);
  const std::vector<int> first30 = {2, 1, 1, 2, 1, 2, 2, 2, 2, 2, 2, 2, 1, 2, 1,
                                    1, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 1, 2, 1};
  for (int i = 0; i < 30; ++i) {
    CHECK(env.next_stimulus() == static_cast<std::size_t>(i));
    CHECK(env.current_category() == first30[static_cast<std::size_t>(i)]);
  }
  CHECK(env.images().n_pixels == 20);
}

TEST_CASE("shuffled order: each pass is a permutation, passes differ, seeded") {
  const std::size_t n = 50;
  ClassificationEnvironment a(small_set(n), 3 * n, TrialOrder::shuffled, Rng::stream(1, "env"));
  ClassificationEnvironment b(small_set(n), 3 * n, TrialOrder::shuffled, Rng::stream(1, "env"));
  ClassificationEnvironment c(small_set(n), 3 * n, TrialOrder::shuffled, Rng::stream(2, "env"));
  std::vector<std::vector<std::size_t>> passes(3);
  bool same_as_c = true;
  for (std::size_t p = 0; p < 3; ++p)
    for (std::size_t i = 0; i < n; ++i) {
      const auto k = a.next_stimulus();
      CHECK(k == b.next_stimulus());
      same_as_c = same_as_c && (k == c.next_stimulus());
      passes[p].push_back(k);
    }
  CHECK_FALSE(same_as_c);
  std::vector<std::size_t> identity(n);
  std::iota(identity.begin(), identity.end(), std::size_t{0});
  for (auto pass : passes) {
    CHECK(pass != identity);
    std::sort(pass.begin(), pass.end());
    CHECK(pass == identity);
  }
  CHECK(passes[0] != passes[1]);
  CHECK(a.done());
}

TEST_CASE("reward: 1/0 by default, configurable, action must equal the category") {
  ClassificationEnvironment env(small_set(4), 4);
  env.next_stimulus();  // image 0, category 1
  CHECK(env.current_category() == 1);
  CHECK(env.is_correct(1));
  CHECK(env.reward(1) == 1.0);
  CHECK(env.reward(2) == 0.0);
  CHECK(env.reward(0) == 0.0);  // no action
  CHECK(env.reward(-1) == 0.0);
  ClassificationEnvironment env2(small_set(4), 4, TrialOrder::sequential, Rng(0),
                                 RewardValues{2.5, -1.0});
  env2.next_stimulus();
  env2.next_stimulus();  // image 1, category 2
  CHECK(env2.reward(2) == 2.5);
  CHECK(env2.reward(1) == -1.0);
}

TEST_CASE("order strings and invalid environments are UserErrors") {
  CHECK(parse_trial_order("sequential") == TrialOrder::sequential);
  CHECK(parse_trial_order("shuffled") == TrialOrder::shuffled);
  CHECK(to_string(TrialOrder::shuffled) == "shuffled");
  try {
    parse_trial_order("random");
    FAIL("expected UserError");
  } catch (const UserError& e) {
    CHECK(e.diagnostics.at(0).key_path == "order");
    CHECK(std::string(e.what()).find("sequential") != std::string::npos);
  }
  CHECK_THROWS_AS(ClassificationEnvironment(small_set(3), 0), UserError);
  CHECK_THROWS_AS(ClassificationEnvironment(ImageSet{}, 3), UserError);
  ImageSet bad = small_set(3);
  bad.category[1] = 0;
  CHECK_THROWS_AS(ClassificationEnvironment(bad, 3), UserError);
}
