// Benchmark of the corticostriatal category-learning experiment without the CLI and the run file:
// the tutorial circuit (CategoryExperimentSpec defaults = circuits_toml/category_learning.toml) on
// the built-in dot-pattern stimuli, warm-up + N trials, CPU time of this thread (the shared machine
// is loaded, so wall time would count other processes). Spikes go to a counting recorder.
// Not part of the CMake build; build by hand (one line), e.g.
//   g++ -std=c++20 -O3 -DNDEBUG -fno-math-errno -march=x86-64-v4 -I. bench/bench_category.cpp
//       envs/category_experiment.cpp envs/category_learning.cpp envs/image_stimulus.cpp
//       engine/errors.cpp engine/event_queue.cpp engine/projection.cpp engine/rng.cpp
//       engine/simulator.cpp engine/progress.cpp -o /tmp/bench_category
// Usage: bench_category [n_trials=40] [dt_ms=0.05] [seed=1]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "engine/recorder.hpp"
#include "envs/category_experiment.hpp"
#include "envs/image_stimulus.hpp"

namespace {
double cpu_seconds() {
  timespec c{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c);
  return static_cast<double>(c.tv_sec) + 1e-9 * static_cast<double>(c.tv_nsec);
}
}  // namespace

int main(int argc, char** argv) {
  using namespace sbx;
  const int n_trials = argc > 1 ? std::atoi(argv[1]) : 40;
  const double dt = argc > 2 ? std::atof(argv[2]) : 0.05;
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  CategoryExperimentSpec spec;
  spec.seed = seed;
  spec.dt = dt;
  Rng rng = Rng::stream(seed, "stim");
  ClassificationEnvironment env(generate_dot_patterns(DotPatternSpec{}, rng),
                                static_cast<std::size_t>(n_trials));
  const double c0 = cpu_seconds();
  CategoryExperiment ex(spec, std::move(env));
  MemoryRecorder rec;
  ex.simulator().set_recorder(&rec);
  const double c1 = cpu_seconds();
  ex.warm_up();
  const double c2 = cpu_seconds();
  long spikes = 0;
  int correct = 0;
  ex.run([&](const CategoryTrialRow& r) {
    spikes += static_cast<long>(rec.spikes.size());
    rec.spikes.clear();
    correct += r.correct ? 1 : 0;
  });
  const double c3 = cpu_seconds();
  // Bit pattern of every plastic weight after the run (FNV-1a): equal hashes = bitwise the same
  // learning trajectory (e.g. AVX2 vs AVX-512 builds).
  std::uint64_t hash = 1469598103934665603ull;
  for (const PlasticWeights& pw : ex.plastic_weights())
    for (double w : pw.weight) {
      std::uint64_t bits = 0;
      std::memcpy(&bits, &w, sizeof bits);
      hash = (hash ^ bits) * 1099511628211ull;
    }
  std::printf(
      "trials %d, dt %.3g ms: build %.3f s, warm-up %.3f s, trials %.3f s (%.2f ms/trial), "
      "spikes %ld, correct %d, weight hash %016llx\n",
      n_trials, dt, c1 - c0, c2 - c1, c3 - c2, 1e3 * (c3 - c2) / n_trials, spikes, correct,
      static_cast<unsigned long long>(hash));
  std::printf("projected 400 trials + warm-up: %.2f s CPU\n",
              (c2 - c0) + (c3 - c2) * 400.0 / n_trials);
  return 0;
}
