// Rate population (models/rate_unit.hpp): closed form of the linear case, dt convergence, tanh
// transfer, and a TOML circuit of rate units run by the simulator.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "circuits/build.hpp"
#include "circuits/loader.hpp"
#include "models/rate_unit.hpp"

using namespace sbx;

namespace {

// Integrates one linear unit with constant input I from x0 for t_end ms at step dt.
double integrate_linear(double x0, double I, double tau, double dt, double t_end) {
  RateParams p;
  p.tau = tau;
  RatePopulation pop(1, p, RateTransfer::linear);
  pop.state("x")[0] = x0;
  std::vector<std::uint32_t> spiked;
  const int n = static_cast<int>(std::lround(t_end / dt));
  for (int s = 0; s < n; ++s) {
    pop.current_input()[0] = I;  // the simulator refills the accumulator before every step
    pop.step(StepContext{0, 0, s * dt, dt}, spiked);
  }
  CHECK(spiked.empty());
  return pop.state("x")[0];
}

}  // namespace

TEST_CASE("rate_linear: Euler steps match (1 - dt/tau)^n exactly and converge to the closed form") {
  const double x0 = -0.7, I = 1.3, tau = 30.0, t_end = 90.0;
  const double exact = I + (x0 - I) * std::exp(-t_end / tau);
  double prev_err = 0.0;
  for (double dt : {1.0, 0.5, 0.25, 0.125}) {
    const double x = integrate_linear(x0, I, tau, dt, t_end);
    const double euler = I + (x0 - I) * std::pow(1.0 - dt / tau, t_end / dt);
    CHECK(x == doctest::Approx(euler).epsilon(1e-12));
    const double err = std::abs(x - exact);
    CHECK(err < 0.01 * dt);  // first order, small constant (|x0 - I| t e^{-t/tau} / (2 tau^2))
    if (prev_err > 0.0) CHECK(prev_err / err == doctest::Approx(2.0).epsilon(0.03));
    prev_err = err;
  }
}

TEST_CASE("rate: r = tanh(x), I_bias adds to the input, unstable dt is rejected") {
  RateParams p;
  p.tau = 10.0;
  p.I_bias = 0.5;
  RatePopulation pop(2, p, RateTransfer::tanh);
  pop.state("x")[0] = 0.2;
  pop.state("x")[1] = -3.0;
  // x written from outside: r must follow before anyone reads it.
  CHECK(pop.continuous_output()[1] == doctest::Approx(std::tanh(-3.0)));
  std::vector<std::uint32_t> spiked;
  pop.current_input()[0] = 1.0;
  pop.current_input()[1] = 0.0;
  pop.step(StepContext{0, 0, 0.0, 1.0}, spiked);
  const double x0 = 0.2 + 0.1 * (1.0 + 0.5 - 0.2), x1 = -3.0 + 0.1 * (0.5 + 3.0);
  CHECK(pop.state("x")[0] == doctest::Approx(x0).epsilon(1e-15));
  CHECK(pop.state("x")[1] == doctest::Approx(x1).epsilon(1e-15));
  CHECK(pop.state("r")[0] == doctest::Approx(std::tanh(x0)).epsilon(1e-15));
  CHECK(pop.continuous_output()[1] == doctest::Approx(std::tanh(x1)).epsilon(1e-15));
  CHECK_THROWS_AS(pop.step(StepContext{0, 0, 0.0, 25.0}, spiked), UserError);
  RateParams bad;
  bad.tau = 0.0;
  CHECK_THROWS_AS(RatePopulation(1, bad, RateTransfer::tanh), UserError);
}

TEST_CASE("rate units in TOML: current_source -> rate_linear -> rate, run by the simulator") {
  // Unit a (linear) integrates a constant current 2.0 (weight 0.5 -> input 1.0) from x = 0;
  // unit b (tanh) is driven by 3·r_a. a follows its closed form; b is checked against a direct
  // Euler integration of the same coupled equations.
  const char* text = R"(
schema = "spikeblox/1"
connections = [
  { from = "drive", to = "a", weight = 0.5 },
  { from = "a", to = "b", weight = 3.0 },
]
[run]
dt = 0.5
tick = 0.5
duration = 60.0
[blocks.drive]
type = "current_source"
amplitude = 2.0
[blocks.a]
type = "population"
model = "rate_linear"
n = 1
tau = 20.0
[blocks.b]
type = "population"
model = "rate"
n = 1
tau = 10.0
x_init = 0.1
)";
  auto desc = circuits::load_circuit_string(text, "rate.toml");
  auto sim = circuits::make_simulator(desc);
  auto built = circuits::build(desc, *sim);
  sim->start();
  sim->run_until(circuits::run_ticks(desc));
  Population& a = sim->population(built.population("a"));
  Population& b = sim->population(built.population("b"));
  const double xa = 1.0 * (1.0 - std::pow(1.0 - 0.5 / 20.0, 120));
  CHECK(a.state("x")[0] == doctest::Approx(xa).epsilon(1e-12));
  CHECK(std::abs(xa - (1.0 - std::exp(-60.0 / 20.0))) < 2e-3);
  double ya = 0.0, yb = 0.1;
  for (int s = 0; s < 120; ++s) {
    const double in_b = 3.0 * ya;  // coupling read at the start of the step
    ya += 0.5 / 20.0 * (1.0 - ya);
    yb += 0.5 / 10.0 * (in_b - yb);
  }
  CHECK(b.state("x")[0] == doctest::Approx(yb).epsilon(1e-12));
  CHECK(b.state("r")[0] == doctest::Approx(std::tanh(yb)).epsilon(1e-12));
}

TEST_CASE("rate units in TOML: a misspelt key is an error with its position") {
  const char* text = R"(
schema = "spikeblox/1"
[blocks.a]
type = "population"
model = "rate"
n = 3
taux = 20.0
)";
  try {
    (void)circuits::load_circuit_string(text, "bad.toml");
    FAIL("no error");
  } catch (const UserError& e) {
    const std::string m = e.what();
    CHECK(m.find("bad.toml:7:1") != std::string::npos);
    CHECK(m.find("taux") != std::string::npos);
    CHECK(m.find("tau") != std::string::npos);
  }
}
