// Micro-benchmark of the clocked point-neuron kernels (ns per neuron-step) and a self-contained
// CUBA / COBAHH network run (Brette et al. 2007: 4000 cells, 80/20 E/I, p = 0.02, 1 s, dt 0.1 ms)
// to compare spike counts with Brian2 (../shared/peers). Not part of the CMake build:
//   g++ -std=c++20 -O3 -fno-math-errno -I. bench/bench_point_kernels.cpp -o /tmp/bench_point
//   g++ -std=c++20 -O3 -fno-math-errno -march=native -I. bench/bench_point_kernels.cpp -o
//   /tmp/bench_point_native
// The network part uses its own delivery loop (no engine), std::mt19937_64 connectivity and
// initial conditions drawn as in the Brian scripts.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "models/lif_coba.hpp"
#include "models/lif_cuba.hpp"
#include "models/lif_exact.hpp"
#include "models/traub_miles_hh.hpp"

using namespace sbx;
using Clock = std::chrono::steady_clock;

// CPU time of this thread (s): on a loaded machine wall time is meaningless, CPU time much less so.
static double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
static double g_cpu = 0.0;  // CPU seconds of the last timed section

static double g_sink = 0.0;

template <class Pop>
double ns_per_neuron_step(Pop& pop, std::uint32_t n, int steps) {
  std::vector<std::uint32_t> spiked;
  spiked.reserve(n);
  const double c0 = cpu_s();
  const auto t0 = Clock::now();
  for (int s = 0; s < steps; ++s) {
    spiked.clear();
    pop.step(StepContext{s, 100, s * 0.1, 0.1}, spiked);
    g_sink += spiked.size();
  }
  const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
  g_cpu = (cpu_s() - c0) / (double(n) * steps) * 1e9;
  return sec / (double(n) * steps) * 1e9;
}

struct Csr {
  std::vector<std::uint32_t> ptr, post;
};
Csr random_csr(std::uint32_t n_pre, std::uint32_t n_post, double p, std::mt19937_64& rng) {
  Csr c;
  c.ptr.push_back(0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (std::uint32_t i = 0; i < n_pre; ++i) {
    for (std::uint32_t j = 0; j < n_post; ++j)
      if (u(rng) < p) c.post.push_back(j);
    c.ptr.push_back(static_cast<std::uint32_t>(c.post.size()));
  }
  return c;
}

// Runs 1 s of a benchmark network; delivery adds weights into the receptor buffers right after
// the step that produced the spikes (Brian's zero-delay semantics).
template <class Pop>
long run_network(Pop& pop, std::uint32_t n, std::uint32_t n_exc, const Csr& c, double w_e,
                 double w_i, double* seconds) {
  std::vector<std::uint32_t> spiked;
  double* be = pop.receptor_buffer(0);
  double* bi = pop.receptor_buffer(1);
  long total = 0;
  const double c0 = cpu_s();
  const auto t0 = Clock::now();
  for (int s = 0; s < 10000; ++s) {
    spiked.clear();
    pop.step(StepContext{s, 100, s * 0.1, 0.1}, spiked);
    total += static_cast<long>(spiked.size());
    for (std::uint32_t i : spiked) {
      double* buf = i < n_exc ? be : bi;
      const double w = i < n_exc ? w_e : w_i;
      for (std::uint32_t k = c.ptr[i]; k < c.ptr[i + 1]; ++k) buf[c.post[k]] += w;
    }
  }
  *seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  g_cpu = cpu_s() - c0;
  (void)n;
  return total;
}

int main(int argc, char** argv) {
  const std::uint32_t N = 4000, NE = 3200;
  const unsigned seed = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 1u;  // network seed
  // Optional second argument selects one part (for callgrind): kernels, cuba, cobahh, all.
  const std::string part = argc > 2 ? argv[2] : "all";
  const bool kernels = part == "all" || part == "kernels";
  std::printf("simd lanes: %zu doubles\n", simd::kLanes);
  if (kernels) {
    LifCubaPopulation pop(N);
    double* V = pop.state("V");
    for (std::uint32_t i = 0; i < N; ++i) V[i] = -60.0 + 10.0 * i / N;
    const double w = ns_per_neuron_step(pop, N, 20000);
    std::printf("lif_cuba      %.3f ns/neuron-step (CPU %.3f)\n", w, g_cpu);
  }
  if (kernels) {
    LifCobaParams p;
    p.I_bias = 150.0;
    LifCobaPopulation pop(N, p);
    double* ge = pop.state("g_e");
    for (std::uint32_t i = 0; i < N; ++i) ge[i] = 5.0;
    const double w = ns_per_neuron_step(pop, N, 20000);
    std::printf("lif_coba      %.3f ns/neuron-step (CPU %.3f)\n", w, g_cpu);
  }
  if (kernels) {
    TraubMilesHHPopulation pop(N);
    std::mt19937_64 rng(5);
    std::normal_distribution<double> g(0, 1);
    double *V = pop.state("V"), *ge = pop.state("g_e"), *gi = pop.state("g_i");
    for (std::uint32_t i = 0; i < N; ++i)
      V[i] = -60 + g(rng) * 5 - 5, ge[i] = (g(rng) * 1.5 + 4) * 10, gi[i] = (g(rng) * 12 + 20) * 10;
    const double w = ns_per_neuron_step(pop, N, 5000);
    std::printf("traub_miles   %.3f ns/neuron-step (CPU %.3f)\n", w, g_cpu);
  }
  // Exponential Euler (the COBAHH benchmark's integrator) in double and in float.
  for (const auto prec : {point::Precision::f64, point::Precision::f32}) {
    if (!kernels && part != "hh") break;
    HHParams p;
    p.integrator = HHIntegrator::exponential_euler;
    p.precision = prec;
    TraubMilesHHPopulation pop(N, p);
    std::mt19937_64 rng(5);
    std::normal_distribution<double> g(0, 1);
    double *V = pop.state("V"), *ge = pop.state("g_e"), *gi = pop.state("g_i");
    for (std::uint32_t i = 0; i < N; ++i)
      V[i] = -60 + g(rng) * 5 - 5, ge[i] = (g(rng) * 1.5 + 4) * 10, gi[i] = (g(rng) * 12 + 20) * 10;
    const double w = ns_per_neuron_step(pop, N, 5000);
    std::printf("traub_miles exponential_euler %s  %.3f ns/neuron-step (CPU %.3f)\n",
                point::precision_names[static_cast<int>(prec)], w, g_cpu);
  }
  if (kernels) {
    // Exact LIF: cost of one input (advance + prediction), neurons near threshold.
    struct Null final : SpikeScheduler {
      long n = 0;
      void schedule_spike(std::uint32_t, std::uint32_t, std::uint32_t, Tick) override { ++n; }
    } sched;
    LifExactParams p;
    p.I_bias = 300.0;  // subthreshold drive (rheobase 375 pA)
    LifExactPopulation pop(N, p);
    pop.start(0, 0, sched);
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<std::uint32_t> pick(0, N - 1);
    const int inputs = 400000;
    const auto t0 = Clock::now();
    for (int k = 0; k < inputs; ++k) {
      const std::uint32_t i = pick(rng);
      const float w = (k % 5 == 0) ? -250.f : 60.f;
      const std::uint32_t post[1] = {i};
      const float ws[1] = {w};
      pop.receive(k / 4, post, ws, 1, k % 5 == 0 ? 1u : 0u, sched);
    }
    const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("lif_exact     %.1f ns/input (advance + threshold prediction), %ld predictions\n",
                sec / inputs * 1e9, sched.n);
  }
  // ---- networks -----------------------------------------------------------------------------
  if (part == "all" || part == "cuba") {
    std::mt19937_64 rng(seed);
    const Csr c = random_csr(N, N, 0.02, rng);
    LifCubaPopulation pop(N);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double* V = pop.state("V");
    for (std::uint32_t i = 0; i < N; ++i) V[i] = -60.0 + u(rng) * 10.0;
    double sec = 0.0;
    const long spikes = run_network(pop, N, NE, c, 60 * 0.27 / 10, -20 * 4.5 / 10, &sec);
    std::printf(
        "CUBA network (seed %u): %ld spikes in 1 s (Brian2 seed 1: 22463), loop %.3f s (CPU %.3f "
        "s)\n",
        seed, spikes, sec, g_cpu);
  }
  if (part == "all" || part == "cobahh") {
    std::mt19937_64 rng(seed);
    const Csr c = random_csr(N, N, 0.02, rng);
    TraubMilesHHPopulation pop(N);
    std::normal_distribution<double> g(0, 1);
    double *V = pop.state("V"), *ge = pop.state("g_e"), *gi = pop.state("g_i");
    for (std::uint32_t i = 0; i < N; ++i)
      V[i] = -60 + (g(rng) * 5 - 5), ge[i] = (g(rng) * 1.5 + 4) * 10,
      gi[i] = (g(rng) * 12 + 20) * 10;
    double sec = 0.0;
    const long spikes = run_network(pop, N, NE, c, 6.0, 67.0, &sec);
    std::printf(
        "COBAHH network (seed %u): %ld spikes in 1 s (Brian2 seed 1: 149437), loop %.3f s (CPU "
        "%.3f s)\n",
        seed, spikes, sec, g_cpu);
  }
  return g_sink < 0 ? 1 : 0;
}
