// Single-precision option of the point models (`precision = "float"`): the float vector math of
// models/simd_math.hpp and the accuracy cost of a float Traub–Miles kernel against double.
// Network-level cost (spike counts of cobahh.toml in both precisions): bench/point_precision.py.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "models/simd_math.hpp"
#include "models/traub_miles_hh.hpp"

using namespace sbx;

namespace {

long ulp_distance_f(float a, float b) {
  std::int32_t ia = 0, ib = 0;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  return std::labs(static_cast<long>(ia) - static_cast<long>(ib));
}

// Spike times (ms) of one exponential-Euler Traub–Miles cell driven by I_bias over 1 s, the
// crossing of V_spike interpolated linearly within the step (sub-step resolution).
std::vector<double> hh_spike_times(point::Precision precision, double I_bias) {
  HHParams p;
  p.integrator = HHIntegrator::exponential_euler;
  p.precision = precision;
  p.I_bias = I_bias;
  TraubMilesHHPopulation pop(1, p);
  pop.set_gates_to_steady_state();
  const double dt = 0.1;
  double* V = pop.state("V");
  std::vector<std::uint32_t> spiked;
  std::vector<double> times;
  for (long k = 0; k < 10000; ++k) {
    const double v0 = V[0];
    spiked.clear();
    pop.step(StepContext{k * 100, 100, k * dt, dt}, spiked);
    if (!spiked.empty()) times.push_back(k * dt + dt * (p.V_spike - v0) / (V[0] - v0));
  }
  return times;
}

}  // namespace

TEST_CASE("simd::exp(float) is within 2 ulp of std::exp(float) over [-86.6, 88.72]") {
  long worst = 0;
  for (double x = -86.59; x <= 88.72; x += 1e-3) {
    const float xf = static_cast<float>(x);
    worst = std::max(worst, ulp_distance_f(simd::exp(xf), std::exp(xf)));
  }
  MESSAGE("max error of float simd::exp: " << worst << " ulp");
  CHECK(worst <= 2);
  CHECK(simd::exp(0.0f) == 1.0f);
  CHECK(simd::exp(-100.0f) == 0.0f);
  CHECK(std::isinf(simd::exp(100.0f)));
  CHECK(std::isnan(simd::exp(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("simd::inv_exprel(float) equals z/expm1(z) to 1e-6 relative") {
  double worst = 0.0;
  for (double z = -30.0; z < 30.0; z += 1e-3) {
    const float zf = static_cast<float>(z);
    const double ref = zf == 0.0f ? 1.0 : zf / std::expm1(static_cast<double>(zf));
    worst = std::max(worst, std::fabs(simd::inv_exprel(simd::splatf(zf))[0] - ref) / ref);
  }
  MESSAGE("max relative error of float inv_exprel: " << worst);
  CHECK(worst < 1e-6);
}

TEST_CASE("TraubMilesHH float kernel: single-cell spike times within 0.005 ms of double over 1 s") {
  // Measured (AVX-512 and AVX2 builds): at most 0.0008 ms (I = 0), 0.0003 ms (100 pA),
  // 0.0002 ms (400 pA), 0.0001 ms (1000 pA); spike counts equal.
  for (const double I : {0.0, 100.0, 400.0, 1000.0}) {
    const auto d = hh_spike_times(point::Precision::f64, I);
    const auto f = hh_spike_times(point::Precision::f32, I);
    REQUIRE(d.size() == f.size());
    REQUIRE(d.size() >= 10);
    double worst = 0.0;
    for (std::size_t k = 0; k < d.size(); ++k) worst = std::max(worst, std::fabs(d[k] - f[k]));
    MESSAGE("I_bias " << I << " pA: " << d.size() << " spikes, max |t_float - t_double| = " << worst
                      << " ms");
    CHECK(worst < 0.005);
    CHECK(worst > 0.0);  // the float kernel really runs in float
  }
}

TEST_CASE("TraubMilesHH: precision = float needs the exponential Euler integrator") {
  HHParams p;
  p.precision = point::Precision::f32;  // default integrator: etdrk4
  CHECK(p.validate().size() == 1);
  p.integrator = HHIntegrator::exponential_euler;
  CHECK(p.validate().empty());
}
