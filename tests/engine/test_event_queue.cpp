#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "engine/event_queue.hpp"
#include "engine/rng.hpp"

using namespace sbx;

TEST_CASE("pop order equals a sort by (tick, priority, target, insertion order)") {
  HeapEventQueue q;
  Rng r(11);
  std::vector<Event> pushed;
  for (int i = 0; i < 5000; ++i) {
    Event e;
    e.tick = static_cast<Tick>(r.below(50));  // many ties on purpose
    e.priority = static_cast<std::uint8_t>(r.below(3) * 32);
    e.target = static_cast<std::uint32_t>(r.below(4));
    e.a = static_cast<std::uint32_t>(i);
    e.seq = static_cast<std::uint64_t>(i);  // what the queue will assign
    pushed.push_back(e);
    q.push(e);
  }
  q.check_invariants();
  std::sort(pushed.begin(), pushed.end());
  CHECK(q.snapshot().size() == pushed.size());
  for (const Event& expected : pushed) {
    REQUIRE_FALSE(q.empty());
    CHECK(q.top().a == expected.a);
    q.pop();
  }
  CHECK(q.empty());
}

TEST_CASE("equal keys pop in insertion order, and the queue can be cleared") {
  HeapEventQueue q;
  for (std::uint32_t i = 0; i < 100; ++i) {
    Event e;
    e.tick = 5;
    e.a = i;
    q.push(e);
  }
  for (std::uint32_t i = 0; i < 100; ++i) {
    CHECK(q.top().a == i);
    q.pop();
  }
  Event e;
  q.push(e);
  q.clear();
  CHECK(q.empty());
  CHECK(q.size() == 0);
}
