#include "apps/experiments.hpp"

#include "apps/run_category.hpp"
#include "apps/run_distal.hpp"
#include "apps/run_dnms.hpp"
#include "apps/run_episodes.hpp"
#include "engine/errors.hpp"

namespace sbx::app {

void check_experiment(const circuits::CircuitDescription& desc) {
  if (desc.experiment.type == "category_learning") (void)category_setup(desc);
  if (desc.experiment.type == "dnms") (void)dnms_setup(desc);
  if (desc.experiment.type == "episodes") (void)episodes_setup(desc);
  if (desc.experiment.type == "distal_reward") (void)distal_setup(desc);
}

RunSummary run_experiment(const circuits::CircuitDescription& desc, const RunOptions& opt) {
  if (desc.experiment.type == "run") return run_plain(desc, opt);
  if (desc.experiment.type == "category_learning") return run_category(desc, opt);
  if (desc.experiment.type == "dnms") return run_dnms(desc, opt);
  if (desc.experiment.type == "episodes") return run_episodes(desc, opt);
  if (desc.experiment.type == "distal_reward") return run_distal(desc, opt);
  // The loader validates the type against the registry, so reaching here is a wiring bug.
  throw InternalError("experiment type '" + desc.experiment.type + "' has no runner");
}

}  // namespace sbx::app
