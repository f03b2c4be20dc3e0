// Engine-only build and run of a TOML circuit, for bench/scaling.py: the circuit is built and run
// exactly as `spikeblox run` does (circuits::build, Simulator::run_until) but without the HDF5 run
// file (its /edges datasets, one row per synapse, are streamed in blocks before the loop; the
// loop and the memory figures here are the engine's alone). Prints one JSON line:
//   build_s, loop_s, loop_cpu_s (thread CPU time of the loop), simulated_ms, spikes,
//   synaptic_events, synapses, projection_bytes (sum of SpikeProjection::memory_bytes()),
//   rss_built_mb (resident after the build), peak_build_mb (VmHWM after the build), peak_mb (VmHWM
//   at the end).
//
//   scaling_engine FILE.toml [--set key=value ...] [--no-run] [--no-prefetch] [--describe]
// (--no-prefetch: Simulator::set_prefetch(false), to measure what the delivery prefetch saves;
//  --describe: rows, delay segments and delays of every projection on stderr)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "bench/replay_population.hpp"
#include "circuits/build.hpp"
#include "circuits/loader.hpp"

using namespace sbx;

// CPU time of this thread (s): on a loaded machine wall time also counts the time other
// processes hold the core.
static double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE.toml [--set key=value ...] [--no-run]\n", argv[0]);
    return 2;
  }
  std::vector<std::string> sets;
  bool run = true, prefetch = true, describe = false;
  for (int k = 2; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--set" && k + 1 < argc)
      sets.emplace_back(argv[++k]);
    else if (a == "--no-run")
      run = false;
    else if (a == "--no-prefetch")
      prefetch = false;
    else if (a == "--describe")
      describe = true;
    else {
      std::fprintf(stderr, "unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  using clock = std::chrono::steady_clock;
  auto seconds = [](clock::time_point a) {
    return std::chrono::duration<double>(clock::now() - a).count();
  };
  try {
    const auto t0 = clock::now();
    const circuits::CircuitDescription desc = circuits::load_circuit_file(argv[1], sets);
    auto sim = circuits::make_simulator(desc);
    circuits::BuildOptions opt;
    opt.add_probes = false;  // nothing is recorded
    circuits::build(desc, *sim, opt);
    const double build_s = seconds(t0);
    const auto [rss_built, hwm_built] = bench::rss_bytes();
    std::size_t synapses = 0, bytes = 0;
    for (std::uint32_t i = 0; i < sim->n_projections(); ++i) {
      synapses += sim->projection(i).n_synapses();
      bytes += sim->projection(i).memory_bytes();
    }
    if (describe)  // delivery structure per projection (on stderr): rows, segments, delays
      for (std::uint32_t i = 0; i < sim->n_projections(); ++i) {
        const SpikeProjection& p = sim->projection(i);
        std::size_t not_one = 0;
        for (std::uint32_t r = 0; r < p.n_pre; ++r) not_one += p.seg_ptr[r + 1] - p.seg_ptr[r] != 1;
        Tick dmin = 0, dmax = 0;
        if (!p.seg_delay.empty())
          dmin = *std::min_element(p.seg_delay.begin(), p.seg_delay.end()),
          dmax = *std::max_element(p.seg_delay.begin(), p.seg_delay.end());
        std::fprintf(stderr,
                     "projection %u '%s': %u rows, %u segments, %zu rows without exactly one "
                     "segment, delays %lld..%lld ticks, %zu synapses\n",
                     i, p.name.c_str(), p.n_pre, p.n_segments(), not_one,
                     static_cast<long long>(dmin), static_cast<long long>(dmax), p.n_synapses());
      }
    sim->set_prefetch(prefetch);
    double loop_s = 0.0, loop_cpu_s = 0.0;
    if (run) {
      const auto tl = clock::now();
      const double c0 = thread_cpu_s();
      sim->run_until(circuits::run_ticks(desc));
      loop_cpu_s = thread_cpu_s() - c0;
      loop_s = seconds(tl);
    }
    const auto [rss_end, hwm_end] = bench::rss_bytes();
    (void)rss_end;
    std::printf(
        "{\"build_s\": %.6f, \"loop_s\": %.6f, \"loop_cpu_s\": %.6f, \"simulated_ms\": %.3f, "
        "\"spikes\": %llu, "
        "\"synaptic_events\": %llu, \"synapses\": %zu, \"projection_bytes\": %zu, "
        "\"rss_built_mb\": %.2f, \"peak_build_mb\": %.2f, \"peak_mb\": %.2f}\n",
        build_s, loop_s, loop_cpu_s, run ? desc.run.duration : 0.0,
        static_cast<unsigned long long>(sim->stats().spikes),
        static_cast<unsigned long long>(sim->stats().synaptic_events), synapses, bytes,
        rss_built / 1048576.0, hwm_built / 1048576.0, hwm_end / 1048576.0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scaling_engine: %s\n", e.what());
    return 1;
  }
  return 0;
}
