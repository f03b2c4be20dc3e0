// Registry entries of the spiking TD actor-critic (envs/td_actor_critic.hpp): the value_decoder
// block (a critic population read out as V(s), and the TD error it broadcasts as a modulator)
// and the td_three_factor learning rule (per-step eligibility x TD error on spike edges), both
// applied by the episodes experiment (apps/episodes_actor_critic.hpp).
#pragma once

#include "circuits/registry.hpp"

namespace sbx::circuits {

void add_actor_critic_blocks(Registry& r);

}  // namespace sbx::circuits
