// The hardware floor of the scaling benchmark (issue 6, "runtime linear from 10^3 to 10^6
// neurons"): bench/scaling_cuba.toml's network written as one hand-fused loop with no engine
// around it, to tell what grows with N because of this machine from what grows because of us.
//
// Same model and sizes as the engine run (CUBA LIF, exact propagator, refractory 5 ms, 80 % E /
// 20 % I, fixed in-degree 64 E + 16 I, weights +1.62 / −9 mV, one-step delay, V_init uniform in
// [−60, −50] mV, dt 0.1 ms); the connectivity is drawn with another generator, so spike counts
// agree statistically, not exactly. What it leaves out that an engine needs: populations,
// receptors and delays as data, events, recording, run-time checks. What it does better than
// the engine: one row per source over all targets (the engine keeps one row per projection:
// two per excitatory source), no receptor dispatch. Synapses are stored as ours are (u32 target
// + f32 weight per synapse, u32 row offsets, transparent huge pages for large arrays), and the
// rows of the next spikes are prefetched, as the engine does.
//
// Per step: (1) the neurons in chunks of 2048 (update vectorised, then the chunk — still in L1 —
// scanned for spikes: reset, refractory); (2) every spike's row added into g_e / g_i.
//
// Usage: scaling_floor --n N [--k-e 64] [--k-i 16] [--duration 200] [--precision float|double]
//                      [--seed 1]
// Prints one JSON line with the keys of tests/circuits/scaling_engine (bench/scaling.py --floor).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <sys/resource.h>

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
double peak_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// A vector of n zeros backed by huge pages when large (as engine/projection.cpp does).
template <class T>
void resize_huge(std::vector<T>& v, std::size_t n) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (n * sizeof(T) >= 4 * kHuge) {
    v.reserve(n);
    const auto first = reinterpret_cast<std::uintptr_t>(v.data());
    const std::uintptr_t lo = (first + kHuge - 1) & ~(kHuge - 1);
    const std::uintptr_t hi = (first + n * sizeof(T)) & ~(kHuge - 1);
    if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
  }
  v.resize(n);
}

struct Args {
  std::uint32_t n = 4000, k_e = 64, k_i = 16;
  double duration = 200.0;
  bool single = true;
  std::uint64_t seed = 1;
};

template <class T>
int run(const Args& a) {
  const double t_build0 = now_s();
  const std::uint32_t n = a.n, n_e = static_cast<std::uint32_t>(0.8 * n);
  const double dt = 0.1, tau_m = 20, tau_e = 5, tau_i = 10, E_L = -49, V_th = -50, V_reset = -60;
  const int refractory_steps = static_cast<int>(std::floor((5.0 + 1e-3 * dt) / dt)) - 1;
  std::mt19937_64 rng(a.seed);
  // Fixed in-degree, sources drawn with replacement; CSR by source (counting sort).
  const std::uint32_t k = a.k_e + a.k_i;
  const std::size_t n_syn = std::size_t{n} * k;
  std::vector<std::uint32_t> src(n_syn);
  {
    std::uniform_int_distribution<std::uint32_t> pick_e(0, n_e - 1), pick_i(n_e, n - 1);
    for (std::uint32_t j = 0; j < n; ++j)
      for (std::uint32_t q = 0; q < k; ++q)
        src[std::size_t{j} * k + q] = q < a.k_e ? pick_e(rng) : pick_i(rng);
  }
  std::vector<std::uint32_t> row(n + 1, 0), post;
  std::vector<float> weight;
  for (std::uint32_t s : src) ++row[s + 1];
  for (std::uint32_t i = 0; i < n; ++i) row[i + 1] += row[i];
  resize_huge(post, n_syn);
  resize_huge(weight, n_syn);
  {
    std::vector<std::uint32_t> fill(row.begin(), row.end() - 1);
    for (std::size_t q = 0; q < n_syn; ++q) {
      const std::uint32_t s = src[q], at = fill[s]++;
      post[at] = static_cast<std::uint32_t>(q / k);
      weight[at] = s < n_e ? 1.62f : -9.0f;
    }
  }
  std::vector<std::uint32_t>().swap(src);
  std::vector<T> V(n), ge(n, T(0)), gi(n, T(0));
  std::vector<std::int32_t> free_from(n, 0);
  std::uniform_real_distribution<double> v0(-60.0, -50.0);
  for (auto& v : V) v = static_cast<T>(v0(rng));
  const double build_s = now_s() - t_build0;
  const double rss_built = peak_mb();

  // Exact propagator (models/lif_cuba.hpp).
  auto kappa = [&](double tau_s) {
    const double d = std::fabs(1 / tau_m - 1 / tau_s);
    return d == 0 ? dt * std::exp(-dt / tau_m)
                  : std::exp(-dt * std::min(1 / tau_m, 1 / tau_s)) * (-std::expm1(-d * dt)) / d;
  };
  const T em = static_cast<T>(std::exp(-dt / tau_m)), de = static_cast<T>(std::exp(-dt / tau_e)),
          di = static_cast<T>(std::exp(-dt / tau_i)), ke = static_cast<T>(kappa(tau_e) / tau_m),
          ki = static_cast<T>(kappa(tau_i) / tau_m), el = static_cast<T>(E_L),
          vth = static_cast<T>(V_th), vreset = static_cast<T>(V_reset);
  const std::int32_t steps = static_cast<std::int32_t>(std::lround(a.duration / dt));
  std::vector<std::uint32_t> spikes;
  spikes.reserve(n);
  std::uint64_t n_spikes = 0, n_events = 0;
  constexpr std::uint32_t kChunk = 2048, kAhead = 4;
  std::vector<std::uint8_t> flag(kChunk + 8, 0);  // + 8: the last word read past a short chunk
  const double t0 = now_s(), c0 = thread_cpu_s();
  for (std::int32_t s = 0; s < steps; ++s) {
    spikes.clear();
    for (std::uint32_t b = 0; b < n; b += kChunk) {
      const std::uint32_t e = std::min(n, b + kChunk);
      T* __restrict v = V.data();
      T* __restrict pe = ge.data();
      T* __restrict pi = gi.data();
      const std::int32_t* __restrict ff = free_from.data();
#pragma GCC ivdep
      for (std::uint32_t i = b; i < e; ++i) {
        const bool active = s >= ff[i];
        const T x = (v[i] - el) * em + pe[i] * ke + pi[i] * ki + el;
        const T vn = active ? x : v[i];
        v[i] = vn;
        pe[i] *= de;
        pi[i] *= di;
        flag[i - b] = static_cast<std::uint8_t>(active & (vn > vth));
      }
      std::memset(flag.data() + (e - b), 0, 8);  // the last word's bytes past the chunk
      // The chunk's flags, 8 at a time (spikes are rare).
      for (std::uint32_t q = 0; q < e - b; q += 8) {
        std::uint64_t word;
        std::memcpy(&word, flag.data() + q, 8);
        for (; word != 0; word &= word - 1) {
          const std::uint32_t i = b + q + static_cast<std::uint32_t>(__builtin_ctzll(word) / 8);
          v[i] = vreset;
          free_from[i] = s + 1 + refractory_steps;
          spikes.push_back(i);
        }
      }
    }
    n_spikes += spikes.size();
    const std::uint32_t* __restrict rp = row.data();
    const std::uint32_t* __restrict po = post.data();
    const float* __restrict w = weight.data();
    auto prefetch_row = [&](std::uint32_t i) {
      const auto line = [](const void* p) {
        return reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{63};
      };
      for (std::uintptr_t l = line(po + rp[i]);
           l < reinterpret_cast<std::uintptr_t>(po + rp[i + 1]); l += 64)
        __builtin_prefetch(reinterpret_cast<const void*>(l));
      for (std::uintptr_t l = line(w + rp[i]); l < reinterpret_cast<std::uintptr_t>(w + rp[i + 1]);
           l += 64)
        __builtin_prefetch(reinterpret_cast<const void*>(l));
    };
    for (std::size_t q = 0; q < std::min<std::size_t>(kAhead, spikes.size()); ++q)
      prefetch_row(spikes[q]);
    for (std::size_t q = 0; q < spikes.size(); ++q) {
      if (q + kAhead < spikes.size()) prefetch_row(spikes[q + kAhead]);
      const std::uint32_t i = spikes[q];
      T* g = i < n_e ? ge.data() : gi.data();
      for (std::uint32_t c = rp[i]; c < rp[i + 1]; ++c) g[po[c]] += static_cast<T>(w[c]);
      n_events += rp[i + 1] - rp[i];
    }
  }
  const double loop_s = now_s() - t0, loop_cpu = thread_cpu_s() - c0;
  const double bytes =
      static_cast<double>(post.capacity() * 4 + weight.capacity() * 4 + row.capacity() * 4);
  std::printf(
      "{\"build_s\": %.6f, \"loop_s\": %.6f, \"loop_cpu_s\": %.6f, \"simulated_ms\": %.3f, "
      "\"spikes\": %llu, \"synaptic_events\": %llu, \"synapses\": %zu, \"projection_bytes\": %.0f, "
      "\"rss_built_mb\": %.2f, \"peak_build_mb\": %.2f, \"peak_mb\": %.2f}\n",
      build_s, loop_s, loop_cpu, steps * dt, static_cast<unsigned long long>(n_spikes),
      static_cast<unsigned long long>(n_events), n_syn, bytes, rss_built, rss_built, peak_mb());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string o = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "scaling_floor: %s needs a value\n", o.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (o == "--n")
      a.n = static_cast<std::uint32_t>(std::strtoul(value(), nullptr, 10));
    else if (o == "--k-e")
      a.k_e = static_cast<std::uint32_t>(std::strtoul(value(), nullptr, 10));
    else if (o == "--k-i")
      a.k_i = static_cast<std::uint32_t>(std::strtoul(value(), nullptr, 10));
    else if (o == "--duration")
      a.duration = std::strtod(value(), nullptr);
    else if (o == "--seed")
      a.seed = std::strtoull(value(), nullptr, 10);
    else if (o == "--precision") {
      const std::string p = value();
      if (p != "float" && p != "double") {
        std::fprintf(stderr, "scaling_floor: --precision is float or double, not '%s'\n",
                     p.c_str());
        return 2;
      }
      a.single = p == "float";
    } else {
      std::fprintf(stderr,
                   "usage: scaling_floor --n N [--k-e 64] [--k-i 16] [--duration ms] "
                   "[--precision float|double] [--seed S]\n");
      return 2;
    }
  }
  if (a.n < 10 || a.k_e + a.k_i == 0 || !(a.duration > 0)) {
    std::fprintf(stderr, "scaling_floor: need --n >= 10, an in-degree > 0 and --duration > 0\n");
    return 2;
  }
  return a.single ? run<float>(a) : run<double>(a);
}
