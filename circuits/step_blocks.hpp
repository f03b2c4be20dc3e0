// Registry entries of the step-based environments (envs/step_environment.hpp): the encoder and
// decoder blocks (envs/step_coding.hpp), their edge kinds, the td_dopamine learning rule
// (envs/td_dopamine.hpp) and the "episodes" experiment (apps/run_episodes.hpp).
#pragma once

#include "circuits/registry.hpp"
#include "envs/step_coding.hpp"

namespace sbx::circuits {

struct BlockDesc;

void add_step_blocks(Registry& r);

// The coding parameters of a current_encoder / spike_encoder block (validated by the loader).
ObsCodingParams obs_coding_from(const BlockDesc& b);
DecoderParams decoder_params_from(const BlockDesc& b);

}  // namespace sbx::circuits
