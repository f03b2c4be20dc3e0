// Software prefetch of a contiguous array range, line by line.
#pragma once

#include <cstdint>

namespace sbx {

inline constexpr std::uintptr_t kCacheLine = 64;

// Calls f(line address) for every cache line that holds part of [first, last). The loop runs
// over line addresses, not byte offsets from `first`: a range that does not start on a line
// boundary ends in one more line than its length suggests (a 64-byte row at offset 4 spans two
// lines), and stepping from `first` by 64 bytes leaves that last line to a demand miss — which
// the delivery prefetch did until session 8 (5-7 % of the loop at 10^6 cells, BENCHMARKS.md).
template <class T, class F>
inline void for_each_line(const T* first, const T* last, F&& f) {
  const auto end = reinterpret_cast<std::uintptr_t>(last);
  for (auto a = reinterpret_cast<std::uintptr_t>(first) & ~(kCacheLine - 1); a < end;
       a += kCacheLine)
    f(reinterpret_cast<const void*>(a));
}

template <class T>
inline void prefetch_lines(const T* first, const T* last) {
  for_each_line(first, last, [](const void* line) { __builtin_prefetch(line); });
}

}  // namespace sbx
