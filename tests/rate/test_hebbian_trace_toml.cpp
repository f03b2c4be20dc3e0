// The §4.1 neuromodulated Hebbian trace as a TOML learning rule ("hebbian_trace" on a rate edge,
// circuits/rate_blocks.cpp): a circuit with it must run the recurrence of the C++ rule
// (NeuromodHebbianTrace + plastic_rnn_step, models/rate_rules.hpp) number for number.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "circuits/build.hpp"
#include "circuits/loader.hpp"
#include "engine/errors.hpp"
#include "models/rate_rules.hpp"

using namespace sbx;

namespace {

// tau = dt: x <- x + (dt/tau)(-x + I) = I, so r = tanh(I) is §4.1's h_{t+1} = tanh(W h_t + H_t h_t
// + b) with b = I_bias (no input: W_in x_t = 0).
std::string circuit(const std::string& rule) {
  return R"(
schema = "spikeblox/1"
connections = [
  { from = "net", to = "net", autapses = true, weight = { dist = "normal", mean = 0.0, sd = 0.5 }, learning = "trace" },
]
[meta]
seed = 7
[run]
dt = 1.0
tick = 1.0
duration = 40.0
[blocks.net]
type = "population"
model = "rate"
n = 4
tau = 1.0
I_bias = 0.15
x_init = { dist = "uniform", low = -0.8, high = 0.8 }
[rules.trace]
type = "hebbian_trace"
)" + rule;
}

struct Run {
  std::unique_ptr<Simulator> sim;
  circuits::BuiltCircuit built;
  std::uint32_t net = 0, cid = 0;
};

Run build(const std::string& text) {
  Run r;
  const auto desc = circuits::load_circuit_string(text, "trace.toml");
  r.sim = circuits::make_simulator(desc);
  r.built = circuits::build(desc, *r.sim);
  r.net = r.built.population("net");
  const auto* e = r.built.edge("net->net");
  REQUIRE(e != nullptr);
  REQUIRE(e->couplings.size() == 1);
  r.cid = e->couplings.front();
  return r;
}

// Runs the circuit step by step next to the C++ rule. m(t) is the gate of the trace update at tick
// t (the circuit's update runs at tick t, before the step from t to t + 1); `reset` (ticks, 0 =
// none) zeroes the reference trace like reset_every; before_step(t) runs before each step.
// Checks every rate and every synapse's w - w0 = H at 1e-12; returns the largest |H| seen.
double compare(Run& run, const std::function<double(Tick)>& m, Tick reset = 0,
               const std::function<void(Tick)>& before_step = {}) {
  constexpr std::uint32_t n = 4;
  const ContinuousProjection& cp = run.sim->continuous(run.cid);
  REQUIRE(cp.n_synapses() == n * n);
  const std::vector<double> w0 = cp.weight;
  std::vector<double> W(n * n, 0.0), b(n, 0.15), W_in(n, 0.0);
  for (std::size_t k = 0; k < cp.n_synapses(); ++k) W[cp.post[k] * n + cp.pre[k]] = w0[k];
  Population& net = run.sim->population(run.net);
  std::vector<double> h(net.continuous_output(), net.continuous_output() + n);
  NeuromodHebbianTrace tr(n, 0.1);
  run.sim->start();
  double max_H = 0.0, max_dr = 0.0, max_dH = 0.0;
  const double no_input = 0.0;
  for (Tick t = 0; t < 40; ++t) {
    if (before_step) before_step(t);
    run.sim->run_until(t + 1);  // the control of tick t (H_t), then the step to h_{t+1}
    // The coupling now carries w0 + H_t, H_t being the reference trace before this iteration's
    // update.
    for (std::size_t k = 0; k < cp.n_synapses(); ++k)
      max_dH = std::max(max_dH, std::abs((cp.weight[k] - w0[k]) - tr.at(cp.post[k], cp.pre[k])));
    std::vector<double> h_new(n);
    plastic_rnn_step(n, 1, W_in.data(), b.data(), W.data(), tr, &no_input, h.data(), h_new.data());
    const double* r = net.continuous_output();
    for (std::uint32_t i = 0; i < n; ++i) max_dr = std::max(max_dr, std::abs(r[i] - h_new[i]));
    // H_{t+1} = (1 - eta) H_t + eta m_{t+1} (h_t ⊗ h_{t+1}), or 0 at a reset tick.
    if (reset > 0 && (t + 1) % reset == 0)
      tr.reset();
    else
      tr.update(h.data(), h_new.data(), m(t + 1));
    h = h_new;
    for (std::uint32_t i = 0; i < n; ++i)
      for (std::uint32_t j = 0; j < n; ++j) max_H = std::max(max_H, std::abs(tr.at(i, j)));
  }
  CHECK(max_dr < 1e-12);
  CHECK(max_dH < 1e-12);
  return max_H;
}

}  // namespace

TEST_CASE("hebbian_trace in TOML: a dense recurrent rate edge runs the C++ rule's recurrence") {
  Run run = build(circuit("m = 0.7\n"));
  const double max_H = compare(run, [](Tick) { return 0.7; });
  CHECK(max_H > 1e-2);  // the trace is non-trivial and shapes the dynamics checked above
}

TEST_CASE("hebbian_trace in TOML: eta = 0 or m = 0 leaves the edge static") {
  for (const char* rule : {"eta = 0.0\n", "m = 0.0\n"}) {
    Run run = build(circuit(rule));
    const std::vector<double> w0 = run.sim->continuous(run.cid).weight;
    run.sim->start();
    run.sim->run_until(40);
    CHECK(run.sim->continuous(run.cid).weight == w0);
  }
}

TEST_CASE("hebbian_trace in TOML: gated by a named modulator, with pulses, and reset_every") {
  Run run =
      build(circuit("modulator = \"ach\"\nmodulator_baseline = 0.2\nmodulator_tau = 5.0\n"
                    "reset_every = 10.0\n"));
  REQUIRE(run.built.modulators.count("ach") == 1);
  Modulator& ach = *run.built.modulators.at("ach");
  // Pulses at ticks 3 and 17 (before those steps, i.e. before the tick's trace update).
  auto before = [&](Tick t) {
    if (t == 3 || t == 17) ach.pulse(t, 1.5);
  };
  // The gate of the update at tick t, written out: baseline + both pulses decaying with tau 5 ms.
  auto m = [&](Tick t) {
    double v = 0.2;
    for (Tick tp : {Tick{3}, Tick{17}})
      if (t >= tp) v += 1.5 * std::exp(-static_cast<double>(t - tp) / 5.0);
    return v;
  };
  const double max_H = compare(run, m, 10, before);
  CHECK(max_H > 1e-3);
}

TEST_CASE("hebbian_trace in TOML: on a spike edge it is an error with the position") {
  const char* text = R"(
schema = "spikeblox/1"
connections = [
  { from = "a", to = "b", weight = 1.0, learning = { type = "hebbian_trace" } },
]
[blocks.a]
type = "population"
model = "izhikevich"
n = 2
[blocks.b]
type = "population"
model = "izhikevich"
n = 2
)";
  try {
    const auto desc = circuits::load_circuit_string(text, "spike.toml");
    auto sim = circuits::make_simulator(desc);
    (void)circuits::build(desc, *sim);
    FAIL("no error");
  } catch (const UserError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("spike.toml:4:") != std::string::npos);
    CHECK(msg.find("hebbian_trace") != std::string::npos);
    CHECK(msg.find("rate") != std::string::npos);
  }
}

TEST_CASE("hebbian_trace in TOML: eta outside [0, 1] is rejected at load time") {
  try {
    (void)circuits::load_circuit_string(circuit("eta = 1.5\n"), "eta.toml");
    FAIL("no error");
  } catch (const UserError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("eta") != std::string::npos);
    CHECK(msg.find("[0, 1]") != std::string::npos);
  }
}
