#include "engine/coupling_plan.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#include <map>
#include <string>
#include <utility>

#include "engine/errors.hpp"

namespace sbx {

bool CouplingPlan::stale(std::span<const ContinuousProjection> conts) const {
  if (!built_ || conts.size() != signature_.size()) return true;
  for (std::size_t c = 0; c < conts.size(); ++c) {
    const ContinuousProjection& p = conts[c];
    const Signature& s = signature_[c];
    if (s.pre != p.pre.data() || s.post != p.post.data() || s.weight != p.weight.data() ||
        s.n != p.pre.size() || p.post.size() != s.n || p.weight.size() != s.n)
      return true;
  }
  return false;
}

namespace {

// Merges sorted ranges [begin, begin + n) that touch or overlap.
template <class Range, class Begin, class Joinable>
std::vector<Range> merge_adjacent(std::vector<Range> v, Begin begin, Joinable joinable) {
  std::sort(v.begin(), v.end(),
            [&](const Range& a, const Range& b) { return begin(a) < begin(b); });
  std::vector<Range> merged;
  for (const Range& r : v) {
    if (!merged.empty() && joinable(merged.back(), r)) {
      Range& m = merged.back();
      m.n = std::max<std::size_t>(m.n, static_cast<std::size_t>(begin(r) - begin(m)) + r.n);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

}  // namespace

void CouplingPlan::build(std::span<const ContinuousProjection> conts,
                         std::span<Population* const> pops,
                         std::span<const std::uint32_t> clocked) {
  signature_.clear();
  copies_.clear();
  zero_.clear();
  sources_.clear();
  pairs_.clear();
  g_rows_.clear();
  g_groups_.clear();
  g_entries_.clear();
  i_rows_.clear();
  i_entries_.clear();

  // Sources: the presynaptic populations of conductance couplings; ranges whose out and E_rev
  // arrays both continue where the previous one ends (views into one pool) become one range.
  std::vector<Source> src;
  for (const ContinuousProjection& c : conts) {
    if (c.kind != CouplingKind::conductance || c.pre.empty()) continue;
    const Population& pre = *pops[c.pre_population];
    if (!pre.continuous_output() || !pre.output_reversal())
      throw InternalError("coupling '" + c.name + "': the presynaptic population has no " +
                          (pre.continuous_output() ? "output reversal" : "output"));
    src.push_back({pre.continuous_output(), pre.output_reversal(), pre.size(), 0});
  }
  sources_ = merge_adjacent(
      std::move(src), [](const Source& x) { return x.out; },
      [](const Source& a, const Source& b) {
        const auto shift = b.out - a.out;  // out and E_rev advance together
        return a.out + a.n >= b.out && b.rev - a.rev == shift;
      });
  std::size_t n_pairs = 0;
  for (Source& s : sources_) {
    s.pair = n_pairs;
    n_pairs += s.n;
  }
  pairs_.assign(2 * n_pairs, 0.0);
  const auto pair_of = [&](const double* out) -> const double* {
    for (const Source& s : sources_)
      if (out >= s.out && out < s.out + s.n)
        return pairs_.data() + 2 * (s.pair + static_cast<std::size_t>(out - s.out));
    throw InternalError("CouplingPlan: a presynaptic cell outside every source");
  };

  // Synapses grouped by target cell, in coupling order then synapse order within each cell;
  // each remembers its coupling and index for the weight copies.
  struct Origin {
    std::uint32_t coupling, k;
  };
  std::map<double*, std::vector<std::pair<ConductanceEntry, Origin>>> g_by_cell;
  std::map<double*, double*> ge_of;
  std::map<double*, std::vector<std::pair<CurrentEntry, Origin>>> i_by_cell;
  std::vector<std::vector<WeightCopy>> copies_of(conts.size());
  for (std::uint32_t ci = 0; ci < conts.size(); ++ci) {
    const ContinuousProjection& c = conts[ci];
    signature_.push_back({c.pre.data(), c.post.data(), c.weight.data(), c.pre.size()});
    if (c.post.size() != c.pre.size() || c.weight.size() != c.pre.size())
      throw InternalError("coupling '" + c.name + "': pre, post and weight differ in length");
    Population& pre = *pops[c.pre_population];
    Population& post = *pops[c.post_population];
    const double* out = pre.continuous_output();
    if (!out && !c.pre.empty())
      throw InternalError("coupling '" + c.name + "': the presynaptic population has no output");
    if (c.kind == CouplingKind::conductance) {
      double* g = post.conductance_input();
      double* ge = post.conductance_reversal_input();
      if ((!g || !ge) && !c.pre.empty())
        throw InternalError("coupling '" + c.name + "': conductance arrays missing");
      for (std::size_t k = 0; k < c.pre.size(); ++k) {
        g_by_cell[g + c.post[k]].push_back(
            {{c.weight[k], pair_of(out + c.pre[k])}, {ci, static_cast<std::uint32_t>(k)}});
        ge_of[g + c.post[k]] = ge + c.post[k];
      }
    } else {
      double* cur = post.current_input();
      if (!cur && !c.pre.empty())
        throw InternalError("coupling '" + c.name + "': the target has no current input");
      for (std::size_t k = 0; k < c.pre.size(); ++k)
        i_by_cell[cur + c.post[k]].push_back(
            {{out + c.pre[k], c.weight[k]}, {ci, static_cast<std::uint32_t>(k)}});
    }
  }
  // Rows by length (stable: equal lengths keep the target order), then their entries in that
  // order. Each row is a different target cell, so the order of the rows changes no sum.
  std::vector<std::pair<double*, const std::vector<std::pair<ConductanceEntry, Origin>>*>> rows;
  for (const auto& [g, entries] : g_by_cell) rows.emplace_back(g, &entries);
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second->size() < b.second->size();
  });
  std::vector<Origin> g_origin, i_origin;  // per entry
  for (const auto& [g, entries] : rows) {
    for (const auto& [entry, origin] : *entries) {
      g_entries_.push_back(entry);
      g_origin.push_back(origin);
    }
    g_rows_.push_back({g, ge_of[g]});
    const auto length = static_cast<std::uint32_t>(entries->size());
    if (g_groups_.empty() || g_groups_.back().length != length) g_groups_.push_back({length, 0});
    ++g_groups_.back().n_rows;
  }
  for (auto& [cur, entries] : i_by_cell) {
    const auto begin = static_cast<std::uint32_t>(i_entries_.size());
    for (const auto& [entry, origin] : entries) {
      i_entries_.push_back(entry);
      i_origin.push_back(origin);
    }
    i_rows_.push_back({cur, begin, static_cast<std::uint32_t>(i_entries_.size())});
  }
  // Weight copies by coupling (the entry arrays are final: their addresses stay valid).
  for (std::size_t j = 0; j < g_entries_.size(); ++j)
    copies_of[g_origin[j].coupling].push_back({&g_entries_[j].w, g_origin[j].k});
  for (std::size_t j = 0; j < i_entries_.size(); ++j)
    copies_of[i_origin[j].coupling].push_back({&i_entries_[j].w, i_origin[j].k});
  copies_begin_.assign(1, 0);
  for (const auto& v : copies_of) {
    copies_.insert(copies_.end(), v.begin(), v.end());
    copies_begin_.push_back(copies_.size());
  }
  touched_.assign(conts.size(), 0);
  any_touched_ = false;
  verify_due_ = false;
  until_verify_ = check_every;

  // Zeroing: every input cell of a clocked population that no row writes.
  std::vector<const double*> written;
  for (const ConductanceRow& r : g_rows_) written.insert(written.end(), {r.g, r.ge});
  for (const CurrentRow& r : i_rows_) written.push_back(r.cur);
  std::sort(written.begin(), written.end());
  std::vector<Span> zero;
  for (std::uint32_t id : clocked) {
    Population& p = *pops[id];
    for (double* a : {p.conductance_input(), p.conductance_reversal_input(), p.current_input()}) {
      if (!a) continue;
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (std::binary_search(written.begin(), written.end(), a + i)) continue;
        if (!zero.empty() && zero.back().begin + zero.back().n == a + i)
          ++zero.back().n;
        else
          zero.push_back({a + i, 1});
      }
    }
  }
  zero_ = merge_adjacent(
      std::move(zero), [](const Span& x) { return x.begin; },
      [](const Span& a, const Span& b) { return a.begin + a.n >= b.begin; });
  built_ = true;
}

void CouplingPlan::refresh_copies(const ContinuousProjection& c, std::uint32_t id) {
  for (std::size_t j = copies_begin_[id]; j < copies_begin_[id + 1]; ++j)
    *copies_[j].copy = c.weight[copies_[j].k];
}

bool CouplingPlan::copies_match(const ContinuousProjection& c, std::uint32_t id) const {
  bool same = true;
  for (std::size_t j = copies_begin_[id]; j < copies_begin_[id + 1]; ++j)
    same &= *copies_[j].copy == c.weight[copies_[j].k];
  return same;
}

bool CouplingPlan::check(std::span<const ContinuousProjection> conts) {
  if (stale(conts)) {
    if (built_ && !any_touched_)  // (add_continuous and add_population invalidate)
      throw InternalError(
          "CouplingPlan: a coupling's arrays were resized or reallocated without "
          "Simulator::continuous() (a reference kept from an earlier call)");
    return false;
  }
  if (any_touched_)
    for (std::uint32_t id = 0; id < conts.size(); ++id)
      if (touched_[id] != 0) {
        refresh_copies(conts[id], id);
        touched_[id] = 0;
      }
  any_touched_ = false;
  if (verify_due_) {
    for (std::uint32_t id = 0; id < conts.size(); ++id)
      if (!copies_match(conts[id], id))
        throw InternalError("CouplingPlan: a weight of coupling '" + conts[id].name +
                            "' changed without Simulator::continuous() (a reference or "
                            "pointer kept from an earlier call); the plan summed the old value");
    verify_due_ = false;
    until_verify_ = check_every;
  }
  return true;
}

namespace {

// (out, out·E_rev) of n cells into interleaved pairs; vectorised (this runs every step).
void interleave(const double* __restrict out, const double* __restrict rev, std::size_t n,
                double* __restrict pairs) {
  for (std::size_t i = 0; i < n; ++i) {
    pairs[2 * i] = out[i];
    pairs[2 * i + 1] = out[i] * rev[i];
  }
}

}  // namespace

// (The zero ranges are short — tens of cells — so they are stored inline rather than through a
// memset call, which GCC would otherwise substitute for the loop: ~ 1 % of a category run.)
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void CouplingPlan::apply() {
  for (const Span& s : zero_)
    for (std::size_t i = 0; i < s.n; ++i) s.begin[i] = 0.0;
  for (const Source& s : sources_) interleave(s.out, s.rev, s.n, pairs_.data() + 2 * s.pair);
  sum_rows();
}

namespace {

#if defined(__SSE2__)
// (g, gE) += w·(G, G·E_rev) over one row's entries, as one vector multiply-add each.
template <class Entry>
inline __m128d row_sum(const Entry* e, std::uint32_t length, __m128d acc) {
  for (std::uint32_t j = 0; j < length; ++j) {
    const __m128d w = _mm_set1_pd(e[j].w);
#if defined(__FMA__)
    acc = _mm_fmadd_pd(w, _mm_loadu_pd(e[j].pair), acc);
#else
    acc = _mm_add_pd(acc, _mm_mul_pd(w, _mm_loadu_pd(e[j].pair)));
#endif
  }
  return acc;
}
template <class Row>
inline void store_row(const Row& r, __m128d acc) {
  _mm_store_sd(r.g, acc);
  _mm_storeh_pd(r.ge, acc);
}
// n rows of L entries each; L a compile-time constant, so each row's loop is unrolled.
template <std::uint32_t L, class Row, class Entry>
void rows_of(const Row* r, const Entry* e, std::uint32_t n) {
  for (std::uint32_t i = 0; i < n; ++i, ++r, e += L) store_row(*r, row_sum(e, L, _mm_setzero_pd()));
}
#endif

}  // namespace

// Each sum starts from 0.0, as the plain `g[post] += …` loop on the zeroed input did, and adds
// the row's entries in the plain loop's order; the pair (g, gE) is one vector,
// (g, gE) += w·(G, G·E_rev) one multiply-add. Rows of up to 8 entries (the category circuit's
// are 1–7) take an unrolled loop per length.
// Not vectorised further: GCC's SLP vectoriser packs the pointer gathers of a row into vector lanes
// and is slower than the scalar loop, whose rows overlap in the out-of-order core.
__attribute__((optimize("no-tree-vectorize"))) void CouplingPlan::sum_rows() const {
  const ConductanceEntry* e = g_entries_.data();
  const ConductanceRow* r = g_rows_.data();
  for (const RowGroup& grp : g_groups_) {
#if defined(__SSE2__)
    // rows_of<1> .. rows_of<8>, indexed by length − 1
    static constexpr auto unrolled =
        []<std::uint32_t... L>(std::integer_sequence<std::uint32_t, L...>) {
      return std::array{&rows_of<L + 1, ConductanceRow, ConductanceEntry>...};
    }
    (std::make_integer_sequence<std::uint32_t, 8>{});
    if (grp.length - 1 < unrolled.size())
      unrolled[grp.length - 1](r, e, grp.n_rows);
    else
      for (std::uint32_t i = 0; i < grp.n_rows; ++i)
        store_row(r[i], row_sum(e + std::size_t(i) * grp.length, grp.length, _mm_setzero_pd()));
#else
    for (std::uint32_t i = 0; i < grp.n_rows; ++i) {
      double g = 0.0, gE = 0.0;
      for (std::uint32_t j = 0; j < grp.length; ++j) {
        const ConductanceEntry& x = e[std::size_t(i) * grp.length + j];
        g += x.w * x.pair[0];
        gE += x.w * x.pair[1];
      }
      *r[i].g = g;
      *r[i].ge = gE;
    }
#endif
    r += grp.n_rows;
    e += std::size_t(grp.n_rows) * grp.length;
  }
  const CurrentEntry* ie = i_entries_.data();
  for (const CurrentRow& r : i_rows_) {
    double s = 0.0;
    for (std::uint32_t j = r.begin; j < r.end; ++j) s += ie[j].w * *ie[j].out;
    *r.cur = s;
  }
}

}  // namespace sbx
