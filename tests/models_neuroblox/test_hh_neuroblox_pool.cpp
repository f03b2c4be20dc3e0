// NeurobloxHHPool (models/hh_neuroblox_pool.hpp): blocks stepped by one kernel call must give
// bitwise the spikes and states of separate populations, and each block must behave as a
// population of its own (state access, save/load, NaN reports with local indices).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/errors.hpp"
#include "models/hh_neuroblox_pool.hpp"

using namespace sbx;

namespace {

// The tutorial circuit's block sizes (VAC, AC, STR1, STR2): the pool has 48 cells.
const std::vector<std::uint32_t> kSizes = {25, 13, 5, 5};

NeurobloxHHParams cell(std::uint32_t block, std::uint32_t i) {
  auto p = (i + block) % 4 == 3 ? NeurobloxHHParams::inhibitory() : NeurobloxHHParams::excitatory();
  p.I_bg = 0.41 * static_cast<double>((7 * i + 3 * block) % 13);  // silent to fast spiking
  return p;
}

std::vector<std::vector<NeurobloxHHParams>> block_params() {
  std::vector<std::vector<NeurobloxHHParams>> out;
  for (std::uint32_t b = 0; b < kSizes.size(); ++b) {
    out.emplace_back();
    for (std::uint32_t i = 0; i < kSizes[b]; ++i) out.back().push_back(cell(b, i));
  }
  return out;
}

// Inputs of cell i of block b at step k, written through the Population interface.
void set_inputs(Population& p, std::uint32_t b, long k) {
  for (std::uint32_t i = 0; i < p.size(); ++i) {
    const double u =
        static_cast<double>(((i + 31 * b) * 2654435761u + static_cast<std::uint32_t>(k) * 40503u) %
                            1000u) /
        1000.0;
    p.conductance_input()[i] = i % 3 == 0 ? 0.4 * u : 0.0;
    p.conductance_reversal_input()[i] = i % 3 == 0 ? -25.0 * u : 0.0;
    p.current_input()[i] = i % 4 == 1 ? 3.0 * u : 0.0;
  }
}

// Steps every population of `pops` once per step (as the simulator does); spikes per block.
std::vector<std::vector<std::pair<long, std::uint32_t>>> run(std::vector<Population*> pops,
                                                             long steps) {
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  std::vector<std::vector<std::pair<long, std::uint32_t>>> spikes(pops.size());
  std::vector<std::uint32_t> spiked;
  for (long k = 0; k < steps; ++k) {
    for (std::uint32_t b = 0; b < pops.size(); ++b) set_inputs(*pops[b], b, k);
    for (std::uint32_t b = 0; b < pops.size(); ++b) {
      spiked.clear();
      pops[b]->step(StepContext{k, 1, static_cast<double>(k) * dt, dt}, spiked);
      for (std::uint32_t i : spiked) spikes[b].push_back({k, i});
    }
  }
  return spikes;
}

void check_pool_equals_separate(NeurobloxIntegrator integrator) {
  const auto params = block_params();
  std::vector<std::unique_ptr<NeurobloxHHPopulation>> separate;
  std::vector<Population*> sep_ptrs;
  for (const auto& p : params) {
    separate.push_back(std::make_unique<NeurobloxHHPopulation>(p, integrator));
    sep_ptrs.push_back(separate.back().get());
  }
  auto pooled = NeurobloxHHPool::make(params, integrator);
  std::vector<Population*> pool_ptrs;
  for (auto& b : pooled) pool_ptrs.push_back(b.get());

  const long steps = 4000;  // 200 ms
  const auto a = run(sep_ptrs, steps);
  const auto b = run(pool_ptrs, steps);
  std::size_t n_spikes = 0;
  for (std::size_t k = 0; k < kSizes.size(); ++k) {
    CAPTURE(k);
    CHECK(a[k] == b[k]);
    n_spikes += a[k].size();
    std::vector<double> sa, sb;
    sep_ptrs[k]->save_state(sa);
    pool_ptrs[k]->save_state(sb);
    REQUIRE(sa.size() == sb.size());
    bool identical = true;
    for (std::size_t i = 0; i < sa.size(); ++i) identical = identical && sa[i] == sb[i];
    CHECK(identical);
  }
  CHECK(n_spikes > 100);  // the comparison covers many spikes, not silent cells
}

}  // namespace

TEST_CASE("HH pool: blocks stepped by one kernel call equal separate populations bitwise") {
  SUBCASE("etdrk4") {
    check_pool_equals_separate(NeurobloxIntegrator::etdrk4);
  }
  SUBCASE("etdrk4_f32") {
    check_pool_equals_separate(NeurobloxIntegrator::etdrk4_f32);
  }
}

TEST_CASE("HH pool: a block is a population of its own") {
  auto blocks = NeurobloxHHPool::make(block_params(), NeurobloxIntegrator::etdrk4_f32);
  NeurobloxHHBlock& ac = *blocks[1];
  NeurobloxHHPool& pool = ac.pool();
  CHECK(ac.size() == 13);
  CHECK(pool.offset(1) == 25);
  // State, inputs and outputs are the pool's arrays at the block's offset.
  CHECK(ac.state("V") == pool.cells().state("V") + 25);
  CHECK(ac.state("I_in") == pool.cells().state("I_in") + 25);
  CHECK(ac.state("nonexistent") == nullptr);
  CHECK(ac.continuous_output() == pool.cells().continuous_output() + 25);
  CHECK(ac.conductance_input() == pool.cells().conductance_input() + 25);
  CHECK(ac.cell_type(3) == NeurobloxCellType::excitatory);  // (3 + 1) % 4 != 3
  CHECK(ac.cell_type(2) == NeurobloxCellType::inhibitory);  // (2 + 1) % 4 == 3

  // save_state / load_state touch only the block's cells.
  std::vector<double> s;
  ac.save_state(s);
  CHECK(s.size() == 8u * 13u);
  CHECK(s[0] == -65.0);  // V of the first AC cell
  std::vector<double> t = s;
  for (std::size_t i = 0; i < 13; ++i) t[i] = -70.0 - static_cast<double>(i);  // V
  ac.load_state(t);
  CHECK(ac.state("V")[12] == -82.0);
  CHECK(pool.cells().state("V")[24] == -65.0);  // last VAC cell untouched
  CHECK(pool.cells().state("V")[38] == -65.0);  // first STR1 cell untouched
  CHECK_THROWS_AS(ac.load_state(std::vector<double>(5, 0.0)), InternalError);

  // NaN reports use the block's local index.
  std::string var;
  CHECK(ac.first_nonfinite(var) == -1);
  ac.state("m")[7] = std::numeric_limits<double>::quiet_NaN();
  CHECK(ac.first_nonfinite(var) == 7);
  CHECK(var == "m");
  CHECK(blocks[0]->first_nonfinite(var) == -1);
  // infinities too, the earliest index over all variables; largest finite values are finite
  ac.state("G")[3] = -std::numeric_limits<double>::infinity();
  CHECK(ac.first_nonfinite(var) == 3);
  CHECK(var == "G");
  ac.state("G")[3] = 0.0;
  ac.state("m")[7] = 0.5;
  ac.state("C_cum")[2] = std::numeric_limits<double>::max();
  ac.state("z")[1] = -std::numeric_limits<double>::denorm_min();
  CHECK(ac.first_nonfinite(var) == -1);
  ac.state("V")[12] = std::numeric_limits<double>::infinity();  // the block's last cell
  CHECK(ac.first_nonfinite(var) == 12);
  CHECK(var == "V");
}

TEST_CASE("HH pool: the kernel runs once per round, a block stepped twice is an error") {
  auto blocks = NeurobloxHHPool::make(block_params(), NeurobloxIntegrator::etdrk4);
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  std::vector<std::uint32_t> spiked;
  const StepContext ctx{0, 1, 0.0, dt};
  const double v0 = blocks[2]->state("V")[0];
  blocks[1]->step(ctx, spiked);  // any block may come first: it steps the whole pool
  CHECK(blocks[2]->state("V")[0] != v0);
  const double v1 = blocks[2]->state("V")[0];
  blocks[0]->step(ctx, spiked);
  blocks[2]->step(ctx, spiked);
  CHECK(blocks[2]->state("V")[0] == v1);  // no second kernel call in the same round
  CHECK_THROWS_AS(blocks[2]->step(ctx, spiked), InternalError);
}
