// sbx::simd::exp and inv_exprel (models/traub_miles_hh.hpp) against the C library.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "models/traub_miles_hh.hpp"

namespace {
double ulp_distance(double a, double ref) {
  return std::fabs(a - ref) / (std::nextafter(ref, HUGE_VAL) - ref);
}
}  // namespace

TEST_CASE("simd::exp is within 2 ulp of std::exp over its whole finite range") {
  double worst = 0.0;
  for (double x = -708.0; x < 709.4; x += 0.0137)
    worst = std::max(worst, ulp_distance(sbx::simd::exp(x), std::exp(x)));
  for (double x = -1.0; x < 1.0; x += 1.1e-5)
    worst = std::max(worst, ulp_distance(sbx::simd::exp(x), std::exp(x)));
  MESSAGE("max error of simd::exp: " << worst << " ulp");
  CHECK(worst <= 2.0);
  CHECK(sbx::simd::exp(0.0) == 1.0);
  CHECK(sbx::simd::exp(1.0) == doctest::Approx(std::exp(1.0)).epsilon(1e-15));
}

TEST_CASE("simd::exp saturates outside the range and propagates NaN") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(sbx::simd::exp(-800.0) == 0.0);
  CHECK(sbx::simd::exp(-inf) == 0.0);
  CHECK(sbx::simd::exp(710.0) == inf);
  CHECK(sbx::simd::exp(inf) == inf);
  CHECK(std::isnan(sbx::simd::exp(std::numeric_limits<double>::quiet_NaN())));
  // Lanes are independent: a vector mixing the cases.
  sbx::simd::vd x = sbx::simd::splat(0.5);
  x[0] = -1000.0;
  const sbx::simd::vd y = sbx::simd::exp(x);
  CHECK(y[0] == 0.0);
  CHECK(y[sbx::simd::kLanes - 1] == doctest::Approx(std::exp(0.5)).epsilon(1e-15));
}

TEST_CASE("simd::inv_exprel equals z/expm1(z) to 1e-13, including z = 0") {
  double worst = 0.0;
  for (double z = -40.0; z < 40.0; z += 0.000731) {
    if (z == 0.0) continue;
    const double ref = z / std::expm1(z);
    worst = std::max(worst, std::fabs(sbx::simd::inv_exprel(z) - ref) / ref);
  }
  for (double z : {1e-300, -1e-12, 1e-8, 0.00999, 0.01, 0.010001, -0.01}) {
    const double ref = z / std::expm1(z);
    worst = std::max(worst, std::fabs(sbx::simd::inv_exprel(z) - ref) / ref);
  }
  MESSAGE("max relative error of inv_exprel: " << worst);
  CHECK(worst < 1e-13);
  CHECK(sbx::simd::inv_exprel(0.0) == 1.0);
}
