// Portable random streams.
//
// The standard library's distributions (std::normal_distribution, std::poisson_distribution, ...)
// are implementation-defined, so the same seed gives different runs under libstdc++ and libc++.
// spikeblox therefore uses its own generator (xoshiro256**, Blackman & Vigna 2018) and its own
// distributions. One master seed feeds every stream; each block, edge and environment draws from a
// stream derived from (master seed, its name), so adding or reordering blocks in a TOML file never
// changes another block's random numbers.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sbx {

// 64-bit FNV-1a: a stable, documented hash for deriving stream seeds from names.
constexpr std::uint64_t fnv1a64(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

constexpr std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// 128-bit product for Lemire's method (a GCC/Clang extension; __extension__ keeps -Wpedantic
// quiet).
__extension__ using Uint128 = unsigned __int128;

class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& w : s_) w = splitmix64(x);
  }

  // The stream named `name` under master seed `seed`.
  static Rng stream(std::uint64_t seed, std::string_view name) {
    std::uint64_t x = seed ^ 0x5bd1e9955bd1e995ULL;
    const std::uint64_t a = splitmix64(x);
    return Rng(a ^ fnv1a64(name));
  }

  const State& state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

  // xoshiro256**
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform on [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [0, n), unbiased (Lemire 2019). n must be > 0.
  std::uint64_t below(std::uint64_t n) {
    Uint128 m = static_cast<Uint128>(next_u64()) * n;
    auto lo = static_cast<std::uint64_t>(m);
    if (lo < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (lo < threshold) {
        m = static_cast<Uint128>(next_u64()) * n;
        lo = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  bool bernoulli(double p) { return uniform() < p; }

  // Standard normal by the Box–Muller transform, one value per call (no cached pair, so the
  // stream state is just the four words above and checkpoints stay trivial).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }

  // Exponential with the given rate (mean 1/rate).
  double exponential(double rate) { return -std::log1p(-uniform()) / rate; }

  // Poisson(mean): multiplication method for small means, PTRS (Hörmann 1993) otherwise.
  std::uint64_t poisson(double mean);

  // k distinct indices drawn uniformly from [0, n), in draw order (partial Fisher–Yates).
  std::vector<std::uint32_t> sample_without_replacement(std::uint32_t n, std::uint32_t k);

  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) {
      const std::size_t j = below(i);
      std::swap(v[i - 1], v[j]);
    }
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  State s_{};
};

}  // namespace sbx
