#include <doctest/doctest.h>

#include "engine/time.hpp"

using sbx::TimeGrid;

TEST_CASE("ms to ticks is exact on the grid and rejects values off it") {
  TimeGrid g;  // 1 µs
  CHECK(g.from_ms(0.1) == 100);
  CHECK(g.from_ms(90.0) == 90000);
  CHECK(g.from_ms(1000.0) == 1000000);
  CHECK(g.to_ms(g.from_ms(0.025)) == doctest::Approx(0.025).epsilon(1e-15));
  CHECK_THROWS_AS(g.from_ms(0.0005), std::invalid_argument);
  CHECK_THROWS_AS(g.from_ms(1e-7), std::invalid_argument);
  CHECK_THROWS_AS(g.from_ms(std::nan("")), std::invalid_argument);
  TimeGrid coarse(0.1);
  CHECK(coarse.from_ms(0.3) == 3);  // decimal rounding of 0.3/0.1 is absorbed
  CHECK_THROWS_AS(coarse.from_ms(0.25), std::invalid_argument);
  CHECK_THROWS_AS(TimeGrid(0.0), std::invalid_argument);
  CHECK_THROWS_AS(TimeGrid(-1.0), std::invalid_argument);
}

TEST_CASE("integer ticks do not drift where floating-point times do") {
  TimeGrid g;
  sbx::Tick t = 0;
  for (int k = 0; k < 11; ++k) t += g.from_ms(90.0);
  CHECK(t == g.from_ms(990.0));
}
