// Runs fn(0) ... fn(n_items − 1) on up to `threads` threads (the calling one included), each
// thread taking the next item not yet taken, and returns when all are done. The first exception
// thrown by an item is rethrown here (the other threads stop taking items). For a few coarse
// items (the run file's edge columns); threads are started per call.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace sbx::io {

template <class Fn>
void parallel_items(std::size_t n_items, unsigned threads, Fn&& fn) {
  const std::size_t n_threads =
      std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(n_items, 1));
  if (n_threads == 1) {
    for (std::size_t i = 0; i < n_items; ++i) fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (std::size_t i; !failed.load(std::memory_order_relaxed) && (i = next++) < n_items;) {
      try {
        fn(i);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> helpers;
  helpers.reserve(n_threads - 1);
  for (std::size_t k = 1; k < n_threads; ++k) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace sbx::io
