// Between clocked populations a delay of one tick and a delay of one step land on the same step
// boundary (a spike emitted at the end of step n acts from step n + 2 either way), but only the
// whole-step delay is staged (and prefetched) instead of queued (engine/simulator.cpp). The
// scaling benchmark (bench/scaling_cuba.toml) relies on the two giving the same run.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/recorder.hpp"
#include "engine/rng.hpp"
#include "engine/simulator.hpp"
#include "models/lif_cuba.hpp"

using namespace sbx;

namespace {

struct Result {
  std::vector<MemoryRecorder::Spike> spikes;
  std::vector<double> state;
  std::uint64_t events = 0;
};

// A self-driven CUBA network (E_L above threshold, random initial V), 400 E + 100 I cells,
// recurrent with p = 0.05, every delay `delay` ticks; in double or float.
Result run(Tick delay, point::Precision precision) {
  const TimeGrid grid(0.001);
  Simulator sim(grid, grid.from_ms(0.1));
  LifCubaParams p;
  p.precision = precision;
  auto e = std::make_unique<LifCubaPopulation>(400, p);
  auto i = std::make_unique<LifCubaPopulation>(100, p);
  Rng rng(21);
  for (Population* pop : {static_cast<Population*>(e.get()), static_cast<Population*>(i.get())})
    for (std::uint32_t k = 0; k < pop->size(); ++k)
      pop->state_view("V").set(k, rng.uniform(-60.0, -50.0));
  const auto E = sim.add_population("E", std::move(e));
  const auto I = sim.add_population("I", std::move(i));
  auto connect = [&](std::uint32_t a, std::uint32_t na, std::uint32_t b, std::uint32_t nb, double w,
                     std::uint32_t receptor) {
    std::vector<SynapseSpec> syn;
    for (std::uint32_t x = 0; x < na; ++x)
      for (std::uint32_t y = 0; y < nb; ++y)
        if (rng.bernoulli(0.05)) syn.push_back({x, y, w, delay});
    sim.add_projection(build_spike_projection("p", a, b, na, nb, receptor, std::move(syn)));
  };
  connect(E, 400, E, 400, 1.62, 0);
  connect(E, 400, I, 100, 1.62, 0);
  connect(I, 100, E, 400, -9.0, 1);
  connect(I, 100, I, 100, -9.0, 1);
  MemoryRecorder rec;
  sim.set_recorder(&rec);
  sim.run_until(grid.from_ms(300.0));
  Result r;
  r.spikes = std::move(rec.spikes);
  r.events = sim.stats().synaptic_events;
  for (const auto id : {E, I}) {
    std::vector<double> s;
    sim.population(id).save_state(s);
    r.state.insert(r.state.end(), s.begin(), s.end());
  }
  return r;
}

}  // namespace

TEST_CASE(
    "clocked -> clocked: a one-tick delay (queued) and a one-step delay (staged) give the "
    "same run") {
  for (const auto prec : {point::Precision::f64, point::Precision::f32}) {
    const Result a = run(1, prec);    // one tick: through the event queue
    const Result b = run(100, prec);  // one step (dt = 100 ticks): staged
    const Result c = run(0, prec);    // no delay: one step earlier, a different run
    const std::string name = prec == point::Precision::f32 ? "float" : "double";
    MESSAGE(name << ": " << a.spikes.size() << " spikes with one tick, " << b.spikes.size()
                 << " with one step, " << c.spikes.size() << " with 0");
    CHECK(a.spikes.size() > 1000);
    REQUIRE(a.spikes.size() == b.spikes.size());
    bool same = true;
    for (std::size_t k = 0; k < a.spikes.size(); ++k)
      same = same && a.spikes[k].t == b.spikes[k].t && a.spikes[k].neuron == b.spikes[k].neuron &&
             a.spikes[k].population == b.spikes[k].population;
    CHECK(same);
    CHECK(a.events == b.events);
    REQUIRE(a.state.size() == b.state.size());
    CHECK(std::memcmp(a.state.data(), b.state.data(), a.state.size() * sizeof(double)) == 0);
    CHECK(c.spikes.size() != a.spikes.size());  // the check can tell delays apart
  }
}
