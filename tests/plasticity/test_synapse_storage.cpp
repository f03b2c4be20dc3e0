// Synapse storage (engine/projection.hpp) and the per-segment presynaptic traces of the STDP rules
// (circuits/plasticity.hpp): bytes per static and plastic synapse, and pair STDP on a projection
// with several delays per row against a brute-force all-to-all sum over every spike pair.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "circuits/plasticity.hpp"
#include "engine/rng.hpp"
#include "tests/plasticity/random_projection.hpp"

using namespace sbx;
using test::random_projection;

TEST_CASE("synapse storage: 12 bytes per static synapse, 21 per pair-STDP, 24 per R-STDP synapse") {
  Rng rng = Rng::stream(3, "storage");
  SpikeProjection p =
      random_projection(1000, 1000, 200, 1, 0.5, rng);  // one delay: one segment/row
  const double n = static_cast<double>(p.n_synapses());
  // post (4) + weight (4) + pre index (4) + per-row arrays ((4 + 4 + 4 + 8) B per row / 200).
  CHECK(static_cast<double>(p.memory_bytes()) / n ==
        doctest::Approx(12.0 + 24.0 / 200).epsilon(0.01));
  PairStdp r(p, StdpParams{}, TimeGrid(0.1));
  // column list {synapse, segment} (8) + `seen` (1) + segment starts and traces (per row, / 200)
  // + per post neuron trace, count and history ((8 + 5 + 8·(kPostHistory + 1)) B / 200).
  CHECK(static_cast<double>(r.memory_bytes()) / n < 10.0);  // 9.87 with kPostHistory 16
  Modulator da("dopamine", 0.0, 200.0, TimeGrid(0.1));
  ThreeFactorStdp t(p, ThreeFactorParams{}, da, TimeGrid(0.1));
  CHECK(static_cast<double>(t.memory_bytes()) / n < 12.2);  // + eligibility f32 (4), no K index
  // Edges built from TOML keep no presynaptic index (circuits/build.cpp): the totals per synapse.
  p.pre_of_syn.release();
  const double base = static_cast<double>(p.memory_bytes()) / n;
  CHECK(base == doctest::Approx(8.0 + 24.0 / 200).epsilon(0.01));
  CHECK(base + static_cast<double>(r.memory_bytes()) / n < 18.1);  // pair STDP
  CHECK(base + static_cast<double>(t.memory_bytes()) / n < 20.4);  // R-STDP (target <= 24)
}

TEST_CASE("pair STDP with per-segment pre traces equals the all-pairs sum (several delays/row)") {
  const TimeGrid grid(0.1);
  Rng rng = Rng::stream(5, "stdp-seg");
  SpikeProjection p = random_projection(30, 20, 12, 4, 0.5, rng);
  REQUIRE(p.n_segments() > 60);  // rows really are split into delay segments
  StdpParams prm;
  prm.A_plus = 0.001, prm.A_minus = 0.0012, prm.tau_plus = 17.0, prm.tau_minus = 23.0;
  prm.w_min = -10.0, prm.w_max = 10.0;  // bounds never reached: the sum is exact
  PairStdp r(p, prm, grid);
  // Random pre spikes (arrival = spike + segment delay) and post spikes, distinct ticks.
  std::vector<std::vector<Tick>> arrivals(p.n_synapses()), posts(p.n_post);
  struct Ev {
    Tick t;
    bool post;
    std::uint32_t id;
  };
  std::vector<Ev> ev;
  for (Tick t = 1; t < 20000; t += 7) {  // 0.7 ms apart: never two events at one tick
    if (rng.uniform() < 0.5)
      ev.push_back({t, false, static_cast<std::uint32_t>(rng.below(p.n_segments()))});
    else
      ev.push_back({t, true, static_cast<std::uint32_t>(rng.below(p.n_post))});
  }
  std::vector<double> ref(p.n_synapses(), 0.5);
  for (const Ev& e : ev) {
    if (e.post) {
      for (std::uint32_t k = 0; k < p.n_synapses(); ++k)
        if (p.post[k] == e.id)
          for (Tick ta : arrivals[k])
            ref[k] += prm.A_plus * std::exp(-grid.to_ms(e.t - ta) / prm.tau_plus);
      posts[e.id].push_back(e.t);
      r.on_post(p, e.id, e.t);
    } else {
      for (std::uint32_t k = p.seg_begin[e.id]; k < p.seg_begin[e.id + 1]; ++k) {
        for (Tick tp : posts[p.post[k]])
          ref[k] -= prm.A_minus * std::exp(-grid.to_ms(e.t - tp) / prm.tau_minus);
        arrivals[k].push_back(e.t);
      }
      r.on_pre_segment(p, e.id, e.t);
    }
  }
  for (std::uint32_t k = 0; k < p.n_synapses(); ++k) {
    CHECK(r.weight(p, k, 20000) == doctest::Approx(ref[k]).epsilon(1e-5));  // weights are f32
    if (!arrivals[k].empty())
      CHECK(r.pre_trace(k, 20000) == doctest::Approx([&] {
                                       double x = 0;
                                       for (Tick ta : arrivals[k])
                                         x += std::exp(-grid.to_ms(20000 - ta) / prm.tau_plus);
                                       return x;
                                     }())
                                         .epsilon(1e-9));
  }
}
