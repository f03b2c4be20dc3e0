// Event queue: the interface and its Boost.Heap implementation.
//
// Ordering. Events are totally ordered by (tick, priority, target, seq). `seq` is an insertion
// counter assigned by the queue, so two events that agree on everything else still pop in the
// order they were pushed and a run is reproducible bit for bit (OMNeT++/Arbor practice).
//
// What goes in the queue: one entry per spike *and distinct delay* (a spike-delivery event walks a
// segment of the source's CSR row when popped), exact-integration spike predictions of
// event-driven neurons, and control events (trial phases, block latches, decisions). Never one
// entry per synapse: a heap push+pop costs 70-500 ns here, a CSR delivery about 1 ns.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/heap/d_ary_heap.hpp>

#include "engine/time.hpp"

namespace sbx {

enum class EventKind : std::uint8_t {
  control = 0,          // a = callback id, b/c = callback arguments
  spike_delivery = 1,   // a = projection id, b = source neuron, c = delay segment within the row
  spike_prediction = 2  // a = population id, b = neuron, c = neuron's version when predicted
};

// Priority classes at equal tick. Control events run first so a trial phase sees the state
// *at* its tick before any spike of that tick is delivered; predicted spikes are emitted before
// deliveries of the same tick are applied (a neuron's own spike at t is not affected by input at
// t).
namespace priority {
inline constexpr std::uint8_t control_first = 0;  // control events use 0..63 among themselves
inline constexpr std::uint8_t spike_prediction = 64;
inline constexpr std::uint8_t spike_delivery = 96;
}  // namespace priority

struct Event {
  Tick tick = 0;
  std::uint8_t priority = 0;
  EventKind kind = EventKind::control;
  // Target id for ordering: projection (deliveries), global neuron index (predictions: neuron
  // order among simultaneous predicted spikes), 0 for control.
  std::uint32_t target = 0;
  std::uint64_t seq = 0;  // assigned by the queue
  std::uint32_t a = 0, b = 0, c = 0;

  // "earlier" ordering used by the queue.
  friend bool operator<(const Event& x, const Event& y) {
    if (x.tick != y.tick) return x.tick < y.tick;
    if (x.priority != y.priority) return x.priority < y.priority;
    if (x.target != y.target) return x.target < y.target;
    return x.seq < y.seq;
  }
};

class EventQueue {
 public:
  virtual ~EventQueue() = default;
  virtual void push(Event e) = 0;  // e.seq is overwritten by the queue's insertion counter
  virtual const Event& top() const = 0;
  virtual void pop() = 0;
  virtual bool empty() const = 0;
  virtual std::size_t size() const = 0;
  virtual void clear() = 0;
  // Copies every pending event out in pop order (for checkpoints and tests), queue unchanged.
  virtual std::vector<Event> snapshot() const = 0;
  // Throws InternalError if the heap order is broken.
  virtual void check_invariants() const = 0;
  std::uint64_t next_seq() const { return seq_; }
  void set_next_seq(std::uint64_t s) { seq_ = s; }

 protected:
  std::uint64_t seq_ = 0;
};

// 4-ary heap of Event values (boost::heap::d_ary_heap over a std::vector): no allocation per
// event once the vector has grown, better cache behaviour than a binary heap.
class HeapEventQueue final : public EventQueue {
 public:
  HeapEventQueue() = default;
  void push(Event e) override {
    e.seq = seq_++;
    heap_.push(e);
  }
  const Event& top() const override { return heap_.top(); }
  void pop() override { heap_.pop(); }
  bool empty() const override { return heap_.empty(); }
  std::size_t size() const override { return heap_.size(); }
  void clear() override { heap_.clear(); }
  std::vector<Event> snapshot() const override;
  void check_invariants() const override;
  void reserve(std::size_t n) { heap_.reserve(n); }

 private:
  struct Later {  // boost heaps are max-heaps: the "largest" is the one that pops first
    bool operator()(const Event& x, const Event& y) const { return y < x; }
  };
  boost::heap::d_ary_heap<Event, boost::heap::arity<4>, boost::heap::compare<Later>> heap_;
};

std::unique_ptr<EventQueue> make_event_queue();

}  // namespace sbx
