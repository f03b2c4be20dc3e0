#include "engine/projection.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace sbx {

Tick SpikeProjection::min_delay() const {
  if (seg_delay.empty()) return 0;
  return *std::min_element(seg_delay.begin(), seg_delay.end());
}

std::size_t SpikeProjection::memory_bytes() const {
  auto bytes = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
  return bytes(row_ptr) + bytes(post) + bytes(weight) + bytes(seg_ptr) + bytes(seg_begin) +
         bytes(seg_delay) + bytes(col_ptr) + bytes(pre_of_syn);
}

std::uint32_t SpikeProjection::segment_of(std::uint32_t k) const {
  const auto it = std::upper_bound(seg_begin.begin(), seg_begin.end() - 1, k);
  return static_cast<std::uint32_t>(it - seg_begin.begin()) - 1;
}

std::vector<std::uint32_t> reverse_synapse_index(const SpikeProjection& p) {
  std::vector<std::uint32_t> out(p.post.size());
  std::vector<std::uint32_t> fill(p.col_ptr.begin(), p.col_ptr.end() - 1);
  for (std::size_t k = 0; k < p.post.size(); ++k)
    out[fill[p.post[k]]++] = static_cast<std::uint32_t>(k);
  return out;
}

SpikeProjection build_spike_projection(std::string name, std::uint32_t pre_pop,
                                       std::uint32_t post_pop, std::uint32_t n_pre,
                                       std::uint32_t n_post, std::uint32_t receptor,
                                       std::vector<SynapseSpec> syn) {
  bool one_delay = true;
  for (const auto& s : syn) {
    if (s.pre >= n_pre || s.post >= n_post)
      throw std::invalid_argument("projection " + name + ": synapse index out of range");
    if (s.delay < 0) throw std::invalid_argument("projection " + name + ": negative delay");
    one_delay = one_delay && s.delay == syn.front().delay;
  }
  SpikeProjection p;
  p.name = std::move(name);
  p.pre_population = pre_pop;
  p.post_population = post_pop;
  p.receptor = receptor;
  p.n_pre = n_pre;
  p.n_post = n_post;
  const std::size_t n = syn.size();
  // Row and column counts, then a stable counting sort by row straight into the final arrays.
  p.row_ptr.assign(n_pre + 1, 0);
  p.col_ptr.assign(n_post + 1, 0);
  for (const auto& s : syn) {
    p.row_ptr[s.pre + 1]++;
    p.col_ptr[s.post + 1]++;
  }
  std::partial_sum(p.row_ptr.begin(), p.row_ptr.end(), p.row_ptr.begin());
  std::partial_sum(p.col_ptr.begin(), p.col_ptr.end(), p.col_ptr.begin());
  p.post.resize(n);
  p.weight.resize(n);
  p.pre_of_syn.resize(n);
  std::vector<Tick> delay;  // scratch, only when delays differ
  const Tick common_delay = n ? syn.front().delay : 0;
  if (!one_delay) delay.resize(n);
  {
    std::vector<std::uint32_t> fill(p.row_ptr.begin(), p.row_ptr.end() - 1);
    for (const auto& s : syn) {
      const std::uint32_t k = fill[s.pre]++;
      p.post[k] = s.post;
      p.weight[k] = static_cast<float>(s.weight);
      p.pre_of_syn[k] = s.pre;
      if (!one_delay) delay[k] = s.delay;
    }
  }
  std::vector<SynapseSpec>().swap(syn);  // release the input list before the segment pass
  // Sort each row by delay (stable: the caller's order is kept inside a delay segment).
  if (!one_delay) {
    std::vector<std::uint32_t> perm;
    std::vector<std::uint32_t> tmp_post;
    std::vector<float> tmp_w;
    std::vector<Tick> tmp_d;
    for (std::uint32_t i = 0; i < n_pre; ++i) {
      const std::uint32_t b = p.row_ptr[i], e = p.row_ptr[i + 1];
      if (std::is_sorted(delay.begin() + b, delay.begin() + e)) continue;
      perm.resize(e - b);
      std::iota(perm.begin(), perm.end(), b);
      std::stable_sort(perm.begin(), perm.end(),
                       [&](std::uint32_t x, std::uint32_t y) { return delay[x] < delay[y]; });
      tmp_post.clear(), tmp_w.clear(), tmp_d.clear();
      for (std::uint32_t k : perm) {
        tmp_post.push_back(p.post[k]);
        tmp_w.push_back(p.weight[k]);
        tmp_d.push_back(delay[k]);
      }
      std::copy(tmp_post.begin(), tmp_post.end(), p.post.begin() + b);
      std::copy(tmp_w.begin(), tmp_w.end(), p.weight.begin() + b);
      std::copy(tmp_d.begin(), tmp_d.end(), delay.begin() + b);
    }
  }
  // Delay segments.
  p.seg_ptr.assign(n_pre + 1, 0);
  if (one_delay) {
    // One segment per non-empty row.
    for (std::uint32_t i = 0; i < n_pre; ++i) {
      p.seg_ptr[i] = static_cast<std::uint32_t>(p.seg_begin.size());
      if (p.row_ptr[i + 1] > p.row_ptr[i]) p.seg_begin.push_back(p.row_ptr[i]);
    }
    p.seg_delay.assign(p.seg_begin.size(), common_delay);
  } else {
    for (std::uint32_t i = 0; i < n_pre; ++i) {
      p.seg_ptr[i] = static_cast<std::uint32_t>(p.seg_delay.size());
      for (std::uint32_t k = p.row_ptr[i]; k < p.row_ptr[i + 1]; ++k) {
        if (k == p.row_ptr[i] || delay[k] != delay[k - 1]) {
          p.seg_begin.push_back(k);
          p.seg_delay.push_back(delay[k]);
        }
      }
    }
  }
  p.seg_ptr[n_pre] = static_cast<std::uint32_t>(p.seg_delay.size());
  p.seg_begin.push_back(static_cast<std::uint32_t>(n));
  p.seg_begin.shrink_to_fit();
  p.seg_delay.shrink_to_fit();
  return p;
}

}  // namespace sbx
