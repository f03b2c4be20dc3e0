// Dispatch from [experiment].type to the code that runs it.
#pragma once

#include "apps/run_plain.hpp"

namespace sbx::app {

RunSummary run_experiment(const circuits::CircuitDescription& desc, const RunOptions& opt);

}  // namespace sbx::app
