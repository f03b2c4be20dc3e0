// Micro benchmark of the Neuroblox HH kernel (models/hh_neuroblox.hpp): ns per neuron-step.
// Not part of the CMake build. Build by hand, e.g. (AVX-512; -march=x86-64-v3 for AVX2, which
// is also what valgrind 3.19 can run)
//   g++ -std=c++20 -O3 -fno-math-errno -march=x86-64-v4 -I. bench/bench_hh_kernel.cpp
//       engine/errors.cpp -o /tmp/bench_hh
// Instruction count (load-independent; AVX2 build, valgrind 3.19 has no AVX-512):
//   valgrind --tool=callgrind /tmp/bench_hh 48 1000 0.05 etdrk4_f32
//   instructions per neuron-step = I refs / (48 × 20000 steps × 3 repetitions); setup < 1 %.
// Usage: bench_hh [n_neurons=48] [simulated_ms=2000] [dt_ms=default] [integrator=etdrk4]
//   (integrator: etdrk4, eab2, eab3, eab4, etdrk4_f32 — see models/hh_neuroblox.hpp)
// The population mimics the tutorial cortex: 40 excitatory cells with I_bg ∈ [0, 5] µA/cm²,
// 8 inhibitory cells with I_bg ∈ [0, 2], repeated to n_neurons; coupling inputs are left at 0.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "models/hh_neuroblox.hpp"

int main(int argc, char** argv) {
  const unsigned n = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 48u;
  const double T = argc > 2 ? std::atof(argv[2]) : 2000.0;
  const double dt = argc > 3 ? std::atof(argv[3]) : sbx::NeurobloxHHPopulation::default_dt_ms;
  sbx::NeurobloxIntegrator integ = sbx::NeurobloxIntegrator::etdrk4;
  if (argc > 4 && !sbx::parse_neuroblox_integrator(argv[4], integ)) {
    std::fprintf(stderr, "unknown integrator '%s'\n", argv[4]);
    return 2;
  }
  std::vector<sbx::NeurobloxHHParams> ps;
  for (unsigned i = 0; i < n; ++i) {
    const unsigned k = i % 48;
    auto p = k < 40 ? sbx::NeurobloxHHParams::excitatory() : sbx::NeurobloxHHParams::inhibitory();
    p.I_bg = k < 40 ? 5.0 * k / 39.0 : 2.0 * (k - 40) / 7.0;
    ps.push_back(p);
  }
  sbx::NeurobloxHHPopulation pop(ps, integ);
  std::vector<std::uint32_t> spiked;
  const long steps = static_cast<long>(T / dt + 0.5);
  long n_spikes = 0;
  double best = 1e300;
  for (int rep = 0; rep < 3; ++rep) {
    // CPU time of this thread: the machine is shared, wall time would count other processes.
    timespec c0{}, c1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    for (long k = 0; k < steps; ++k) {
      spiked.clear();
      sbx::StepContext ctx{k, 1, k * dt, dt};
      pop.step(ctx, spiked);
      n_spikes += static_cast<long>(spiked.size());
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    const double s = static_cast<double>(c1.tv_sec - c0.tv_sec) +
                     1e-9 * static_cast<double>(c1.tv_nsec - c0.tv_nsec);
    best = std::min(best, s);
  }
  const double ns = best * 1e9 / (static_cast<double>(steps) * n);
  std::printf(
      "%s: neurons %u, dt %.3g ms, %ld steps: best of 3 = %.3f s CPU, %.2f ns/neuron-step, "
      "spikes %ld\n",
      sbx::neuroblox_integrator_names[static_cast<int>(integ)], n, dt, steps, best, ns, n_spikes);
  // The headline benchmark: 48 cells, 400 trials x 1000 ms.
  std::printf("projected 48 cells x 400 trials x 1000 ms: %.2f s\n",
              ns * 1e-9 * 48 * 400 * (1000.0 / dt));
  return 0;
}
