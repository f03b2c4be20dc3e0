#include "engine/coupling_plan.hpp"

#include <algorithm>
#include <map>
#include <string>

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

void CouplingPlan::build(std::span<const ContinuousProjection> conts,
                         std::span<Population* const> pops,
                         std::span<const std::uint32_t> clocked) {
  signature_.clear();
  zero_.clear();
  g_rows_.clear();
  g_entries_.clear();
  i_rows_.clear();
  i_entries_.clear();

  // Zeroing: every input array of a clocked population, adjacent ranges merged.
  for (std::uint32_t id : clocked) {
    Population& p = *pops[id];
    for (double* a : {p.conductance_input(), p.conductance_reversal_input(), p.current_input()})
      if (a && p.size() > 0) zero_.push_back({a, p.size()});
  }
  std::sort(zero_.begin(), zero_.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::vector<Span> merged;
  for (const Span& s : zero_) {
    if (!merged.empty() && merged.back().begin + merged.back().n >= s.begin) {
      Span& m = merged.back();
      m.n = std::max<std::size_t>(m.n, static_cast<std::size_t>(s.begin - m.begin) + s.n);
    } else {
      merged.push_back(s);
    }
  }
  zero_ = std::move(merged);

  // Synapses grouped by target cell, in coupling order then synapse order within each cell.
  std::map<double*, std::vector<ConductanceEntry>> g_by_cell;
  std::map<double*, double*> ge_of;
  std::map<double*, std::vector<CurrentEntry>> i_by_cell;
  for (const ContinuousProjection& c : conts) {
    signature_.push_back({c.pre.data(), c.post.data(), c.weight.data(), c.pre.size()});
    if (c.post.size() != c.pre.size() || c.weight.size() != c.pre.size())
      throw InternalError("coupling '" + c.name + "': pre, post and weight differ in length");
    Population& pre = *pops[c.pre_population];
    Population& post = *pops[c.post_population];
    const double* out = pre.continuous_output();
    if (!out && !c.pre.empty())
      throw InternalError("coupling '" + c.name + "': the presynaptic population has no output");
    if (c.kind == CouplingKind::conductance) {
      const double* rev = pre.output_reversal();
      double* g = post.conductance_input();
      double* ge = post.conductance_reversal_input();
      if ((!rev || !g || !ge) && !c.pre.empty())
        throw InternalError("coupling '" + c.name + "': conductance arrays missing");
      for (std::size_t k = 0; k < c.pre.size(); ++k) {
        g_by_cell[g + c.post[k]].push_back({out + c.pre[k], rev + c.pre[k], &c.weight[k]});
        ge_of[g + c.post[k]] = ge + c.post[k];
      }
    } else {
      double* cur = post.current_input();
      if (!cur && !c.pre.empty())
        throw InternalError("coupling '" + c.name + "': the target has no current input");
      for (std::size_t k = 0; k < c.pre.size(); ++k)
        i_by_cell[cur + c.post[k]].push_back({out + c.pre[k], &c.weight[k]});
    }
  }
  for (auto& [g, entries] : g_by_cell) {
    const auto begin = static_cast<std::uint32_t>(g_entries_.size());
    g_entries_.insert(g_entries_.end(), entries.begin(), entries.end());
    g_rows_.push_back({g, ge_of[g], begin, static_cast<std::uint32_t>(g_entries_.size())});
  }
  for (auto& [cur, entries] : i_by_cell) {
    const auto begin = static_cast<std::uint32_t>(i_entries_.size());
    i_entries_.insert(i_entries_.end(), entries.begin(), entries.end());
    i_rows_.push_back({cur, begin, static_cast<std::uint32_t>(i_entries_.size())});
  }
  built_ = true;
}

// Not vectorised: GCC's SLP vectoriser packs the pointer gathers of a row into vector lanes and
// is slower than the scalar loop, whose rows overlap in the out-of-order core.
__attribute__((optimize("no-tree-vectorize"))) void CouplingPlan::apply() const {
  for (const Span& s : zero_) std::fill(s.begin, s.begin + s.n, 0.0);
  // Each sum starts from the zeroed input, as the plain `g[post] += …` loop did.
  const ConductanceEntry* ge = g_entries_.data();
  for (const ConductanceRow& r : g_rows_) {
    double g = 0.0, gE = 0.0;
    for (std::uint32_t k = r.begin; k < r.end; ++k) {
      const double x = *ge[k].w * *ge[k].out;
      g += x;
      gE += x * *ge[k].rev;
    }
    *r.g = g;
    *r.ge = gE;
  }
  const CurrentEntry* ie = i_entries_.data();
  for (const CurrentRow& r : i_rows_) {
    double s = 0.0;
    for (std::uint32_t k = r.begin; k < r.end; ++k) s += *ie[k].w * *ie[k].out;
    *r.cur = s;
  }
}

}  // namespace sbx
