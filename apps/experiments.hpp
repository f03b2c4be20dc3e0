// Dispatch from [experiment].type to the code that runs it.
#pragma once

#include "apps/run_plain.hpp"

namespace sbx::app {

// Experiment-level checks beyond the schema (topology, stimulus files); throws UserError.
void check_experiment(const circuits::CircuitDescription& desc);

RunSummary run_experiment(const circuits::CircuitDescription& desc, const RunOptions& opt);

}  // namespace sbx::app
