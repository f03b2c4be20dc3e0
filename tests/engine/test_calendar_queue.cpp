#include <doctest/doctest.h>

#include <vector>

#include "engine/calendar_queue.hpp"
#include "engine/event_queue.hpp"
#include "engine/rng.hpp"

using namespace sbx;

namespace {

Event make(Tick t, std::uint8_t prio, std::uint32_t target, std::uint32_t a) {
  Event e;
  e.tick = t;
  e.priority = prio;
  e.target = target;
  e.a = a;
  return e;
}

bool same(const Event& x, const Event& y) {
  return x.tick == y.tick && x.priority == y.priority && x.target == y.target && x.seq == y.seq &&
         x.a == y.a;
}

// Drives both queues with the same simulation-like workload: pop everything due at the current
// tick, and for each popped event push 0..3 new ones at tick + delay (delay 0 = same tick, some
// beyond the calendar window), then advance. Every pop must agree.
void lockstep(std::size_t window, std::size_t bucket_ticks, Tick max_delay, std::uint64_t seed) {
  HeapEventQueue heap;
  CalendarEventQueue cal(window, bucket_ticks);
  Rng r(seed);
  std::uint32_t id = 0;
  for (int i = 0; i < 200; ++i) {
    const Event e = make(static_cast<Tick>(r.below(50)), static_cast<std::uint8_t>(r.below(3) * 32),
                         static_cast<std::uint32_t>(r.below(5)), id++);
    heap.push(e);
    cal.push(e);
  }
  std::size_t popped = 0;
  while (!heap.empty() && popped < 20000) {
    REQUIRE_FALSE(cal.empty());
    REQUIRE(cal.size() == heap.size());
    const Event h = heap.top();
    const Event c = cal.top();
    REQUIRE(same(h, c));
    heap.pop();
    cal.pop();
    ++popped;
    if (popped % 1000 == 0) cal.check_invariants();
    const auto n_new = id < 15000 ? r.below(4) : 0;
    for (std::uint64_t k = 0; k < n_new; ++k) {
      const Tick d =
          r.below(10) == 0 ? 0 : static_cast<Tick>(r.below(static_cast<std::uint64_t>(max_delay)));
      const Event e = make(h.tick + d, static_cast<std::uint8_t>(r.below(3) * 32),
                           static_cast<std::uint32_t>(r.below(5)), id++);
      heap.push(e);
      cal.push(e);
    }
  }
  CHECK(popped > 1000);
  CHECK(cal.empty() == heap.empty());
}

}  // namespace

TEST_CASE("calendar queue pops exactly like the heap (window larger than every delay)") {
  lockstep(1024, 1, 500, 1);  // one tick per bucket
  lockstep(64, 8, 500, 4);    // several ticks per bucket: sorting within a bucket by tick too
  lockstep(8, 128, 500, 5);   // buckets wider than most delays: same-bucket pushes while sorted
}

TEST_CASE("calendar queue pops exactly like the heap when delays overflow the window") {
  lockstep(16, 1, 500, 2);  // most pushes go through the overflow heap
  lockstep(2, 1, 7, 3);
  lockstep(4, 16, 500, 6);
}

TEST_CASE("calendar queue: snapshot, clear, restart far away, pushes before the window") {
  CalendarEventQueue q(64, 4);
  HeapEventQueue h;
  for (std::uint32_t i = 0; i < 300; ++i) {
    const Event e = make(static_cast<Tick>((i * 37) % 1000), 0, i % 3, i);
    q.push(e);
    h.push(e);
  }
  const auto a = q.snapshot(), b = h.snapshot();
  REQUIRE(a.size() == b.size());
  for (std::size_t k = 0; k < a.size(); ++k) CHECK(same(a[k], b[k]));
  q.check_invariants();
  // Drain to tick 500, then push an event earlier than the window's start (allowed by the
  // interface: the queue must still order it first).
  while (q.top().tick < 500) {
    CHECK(same(q.top(), h.top()));
    q.pop();
    h.pop();
  }
  const Event early = make(3, 0, 0, 9999);
  q.push(early);
  h.push(early);
  q.check_invariants();
  while (!h.empty()) {
    REQUIRE(same(q.top(), h.top()));
    q.pop();
    h.pop();
  }
  CHECK(q.empty());
  q.clear();
  q.push(make(5'000'000'000, 1, 0, 1));  // far beyond the old window
  q.push(make(5'000'000'000, 0, 0, 2));
  CHECK(q.top().a == 2);
  q.pop();
  CHECK(q.top().a == 1);
  q.pop();
  CHECK(q.empty());
  CHECK(q.size() == 0);
}

// The simulator's pattern: each clock step pops what is due, peeks at the next event (which moves
// the calendar's front far ahead when only distant events are pending, e.g. a reward seconds
// away), and then pushes spikes of the current step with delay 0 or more, i.e. before the front.
// Exercises move_window_back (cheap path and the rebuild path) and the occupancy bitmap.
TEST_CASE("calendar queue: peek far ahead, then push for now (clocked loop)") {
  for (const std::size_t window : {4u, 64u, 1024u}) {
    HeapEventQueue heap;
    CalendarEventQueue cal(window, 64);
    Rng r(77 + window);
    std::uint32_t id = 0;
    std::size_t popped = 0, far = 0;
    for (Tick now = 0; now < 400000; now += 100) {
      while (!heap.empty() && heap.top().tick <= now) {
        REQUIRE(same(heap.top(), cal.top()));
        heap.pop();
        cal.pop();
        ++popped;
      }
      if (!heap.empty()) {
        REQUIRE(same(heap.top(), cal.top()));  // the peek
        far += heap.top().tick - now > 10000;
      }
      cal.check_invariants();
      const auto n_new = r.below(10) < 3 ? r.below(3) : 0;
      for (std::uint64_t k = 0; k < n_new; ++k) {
        const auto kind = r.below(20);
        const Tick d = kind == 0   ? static_cast<Tick>(1000000 + r.below(2000000))  // reward 1-3 s
                       : kind < 8 ? 0
                                  : static_cast<Tick>(r.below(5000));
        const Event e = make(now + d, static_cast<std::uint8_t>(r.below(3) * 32),
                             static_cast<std::uint32_t>(r.below(5)), id++);
        heap.push(e);
        cal.push(e);
        cal.check_invariants();
      }
    }
    CHECK(popped > 500);
    CHECK(far > 50);  // the far-peek situation really occurred
    CHECK(cal.size() == heap.size());
  }
}
