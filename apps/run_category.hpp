// The category_learning experiment from a TOML description: maps the validated circuit onto the
// Neuroblox corticostriatal experiment (envs/category_experiment.hpp), runs it, and writes the run
// file (spikes, /trials, /weights, adjacency before and after learning).
#pragma once

#include "apps/run_plain.hpp"
#include "envs/category_experiment.hpp"

namespace sbx::app {

// Description -> experiment spec + environment. Throws UserError (with positions) when the circuit
// is not the corticostriatal topology this experiment runs (see docs/toml_reference.md).
struct CategorySetup {
  CategoryExperimentSpec spec;
  ImageSet images;
  std::size_t n_trials = 0;
  TrialOrder order = TrialOrder::sequential;
  RewardValues reward;
  std::vector<std::string> rules;  // learning-rule names of the plastic sets, in order
};
CategorySetup category_setup(const circuits::CircuitDescription& desc);

RunSummary run_category(const circuits::CircuitDescription& desc, const RunOptions& opt);

}  // namespace sbx::app
