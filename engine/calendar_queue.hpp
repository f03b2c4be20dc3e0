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
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
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
    occupied_.assign((w + 63) / 64, 0);
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
    if (k < base_) move_window_back(k);  // earlier than the front (e.g. after peeking far ahead)
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
    mark(k);
    ++count_;
    max_bucket_ = std::max(max_bucket_, k);
  }

  const Event& top() const override {
    settle();
    return front().back();
  }

  void pop() override {
    settle();
    front().pop_back();
    if (front().empty()) unmark(base_);
    if (--count_ == 0) max_bucket_ = kNoBucket;
  }

  bool empty() const override { return count_ == 0 && overflow_.empty(); }
  std::size_t size() const override { return count_ + overflow_.size(); }

  void clear() override {
    for (auto& b : slots_) b.clear();
    std::fill(occupied_.begin(), occupied_.end(), std::uint64_t{0});
    overflow_.clear();
    count_ = 0;
    max_bucket_ = kNoBucket;
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
        if (k > max_bucket_) throw InternalError("calendar queue: max_bucket below an event");
      }
      n += slots_[i].size();
      const bool bit = (occupied_[i >> 6] >> (i & 63)) & 1u;
      if (bit != !slots_[i].empty()) throw InternalError("calendar queue: occupancy bit wrong");
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
    // Jump to the earliest non-empty bucket: the next occupied slot (bitmap scan) or the overflow
    // heap's top, whichever comes first; the buckets in between are empty, so nothing is skipped.
    Tick next = count_ == 0 ? bucket_of(overflow_.top().tick) : next_occupied_after(base_);
    if (!overflow_.empty()) next = std::min(next, bucket_of(overflow_.top().tick));
    base_ = next;
    refill();
    sort_front();
  }

  // The smallest bucket > b whose slot holds events (precondition: count_ > 0, every bucketed
  // event in (b, b + W)). Scans the occupancy bitmap a word at a time.
  Tick next_occupied_after(Tick b) const {
    const std::size_t w = slots_.size();
    const std::size_t start = static_cast<std::size_t>((b + 1) & mask_);
    for (std::size_t n = 0; n < w;) {
      const std::size_t i = (start + n) & static_cast<std::size_t>(mask_);
      const std::uint64_t m = occupied_[i >> 6] >> (i & 63);
      if (m != 0) return b + 1 + static_cast<Tick>(n) + std::countr_zero(m);
      n += std::min<std::size_t>(64 - (i & 63), w - i);  // to the next word or the wrap
    }
    throw InternalError("calendar queue: no occupied slot although count > 0");
  }

  void mark(Tick k) const {
    const auto i = static_cast<std::size_t>(k & mask_);
    occupied_[i >> 6] |= std::uint64_t{1} << (i & 63);
  }
  void unmark(Tick k) const {
    const auto i = static_cast<std::size_t>(k & mask_);
    occupied_[i >> 6] &= ~(std::uint64_t{1} << (i & 63));
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
      mark(bucket_of(e.tick));
      ++count_;
      max_bucket_ = std::max(max_bucket_, bucket_of(e.tick));
      overflow_.pop();
    }
  }

  // An event earlier than the front bucket arrived. Common: top() moves the front to the next
  // pending event, which may lie far ahead (a reward 1-3 s away), and a spike "now" follows. Slots
  // are indexed by absolute bucket number, so lowering base_ to k only requires that no bucketed
  // event lies at or beyond k + W: those few (max_bucket_ bounds them) go to the overflow heap,
  // found through the occupancy bitmap. Overflow events already lie beyond the old window, hence
  // beyond the new one. Cost: O(occupied slots moved + (max_bucket_ - k - W) / 64), never a
  // sweep over all W slots.
  void move_window_back(Tick k) {
    const Tick w = mask_ + 1;
    if (count_ > 0 && max_bucket_ - k > mask_) {
      evict_from(std::max(k + w, base_));
      max_bucket_ = count_ > 0 ? k + mask_ : kNoBucket;
    }
    base_ = k;
    front_sorted_ = false;  // the new front slot is empty: nothing to keep sorted
  }

  // Moves every bucketed event whose bucket is >= first (and <= max_bucket_) to the overflow heap.
  void evict_from(Tick first) {
    const std::size_t w = slots_.size();
    for (Tick b = first; b <= max_bucket_;) {
      const auto i = static_cast<std::size_t>(b & mask_);
      const std::uint64_t m = occupied_[i >> 6] >> (i & 63);
      if (m == 0) {  // skip to the next word or the wrap
        b += static_cast<Tick>(std::min<std::size_t>(64 - (i & 63), w - i));
        continue;
      }
      b += std::countr_zero(m);
      if (b > max_bucket_) break;
      std::vector<Event>& s = slot(b);
      for (const Event& e : s) overflow_.push(e);
      count_ -= s.size();
      s.clear();
      unmark(b);
      ++b;
    }
  }

  struct Later {
    bool operator()(const Event& x, const Event& y) const { return y < x; }
  };
  mutable std::vector<std::vector<Event>> slots_;
  mutable std::vector<std::uint64_t> occupied_;  // bit i set <=> slots_[i] is not empty
  mutable boost::heap::d_ary_heap<Event, boost::heap::arity<4>, boost::heap::compare<Later>>
      overflow_;
  Tick mask_ = 0;
  int shift_ = 0;
  mutable Tick base_ = 0;  // bucket number of the front slot
  mutable std::size_t count_ = 0;
  mutable bool front_sorted_ = false;
  // Upper bound of the bucket of every bucketed event (kNoBucket when there is none).
  static constexpr Tick kNoBucket = std::numeric_limits<Tick>::min();
  mutable Tick max_bucket_ = kNoBucket;
};

}  // namespace sbx
