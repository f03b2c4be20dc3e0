// Registry entries of the spiking-plasticity part (issue 4): the `izhikevich` population model,
// the learning rules `stdp`, `rstdp`, `three_factor` (circuits/plasticity.hpp) with their named
// modulators (engine/modulator.hpp), and the `distal_reward` experiment (envs/distal_reward.hpp,
// run by apps/run_distal.cpp).
#pragma once

#include <string>

#include "circuits/build.hpp"
#include "circuits/description.hpp"
#include "circuits/plasticity.hpp"
#include "circuits/registry.hpp"

namespace sbx::circuits {

void add_plasticity(Registry& reg);

// Rule parameters from a validated [rules.NAME] / inline rule table.
StdpParams stdp_params_from(const ParamMap& p);
ThreeFactorParams three_factor_params_from(const ParamMap& p);

// The modulator a three-factor rule names (keys modulator, modulator_baseline, modulator_tau),
// created in built.modulators on first use. Throws std::invalid_argument when a modulator of that
// name already exists with another baseline or tau.
Modulator& modulator_for(const ParamMap& rule_params, BuiltCircuit& built, const TimeGrid& grid);

}  // namespace sbx::circuits
