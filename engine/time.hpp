// Simulation time as 64-bit integer ticks.
//
// Why integer ticks: floating-point times drift (90 ms added eleven times is not 990 ms) and
// make event order depend on rounding. Every time in the engine is a Tick; the tick length is
// fixed per run (default 1 µs = 0.001 ms). Conversions from milliseconds must land on the grid:
// 0.0005 ms with a 1 µs tick is rejected instead of silently rounded.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace sbx {

using Tick = std::int64_t;

class TimeGrid {
 public:
  explicit TimeGrid(double tick_ms = 0.001) : tick_ms_(tick_ms) {
    if (!(tick_ms > 0.0) || !std::isfinite(tick_ms))
      throw std::invalid_argument("tick length must be a positive finite number of ms, got " +
                                  std::to_string(tick_ms));
  }

  double tick_ms() const { return tick_ms_; }

  // Exact conversion; throws std::invalid_argument when `ms` is not a whole number of ticks
  // (relative tolerance 1e-9 absorbs decimal-literal rounding such as 0.1 ms / 0.001 ms).
  Tick from_ms(double ms) const {
    if (!std::isfinite(ms)) throw std::invalid_argument("time must be finite");
    const double n = ms / tick_ms_;
    const double r = std::nearbyint(n);
    if (std::fabs(n - r) > 1e-9 * std::max(1.0, std::fabs(n)))
      throw std::invalid_argument(std::to_string(ms) + " ms is not a multiple of the tick (" +
                                  std::to_string(tick_ms_) + " ms)");
    if (std::fabs(r) > 9.0e18) throw std::invalid_argument("time out of range");
    return static_cast<Tick>(r);
  }

  // Rounds to the nearest tick (for derived times such as event predictions, never user input).
  Tick round_ms(double ms) const { return static_cast<Tick>(std::llround(ms / tick_ms_)); }

  double to_ms(Tick t) const { return static_cast<double>(t) * tick_ms_; }

 private:
  double tick_ms_;
};

}  // namespace sbx
