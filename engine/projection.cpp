#include "engine/projection.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace sbx {

namespace {

// Sizes an empty v to n zeros, asking the kernel to back the storage of a large array with
// transparent huge pages (2 MiB) before it is first touched. Why: delivery reads a random row of
// `post` and `weight` per spike; with 4-KiB pages each row is also a TLB miss and a page walk,
// which the delivery prefetches (engine/simulator.cpp) cannot hide. Measured (session 6, alternated
// with the advice switched off): CUBA at 10^6 float cells (640 MB of synapses) loop 0.54-0.64 s vs
// 0.76-0.79 s per 100 ms; static delivery of 10^8 synapses 1.39-1.41 vs 1.58-1.61 ns/event;
// build time and peak RSS unchanged. Only an advice: with THP `never` nothing changes, and values
// and layout never change. Arrays below 8 MiB (which fit the TLB's reach anyway) are left alone.
template <class T>
void resize_huge(std::vector<T>& v, std::size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (v.empty() && n * sizeof(T) >= 4 * kHuge) {
    v.shrink_to_fit();
    v.reserve(n);  // fresh, untouched pages (malloc maps large blocks)
    const auto first = reinterpret_cast<std::uintptr_t>(v.data());
    const std::uintptr_t lo = (first + kHuge - 1) & ~(kHuge - 1);
    const std::uintptr_t hi = (first + n * sizeof(T)) & ~(kHuge - 1);
    if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
  }
#endif
  v.resize(n);
}

}  // namespace

Tick SpikeProjection::min_delay() const {
  if (seg_delay.empty()) return 0;
  return *std::min_element(seg_delay.begin(), seg_delay.end());
}

std::size_t SpikeProjection::memory_bytes() const {
  auto bytes = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
  return bytes(row_ptr) + bytes(post) + bytes(weight) + bytes(seg_ptr) + bytes(seg_begin) +
         bytes(seg_delay) + bytes(col_ptr) + pre_of_syn.memory_bytes();
}

std::uint32_t SpikeProjection::segment_of(std::uint32_t k) const {
  const auto it = std::upper_bound(seg_begin.begin(), seg_begin.end() - 1, k);
  return static_cast<std::uint32_t>(it - seg_begin.begin()) - 1;
}

// ---- presynaptic index --------------------------------------------------------------------------

PresynapticIndex::iterator::iterator(const std::uint32_t* rows, std::uint32_t n_rows, std::size_t k)
    : rows_(rows), n_rows_(n_rows), k_(k) {
  // First row whose range contains k (skips empty rows); n_rows for the end iterator.
  row_ = static_cast<std::uint32_t>(std::upper_bound(rows, rows + n_rows + 1, k) - rows) - 1;
  while (row_ < n_rows_ && rows_[row_ + 1] <= k_) ++row_;
}

PresynapticIndex::iterator& PresynapticIndex::iterator::operator++() {
  ++k_;
  while (row_ < n_rows_ && rows_[row_ + 1] <= k_) ++row_;
  return *this;
}

std::size_t PresynapticIndex::size() const {
  return rows_ && !rows_->empty() ? rows_->back() : 0;
}

std::uint32_t PresynapticIndex::operator[](std::size_t k) const {
  if (!stored_.empty()) return stored_[k];
  const auto& r = *rows_;
  return static_cast<std::uint32_t>(std::upper_bound(r.begin(), r.end(), k) - r.begin()) - 1;
}

PresynapticIndex::iterator PresynapticIndex::begin() const {
  if (size() == 0) return iterator{};
  return iterator(rows_->data(), static_cast<std::uint32_t>(rows_->size() - 1), 0);
}

PresynapticIndex::iterator PresynapticIndex::end() const {
  if (size() == 0) return iterator{};
  return iterator(rows_->data(), static_cast<std::uint32_t>(rows_->size() - 1), size());
}

const std::uint32_t* PresynapticIndex::data() const {
  if (stored_.empty() && size() > 0) {
    const auto& r = *rows_;
    stored_.resize(size());
    for (std::uint32_t i = 0; i + 1 < r.size(); ++i)
      std::fill(stored_.begin() + r[i], stored_.begin() + r[i + 1], i);
  }
  return stored_.data();
}

std::vector<std::uint32_t> reverse_synapse_index(const SpikeProjection& p) {
  std::vector<std::uint32_t> out(p.post.size());
  std::vector<std::uint32_t> fill(p.col_ptr.begin(), p.col_ptr.end() - 1);
  for (std::size_t k = 0; k < p.post.size(); ++k)
    out[fill[p.post[k]]++] = static_cast<std::uint32_t>(k);
  return out;
}

// ---- construction -------------------------------------------------------------------------------

SpikeProjectionBuilder::SpikeProjectionBuilder(std::string name, std::uint32_t pre_pop,
                                               std::uint32_t post_pop, std::uint32_t n_pre,
                                               std::uint32_t n_post, std::uint32_t receptor) {
  p_.name = std::move(name);
  p_.pre_population = pre_pop;
  p_.post_population = post_pop;
  p_.receptor = receptor;
  p_.n_pre = n_pre;
  p_.n_post = n_post;
  p_.row_ptr.assign(static_cast<std::size_t>(n_pre) + 1, 0);
  p_.col_ptr.assign(static_cast<std::size_t>(n_post) + 1, 0);
}

void SpikeProjectionBuilder::count(std::uint32_t pre, std::uint32_t post) {
  if (pre >= p_.n_pre || post >= p_.n_post)
    throw std::invalid_argument("projection " + p_.name + ": synapse index out of range");
  if (++n_counted_ > std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument("projection " + p_.name + ": more than 2^32 - 1 synapses");
  p_.row_ptr[pre + 1]++;
  p_.col_ptr[post + 1]++;
}

void SpikeProjectionBuilder::start_fill(std::optional<Tick> common_delay) {
  std::partial_sum(p_.row_ptr.begin(), p_.row_ptr.end(), p_.row_ptr.begin());
  std::partial_sum(p_.col_ptr.begin(), p_.col_ptr.end(), p_.col_ptr.begin());
  if (common_delay && *common_delay < 0)
    throw std::invalid_argument("projection " + p_.name + ": negative delay");
  common_delay_ = common_delay;
  resize_huge(p_.post, n_counted_);
  resize_huge(p_.weight, n_counted_);
  if (!common_delay_) delay_.resize(n_counted_);
  fill_.assign(p_.row_ptr.begin(), p_.row_ptr.end() - 1);
}

void SpikeProjectionBuilder::place(std::uint32_t pre, std::uint32_t post, double weight,
                                   Tick delay) {
  if (pre >= p_.n_pre || post >= p_.n_post || fill_[pre] >= p_.row_ptr[pre + 1])
    throw std::invalid_argument("projection " + p_.name +
                                ": second pass does not match the counted synapses");
  if (delay < 0) throw std::invalid_argument("projection " + p_.name + ": negative delay");
  if (common_delay_ && delay != *common_delay_)
    throw std::invalid_argument("projection " + p_.name + ": delay differs from the common one");
  const std::uint32_t k = fill_[pre]++;
  p_.post[k] = post;
  p_.weight[k] = static_cast<float>(weight);
  if (!common_delay_) delay_[k] = delay;
  ++n_placed_;
}

SpikeProjection SpikeProjectionBuilder::finish(PreIndex pre_index) {
  if (n_placed_ != n_counted_)
    throw std::invalid_argument("projection " + p_.name +
                                ": second pass placed a different number of synapses");
  std::vector<std::uint32_t>().swap(fill_);
  SpikeProjection& p = p_;
  const std::uint32_t n_pre = p.n_pre;
  const std::size_t n = p.post.size();
  // Delays that turn out equal need no sort and one segment per row.
  if (!common_delay_ &&
      std::adjacent_find(delay_.begin(), delay_.end(), std::not_equal_to<>()) == delay_.end()) {
    common_delay_ = delay_.empty() ? Tick{0} : delay_.front();
    std::vector<Tick>().swap(delay_);
  }
  if (!common_delay_) {
    // Sort each row by delay (stable: the generator's order is kept inside a delay segment).
    std::vector<std::uint32_t> perm;
    std::vector<std::uint32_t> tmp_post;
    std::vector<float> tmp_w;
    std::vector<Tick> tmp_d;
    for (std::uint32_t i = 0; i < n_pre; ++i) {
      const std::uint32_t b = p.row_ptr[i], e = p.row_ptr[i + 1];
      if (std::is_sorted(delay_.begin() + b, delay_.begin() + e)) continue;
      perm.resize(e - b);
      std::iota(perm.begin(), perm.end(), b);
      std::stable_sort(perm.begin(), perm.end(),
                       [&](std::uint32_t x, std::uint32_t y) { return delay_[x] < delay_[y]; });
      tmp_post.clear(), tmp_w.clear(), tmp_d.clear();
      for (std::uint32_t k : perm) {
        tmp_post.push_back(p.post[k]);
        tmp_w.push_back(p.weight[k]);
        tmp_d.push_back(delay_[k]);
      }
      std::copy(tmp_post.begin(), tmp_post.end(), p.post.begin() + b);
      std::copy(tmp_w.begin(), tmp_w.end(), p.weight.begin() + b);
      std::copy(tmp_d.begin(), tmp_d.end(), delay_.begin() + b);
    }
  }
  // Delay segments.
  p.seg_ptr.assign(static_cast<std::size_t>(n_pre) + 1, 0);
  if (common_delay_) {
    // One segment per non-empty row.
    for (std::uint32_t i = 0; i < n_pre; ++i) {
      p.seg_ptr[i] = static_cast<std::uint32_t>(p.seg_begin.size());
      if (p.row_ptr[i + 1] > p.row_ptr[i]) p.seg_begin.push_back(p.row_ptr[i]);
    }
    p.seg_delay.assign(p.seg_begin.size(), *common_delay_);
  } else {
    for (std::uint32_t i = 0; i < n_pre; ++i) {
      p.seg_ptr[i] = static_cast<std::uint32_t>(p.seg_delay.size());
      for (std::uint32_t k = p.row_ptr[i]; k < p.row_ptr[i + 1]; ++k) {
        if (k == p.row_ptr[i] || delay_[k] != delay_[k - 1]) {
          p.seg_begin.push_back(k);
          p.seg_delay.push_back(delay_[k]);
        }
      }
    }
    std::vector<Tick>().swap(delay_);
  }
  p.seg_ptr[n_pre] = static_cast<std::uint32_t>(p.seg_delay.size());
  p.seg_begin.push_back(static_cast<std::uint32_t>(n));
  p.seg_begin.shrink_to_fit();
  p.seg_delay.shrink_to_fit();
  if (pre_index == PreIndex::store) p.pre_of_syn.store();
  return std::move(p_);
}

SpikeProjection build_spike_projection(std::string name, std::uint32_t pre_pop,
                                       std::uint32_t post_pop, std::uint32_t n_pre,
                                       std::uint32_t n_post, std::uint32_t receptor,
                                       std::vector<SynapseSpec> syn, PreIndex pre_index) {
  SpikeProjectionBuilder b(std::move(name), pre_pop, post_pop, n_pre, n_post, receptor);
  bool one_delay = true;
  for (const auto& s : syn) {
    b.count(s.pre, s.post);
    one_delay = one_delay && s.delay == syn.front().delay;
  }
  b.start_fill(one_delay && !syn.empty() ? std::optional<Tick>(syn.front().delay) : std::nullopt);
  for (const auto& s : syn) b.place(s.pre, s.post, s.weight, s.delay);
  std::vector<SynapseSpec>().swap(syn);  // release the input list before the segment pass
  return b.finish(pre_index);
}

}  // namespace sbx
