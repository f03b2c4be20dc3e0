// The `precision` key of lif_cuba through the TOML path (circuits/point_models.cpp, initial
// states drawn into float arrays by circuits/build.cpp), and the accuracy cost of single
// precision on the CUBA benchmark network (circuits_toml/cuba.toml, 4000 cells, 1 s): spike-time
// divergence against double. The network is chaotic, so once one spike moves by a step the
// trains part; what must hold is that they agree until then and that the statistics (rates) stay
// the same.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "circuits/build.hpp"
#include "circuits/loader.hpp"
#include "engine/errors.hpp"
#include "engine/recorder.hpp"
#include "engine/simulator.hpp"
#include "models/lif_cuba.hpp"

using namespace sbx;

namespace {

struct CubaRun {
  std::vector<MemoryRecorder::Spike> spikes;
  std::uint64_t events = 0;
  double first_V_E = 0.0;      // V of E cell 0 after the build
  std::uint32_t E = 0, I = 0;  // population ids
};

// round_init: a double run whose initial V are rounded to float (a one-off perturbation of
// ~1e-6 mV, the float run's initial error). Measured: no spike changes in 1 s, so the float run's
// divergence comes from the rounding of every step, not from its initial values.
CubaRun run_cuba(const std::string& precision, double duration_ms, bool round_init = false) {
  const auto desc = circuits::load_circuit_file(
      std::string(SBX_SOURCE_DIR) + "/circuits_toml/cuba.toml",
      {"blocks.E.precision=\"" + precision + "\"", "blocks.I.precision=\"" + precision + "\"",
       "run.duration=" + std::to_string(duration_ms)});
  auto sim = circuits::make_simulator(desc);
  circuits::BuildOptions opt;
  opt.add_probes = false;
  circuits::build(desc, *sim, opt);
  CubaRun r;
  r.E = static_cast<std::uint32_t>(sim->find_population("E"));
  r.I = static_cast<std::uint32_t>(sim->find_population("I"));
  if (round_init)
    for (const std::uint32_t id : {r.E, r.I}) {
      double* V = sim->population(id).state("V");
      for (std::uint32_t i = 0; i < sim->population(id).size(); ++i)
        V[i] = static_cast<float>(V[i]);
    }
  r.first_V_E = sim->population(r.E).state_view("V").get(0);
  MemoryRecorder rec;
  sim->set_recorder(&rec);
  sim->run_until(circuits::run_ticks(desc));
  r.spikes = std::move(rec.spikes);
  r.events = sim->stats().synaptic_events;
  return r;
}

}  // namespace

TEST_CASE("lif_cuba precision: a bad value is a clear error naming the key and the choices") {
  try {
    circuits::load_circuit_string(R"(
[run]
duration = 1.0
[blocks.E]
type = "population"
model = "lif_cuba"
n = 10
precision = "single"
)",
                                  "t.toml");
    FAIL("accepted precision = \"single\"");
  } catch (const UserError& e) {
    REQUIRE(e.diagnostics.size() == 1);
    const Diagnostic& d = e.diagnostics[0];
    MESSAGE(d.format());
    CHECK(d.line == 8);
    CHECK(d.key_path == "blocks.E.precision");
    CHECK(d.message.find("double") != std::string::npos);
    CHECK(d.message.find("float") != std::string::npos);
  }
}

TEST_CASE("CUBA 4000, 1 s: float vs double spike-time divergence and rates") {
  const CubaRun d = run_cuba("double", 1000.0);
  const CubaRun f = run_cuba("float", 1000.0);
  // Same initial draws, rounded to float.
  CHECK(static_cast<float>(d.first_V_E) == f.first_V_E);
  // First spike that differs (time, population, neuron), both in emission order.
  auto common_prefix = [](const CubaRun& a, const CubaRun& b) {
    std::size_t k = 0;
    while (k < std::min(a.spikes.size(), b.spikes.size()) && a.spikes[k].t == b.spikes[k].t &&
           a.spikes[k].population == b.spikes[k].population &&
           a.spikes[k].neuron == b.spikes[k].neuron)
      ++k;
    return k;
  };
  const std::size_t k = common_prefix(d, f);
  const double t_div = k < d.spikes.size() ? d.spikes[k].t * 0.001 : 1000.0;  // tick = 1 us
  const CubaRun c = run_cuba("double", 1000.0, /*round_init=*/true);
  const std::size_t kc = common_prefix(d, c);
  MESSAGE("control, double with initial V rounded to float: first difference after "
          << kc << " spikes at t = " << (kc < d.spikes.size() ? d.spikes[kc].t * 0.001 : 1000.0)
          << " ms, " << c.spikes.size() << " spikes");
  // Per-cell spike counts over the second half (well after divergence): rate statistics.
  auto rate = [](const CubaRun& r, bool excitatory, double n) {
    const std::uint32_t pop = excitatory ? r.E : r.I;
    std::size_t c = 0;
    for (const auto& s : r.spikes) c += s.population == pop && s.t >= 500000;
    return static_cast<double>(c) / n / 0.5;
  };
  const double rE_d = rate(d, true, 3200), rE_f = rate(f, true, 3200);
  const double rI_d = rate(d, false, 800), rI_f = rate(f, false, 800);
  MESSAGE("spikes: double " << d.spikes.size() << ", float " << f.spikes.size()
                            << "; identical spike sequence for the first " << k
                            << " spikes, first difference at t = " << t_div << " ms");
  MESSAGE("rates 500-1000 ms (Hz): E double " << rE_d << " float " << rE_f << ", I double " << rI_d
                                              << " float " << rI_f);
  // How the difference spreads: per window, the fraction of double spikes that have a float
  // spike of the same cell within ±0.5 ms (chance at ~5.5 Hz: ~0.6 %).
  std::vector<std::vector<Tick>> ft(4000);
  for (const auto& s : f.spikes) ft[(s.population == f.E ? 0 : 3200) + s.neuron].push_back(s.t);
  const double edges[] = {0, 25, 50, 100, 200, 500, 1000};
  std::string matched;
  double frac[6] = {};
  for (int w = 0; w < 6; ++w) {
    std::size_t n = 0, m = 0;
    for (const auto& s : d.spikes) {
      if (s.t < edges[w] * 1000 || s.t >= edges[w + 1] * 1000) continue;
      const auto& v = ft[(s.population == d.E ? 0 : 3200) + s.neuron];
      const auto it = std::lower_bound(v.begin(), v.end(), s.t - 500);
      ++n;
      m += it != v.end() && *it <= s.t + 500;
    }
    frac[w] = n ? static_cast<double>(m) / static_cast<double>(n) : 0.0;
    matched += std::to_string(static_cast<int>(edges[w])) + "-" +
               std::to_string(static_cast<int>(edges[w + 1])) +
               " ms: " + std::to_string(n ? 100.0 * m / n : 0.0).substr(0, 5) + " %; ";
  }
  MESSAGE("double spikes matched by float within 0.5 ms: " << matched);
  CHECK(d.spikes.size() > 10000);  // CUBA fires at ~5.5 Hz: ~22 k spikes in 1 s
  // Measured: 100 % of the spikes matched over 0-50 ms, 98 % over 50-100 ms, chance from 200 ms.
  CHECK(frac[0] > 0.95);
  CHECK(frac[1] > 0.9);
  // A one-off 1e-6 mV perturbation parts the trains later than float arithmetic (measured: never).
  CHECK(kc > k);
  // The trains agree for a while (measured: 713 spikes, 21.1 ms), then part (chaos).
  CHECK(k > 100);
  CHECK(t_div > 5.0);
  // Statistics unchanged: total counts and rates within 5 % (measured: 1.0 %, 0.7 %, 0.1 %).
  const double rel = std::fabs(static_cast<double>(f.spikes.size()) - d.spikes.size()) /
                     static_cast<double>(d.spikes.size());
  CHECK(rel < 0.05);
  CHECK(std::fabs(rE_f - rE_d) < 0.05 * rE_d + 0.2);
  CHECK(std::fabs(rI_f - rI_d) < 0.05 * rI_d + 0.2);
}
