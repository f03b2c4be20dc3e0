// Several blocks of Neuroblox HH cells stepped by ONE kernel call (models/hh_neuroblox.hpp).
//
// Why: the SIMD kernel works on whole vectors (16 float lanes with AVX-512), and a block's
// population is padded to whole vectors. The tutorial circuit's blocks have 25, 13, 5 and 5
// cells: as four populations they fill 80 lanes, as one pool 48 (3 vectors) — the kernel, which
// is most of a category-learning run, does 40 % less work, with bitwise the same per-cell results
// (every lane is computed independently of the others, see hh_neuroblox.hpp "SIMD").
//
// How: NeurobloxHHPool owns one NeurobloxHHPopulation holding every cell, block k occupying the
// index range [offset_k, offset_k + size_k). Each block is a NeurobloxHHBlock, an ordinary
// clocked Population added to the simulator under the block's name, whose arrays (state,
// inputs, outputs) are the pool's arrays shifted by offset_k — so couplings, probes, recording
// and the experiment see four populations as before. The simulator steps every clocked
// population once per step (after all couplings of the step are summed): the FIRST block of a
// round to be stepped runs the kernel for all cells and sorts the spikes by block; each block's
// step() then hands out its own spikes (local indices). A block stepped twice in one round is
// an internal error.
//
// Constraints: one integrator per pool (blocks with different integrators go to different
// pools); the blocks of a pool must all be stepped in every round, i.e. all be added to the same
// simulator (they are clocked populations, so the simulator does this).
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errors.hpp"
#include "engine/population.hpp"
#include "models/hh_neuroblox.hpp"

namespace sbx {

class NeurobloxHHBlock;

class NeurobloxHHPool {
 public:
  // One population per entry of `blocks`; returned in the same order. Throws UserError for bad
  // parameters (as NeurobloxHHPopulation, with the index counted over all blocks).
  static std::vector<std::unique_ptr<NeurobloxHHBlock>> make(
      const std::vector<std::vector<NeurobloxHHParams>>& blocks, NeurobloxIntegrator integrator);

  NeurobloxHHPopulation& cells() { return all_; }
  const NeurobloxHHPopulation& cells() const { return all_; }
  std::uint32_t n_blocks() const { return static_cast<std::uint32_t>(offset_.size()) - 1; }
  std::uint32_t offset(std::uint32_t block) const { return offset_[block]; }
  std::uint32_t block_size(std::uint32_t block) const {
    return offset_[block + 1] - offset_[block];
  }

  // Called by block `b`'s step(): runs the kernel if `b` is the first block of this round and
  // returns the spikes of block b (local indices).
  const std::vector<std::uint32_t>& step_block(std::uint32_t b, const StepContext& ctx) {
    if (stepped_[b])
      throw InternalError("NeurobloxHHPool: block " + std::to_string(b) +
                          " stepped twice before the other blocks of its pool");
    if (n_stepped_ == 0) {
      all_spikes_.clear();
      all_.step(ctx, all_spikes_);
      for (auto& s : block_spikes_) s.clear();
      std::uint32_t k = 0;  // spikes come in increasing index order, blocks in offset order
      for (std::uint32_t i : all_spikes_) {
        while (i >= offset_[k + 1]) ++k;
        block_spikes_[k].push_back(i - offset_[k]);
      }
    }
    stepped_[b] = 1;
    if (++n_stepped_ == n_blocks()) {
      n_stepped_ = 0;
      std::fill(stepped_.begin(), stepped_.end(), 0);
    }
    return block_spikes_[b];
  }

  // After a state write outside the kernel (load_state): multistep integrators restart.
  void restart_history() { all_.set_integrator(all_.integrator()); }

 private:
  NeurobloxHHPool(const std::vector<NeurobloxHHParams>& all, std::vector<std::uint32_t> offsets,
                  NeurobloxIntegrator integrator)
      : all_(all, integrator),
        offset_(std::move(offsets)),
        stepped_(offset_.size() - 1, 0),
        block_spikes_(offset_.size() - 1) {}

  NeurobloxHHPopulation all_;
  std::vector<std::uint32_t> offset_;  // n_blocks + 1 entries
  std::vector<std::uint8_t> stepped_;  // per block: already stepped in this round
  std::uint32_t n_stepped_ = 0;
  std::vector<std::uint32_t> all_spikes_;
  std::vector<std::vector<std::uint32_t>> block_spikes_;
};

// One block of a pool, seen by the simulator as a population of its own.
class NeurobloxHHBlock final : public Population {
 public:
  NeurobloxHHBlock(std::shared_ptr<NeurobloxHHPool> pool, std::uint32_t block)
      : pool_(std::move(pool)),
        block_(block),
        offset_(pool_->offset(block)),
        n_(pool_->block_size(block)) {
    for (std::size_t k = 0; k < dynamic_.size(); ++k)
      dynamic_[k] = state(NeurobloxHHPopulation::dynamic_state_names[k]);
  }

  NeurobloxHHPool& pool() { return *pool_; }
  NeurobloxCellType cell_type(std::uint32_t i) const {
    return pool_->cells().cell_type(offset_ + i);
  }

  std::string_view model() const override { return "neuroblox_hh"; }
  std::uint32_t size() const override { return n_; }
  Dynamics dynamics() const override { return Dynamics::clocked; }

  void step(const StepContext& ctx, std::vector<std::uint32_t>& spiked) override {
    const std::vector<std::uint32_t>& s = pool_->step_block(block_, ctx);
    spiked.insert(spiked.end(), s.begin(), s.end());
  }

  const double* continuous_output() const override {
    return pool_->cells().continuous_output() + offset_;
  }
  const double* output_reversal() const override {
    return pool_->cells().output_reversal() + offset_;
  }
  double* conductance_input() override { return cells().conductance_input() + offset_; }
  double* conductance_reversal_input() override {
    return cells().conductance_reversal_input() + offset_;
  }
  double* current_input() override { return cells().current_input() + offset_; }

  double* state(std::string_view name) override {
    double* p = cells().state(name);
    return p ? p + offset_ : nullptr;
  }
  std::vector<std::string> state_names() const override { return pool_->cells().state_names(); }
  void save_state(std::vector<double>& out) const override {
    out.clear();
    out.reserve(std::size_t{NeurobloxHHPopulation::n_dynamic_states} * n_);
    for (const double* p : dynamic_) out.insert(out.end(), p, p + n_);
  }
  void load_state(std::span<const double> in) override {
    if (in.size() != std::size_t{NeurobloxHHPopulation::n_dynamic_states} * n_)
      throw InternalError(
          "NeurobloxHHBlock::load_state: expected " +
          std::to_string(std::size_t{NeurobloxHHPopulation::n_dynamic_states} * n_) +
          " values, got " + std::to_string(in.size()));
    std::size_t k = 0;
    for (double* p : dynamic_) {
      for (std::uint32_t i = 0; i < n_; ++i) p[i] = in[k + i];
      k += n_;
    }
    pool_->restart_history();
  }
  long first_nonfinite(std::string& variable) const override {
    // Fast path (called every few steps as a NaN guard): a value is NaN or inf iff its exponent
    // bits are all ones, so one branch-free OR over the arrays tells whether any value needs the
    // search below. (Integer ops vectorise; the sum of x·0 it replaces was one chain of
    // dependent adds, ≈ 0.4 % of a category-learning run.)
    constexpr std::uint64_t exponent = 0x7ff0000000000000ull;
    std::uint64_t bad = 0;
    for (const double* p : dynamic_)
      for (std::uint32_t i = 0; i < n_; ++i)
        bad |= (std::bit_cast<std::uint64_t>(p[i]) & exponent) == exponent;
    if (bad == 0) return -1;
    long best = -1;
    for (std::size_t a = 0; a < dynamic_.size(); ++a)
      for (std::uint32_t i = 0; i < n_ && (best < 0 || static_cast<long>(i) < best); ++i)
        if (!std::isfinite(dynamic_[a][i])) {
          best = static_cast<long>(i);
          variable = NeurobloxHHPopulation::dynamic_state_names[a];
          break;
        }
    return best;
  }

 private:
  NeurobloxHHPopulation& cells() { return pool_->cells(); }

  std::shared_ptr<NeurobloxHHPool> pool_;
  std::uint32_t block_, offset_, n_;
  std::array<double*, NeurobloxHHPopulation::n_dynamic_states> dynamic_{};  // pool arrays + offset
};

inline std::vector<std::unique_ptr<NeurobloxHHBlock>> NeurobloxHHPool::make(
    const std::vector<std::vector<NeurobloxHHParams>>& blocks, NeurobloxIntegrator integrator) {
  std::vector<NeurobloxHHParams> all;
  std::vector<std::uint32_t> offsets{0};
  for (const auto& b : blocks) {
    all.insert(all.end(), b.begin(), b.end());
    offsets.push_back(static_cast<std::uint32_t>(all.size()));
  }
  std::shared_ptr<NeurobloxHHPool> pool(new NeurobloxHHPool(all, std::move(offsets), integrator));
  std::vector<std::unique_ptr<NeurobloxHHBlock>> out;
  for (std::uint32_t b = 0; b < blocks.size(); ++b)
    out.push_back(std::make_unique<NeurobloxHHBlock>(pool, b));
  return out;
}

}  // namespace sbx
