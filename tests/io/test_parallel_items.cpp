// parallel_items (engine/parallel_items.hpp): every item once, on up to the given number
// of threads, and an item's exception reaches the caller.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "engine/parallel_items.hpp"

TEST_CASE("parallel_items: each item exactly once, on at most the given threads") {
  for (const unsigned threads : {1u, 2u, 3u, 16u}) {
    for (const std::size_t n : {0u, 1u, 7u, 100u}) {
      CAPTURE(threads);
      CAPTURE(n);
      std::vector<std::atomic<int>> done(n);
      std::mutex m;
      std::set<std::thread::id> ids;
      sbx::parallel_items(n, threads, [&](std::size_t i) {
        ++done[i];
        const std::lock_guard<std::mutex> lock(m);
        ids.insert(std::this_thread::get_id());
      });
      for (std::size_t i = 0; i < n; ++i) CHECK(done[i] == 1);
      CHECK(ids.size() <= std::max<std::size_t>(1, std::min<std::size_t>(threads, n)));
      if (threads == 1 && n > 0) CHECK(*ids.begin() == std::this_thread::get_id());
    }
  }
}

TEST_CASE("parallel_items: an item's exception is rethrown to the caller") {
  for (const unsigned threads : {1u, 2u, 4u}) {
    CAPTURE(threads);
    std::atomic<int> ran{0};
    CHECK_THROWS_WITH_AS(sbx::parallel_items(50, threads,
                                             [&](std::size_t i) {
                                               ++ran;
                                               if (i == 3) throw std::runtime_error("item 3");
                                             }),
                         "item 3", std::runtime_error);
    CHECK(ran >= 4);  // items up to the failing one ran; later ones may not
  }
}
