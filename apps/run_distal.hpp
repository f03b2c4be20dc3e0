// The "distal_reward" experiment: Izhikevich (2007) Fig. 1 on two TOML blocks of izhikevich
// neurons (envs/distal_reward.hpp does the wiring, the reward contingency and the sampling; the
// registry entry in circuits/plasticity_registry.cpp documents the keys). The run file gets the
// usual /nodes, /spikes, /meta, the three wired edges under /edges (initial weights) with a final
// weight snapshot under /weights, and the chosen synapse's (w, c, d) every sample_every ms under
// /synapses/chosen (attributes: edge, synapse, source/target node ids, learning_rule, modulator).
#pragma once

#include <string>

#include "apps/run_plain.hpp"
#include "envs/distal_reward.hpp"

namespace sbx::app {

struct DistalSetup {
  DistalRewardConfig cfg;
  std::string exc_block, inh_block, rule_name, rule_type;
};

// Validates the experiment against the circuit (blocks are izhikevich populations, the rule is an
// rstdp / three_factor rule). Throws UserError with positions.
DistalSetup distal_setup(const circuits::CircuitDescription& desc);

RunSummary run_distal(const circuits::CircuitDescription& desc, const RunOptions& opt);

}  // namespace sbx::app
