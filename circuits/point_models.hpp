// Registry entries of the point-neuron models in models/ (one header per model). TOML keys map
// 1:1 to the fields of each model's params struct; defaults are read from a default-constructed
// struct, so the header stays the single source of the numbers.
#pragma once

#include "circuits/registry.hpp"

namespace sbx::circuits {

void add_point_models(Registry& reg);

}  // namespace sbx::circuits
