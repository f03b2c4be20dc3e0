#include "circuits/connect.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace sbx::circuits {

namespace {

SynapseSpec pair(std::uint32_t pre, std::uint32_t post) {
  return SynapseSpec{pre, post, 0.0, 1};
}

// ceil(x) that ignores 1e-9 of relative rounding error above an integer.
std::uint32_t robust_ceil(double x) {
  const double r = std::nearbyint(x);
  if (std::fabs(x - r) <= 1e-9 * std::max(1.0, std::fabs(x))) return static_cast<std::uint32_t>(r);
  return static_cast<std::uint32_t>(std::ceil(x));
}

// k distinct values of [0, n) in draw order. Robert Floyd's method when k is small against n
// (O(k²), no O(n) pool); the partial Fisher–Yates of Rng otherwise.
std::vector<std::uint32_t> distinct(std::uint32_t n, std::uint32_t k, Rng& rng) {
  if (static_cast<std::uint64_t>(k) * k > n) return rng.sample_without_replacement(n, k);
  std::vector<std::uint32_t> out;
  out.reserve(k);
  for (std::uint32_t j = n - k; j < n; ++j) {
    const auto t = static_cast<std::uint32_t>(rng.below(static_cast<std::uint64_t>(j) + 1));
    if (std::find(out.begin(), out.end(), t) == out.end())
      out.push_back(t);
    else
      out.push_back(j);
  }
  return out;
}

// The structure generators emit (pre, post) pairs through `emit`, so the same draws can build a
// synapse list or be replayed twice into a SpikeProjectionBuilder (count, then place).
template <class Emit>
void visit_all_to_all(std::uint32_t n_pre, std::uint32_t n_post, bool exclude_self, Emit&& emit) {
  for (std::uint32_t i = 0; i < n_pre; ++i)
    for (std::uint32_t j = 0; j < n_post; ++j)
      if (!(exclude_self && i == j)) emit(i, j);
}

template <class Emit>
void visit_bernoulli(std::uint32_t n_pre, std::uint32_t n_post, double p, bool exclude_self,
                     Rng& rng, Emit&& emit) {
  if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument("bernoulli: density must be in [0, 1]");
  const std::uint64_t total = static_cast<std::uint64_t>(n_pre) * n_post;
  if (p == 0.0 || total == 0) return;
  if (p == 1.0) return visit_all_to_all(n_pre, n_post, exclude_self, emit);
  // Gaps between successes of a Bernoulli sequence are geometric: skip = floor(ln U / ln(1-p)).
  const double log_q = std::log1p(-p);
  std::uint64_t k = 0;
  while (true) {
    const double u = 1.0 - rng.uniform();  // (0, 1]
    const double skip = std::floor(std::log(u) / log_q);
    if (skip >= static_cast<double>(total - k)) break;
    k += static_cast<std::uint64_t>(skip);
    const auto i = static_cast<std::uint32_t>(k / n_post),
               j = static_cast<std::uint32_t>(k % n_post);
    if (!(exclude_self && i == j)) emit(i, j);
    if (++k >= total) break;
  }
}

template <class Emit>
void visit_fixed_indegree(std::uint32_t n_pre, std::uint32_t n_post, std::uint32_t k,
                          bool exclude_self, Rng& rng, Emit&& emit) {
  if (exclude_self && n_pre != n_post)
    throw std::invalid_argument("fixed_indegree: excluding autapses needs n_pre == n_post");
  const std::uint32_t pool = exclude_self ? n_pre - (n_pre > 0 ? 1 : 0) : n_pre;
  if (k > pool)
    throw std::invalid_argument("fixed_indegree: indegree " + std::to_string(k) + " exceeds the " +
                                std::to_string(pool) + " available presynaptic neurons");
  for (std::uint32_t j = 0; j < n_post; ++j) {
    for (std::uint32_t i : distinct(pool, k, rng)) {
      // Without autapses draw from n-1 candidates and skip over j.
      emit((exclude_self && i >= j) ? i + 1 : i, j);
    }
  }
}

template <class Emit>
void visit_hypergeometric(std::uint32_t n_pre, std::uint32_t n_post, double d, bool exclude_self,
                          Rng& rng, Emit&& emit) {
  if (!(d >= 0.0 && d <= 1.0))
    throw std::invalid_argument("hypergeometric: density must be in [0, 1]");
  const HypergeometricDegrees h = hypergeometric_degrees(n_pre, n_post, d);
  std::vector<std::uint32_t> out_count(n_pre, 0);
  std::vector<std::uint32_t> eligible;
  eligible.reserve(n_pre);
  for (std::uint32_t j = 0; j < n_post; ++j) {
    eligible.clear();
    for (std::uint32_t i = 0; i < n_pre; ++i)
      if (out_count[i] < h.out_max && !(exclude_self && i == j)) eligible.push_back(i);
    const auto k =
        std::min<std::uint32_t>(h.in_degree, static_cast<std::uint32_t>(eligible.size()));
    for (std::uint32_t idx :
         rng.sample_without_replacement(static_cast<std::uint32_t>(eligible.size()), k)) {
      const std::uint32_t i = eligible[idx];
      ++out_count[i];
      emit(i, j);
    }
  }
}

// Dispatch on c.rule.
template <class Emit>
void visit_structure(const ConnectionDesc& c, std::uint32_t n_pre, std::uint32_t n_post, Rng& rng,
                     Emit&& emit) {
  const bool exclude_self = c.from == c.to && !c.autapses;
  if (c.rule == "all_to_all") return visit_all_to_all(n_pre, n_post, exclude_self, emit);
  if (c.rule == "one_to_one") {
    if (n_pre != n_post)
      throw std::invalid_argument("one_to_one needs equal sizes, got " + std::to_string(n_pre) +
                                  " -> " + std::to_string(n_post));
    for (std::uint32_t i = 0; i < n_pre; ++i) emit(i, i);
    return;
  }
  if (c.rule == "bernoulli")
    return visit_bernoulli(n_pre, n_post, c.density, exclude_self, rng, emit);
  if (c.rule == "fixed_indegree")
    return visit_fixed_indegree(n_pre, n_post, c.indegree, exclude_self, rng, emit);
  if (c.rule == "hypergeometric")
    return visit_hypergeometric(n_pre, n_post, c.density, exclude_self, rng, emit);
  throw std::invalid_argument("unknown connection rule '" + c.rule + "'");
}

// Appends to a synapse list.
struct PushPair {
  std::vector<SynapseSpec>& out;
  void operator()(std::uint32_t pre, std::uint32_t post) const { out.push_back(pair(pre, post)); }
};

// Constant delay in ticks (absent = one tick); throws when off the grid or negative.
Tick constant_delay(const Distribution& delay_ms, const TimeGrid& grid) {
  // from_ms throws when off the grid; 0 is Brian2's "no delay".
  const Tick d = grid.from_ms(delay_ms.a);
  if (d < 0) throw std::invalid_argument("delay must be >= 0 ms");
  return d;
}

Tick drawn_delay(const Distribution& delay_ms, const TimeGrid& grid, Rng& rng) {
  return std::max<Tick>(1, grid.round_ms(delay_ms.sample(rng)));
}

}  // namespace

std::vector<SynapseSpec> connect_all_to_all(std::uint32_t n_pre, std::uint32_t n_post,
                                            bool exclude_self) {
  std::vector<SynapseSpec> out;
  out.reserve(static_cast<std::size_t>(n_pre) * n_post);
  visit_all_to_all(n_pre, n_post, exclude_self, PushPair{out});
  return out;
}

std::vector<SynapseSpec> connect_one_to_one(std::uint32_t n) {
  std::vector<SynapseSpec> out;
  out.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) out.push_back(pair(i, i));
  return out;
}

std::vector<SynapseSpec> connect_bernoulli(std::uint32_t n_pre, std::uint32_t n_post, double p,
                                           bool exclude_self, Rng& rng) {
  std::vector<SynapseSpec> out;
  if (p > 0.0 && p < 1.0)
    out.reserve(static_cast<std::size_t>(static_cast<double>(n_pre) * n_post * p * 1.1) + 16);
  visit_bernoulli(n_pre, n_post, p, exclude_self, rng, PushPair{out});
  return out;
}

std::vector<SynapseSpec> connect_fixed_indegree(std::uint32_t n_pre, std::uint32_t n_post,
                                                std::uint32_t k, bool exclude_self, Rng& rng) {
  std::vector<SynapseSpec> out;
  if (k <= n_pre) out.reserve(static_cast<std::size_t>(k) * n_post);
  visit_fixed_indegree(n_pre, n_post, k, exclude_self, rng, PushPair{out});
  return out;
}

HypergeometricDegrees hypergeometric_degrees(std::uint32_t n_pre, std::uint32_t n_post, double d) {
  HypergeometricDegrees h{};
  h.n_connections = d * static_cast<double>(n_post) * static_cast<double>(n_pre);
  h.out_max = n_pre ? robust_ceil(h.n_connections / n_pre) : 0;
  h.in_degree = n_post ? robust_ceil(h.n_connections / n_post) : 0;
  return h;
}

std::vector<SynapseSpec> connect_hypergeometric(std::uint32_t n_pre, std::uint32_t n_post, double d,
                                                bool exclude_self, Rng& rng) {
  std::vector<SynapseSpec> out;
  if (d >= 0.0 && d <= 1.0)
    out.reserve(static_cast<std::size_t>(hypergeometric_degrees(n_pre, n_post, d).in_degree) *
                n_post);
  visit_hypergeometric(n_pre, n_post, d, exclude_self, rng, PushPair{out});
  return out;
}

void assign_weights(std::vector<SynapseSpec>& syn, const Distribution& weight, Rng& rng) {
  for (auto& s : syn) s.weight = weight.sample(rng);
}

void assign_delays(std::vector<SynapseSpec>& syn, const Distribution& delay_ms,
                   const TimeGrid& grid, Rng& rng) {
  if (delay_ms.is_constant()) {
    const Tick d = constant_delay(delay_ms, grid);
    for (auto& s : syn) s.delay = d;
    return;
  }
  for (auto& s : syn) s.delay = drawn_delay(delay_ms, grid, rng);
}

std::vector<SynapseSpec> connect_structure(const ConnectionDesc& c, std::uint32_t n_pre,
                                           std::uint32_t n_post, Rng& rng) {
  std::vector<SynapseSpec> out;
  visit_structure(c, n_pre, n_post, rng, PushPair{out});
  return out;
}

std::vector<SynapseSpec> make_synapses(const ConnectionDesc& c, std::uint32_t n_pre,
                                       std::uint32_t n_post, const TimeGrid& grid, Rng& rng) {
  std::vector<SynapseSpec> syn = connect_structure(c, n_pre, n_post, rng);
  assign_weights(syn, c.weight, rng);
  assign_delays(syn, c.delay.value_or(Distribution::constant(grid.tick_ms())), grid, rng);
  return syn;
}

SpikeProjection make_spike_projection(const ConnectionDesc& c, std::uint32_t pre_pop,
                                      std::uint32_t post_pop, std::uint32_t n_pre,
                                      std::uint32_t n_post, const TimeGrid& grid, Rng& rng,
                                      PreIndex pre_index) {
  SpikeProjectionBuilder b(c.name, pre_pop, post_pop, n_pre, n_post, c.receptor);
  const Rng structure_start = rng;
  // Pass 1: row and column counts. `rng` ends where make_synapses starts drawing weights.
  std::size_t n = 0;
  visit_structure(c, n_pre, n_post, rng, [&](std::uint32_t i, std::uint32_t j) {
    b.count(i, j);
    ++n;
  });
  const Distribution delay = c.delay.value_or(Distribution::constant(grid.tick_ms()));
  std::optional<Tick> common;
  if (delay.is_constant()) common = constant_delay(delay, grid);
  // make_synapses draws every weight, then every delay: the delay stream starts after n weights.
  Rng weights = rng;
  Rng delays = rng;
  if (!delay.is_constant() && !c.weight.is_constant())
    for (std::size_t k = 0; k < n; ++k) (void)c.weight.sample(delays);
  b.start_fill(common);
  // Pass 2: the same structure draws again, each synapse placed with its weight and delay.
  Rng replay = structure_start;
  visit_structure(c, n_pre, n_post, replay, [&](std::uint32_t i, std::uint32_t j) {
    const double w = c.weight.sample(weights);
    b.place(i, j, w, common ? *common : drawn_delay(delay, grid, delays));
  });
  rng = delay.is_constant() ? weights : delays;  // the stream position make_synapses leaves
  return b.finish(pre_index);
}

}  // namespace sbx::circuits
