// etdrk4_f32 (models/hh_neuroblox.hpp): the float kernel advances groups of up to three vectors
// together (group_f32<K>); a cell's trajectory must not depend on the group size K, on its
// position in the group or on the population's size — e.g. the pooled tutorial circuit
// (models/hh_neuroblox_pool.hpp) relies on the pool giving bitwise the results of separate
// populations. Checked against single-cell populations with the same inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "models/hh_neuroblox.hpp"

using sbx::NeurobloxHHParams;
using sbx::NeurobloxHHPopulation;

namespace {

// Parameters of cell j (exc/inh, background current, synapse variants): a fixed pattern.
NeurobloxHHParams cell(std::uint32_t j) {
  auto p = j % 5 == 3 ? NeurobloxHHParams::inhibitory() : NeurobloxHHParams::excitatory();
  p.I_bg = 0.37 * static_cast<double>(j % 17);  // 0 .. 5.9 µA/cm²: silent to fast spiking
  if (j % 7 == 2) p.G_syn = 1.7;
  if (j % 11 == 4) p.V_shift = -5.0;
  return p;
}

// Time-varying inputs of cell j at step k (conductance, its reversal term, a current): drive the
// cells through rest, spikes and stiff after-hyperpolarisations.
void set_inputs(NeurobloxHHPopulation& pop, std::uint32_t local, std::uint32_t j, long k) {
  const double u =
      static_cast<double>((j * 2654435761u + static_cast<std::uint32_t>(k) * 40503u) % 1000u) /
      1000.0;
  pop.conductance_input()[local] = j % 3 == 0 ? 0.4 * u : 0.0;
  pop.conductance_reversal_input()[local] = j % 3 == 0 ? -25.0 * u : 0.0;
  pop.current_input()[local] = j % 4 == 1 ? 3.0 * u : 0.0;
}

struct Trace {
  std::vector<std::vector<long>> spikes;  // spike steps per cell
};

Trace run(NeurobloxHHPopulation& pop, const std::vector<std::uint32_t>& ids, long steps) {
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  Trace t;
  t.spikes.resize(ids.size());
  std::vector<std::uint32_t> spiked;
  for (long k = 0; k < steps; ++k) {
    for (std::uint32_t l = 0; l < ids.size(); ++l) set_inputs(pop, l, ids[l], k);
    spiked.clear();
    pop.step(sbx::StepContext{k, 1, static_cast<double>(k) * dt, dt}, spiked);
    for (std::uint32_t l : spiked) t.spikes[l].push_back(k);
  }
  return t;
}

void check_against_single_cells(std::uint32_t n, const std::vector<std::uint32_t>& probe) {
  const long steps = 3000;  // 150 ms
  std::vector<NeurobloxHHParams> ps;
  std::vector<std::uint32_t> ids;
  for (std::uint32_t j = 0; j < n; ++j) {
    ps.push_back(cell(j));
    ids.push_back(j);
  }
  NeurobloxHHPopulation all(ps, sbx::NeurobloxIntegrator::etdrk4_f32);
  const Trace ta = run(all, ids, steps);
  long total = 0;
  for (const auto& s : ta.spikes) total += static_cast<long>(s.size());
  CHECK(total > static_cast<long>(n));  // the cells do spike
  for (std::uint32_t j : probe) {
    CAPTURE(n);
    CAPTURE(j);
    NeurobloxHHPopulation one({cell(j)}, sbx::NeurobloxIntegrator::etdrk4_f32);
    const Trace to = run(one, {j}, steps);
    CHECK(to.spikes[0] == ta.spikes[j]);
    for (const char* name : {"V", "n", "m", "h", "C_cum", "C_win", "z", "G"}) {
      CAPTURE(name);
      CHECK(one.state(name)[0] == all.state(name)[j]);  // bitwise
    }
  }
}

}  // namespace

TEST_CASE("etdrk4_f32: groups of vectors give bitwise the trajectories of single cells") {
  const std::uint32_t L = sbx::nbx_f32::lanes;
  // 7 vectors + 5 cells: two groups of three vectors and a tail of two (the last one partly
  // padding); probes in every group position, in the tail and at both ends.
  check_against_single_cells(7 * L + 5,
                             {0, L - 1, L + 3, 2 * L + 1, 3 * L, 5 * L + 2, 6 * L + 1, 7 * L + 4});
  // 4 vectors: one group of three and a tail of one.
  check_against_single_cells(4 * L, {1, 2 * L + 5, 3 * L + 2, 4 * L - 1});
}

TEST_CASE(
    "etdrk4_f32: a vector with inputs beyond float range leaves the rest of its group float") {
  // Cell 0 gets an absurd conductance (as the reliability test's G_syn = 1e308): its float vector
  // takes the double kernel, the other two vectors of the group stay float, each cell as alone.
  const std::uint32_t L = sbx::nbx_f32::lanes;
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  std::vector<NeurobloxHHParams> ps;
  for (std::uint32_t j = 0; j < 3 * L; ++j) ps.push_back(cell(j));
  NeurobloxHHPopulation all(ps, sbx::NeurobloxIntegrator::etdrk4_f32);
  const std::uint32_t probe[] = {1, L + 2, 2 * L + 3};
  NeurobloxHHPopulation same_vector_double({cell(1)}, sbx::NeurobloxIntegrator::etdrk4);
  NeurobloxHHPopulation other_float_a({cell(L + 2)}, sbx::NeurobloxIntegrator::etdrk4_f32);
  NeurobloxHHPopulation other_float_b({cell(2 * L + 3)}, sbx::NeurobloxIntegrator::etdrk4_f32);
  NeurobloxHHPopulation* single[] = {&same_vector_double, &other_float_a, &other_float_b};
  std::vector<std::uint32_t> spiked;
  for (long k = 0; k < 2000; ++k) {
    all.conductance_input()[0] = 1e300;
    all.conductance_reversal_input()[0] = -70.0 * 1e300;
    const sbx::StepContext ctx{k, 1, static_cast<double>(k) * dt, dt};
    all.step(ctx, spiked);
    for (NeurobloxHHPopulation* p : single) p->step(ctx, spiked);
  }
  CHECK(std::isfinite(all.state("V")[0]));
  for (int s = 0; s < 3; ++s) {
    CAPTURE(s);
    for (const char* name : {"V", "n", "m", "h", "C_cum", "z", "G"})
      CHECK(single[s]->state(name)[0] == all.state(name)[probe[s]]);
  }
}

TEST_CASE("etdrk4_f32: channel parameters written through state() take effect at the next step") {
  // The float kernel reads float copies of g_Na, g_K, E_Na, E_K. A caller holding the arrays
  // from state() may write them at any step; the results must be those of the double arrays.
  // Reference: the same cell whose parameters are changed through a pointer obtained before the
  // first step (copied at every step from then on) — and, for the steps before the change, a
  // cell whose arrays were never handed out (the copies made at construction).
  const double dt = NeurobloxHHPopulation::default_dt_ms;
  NeurobloxHHParams p = cell(5);
  NeurobloxHHPopulation early({p}, sbx::NeurobloxIntegrator::etdrk4_f32);
  NeurobloxHHPopulation late({p}, sbx::NeurobloxIntegrator::etdrk4_f32);
  NeurobloxHHPopulation untouched({p}, sbx::NeurobloxIntegrator::etdrk4_f32);
  double* g_na_early = early.state("g_Na");
  double* e_k_early = early.state("E_K");
  std::vector<std::uint32_t> spiked;
  auto step = [&](NeurobloxHHPopulation& pop, long k) {
    set_inputs(pop, 0, 5, k);
    spiked.clear();
    pop.step(sbx::StepContext{k, 1, static_cast<double>(k) * dt, dt}, spiked);
  };
  for (long k = 0; k < 1000; ++k) {
    for (NeurobloxHHPopulation* q : {&early, &late, &untouched}) step(*q, k);
  }
  CHECK(early.state("V")[0] == untouched.state("V")[0]);
  CHECK(late.state("V")[0] == untouched.state("V")[0]);
  // Change the channels: `early` through its kept pointers, `late` through a fresh state() call.
  *g_na_early = 30.0;
  *e_k_early = -80.0;
  late.state("g_Na")[0] = 30.0;
  late.state("E_K")[0] = -80.0;
  for (long k = 1000; k < 3000; ++k) {
    step(early, k);
    step(late, k);
    step(untouched, k);
  }
  for (const char* name : {"V", "n", "m", "h", "C_cum", "G"}) {
    CAPTURE(name);
    CHECK(early.state(name)[0] == late.state(name)[0]);  // bitwise
  }
  CHECK(early.state("V")[0] != untouched.state("V")[0]);  // the change mattered
  // A kept pointer written much later is honoured too.
  *g_na_early = 52.0;
  late.state("g_Na")[0] = 52.0;
  for (long k = 3000; k < 4000; ++k) {
    step(early, k);
    step(late, k);
  }
  CHECK(early.state("V")[0] == late.state("V")[0]);
}
