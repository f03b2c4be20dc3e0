// Continuous couplings compiled for the step loop.
//
// Before every step of the clocked populations the simulator zeroes their continuous inputs and
// sums every continuous coupling into them (simulator.hpp, phase 2). Done coupling by coupling
// as `g[post] += w·out[pre]`, consecutive synapses onto the same cell make a chain of
// read-modify-writes through memory (each add waits for the previous store), and every coupling
// pays virtual calls for its arrays. The plan instead groups the synapses by target cell: each
// row adds its inputs in registers and stores the total once, keeping, for each target cell, the
// order of the additions of the plain loop (coupling by coupling, synapse by synapse). Weights are
// read through pointers at every step, so learning that changes weight values needs no rebuild;
// the plan is rebuilt when a coupling or population is added or a coupling's arrays are resized
// or reallocated (stale()).
//
// The sum is load- and uop-bound, so its data are laid out for it: once per step the presynaptic
// output G and the product G·E_rev of every source cell are written, vectorised, into one
// interleaved array of pairs (sources whose arrays are adjacent, e.g. the blocks of one HH pool,
// as one range); a conductance synapse is then a weight pointer and a pair pointer, and
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
    const double* w;
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
    const double* w;
  };
  struct Signature {  // what build() saw of each coupling
    const void* pre;
    const void* post;
    const void* weight;
    std::size_t n;
  };

  bool built_ = false;
  std::vector<Signature> signature_;
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
