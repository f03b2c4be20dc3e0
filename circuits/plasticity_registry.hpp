// Registry entries of the spiking-plasticity part (issue 4): the `izhikevich` population model,
// the learning rules `stdp`, `rstdp`, `three_factor` (circuits/plasticity.hpp) with their named
// modulators (engine/modulator.hpp), and the `distal_reward` experiment (envs/distal_reward.hpp,
// run by apps/run_distal.cpp).
#pragma once

#include <string>
#include <vector>

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

// Named modulators (the rules' `modulator` key with a `modulator_baseline`: rstdp, three_factor,
// hebbian_trace) that the experiment never changes stay at their baseline for the whole run. Only
// the distal_reward experiment (rewards, on its rule's modulator) and an episodes experiment's
// value_decoder (its TD error) drive one; `driven` lists the names the experiment drives,
// `experiment` describes it for the messages. A modulator nothing drives with baseline 0 leaves
// every rule reading it unable to change a weight: a UserError at the rule (never a silently
// inert rule). With another baseline the rules act with a constant third factor: one note per
// such modulator is returned (the runners print them, for `check` too).
std::vector<Diagnostic> check_modulators_driven(const CircuitDescription& desc,
                                                const std::vector<std::string>& driven,
                                                const std::string& experiment);

}  // namespace sbx::circuits
