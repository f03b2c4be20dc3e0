// Rate (non-spiking) units in circuits: the "rate" / "rate_linear" population models, the
// "dnms_input" block (Miconi's DNMS task input), their edge kinds, the "miconi" learning rule and
// the "dnms" experiment (seed_systems.md §4.2). Registered from make_builtin_registry().
#pragma once

#include "circuits/registry.hpp"
#include "envs/dnms.hpp"

namespace sbx::circuits {

void add_rate_models(Registry& reg);

// The DNMS timing of a dnms_input block, in steps of dt_ms. Problems (a time that is not a
// whole number of steps) are appended as messages "key: ..." to `problems`.
DnmsParams dnms_params_from(const BlockDesc& b, double dt_ms, std::vector<std::string>* problems);

}  // namespace sbx::circuits
