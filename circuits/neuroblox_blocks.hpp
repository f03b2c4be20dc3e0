// The Neuroblox corticostriatal blocks (cortical column of WTA groups, ascending neural mass,
// image stimulus, striatum with matrisome and striosome, TAN, SNc, greedy policy), the edge kinds
// between them (neuroblox_models.md §2.2), the between-trial learning rules (§3) and the
// category_learning experiment, as registry entries.
//
// These blocks are built by the category_learning experiment (apps/run_category.cpp maps the
// validated description onto envs/category_experiment.hpp); in any other experiment their
// lowering reports a clear error.
#pragma once

#include "circuits/registry.hpp"

namespace sbx::circuits {

void add_neuroblox_blocks(Registry& reg);

}  // namespace sbx::circuits
