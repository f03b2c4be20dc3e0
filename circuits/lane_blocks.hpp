// Registry entries of the Neuro-Encoder lane-keeping agent (seed_systems.md §2): the lif_euler
// population model (models/lif_euler.hpp) and the eligibility_dopamine learning rule
// (envs/eligibility_dopamine.hpp), which the episodes experiment applies.
#pragma once

#include "circuits/registry.hpp"
#include "envs/eligibility_dopamine.hpp"

namespace sbx::circuits {

struct LearningDesc;

void add_lane_blocks(Registry& r);

// The parameters of an eligibility_dopamine rule (validated by the loader).
EligibilityDopamineParams eligibility_dopamine_params_from(const LearningDesc& l);

}  // namespace sbx::circuits
