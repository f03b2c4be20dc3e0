// Continuous couplings compiled for the step loop.
//
// Before every step of the clocked populations the simulator zeroes their continuous inputs and
// sums every continuous coupling into them (simulator.hpp, phase 2). Done coupling by coupling
// as `g[post] += w·out[pre]`, consecutive synapses onto the same cell make a chain of
// read-modify-writes through memory (each add waits for the previous store), and every coupling
// pays virtual calls for its arrays. The plan instead groups the synapses by target cell: each
// row adds its inputs in registers and stores the total once, keeping, for each target cell, the
// order of the additions of the plain loop (coupling by coupling, synapse by synapse).
//
// Weight values are copied into the plan (a synapse is its weight and a pointer to its source's
// data, three loads where reading the weight through a pointer took four; the sum is load-bound:
// with the per-step staleness check gone, a category-learning run is ≈ 7 % faster on the
// session-13 Xeon, BENCHMARKS.md "Session 13"). The copies are
// refreshed when the simulator is told that a coupling may have changed: Simulator::continuous(id)
// (the only mutable access to a coupling) calls touch(id), and before the next step check()
// re-reads the touched couplings' weights, or has the simulator rebuild it if their arrays were
// resized or reallocated. A write that bypasses touch() (a reference or pointer kept from an
// earlier continuous() call and written steps later) is a bug; every check_every steps check()
// compares every copy with its source and throws InternalError naming the coupling.
//
// The sum is load- and uop-bound, so its data are laid out for it: once per step the presynaptic
// output G and the product G·E_rev of every source cell are written, vectorised, into one
// interleaved array of pairs (sources whose arrays are adjacent, e.g. the blocks of one HH pool,
// as one range); a conductance synapse is then a weight and a pair pointer, and
// (g, gE) += w·(G, G·E_rev) is one broadcast and one vector multiply-add. Arithmetic: gE sums
// w·(G·E_rev) where the plain loop summed (w·G)·E_rev — the same up to the last bit of each term
// (tests compare with the plain loop to 1e-14; the category-learning run file kept every spike
// time and weight). Inputs that no row writes are zeroed (rows store their totals); adjacent zero
// ranges are merged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/population.hpp"
#include "engine/projection.hpp"

namespace sbx {

class CouplingPlan {
 public:
  // `pops`: every population by id; `clocked`: the ids of the clocked ones.
  void build(std::span<const ContinuousProjection> conts, std::span<Population* const> pops,
             std::span<const std::uint32_t> clocked);
  // True if build() has not run for these couplings (count, array sizes or addresses changed).
  bool stale(std::span<const ContinuousProjection> conts) const;
  void invalidate() { built_ = false; }
  // Coupling `id` may have been changed (weights written, arrays resized): check() looks at it.
  void touch(std::uint32_t id) {
    if (id < touched_.size()) {
      touched_[id] = 1;
      any_touched_ = true;
    }
  }
  // Whether check() must run before the next apply(): not built, a coupling touched, or the
  // periodic verification due (every check_every calls, whether or not couplings are touched in
  // between: call once per step).
  bool needs_check() {
    verify_due_ |= --until_verify_ == 0;
    return !built_ || any_touched_ || verify_due_;
  }
  // Returns false if the plan must be (re)built (never built, or a touched coupling's arrays
  // were resized or reallocated; the caller then calls build()). Otherwise re-reads the touched
  // couplings' weights and, when the periodic verification is due, compares every copied weight
  // with its coupling; throws InternalError if one changed behind the plan's back, or if the
  // arrays changed with nothing touched (resized through a kept reference).
  bool check(std::span<const ContinuousProjection> conts);
  static constexpr std::uint32_t check_every = 4096;  // steps between verifications
  // Zero the continuous inputs of the clocked populations, then sum every coupling into them.
  void apply();

 private:
  void sum_rows() const;

  struct Span {
    double* begin;
    std::size_t n;
  };
  struct ConductanceRow {  // one target cell: g = Σ w·out, gE = Σ w·out·E_rev
    double* g;
    double* ge;
  };
  // Consecutive rows with the same number of entries (rows are sorted by length, their entries
  // laid out in that order). Why: with rows of mixed lengths the inner loop's exit depends on a
  // length that changes from row to row; per group the trip count is fixed (a compile-time
  // constant for rows of 1-8, unrolled). Measured on the session-12 Xeon: the category main job
  // ≈ 5 % faster (BENCHMARKS.md §0), the same sums bit for bit.
  struct RowGroup {
    std::uint32_t length;  // entries per row
    std::uint32_t n_rows;
  };
  struct ConductanceEntry {
    double w;            // copy of the coupling's weight (see the header)
    const double* pair;  // (out, out·E_rev) of the presynaptic cell in pairs_
  };
  struct Source {  // presynaptic cells copied into pairs_ before the sum
    const double* out;
    const double* rev;
    std::size_t n;
    std::size_t pair;  // index of its first cell's pair
  };
  struct CurrentRow {  // one target cell: I = Σ w·out
    double* cur;
    std::uint32_t begin, end;
  };
  struct CurrentEntry {
    const double* out;
    double w;  // copy of the coupling's weight
  };
  struct WeightCopy {  // where synapse k of a coupling is copied to
    double* copy;      // the w of a ConductanceEntry or CurrentEntry
    std::uint32_t k;
  };
  struct Signature {  // what build() saw of each coupling
    const void* pre;
    const void* post;
    const void* weight;
    std::size_t n;
  };

  // Coupling `id`'s weights into their copies; whether the copies equal them.
  void refresh_copies(const ContinuousProjection& c, std::uint32_t id);
  bool copies_match(const ContinuousProjection& c, std::uint32_t id) const;

  bool built_ = false;
  std::vector<Signature> signature_;
  std::vector<WeightCopy> copies_;         // by coupling, then synapse
  std::vector<std::size_t> copies_begin_;  // coupling c's copies: [begin[c], begin[c + 1])
  std::vector<std::uint8_t> touched_;      // per coupling
  bool any_touched_ = false;
  bool verify_due_ = false;
  std::uint32_t until_verify_ = check_every;
  std::vector<Span> zero_;
  std::vector<Source> sources_;
  std::vector<double> pairs_;  // interleaved (out, out·E_rev) of every source cell
  std::vector<ConductanceRow> g_rows_;
  std::vector<RowGroup> g_groups_;
  std::vector<ConductanceEntry> g_entries_;
  std::vector<CurrentRow> i_rows_;
  std::vector<CurrentEntry> i_entries_;
};

}  // namespace sbx
