#include "engine/event_queue.hpp"

#include <algorithm>

#include "engine/errors.hpp"

namespace sbx {

std::vector<Event> HeapEventQueue::snapshot() const {
  std::vector<Event> out(heap_.begin(), heap_.end());
  std::sort(out.begin(), out.end());
  return out;
}

void HeapEventQueue::check_invariants() const {
  // Ordered iteration must come out sorted, and every element must be reachable.
  std::size_t n = 0;
  const Event* prev = nullptr;
  for (auto it = heap_.ordered_begin(); it != heap_.ordered_end(); ++it, ++n) {
    if (prev && *it < *prev) throw InternalError("event queue: heap order broken");
    prev = &*it;
  }
  if (n != heap_.size()) throw InternalError("event queue: size mismatch");
}

std::unique_ptr<EventQueue> make_event_queue() {
  return std::make_unique<HeapEventQueue>();
}

}  // namespace sbx
