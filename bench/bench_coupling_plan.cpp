// The continuous-coupling sum of the category-learning circuit in isolation: the tutorial circuit
// (CategoryExperimentSpec defaults = circuits_toml/category_learning.toml) is built and warmed up,
// then a CouplingPlan of its couplings (engine/coupling_plan.hpp, what the simulator runs before
// every step) is applied a million times: ns per call = ns per simulation step spent on zeroing
// the inputs, interleaving the source pairs and summing the rows.
// Why a separate program: the perf share of the sum (~15 % of the main job) does not tell what a
// change to the sum saves when the machine's speed drifts by 10-20 % between runs (the session-12
// Xeon VM); a million calls in one process, best of several rounds, next to a fixed reference
// (four independent chains of 25 dependent multiply-adds: 25 × the 4-cycle FMA latency = 100
// cycles on Zen 4 and Golden Cove) do.
// Not part of the CMake build; build by hand (one line), e.g.
//   g++ -std=c++20 -O3 -DNDEBUG -fno-math-errno -march=x86-64-v4 -I. bench/bench_coupling_plan.cpp
//       envs/category_experiment.cpp envs/category_learning.cpp envs/image_stimulus.cpp
//       engine/coupling_plan.cpp engine/errors.cpp engine/event_queue.cpp engine/projection.cpp
//       engine/rng.cpp engine/simulator.cpp engine/progress.cpp -o /tmp/bench_coupling_plan
// Usage: bench_coupling_plan [calls=1000000] [rounds=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "engine/coupling_plan.hpp"
#include "engine/recorder.hpp"
#include "envs/category_experiment.hpp"
#include "envs/image_stimulus.hpp"

namespace {

template <class F>
double best_ns_per_call(long calls, int rounds, F&& f) {
  double best = 1e300;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (long k = 0; k < calls; ++k) f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() / calls);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sbx;
  const long calls = argc > 1 ? std::atol(argv[1]) : 1000000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  CategoryExperimentSpec spec;
  Rng rng = Rng::stream(spec.seed, "stim");
  ClassificationEnvironment env(generate_dot_patterns(DotPatternSpec{}, rng), 1);
  CategoryExperiment ex(spec, std::move(env));
  MemoryRecorder rec;
  Simulator& sim = ex.simulator();
  sim.set_recorder(&rec);
  ex.warm_up();  // (so that the sources' outputs are those of a running circuit)

  std::vector<ContinuousProjection> conts;
  for (std::uint32_t c = 0; c < sim.n_continuous(); ++c) conts.push_back(sim.continuous(c));
  std::vector<Population*> pops;
  std::vector<std::uint32_t> clocked;
  for (std::uint32_t p = 0; p < sim.n_populations(); ++p) {
    pops.push_back(&sim.population(p));
    if (pops.back()->dynamics() == Dynamics::clocked) clocked.push_back(p);
  }
  CouplingPlan plan;
  plan.build(conts, pops, clocked);
  std::size_t synapses = 0;
  for (const ContinuousProjection& c : conts) synapses += c.pre.size();

  const double apply_ns = best_ns_per_call(calls, rounds, [&] { plan.apply(); });
  volatile double seed = 1.0;
  double acc[4] = {seed, seed, seed, seed};
  const double ref_ns = best_ns_per_call(calls, rounds, [&] {
    for (int q = 0; q < 25; ++q)
      for (double& a : acc) a = a * 0.999999 + 1e-7;
  });
  std::printf(
      "%zu couplings, %zu synapses: apply %.1f ns per step; reference (25 dependent "
      "FMAs = 100 cycles) %.1f ns -> apply ~ %.0f cycles (%g)\n",
      conts.size(), synapses, apply_ns, ref_ns, 100.0 * apply_ns / ref_ns,
      acc[0] + acc[1] + acc[2] + acc[3]);
  return 0;
}
