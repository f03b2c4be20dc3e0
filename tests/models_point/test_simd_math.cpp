// models/simd_math.hpp: sbx::simd::exp, inv_exprel and the ETDRK4 coefficients against the C
// library and their definitions.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "models/simd_math.hpp"

namespace {
double ulp_distance(double a, double ref) {
  return std::fabs(a - ref) / (std::nextafter(ref, HUGE_VAL) - ref);
}
}  // namespace

TEST_CASE("simd::exp is within 2 ulp of std::exp over [-707.7, 709.78]") {
  double worst = 0.0;
  for (double x = -707.69; x < 709.78; x += 0.0137)
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
  CHECK(sbx::simd::exp(-707.8) == 0.0);  // documented cut-off (true value < 1.1e-307)
  CHECK(sbx::simd::exp(709.78) == doctest::Approx(std::exp(709.78)).epsilon(1e-15));
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

TEST_CASE("simd::exp is within 1 ulp of std::exp on the range the models use") {
  // The bound stated in models/simd_math.hpp; the test above allows 2 ulp over the whole range
  // only because glibc's own exp is itself correctly rounded to within ~0.5 ulp, not exactly.
  double worst = 0.0;
  for (double x = -50.0; x < 50.0; x += 0.000913)
    worst = std::max(worst, ulp_distance(sbx::simd::exp(x), std::exp(x)));
  MESSAGE("max error of simd::exp on [-50, 50]: " << worst << " ulp");
  CHECK(worst <= 1.0);
}

TEST_CASE("ETDRK4 coefficients equal their phi-function definitions, classic RK4 at z = 0") {
  using sbx::simd::splat;
  const auto c0 = sbx::simd::etd_coeffs(splat(0.0));
  CHECK(c0.E[0] == 1.0);
  CHECK(c0.q[0] == 0.5);
  CHECK(c0.f1[0] == 1.0 / 6.0);
  CHECK(c0.f2[0] == 1.0 / 6.0);
  CHECK(c0.f3[0] == 1.0 / 6.0);
  double worst = 0.0;
  for (double z : {-1e-6, -0.01, -0.3, -0.4999, -0.5, -0.5001, -1.0, -3.0, -10.0, -80.0}) {
    // Long double reference: φ_k(z) = Σ_j z^j/(j+k)! (series, |z| <= 1) or the closed forms
    // φ1 = (e^z − 1)/z, φ2 = (φ1 − 1)/z, φ3 = (φ2 − 1/2)/z (|z| > 1, no large cancellation).
    const long double zl = z, e = std::exp(zl);
    auto phi = [zl](int k) {
      long double sum = 0, term = 1;
      for (int j = 1; j <= k; ++j) term /= j;  // 1/k!
      for (int j = 0; j < 40; ++j) sum += term, term *= zl / (j + k + 1);
      return sum;
    };
    long double p1, p2, p3;
    if (std::fabs(z) <= 1.0) {
      p1 = phi(1), p2 = phi(2), p3 = phi(3);
    } else {
      p1 = (e - 1) / zl, p2 = (p1 - 1) / zl, p3 = (p2 - 0.5L) / zl;
    }
    const long double half = 2 * (std::exp(zl / 2) - 1) / zl;  // φ1(z/2)
    const auto c = sbx::simd::etd_coeffs(splat(z));
    const double errs[] = {static_cast<double>(std::fabs(c.E[0] - e) / e),
                           static_cast<double>(std::fabs(c.q[0] - half / 2) / (half / 2)),
                           static_cast<double>(std::fabs(c.f1[0] - (p1 - 3 * p2 + 4 * p3))),
                           static_cast<double>(std::fabs(c.f2[0] - (p2 - 2 * p3))),
                           static_cast<double>(std::fabs(c.f3[0] - (4 * p3 - p2)))};
    for (double x : errs) worst = std::max(worst, x);
  }
  MESSAGE("max deviation of the ETDRK4 coefficients: " << worst);
  CHECK(worst < 1e-12);
}
