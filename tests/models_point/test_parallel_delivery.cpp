// Multi-threaded runs defer the spike deliveries into populations split across threads and apply
// them inside the parallel step, each thread into its own neuron range (engine/simulator.cpp,
// Simulator::deliver). These cases check that everything that can observe or change the receptor
// buffers between two steps sees exactly what one thread sees: control events (read the buffers,
// rescale weights), a plastic projection into the same buffer, probes on the buffer variable, and
// segments whose targets are not in ascending order (the filtered path).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "circuits/sources.hpp"
#include "engine/learning.hpp"
#include "engine/recorder.hpp"
#include "engine/rng.hpp"
#include "engine/simulator.hpp"
#include "models/lif_cuba.hpp"
#include "models/traub_miles_hh.hpp"

using namespace sbx;

namespace {

// Potentiates the synapses of every delivered segment by a fixed step before they are delivered,
// so the delivered weight depends on how many times the segment was delivered before.
class GrowOnPre final : public SpikeLearningRule {
 public:
  void on_pre(SpikeProjection& p, std::uint32_t begin, std::uint32_t end, Tick) override {
    for (std::uint32_t k = begin; k < end; ++k) p.weight[k] += step;
    ++calls;
  }
  void on_post(SpikeProjection&, std::uint32_t, Tick) override {}
  bool needs_post() const override { return false; }
  float step = 0.125f;
  std::uint64_t calls = 0;
};

// An event-driven population of one neuron that spikes at given ticks.
class SpikeTrain final : public Population {
 public:
  explicit SpikeTrain(std::vector<Tick> ticks) : ticks_(std::move(ticks)) {}
  std::string_view model() const override { return "spike_train"; }
  std::uint32_t size() const override { return 1; }
  Dynamics dynamics() const override { return Dynamics::event_driven; }
  void start(Tick, std::uint32_t self, SpikeScheduler& sched) override {
    self_ = self;
    next(sched);
  }
  bool fire_predicted(std::uint32_t, std::uint32_t version, Tick, SpikeScheduler& sched) override {
    if (version != k_) return false;
    ++k_;
    next(sched);
    return true;
  }
  double* state(std::string_view) override { return nullptr; }
  std::vector<std::string> state_names() const override { return {}; }
  void save_state(std::vector<double>& out) const override { out.clear(); }
  void load_state(std::span<const double>) override {}

 private:
  void next(SpikeScheduler& sched) {
    if (k_ < ticks_.size()) sched.schedule_spike(self_, 0, k_, ticks_[k_]);
  }
  std::vector<Tick> ticks_;
  std::uint32_t self_ = 0, k_ = 0;
};

struct Outcome {
  std::vector<MemoryRecorder::Spike> spikes;
  std::vector<MemoryRecorder::Sample> samples;
  std::vector<double> seen_by_control;  // sum of CU's g_e at every control event
  std::vector<double> state;
  std::uint64_t synaptic_events = 0, plastic_calls = 0;
};

Outcome run(unsigned threads, bool sorted_rows) {
  const TimeGrid grid(0.001);
  Simulator sim(grid, grid.from_ms(0.1));
  sim.set_threads(threads, /*spin=*/false);
  const auto src = sim.add_population(
      "P", std::make_unique<circuits::PoissonSource>(60, 80.0, 0.0, 1e9, grid, Rng(11)));
  LifCubaParams cp;
  cp.E_L = -52.0;
  auto cu_pop = std::make_unique<LifCubaPopulation>(97, cp);
  cu_pop->set_min_neurons_per_split(0);  // split this small population across threads
  LifCubaPopulation* cu_ptr = cu_pop.get();
  const auto cu = sim.add_population("CU", std::move(cu_pop));
  HHParams hp;
  hp.integrator = HHIntegrator::exponential_euler;
  const auto hh = sim.add_population("HH", std::make_unique<TraubMilesHHPopulation>(75, hp));

  Rng rng(21);
  auto synapses = [&](std::uint32_t na, std::uint32_t nb, double p, double w, Tick delay) {
    std::vector<SynapseSpec> syn;
    for (std::uint32_t i = 0; i < na; ++i)
      for (std::uint32_t j = 0; j < nb; ++j)
        if (rng.bernoulli(p)) syn.push_back({i, j, w * (1.0 + 0.1 * rng.uniform()), delay});
    // Descending targets within a row: segments are then unsorted (the filtered delivery path).
    if (!sorted_rows) std::reverse(syn.begin(), syn.end());
    return syn;
  };
  const auto p_cu = sim.add_projection(
      build_spike_projection("P->CU", src, cu, 60, 97, 0, synapses(60, 97, 0.2, 8.0, 0)));
  const auto p_hh = sim.add_projection(build_spike_projection(
      "P->HH", src, hh, 60, 75, 0, synapses(60, 75, 0.2, 25.0, grid.from_ms(0.05))));
  sim.add_projection(
      build_spike_projection("HH->CU", hh, cu, 75, 97, 1, synapses(75, 97, 0.1, -2.0, 0)));
  sim.add_projection(build_spike_projection("CU->HH", cu, hh, 97, 75, 1,
                                            synapses(97, 75, 0.1, 40.0, grid.from_ms(0.2))));
  // Plastic, into the same buffer (CU receptor 0) as the static P->CU deliveries. From HH, so
  // its deliveries land on step boundaries while P->CU ones fall anywhere within a step.
  const auto plastic = sim.add_projection(
      build_spike_projection("HH->CU plastic", hh, cu, 75, 97, 0, synapses(75, 97, 0.1, 1.0, 0)));
  auto rule = std::make_unique<GrowOnPre>();
  GrowOnPre* rule_ptr = rule.get();
  sim.set_rule(plastic, std::move(rule));

  Outcome out;
  // Every 0.73 ms (between step boundaries): read CU's excitatory buffer, then rescale the static
  // P->CU and P->HH weights (a deferred delivery applied after this would use the new weights).
  std::uint32_t ctl = 0;
  ctl = sim.add_control([&](Tick t, std::uint32_t, std::uint32_t) {
    const double* ge = cu_ptr->state("g_e");
    out.seen_by_control.push_back(std::accumulate(ge, ge + 97, 0.0));
    for (float& w : sim.projection(p_cu).weight) w *= 0.995f;
    for (float& w : sim.projection(p_hh).weight) w *= 0.999f;
    sim.schedule_control(t + grid.from_ms(0.73), ctl);
  });
  sim.schedule_control(grid.from_ms(0.73), ctl);
  Probe pr;
  pr.population = cu;
  pr.variable = "g_e";
  pr.neurons = {0, 13, 48, 96};
  pr.every = grid.from_ms(0.1);
  sim.add_probe(pr);

  MemoryRecorder rec;
  sim.set_recorder(&rec);
  sim.run_until(grid.from_ms(60.0));
  out.spikes = std::move(rec.spikes);
  out.samples = std::move(rec.samples);
  for (std::uint32_t p = 0; p < sim.n_populations(); ++p) {
    std::vector<double> s;
    sim.population(p).save_state(s);
    out.state.insert(out.state.end(), s.begin(), s.end());
  }
  out.synaptic_events = sim.stats().synaptic_events;
  out.plastic_calls = rule_ptr->calls;
  return out;
}

void check_same(const Outcome& a, const Outcome& b) {
  CHECK(a.synaptic_events == b.synaptic_events);
  CHECK(a.plastic_calls == b.plastic_calls);
  REQUIRE(a.spikes.size() == b.spikes.size());
  bool same = true;
  for (std::size_t i = 0; i < a.spikes.size(); ++i)
    same = same && a.spikes[i].population == b.spikes[i].population &&
           a.spikes[i].neuron == b.spikes[i].neuron && a.spikes[i].t == b.spikes[i].t;
  CHECK(same);
  REQUIRE(a.seen_by_control.size() == b.seen_by_control.size());
  CHECK(std::memcmp(a.seen_by_control.data(), b.seen_by_control.data(),
                    a.seen_by_control.size() * sizeof(double)) == 0);
  REQUIRE(a.samples.size() == b.samples.size());
  bool same_samples = true;
  for (std::size_t i = 0; i < a.samples.size(); ++i)
    same_samples = same_samples && a.samples[i].t == b.samples[i].t &&
                   a.samples[i].values == b.samples[i].values;
  CHECK(same_samples);
  REQUIRE(a.state.size() == b.state.size());
  CHECK(std::memcmp(a.state.data(), b.state.data(), a.state.size() * sizeof(double)) == 0);
}

}  // namespace

TEST_CASE("threads: deferred deliveries are seen by controls, probes and plastic rules as on 1") {
  for (const bool sorted_rows : {true, false}) {
    CAPTURE(sorted_rows);
    const Outcome one = run(1, sorted_rows);
    std::size_t per_pop[3] = {};
    for (const auto& s : one.spikes) ++per_pop[s.population];
    MESSAGE("spikes (1 thread): P " << per_pop[0] << ", CU " << per_pop[1] << ", HH " << per_pop[2]
                                    << "; controls " << one.seen_by_control.size());
    // The network must be active for the comparison to mean something.
    CHECK(per_pop[0] > 100);
    CHECK(per_pop[1] > 10);
    CHECK(per_pop[2] > 10);
    CHECK(one.plastic_calls > 100);
    CHECK(one.seen_by_control.size() == 82);  // controls at 0.73, 1.46, ... < 60 ms
    CHECK(std::count_if(one.seen_by_control.begin(), one.seen_by_control.end(),
                        [](double x) { return x != 0.0; }) > 40);
    for (const unsigned threads : {2u, 3u}) {
      CAPTURE(threads);
      check_same(one, run(threads, sorted_rows));
    }
  }
}

TEST_CASE("threads: a plastic delivery after deferred ones in the same step keeps their order") {
  // Within one step (ticks 1000..1100): a control sets g_e = 1 (ticks 1010), a static delivery
  // adds -1 (1020, deferred with 2+ threads), a plastic one adds 2^-54 (1100). In that order
  // g_e = (1 - 1) + 2^-54 = 2^-54 exactly; applied out of order, (1 + 2^-54) - 1 = 0.
  const float tiny = 0x1p-54f;
  for (const unsigned threads : {1u, 2u, 3u}) {
    CAPTURE(threads);
    const TimeGrid grid(0.001);
    Simulator sim(grid, 100);
    sim.set_threads(threads, /*spin=*/false);
    const auto s1 = sim.add_population("S1", std::make_unique<SpikeTrain>(std::vector<Tick>{1020}));
    const auto s2 = sim.add_population("S2", std::make_unique<SpikeTrain>(std::vector<Tick>{1100}));
    LifCubaParams cp;
    cp.E_L = -60.0;  // at rest below threshold: no spikes
    auto cu_pop = std::make_unique<LifCubaPopulation>(16, cp);
    cu_pop->set_min_neurons_per_split(0);
    LifCubaPopulation* cu_ptr = cu_pop.get();
    const auto cu = sim.add_population("CU", std::move(cu_pop));
    sim.add_projection(
        build_spike_projection("S1->CU", s1, cu, 1, 16, 0, {{0, 3, -1.0, 0}, {0, 12, -1.0, 0}}));
    const auto plastic = sim.add_projection(
        build_spike_projection("S2->CU", s2, cu, 1, 16, 0, {{0, 3, tiny, 0}, {0, 12, tiny, 0}}));
    auto rule = std::make_unique<GrowOnPre>();
    rule->step = 0.0f;
    sim.set_rule(plastic, std::move(rule));
    const auto ctl = sim.add_control([&](Tick, std::uint32_t, std::uint32_t) {
      double* ge = cu_ptr->state("g_e");
      ge[3] = ge[12] = 1.0;
    });
    sim.schedule_control(1010, ctl);
    Probe pr;
    pr.population = cu;
    pr.variable = "g_e";
    pr.neurons = {3, 12};
    pr.every = 100;
    sim.add_probe(pr);
    MemoryRecorder rec;
    sim.set_recorder(&rec);
    sim.run_until(1200);
    REQUIRE(rec.samples.size() == 12);
    CHECK(rec.samples[11].t == 1100);
    CHECK(rec.samples[11].values == std::vector<double>{0x1p-54, 0x1p-54});
  }
}

namespace {

// A clocked population of one neuron that spikes at the end of the steps ending at given ticks.
class ClockedTrain final : public Population {
 public:
  explicit ClockedTrain(std::vector<Tick> ends) : ends_(std::move(ends)) {}
  std::string_view model() const override { return "clocked_train"; }
  std::uint32_t size() const override { return 1; }
  Dynamics dynamics() const override { return Dynamics::clocked; }
  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    if (std::find(ends_.begin(), ends_.end(), ctx.t + ctx.dt) != ends_.end()) spiked.push_back(0);
  }
  double* state(std::string_view) override { return nullptr; }
  std::vector<std::string> state_names() const override { return {}; }
  void save_state(std::vector<double>& out) const override { out.clear(); }
  void load_state(std::span<const double>) override {}

 private:
  std::vector<Tick> ends_;
};

}  // namespace

TEST_CASE("staged deliveries merge with queued ones at their tick in projection order") {
  // At tick 1100 a control sets g_e = 1, then two deliveries land on the same neurons: -1 from an
  // event-driven source (queued) and 2^-54 from a clocked one (staged, delay 0). Projection order
  // decides: -1 first gives (1 - 1) + 2^-54 = 2^-54, 2^-54 first gives (1 + 2^-54) - 1 = 0.
  const float tiny = 0x1p-54f;
  for (const bool queued_first : {true, false})
    for (const unsigned threads : {1u, 2u}) {
      CAPTURE(queued_first);
      CAPTURE(threads);
      const TimeGrid grid(0.001);
      Simulator sim(grid, 100);
      sim.set_threads(threads, /*spin=*/false);
      const auto ev =
          sim.add_population("EV", std::make_unique<SpikeTrain>(std::vector<Tick>{1100}));
      const auto ck =
          sim.add_population("CK", std::make_unique<ClockedTrain>(std::vector<Tick>{1100}));
      LifCubaParams cp;
      cp.E_L = -60.0;
      auto cu_pop = std::make_unique<LifCubaPopulation>(16, cp);
      cu_pop->set_min_neurons_per_split(0);
      LifCubaPopulation* cu_ptr = cu_pop.get();
      const auto cu = sim.add_population("CU", std::move(cu_pop));
      auto queued = [&] {
        sim.add_projection(build_spike_projection("EV->CU", ev, cu, 1, 16, 0,
                                                  {{0, 3, -1.0, 0}, {0, 12, -1.0, 0}}));
      };
      auto staged = [&] {
        sim.add_projection(build_spike_projection("CK->CU", ck, cu, 1, 16, 0,
                                                  {{0, 3, tiny, 0}, {0, 12, tiny, 0}}));
      };
      if (queued_first) {
        queued();
        staged();
      } else {
        staged();
        queued();
      }
      const auto ctl = sim.add_control([&](Tick, std::uint32_t, std::uint32_t) {
        double* ge = cu_ptr->state("g_e");
        ge[3] = ge[12] = 1.0;
      });
      sim.schedule_control(1100, ctl);
      Probe pr;
      pr.population = cu;
      pr.variable = "g_e";
      pr.neurons = {3, 12};
      pr.every = 100;
      sim.add_probe(pr);
      MemoryRecorder rec;
      sim.set_recorder(&rec);
      sim.run_until(1200);
      REQUIRE(rec.samples.size() == 12);
      CHECK(rec.samples[11].t == 1100);
      const double expect = queued_first ? 0x1p-54 : 0.0;
      CHECK(rec.samples[11].values == std::vector<double>{expect, expect});
      CHECK(sim.stats().spikes == 2);
      CHECK(sim.stats().synaptic_events == 4);
    }
}

TEST_CASE("checkpoint with staged deliveries in flight continues exactly (1 and 2 threads)") {
  for (const unsigned threads : {1u, 2u}) {
    CAPTURE(threads);
    const TimeGrid grid(0.001);
    Simulator sim(grid, grid.from_ms(0.1));
    sim.set_threads(threads, /*spin=*/false);
    const auto src = sim.add_population(
        "P", std::make_unique<circuits::PoissonSource>(40, 100.0, 0.0, 1e9, grid, Rng(4)));
    HHParams hp;
    hp.integrator = HHIntegrator::exponential_euler;
    const auto hh = sim.add_population("HH", std::make_unique<TraubMilesHHPopulation>(64, hp));
    Rng rng(8);
    std::vector<SynapseSpec> in, rec_slow, rec_fast;
    for (std::uint32_t i = 0; i < 40; ++i)
      for (std::uint32_t j = 0; j < 64; ++j)
        if (rng.bernoulli(0.2)) in.push_back({i, j, 30.0, grid.from_ms(0.05)});
    for (std::uint32_t i = 0; i < 64; ++i)
      for (std::uint32_t j = 0; j < 64; ++j) {
        if (rng.bernoulli(0.1)) rec_slow.push_back({i, j, 6.0, grid.from_ms(0.5)});
        if (rng.bernoulli(0.1)) rec_fast.push_back({i, j, 20.0, 0});
      }
    sim.add_projection(build_spike_projection("P->HH", src, hh, 40, 64, 0, in));
    const auto slow =
        sim.add_projection(build_spike_projection("HH->HH slow", hh, hh, 64, 64, 0, rec_slow));
    sim.add_projection(build_spike_projection("HH->HH fast", hh, hh, 64, 64, 1, rec_fast));
    MemoryRecorder rec;
    sim.set_recorder(&rec);
    sim.run_until(grid.from_ms(30.0));
    const auto cp = sim.save_checkpoint();
    // HH->HH slow deliveries (0.5 ms = 5 steps) in flight are staged, not queued: they must be
    // in the checkpoint.
    CHECK(std::count_if(cp.events.begin(), cp.events.end(),
                        [&](const Event& e) { return e.a == slow; }) > 3);
    const std::size_t n0 = rec.spikes.size();
    sim.run_until(grid.from_ms(60.0));
    const std::vector<MemoryRecorder::Spike> first(rec.spikes.begin() + n0, rec.spikes.end());
    sim.load_checkpoint(cp);
    const std::size_t n1 = rec.spikes.size();
    sim.run_until(grid.from_ms(60.0));
    const std::vector<MemoryRecorder::Spike> second(rec.spikes.begin() + n1, rec.spikes.end());
    MESSAGE("spikes 30-60 ms (P and HH): " << first.size());
    CHECK(first.size() > 300);
    REQUIRE(first.size() == second.size());
    bool same = true;
    for (std::size_t i = 0; i < first.size(); ++i)
      same = same && first[i].population == second[i].population &&
             first[i].neuron == second[i].neuron && first[i].t == second[i].t;
    CHECK(same);
  }
}
