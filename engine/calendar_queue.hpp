// Calendar event queue: a ring of one-tick buckets over a moving window, behind the EventQueue
// interface (issue "engine foundation": keep a calendar ring next to the heap and let the
// benchmark decide; bench/bench_event_queue.cpp measures both).
//
// Layout. Time is cut into buckets of B ticks (B a power of two; bucket number k = tick >> log2 B).
// A window of W buckets (W a power of two) starting at bucket `base` maps bucket k to slot
// k & (W-1). Events beyond the window wait in an overflow 4-ary heap and move into their slot
// once the window reaches them. A slot holds its events unsorted; it is sorted by the full
// (tick, priority, target, seq) order once, when it becomes the front slot, and an event pushed
// into the front slot after that is inserted at its sorted place (e.g. control events for "now").
// With B about the clock step, a step costs one slot visit however sparse the spikes are.
// So one spike costs one vector push_back plus its share of one small sort — no log(n) sift
// through a large heap — which is where a calendar wins when many events are pending.
//
// Ordering is exactly the heap's: (tick, priority, target, seq); tests compare the two queues
// pop for pop.
//
// Invariants (check_invariants): every bucketed event's bucket lies in [base, base + W) and the
// event sits in that bucket's slot; every overflow event's bucket is >= base + W; the front slot,
// when marked sorted, is sorted; `count_` equals the number of bucketed events.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <boost/heap/d_ary_heap.hpp>

#include "engine/errors.hpp"
#include "engine/event_queue.hpp"

namespace sbx {

class CalendarEventQueue final : public EventQueue {
 public:
  // bucket_ticks and window_buckets are rounded up to powers of two. bucket_ticks about the clock
  // step and a window (bucket_ticks * window_buckets) of about the longest delay keep scanning
  // cheap and the overflow heap empty in a spiking network.
  explicit CalendarEventQueue(std::size_t window_buckets = 1u << 10,
                              std::size_t bucket_ticks = 64) {
    std::size_t w = 2;
    while (w < window_buckets) w <<= 1;
    slots_.resize(w);
    mask_ = static_cast<Tick>(w - 1);
    while ((std::size_t{1} << shift_) < bucket_ticks) ++shift_;
  }

  void push(Event e) override {
    e.seq = seq_++;
    const Tick k = bucket_of(e.tick);
    if (count_ == 0 && overflow_.empty()) {  // empty queue: restart the window at this event
      base_ = k;
      front_sorted_ = false;
    }
    if (k < base_) rewind_to(k);  // earlier than the window (rare; see rewind_to)
    if (k - base_ > mask_) {
      overflow_.push(e);
      return;
    }
    std::vector<Event>& b = slot(k);
    if (k == base_ && front_sorted_) {
      b.insert(std::upper_bound(b.begin(), b.end(), e, later_first), e);
    } else {
      b.push_back(e);
    }
    ++count_;
  }

  const Event& top() const override {
    settle();
    return front().back();
  }

  void pop() override {
    settle();
    front().pop_back();
    --count_;
  }

  bool empty() const override { return count_ == 0 && overflow_.empty(); }
  std::size_t size() const override { return count_ + overflow_.size(); }

  void clear() override {
    for (auto& b : slots_) b.clear();
    overflow_.clear();
    count_ = 0;
    front_sorted_ = false;
  }

  std::vector<Event> snapshot() const override {
    std::vector<Event> out;
    out.reserve(size());
    for (const auto& b : slots_) out.insert(out.end(), b.begin(), b.end());
    out.insert(out.end(), overflow_.begin(), overflow_.end());
    std::sort(out.begin(), out.end());
    return out;
  }

  void check_invariants() const override {
    std::size_t n = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      for (const Event& e : slots_[i]) {
        const Tick k = bucket_of(e.tick);
        if (k < base_ || k - base_ > mask_ || static_cast<std::size_t>(k & mask_) != i)
          throw InternalError("calendar queue: event outside its slot");
      }
      n += slots_[i].size();
    }
    if (n != count_) throw InternalError("calendar queue: count mismatch");
    for (const Event& e : overflow_)
      if (bucket_of(e.tick) - base_ <= mask_)
        throw InternalError("calendar queue: overflow event inside the window");
    const auto& f = front();
    if (front_sorted_ && !std::is_sorted(f.begin(), f.end(), later_first))
      throw InternalError("calendar queue: front slot not sorted");
  }

 private:
  // Slots are kept in *descending* event order so the earliest event is at the back and pop is a
  // pop_back.
  static bool later_first(const Event& x, const Event& y) { return y < x; }

  Tick bucket_of(Tick t) const { return t >> shift_; }  // floor division, also for t < 0
  std::vector<Event>& slot(Tick k) const { return slots_[static_cast<std::size_t>(k & mask_)]; }
  std::vector<Event>& front() const { return slot(base_); }

  // Moves base_ to the earliest non-empty bucket and sorts it (precondition: !empty()).
  void settle() const {
    if (!front().empty()) {
      if (!front_sorted_) sort_front();
      return;
    }
    for (;;) {
      if (count_ == 0) {  // only overflow events left: jump the window to the earliest one
        base_ = bucket_of(overflow_.top().tick);
        refill();
        break;
      }
      ++base_;
      refill();
      if (!front().empty()) break;
    }
    sort_front();
  }

  void sort_front() const {
    std::sort(front().begin(), front().end(), later_first);
    front_sorted_ = true;
  }

  bool overflow_due() const {
    return !overflow_.empty() && bucket_of(overflow_.top().tick) - base_ <= mask_;
  }

  // Moves every overflow event that now lies in the window into its slot. An event entering the
  // front slot while it is sorted would break the order, so the front is marked unsorted.
  void refill() const {
    while (overflow_due()) {
      const Event& e = overflow_.top();
      if (bucket_of(e.tick) == base_) front_sorted_ = false;
      slot(bucket_of(e.tick)).push_back(e);
      ++count_;
      overflow_.pop();
    }
  }

  // An event earlier than the window arrived (possible through the interface, e.g. a control
  // event for a time the queue has already drained past). Rebuild: everything goes through the
  // overflow heap once. Rare, so simplicity wins over speed.
  void rewind_to(Tick k) {
    for (auto& b : slots_) {
      for (const Event& e : b) overflow_.push(e);
      b.clear();
    }
    count_ = 0;
    base_ = k;
    front_sorted_ = false;
    refill();
  }

  struct Later {
    bool operator()(const Event& x, const Event& y) const { return y < x; }
  };
  mutable std::vector<std::vector<Event>> slots_;
  mutable boost::heap::d_ary_heap<Event, boost::heap::arity<4>, boost::heap::compare<Later>>
      overflow_;
  Tick mask_ = 0;
  int shift_ = 0;
  mutable Tick base_ = 0;  // bucket number of the front slot
  mutable std::size_t count_ = 0;
  mutable bool front_sorted_ = false;
};

}  // namespace sbx
