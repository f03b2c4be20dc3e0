// Items 0 ... n − 1 run on several threads, each thread taking the next item not yet taken; the
// first exception an item throws is kept and rethrown to the caller (the other threads stop
// taking items). Used by Simulator::parallel_items (on its worker pool) and by the run file
// (engine/io: chunk compression on threads of its own).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace sbx {

class ItemQueue {
 public:
  explicit ItemQueue(std::size_t n_items) : n_(n_items) {}
  // Runs items until none is left or one has failed; call on every participating thread.
  template <class Fn>
  void drain(Fn&& fn) {
    for (std::size_t i; !failed_.load(std::memory_order_relaxed) && (i = next_++) < n_;) {
      try {
        fn(i);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
        failed_ = true;
      }
    }
  }
  // After every thread's drain(): the first exception, if any.
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::size_t n_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
  std::mutex error_mutex_;
};

// fn(0) ... fn(n_items − 1) on up to `threads` threads, the calling one included; the others are
// started for the call (for a few coarse items, e.g. the run file's chunks).
template <class Fn>
void parallel_items(std::size_t n_items, unsigned threads, Fn&& fn) {
  const std::size_t n_threads =
      std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(n_items, 1));
  if (n_threads == 1) {
    for (std::size_t i = 0; i < n_items; ++i) fn(i);
    return;
  }
  ItemQueue queue(n_items);
  std::vector<std::thread> helpers;
  helpers.reserve(n_threads - 1);
  for (std::size_t k = 1; k < n_threads; ++k) helpers.emplace_back([&] { queue.drain(fn); });
  queue.drain(fn);
  for (std::thread& t : helpers) t.join();
  queue.rethrow();
}

}  // namespace sbx
