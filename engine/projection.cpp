#include "engine/projection.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace sbx {

Tick SpikeProjection::min_delay() const {
  if (seg_delay.empty()) return 0;
  return *std::min_element(seg_delay.begin(), seg_delay.end());
}

std::size_t SpikeProjection::memory_bytes() const {
  return row_ptr.size() * 4 + post.size() * 4 + weight.size() * 4 + seg_ptr.size() * 4 +
         seg_begin.size() * 4 + seg_delay.size() * 8 + col_ptr.size() * 4 + syn_of_col.size() * 4 +
         pre_of_syn.size() * 4;
}

SpikeProjection build_spike_projection(std::string name, std::uint32_t pre_pop,
                                       std::uint32_t post_pop, std::uint32_t n_pre,
                                       std::uint32_t n_post, std::uint32_t receptor,
                                       std::vector<SynapseSpec> syn) {
  for (const auto& s : syn) {
    if (s.pre >= n_pre || s.post >= n_post)
      throw std::invalid_argument("projection " + name + ": synapse index out of range");
    if (s.delay < 0) throw std::invalid_argument("projection " + name + ": negative delay");
  }
  // Stable sort by (pre, delay): keeps the caller's order inside a segment.
  std::stable_sort(syn.begin(), syn.end(), [](const SynapseSpec& a, const SynapseSpec& b) {
    return a.pre != b.pre ? a.pre < b.pre : a.delay < b.delay;
  });
  SpikeProjection p;
  p.name = std::move(name);
  p.pre_population = pre_pop;
  p.post_population = post_pop;
  p.receptor = receptor;
  p.n_pre = n_pre;
  p.n_post = n_post;
  const std::size_t n = syn.size();
  p.row_ptr.assign(n_pre + 1, 0);
  p.post.resize(n);
  p.weight.resize(n);
  p.pre_of_syn.resize(n);
  p.seg_ptr.assign(n_pre + 1, 0);
  for (std::size_t k = 0; k < n; ++k) {
    p.row_ptr[syn[k].pre + 1]++;
    p.post[k] = syn[k].post;
    p.weight[k] = static_cast<float>(syn[k].weight);
    p.pre_of_syn[k] = syn[k].pre;
  }
  std::partial_sum(p.row_ptr.begin(), p.row_ptr.end(), p.row_ptr.begin());
  for (std::uint32_t i = 0; i < n_pre; ++i) {
    p.seg_ptr[i] = static_cast<std::uint32_t>(p.seg_delay.size());
    for (std::uint32_t k = p.row_ptr[i]; k < p.row_ptr[i + 1]; ++k) {
      if (k == p.row_ptr[i] || syn[k].delay != syn[k - 1].delay) {
        p.seg_begin.push_back(k);
        p.seg_delay.push_back(syn[k].delay);
      }
    }
  }
  p.seg_ptr[n_pre] = static_cast<std::uint32_t>(p.seg_delay.size());
  p.seg_begin.push_back(static_cast<std::uint32_t>(n));
  // Reverse index.
  p.col_ptr.assign(n_post + 1, 0);
  for (std::size_t k = 0; k < n; ++k) p.col_ptr[p.post[k] + 1]++;
  std::partial_sum(p.col_ptr.begin(), p.col_ptr.end(), p.col_ptr.begin());
  p.syn_of_col.resize(n);
  std::vector<std::uint32_t> fill(p.col_ptr.begin(), p.col_ptr.end() - 1);
  for (std::size_t k = 0; k < n; ++k)
    p.syn_of_col[fill[p.post[k]]++] = static_cast<std::uint32_t>(k);
  return p;
}

}  // namespace sbx
